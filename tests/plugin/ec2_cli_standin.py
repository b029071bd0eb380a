"""A stand-in for `aws ec2 ...`: the three EC2 operations the node agent calls, on a JSON state file.

Used where the agent would run the AWS CLI (EKS_MULTUS_AWS_CLI points at a wrapper around this
file). It parses the same command lines the AWS CLI v2 takes and answers with the same JSON
shapes and the CLI's error line `An error occurred (<Code>) when calling the <Op> operation: ...`
(exit status 254, as the CLI exits on a service error).

EC2 behaviour it follows, with sources:
- AssignPrivateIpAddresses takes either a list of addresses or a count of /28 prefixes
  (`--ipv4-prefix-count`; EC2 API reference AssignPrivateIpAddresses: "You can't specify both
  IPv4 Prefixes and IPv4 addresses"); an address held by another ENI moves only with
  AllowReassignment, else InvalidParameterValue; an address outside the ENI's subnet is
  InvalidParameterValue; addresses and prefixes each take one of the ENI's IPv4 slots
  (EC2 user guide, "Assign prefixes to network interfaces": prefixes count against the
  per-ENI IPv4 address limit), beyond which the call fails with PrivateIpAddressLimitExceeded.
- Prefixes come from the subnet's `prefix` CIDR reservations first ("prefix - AWS assigns the
  reserved IP addresses to network interfaces", API reference CreateSubnetCidrReservation),
  then from any free, /28-aligned block; never from an `explicit` reservation (VPC user guide,
  subnet CIDR reservations) and never overlapping an assigned address; none left:
  InsufficientCidrBlocks (EKS best practices, prefix mode: fragmented subnets fail with this).
- UnassignPrivateIpAddresses of an address the ENI does not hold is InvalidParameterValue.
- Throttling: one token bucket per account and Region for Assign and Unassign together,
  size 100, refilled at 5 per second (EC2 API reference, "Request throttling"); an empty bucket
  answers RequestLimitExceeded. Tests may shrink the bucket (state "bucket") or force the next
  N writes to be throttled ("throttleNext").
- A call without credentials in the environment fails as the CLI does ("Unable to locate
  credentials", exit 253), so a test proves the agent hands them over.

State file (EC2_STANDIN_STATE, locked with flock while one call runs):
  {"subnets": {cidr: {"explicit": [cidr], "prefix": [cidr]}},
   "enis": {id: {"subnet": cidr, "limit": n, "primary": ip, "addresses": [ip], "prefixes": [cidr]}},
   "bucket": {"size": 100, "rate": 5, "tokens": 100, "at": t}, "throttleNext": 0, "calls": [[op, eni, n]]}
EC2_STANDIN_COST=cli makes each call first load what the real CLI loads (awscli's driver and the
EC2 service model), so CPU and memory per call are the CLI's, not this file's.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import sys
import time

WRITES = {"assign-private-ip-addresses": "AssignPrivateIpAddresses", "unassign-private-ip-addresses": "UnassignPrivateIpAddresses"}


class Ec2Error(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def parse(argv: list[str]) -> tuple[str, dict[str, list[str]]]:
    """`ec2 <op> --key v1 v2 --flag ...` -> (op, {key: values})."""
    if len(argv) < 2 or argv[0] != "ec2":
        raise SystemExit(f"stand-in: unsupported command {argv}")
    op, opts, current = argv[1], {}, None
    for word in argv[2:]:
        if word.startswith("--"):
            current = word[2:]
            opts[current] = []
        elif current is not None:
            opts[current].append(word)
    return op, opts


def take_token(state: dict) -> None:
    if state.get("throttleNext", 0) > 0:
        state["throttleNext"] -= 1
        raise Ec2Error("RequestLimitExceeded", "Request limit exceeded.")
    bucket = state.setdefault("bucket", {"size": 100, "rate": 5, "tokens": 100, "at": time.time()})
    t = time.time()
    bucket["tokens"] = min(bucket["size"], bucket["tokens"] + (t - bucket["at"]) * bucket["rate"])
    bucket["at"] = t
    if bucket["tokens"] < 1:
        raise Ec2Error("RequestLimitExceeded", "Request limit exceeded.")
    bucket["tokens"] -= 1


def eni_of(state: dict, opts: dict) -> tuple[str, dict]:
    eni_id = (opts.get("network-interface-id") or opts.get("network-interface-ids") or [""])[0]
    if eni_id not in state["enis"]:
        raise Ec2Error("InvalidNetworkInterfaceID.NotFound", f"The networkInterface ID '{eni_id}' does not exist")
    return eni_id, state["enis"][eni_id]


def used_blocks(state: dict, subnet: str) -> list[ipaddress.IPv4Network]:
    out = []
    for eni in state["enis"].values():
        if eni["subnet"] == subnet:
            out += [ipaddress.IPv4Network(a) for a in [eni["primary"], *eni["addresses"]]]
            out += [ipaddress.IPv4Network(p) for p in eni["prefixes"]]
    return out


def free_prefix(state: dict, subnet: str) -> str:
    net = ipaddress.IPv4Network(subnet)
    reservations = state["subnets"].get(subnet, {})
    explicit = [ipaddress.IPv4Network(c) for c in reservations.get("explicit", [])]
    taken = used_blocks(state, subnet)
    # The subnet's first four and last addresses are AWS's (VPC user guide, subnet sizing).
    reserved = [ipaddress.IPv4Network(f"{net.network_address + i}/32") for i in range(4)] + [
        ipaddress.IPv4Network(f"{net.broadcast_address}/32")
    ]
    pools = [ipaddress.IPv4Network(c) for c in reservations.get("prefix", [])] + [net]
    for pool in pools:
        for block in pool.subnets(new_prefix=28):
            if any(block.overlaps(b) for b in taken + explicit + reserved):
                continue
            return str(block)
    raise Ec2Error(
        "InsufficientCidrBlocks", f"The specified subnet does not have enough free cidr blocks to satisfy the request in {subnet}"
    )


def assign(state: dict, opts: dict) -> dict:
    eni_id, eni = eni_of(state, opts)
    take_token(state)
    subnet = ipaddress.IPv4Network(eni["subnet"])
    out: dict = {"NetworkInterfaceId": eni_id}
    if "ipv4-prefix-count" in opts:
        count = int(opts["ipv4-prefix-count"][0])
        if 1 + len(eni["addresses"]) + len(eni["prefixes"]) + count > eni["limit"]:
            raise Ec2Error("PrivateIpAddressLimitExceeded", f"Number of private addresses will exceed limit for {eni_id}")
        added = []
        for _ in range(count):
            prefix = free_prefix(state, eni["subnet"])
            eni["prefixes"].append(prefix)
            added.append(prefix)
        out["AssignedIpv4Prefixes"] = [{"Ipv4Prefix": p} for p in added]
        return out
    wanted = opts.get("private-ip-addresses", [])
    allow = "allow-reassignment" in opts
    for address in wanted:
        if ipaddress.IPv4Address(address) not in subnet:
            raise Ec2Error("InvalidParameterValue", f"Address {address} does not fall within the subnet's address range")
        for other_id, other in state["enis"].items():
            if other_id != eni_id and address in other["addresses"] and not allow:
                raise Ec2Error("InvalidParameterValue", f"Address {address} is in use by {other_id}")
    new = [a for a in wanted if a not in eni["addresses"]]
    if 1 + len(eni["addresses"]) + len(eni["prefixes"]) + len(new) > eni["limit"]:
        raise Ec2Error("PrivateIpAddressLimitExceeded", f"Number of private addresses will exceed limit for {eni_id}")
    for address in wanted:
        for other_id, other in state["enis"].items():
            if other_id != eni_id and address in other["addresses"]:
                other["addresses"].remove(address)
    eni["addresses"] += new
    out["AssignedPrivateIpAddresses"] = [{"PrivateIpAddress": a} for a in wanted]
    return out


def unassign(state: dict, opts: dict) -> dict:
    eni_id, eni = eni_of(state, opts)
    take_token(state)
    wanted = opts.get("private-ip-addresses", [])
    if any(a not in eni["addresses"] for a in wanted):
        raise Ec2Error("InvalidParameterValue", f"Some of the specified addresses are not assigned to interface {eni_id}")
    eni["addresses"] = [a for a in eni["addresses"] if a not in wanted]
    return {}


def describe(state: dict, opts: dict) -> dict:
    eni_id, eni = eni_of(state, opts)
    addresses = [{"PrivateIpAddress": eni["primary"], "Primary": True}] + [
        {"PrivateIpAddress": a, "Primary": False} for a in eni["addresses"]
    ]
    return {
        "NetworkInterfaces": [
            {"NetworkInterfaceId": eni_id, "PrivateIpAddresses": addresses, "Ipv4Prefixes": [{"Ipv4Prefix": p} for p in eni["prefixes"]]}
        ]
    }


def main() -> int:
    if os.environ.get("EC2_STANDIN_COST") == "cli":
        import awscli.clidriver  # noqa: F401  (what every CLI process imports)
        import botocore.session

        botocore.session.get_session().get_service_model("ec2")
    op, opts = parse(sys.argv[1:])
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        sys.stderr.write('\nUnable to locate credentials. You can configure credentials by running "aws configure".\n')
        return 253
    path = os.environ["EC2_STANDIN_STATE"]
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(path) as fh:
            state = json.load(fh)
        handler = {
            "assign-private-ip-addresses": assign,
            "unassign-private-ip-addresses": unassign,
            "describe-network-interfaces": describe,
        }[op]
        eni = (opts.get("network-interface-id") or opts.get("network-interface-ids") or [""])[0]
        count = len(opts.get("private-ip-addresses", [])) or int((opts.get("ipv4-prefix-count") or ["0"])[0])
        try:
            out = handler(state, opts)
            state.setdefault("calls", []).append([op, eni, count, "ok"])
            code = 0
        except Ec2Error as exc:
            state.setdefault("calls", []).append([op, eni, count, exc.code])
            name = WRITES.get(op, "DescribeNetworkInterfaces")
            sys.stderr.write(f"\nAn error occurred ({exc.code}) when calling the {name} operation: {exc.message}\n")
            out, code = None, 254
        with open(path + ".tmp", "w") as fh:
            json.dump(state, fh)
        os.replace(path + ".tmp", path)
    if out is not None:
        print(json.dumps(out))
    return code


if __name__ == "__main__":
    sys.exit(main())
