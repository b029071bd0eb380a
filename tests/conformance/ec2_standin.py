"""A local EC2 endpoint for the ENI-IP conformance run: a moto server plus what moto lacks.

moto 5.2.5 keeps ENIs, tags and secondary addresses, but its
AssignPrivateIpAddresses ignores AllowReassignment and never looks at other
ENIs, and its UnassignPrivateIpAddresses ignores addresses that are not there.
Real EC2 moves an address only when reassignment is allowed, refuses an address
outside the ENI's subnet, and refuses to unassign what the ENI does not hold.

Prefix delegation is missing from moto 5.2.5 altogether: its
AssignPrivateIpAddresses reads only NetworkInterfaceId, PrivateIpAddresses and
SecondaryPrivateIpAddressCount (Ipv4PrefixCount is dropped), its
UnassignPrivateIpAddresses only PrivateIpAddresses (Ipv4Prefix is dropped), and
its NetworkInterface has no prefixes, so DescribeNetworkInterfaces never shows
`ipv4PrefixSet` (moto/ec2/responses/elastic_network_interfaces.py,
moto/ec2/models/elastic_network_interfaces.py); no per-ENI address limit is
enforced (PrivateIpAddressLimitExceeded occurs nowhere in moto/ec2); subnet
CIDR reservations are kept (moto/ec2/models/subnets.py create_cidr_reservation,
`prefix` and `explicit`) but nothing assigns from them. moto does serialize
from botocore's EC2 model (moto/core/serialize.py EC2Serializer, errors as
Response/Errors/Error with RequestID), so what is set on its objects reaches
the wire as EC2 and botocore shape it. Added, from the EC2 API reference
(AssignPrivateIpAddresses: "You can't specify both" a prefix count and
addresses), the EC2 user guide ("Assign prefixes to network interfaces":
prefixes count against the ENI's IPv4 address limit) and the VPC user guide
(subnet CIDR reservations: `prefix` is where EC2 takes prefixes from, never
from `explicit`; the first four and the last address of a subnet are AWS's):
Ipv4PrefixCount assigns /28s from `prefix` reservations first, then any free
aligned block, and fails with InsufficientCidrBlocks (the code EKS best
practices name for a fragmented subnet) when none is left; Ipv4Prefix
unassigns them; addresses (the primary included) and prefixes each take one
of the ENI's IPv4 slots (the instance type's Ipv4AddressesPerInterface from
moto's instance-type data, `limits.json` in the control folder, or 50 for an
ENI attached to nothing), beyond which the call is PrivateIpAddressLimitExceeded;
Assign and Unassign share one token bucket of 100 refilled at 5 per second
(EC2 API reference, "Request throttling"; REFERENCE.md section 14).

This stand-in adds those rules, the node role's IAM condition (writes only on
ENIs tagged no_manage=true and owned by the cluster), and switches in the
control folder (`Control`): `deny` (every write is UnauthorizedOperation),
`throttle` (the next N writes are RequestLimitExceeded) and `ip-bucket` (the
shared bucket's size and rate). Each write is appended to `calls.log`, so tests
can count attempts, and to `writes.jsonl` with its outcome.

For the boot step (`install_boot_rules`), moto 5.2.5's ENI calls are also
short of EC2's documented behaviour: AttachNetworkInterface takes an ENI that
is in use, silently replaces whatever sits at the device index, ignores the
Availability Zone and NetworkCardIndex; DeleteNetworkInterface deletes an
attached ENI; ModifyNetworkInterfaceAttribute ignores `Attachment`
(DeleteOnTermination). The rules added, from the EC2 API reference
(AttachNetworkInterface, DeleteNetworkInterface,
ModifyNetworkInterfaceAttribute, "Error codes for the Amazon EC2 API") and the
EC2 user guide (Elastic network interfaces: "both the network interface and the
instance must reside in the same Availability Zone"): attach refuses an ENI in
use (InvalidNetworkInterface.InUse), a taken device index and another AZ
(InvalidParameterValue / InvalidParameterCombination; the exact codes for these
two are not in the error-code list, so they are our choice), records the network
card (default 0); delete refuses an ENI in use (InvalidNetworkInterface.InUse);
modify sets the attachment's DeleteOnTermination. Switches for them:
`deny-<Action>` (UnauthorizedOperation for that action), `throttle-<Action>`
(the next N calls are RequestLimitExceeded), and `bucket` (Create/Delete-
NetworkInterface share a token bucket of 100 refilled at 5 per second, EC2 API
reference "Request throttling"). Every ENI and instance call, reads included,
is appended to `calls.log` as `<Action> <id> <cli|sdk>` (from the User-Agent).

    python -m tests.conformance.ec2_standin PORT CONTROL_DIR SETUP_JSON OUT_JSON
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
import threading
import time
from pathlib import Path

import boto3
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces
from moto.ec2.responses.instances import InstanceResponse
from moto.server import ThreadedMotoServer

NO_MANAGE = "node.k8s.amazonaws.com/no_manage"
REGION = "ap-northeast-2"
DETACHED_LIMIT = 50
"""IPv4 slots of an ENI attached to no instance: our choice, the largest per-ENI count of any instance type."""


class TokenBucket:
    """One of EC2's token buckets: `size` tokens, refilled at `rate` per second, per account and Region."""

    def __init__(self, size: float = 100, rate: float = 5) -> None:
        self.size, self.rate, self.tokens, self.at = size, rate, size, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.size, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


class Control:
    """The ENI-IP rules' switches and logs in the control folder.

    `deny`: every write is UnauthorizedOperation. `throttle`: the next N writes are RequestLimitExceeded.
    `ip-bucket` ("<size> <rate>"): the Assign/Unassign bucket's size and refill (default 100 and 5 per second).
    `limits.json` ({eni: n}): an ENI's IPv4 slots, for an ENI attached to no instance (else the instance type's).
    Logs: `calls.log` (`<Action> <eni>` per write attempt) and `writes.jsonl` (one JSON object per write:
    action, eni, addresses, prefixes, prefixCount and the outcome, "ok" or the error code)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.RLock()  # one write at a time, as EC2 applies one call to an ENI atomically
        self.bucket, self.bucket_spec = TokenBucket(), ""

    def take_token(self) -> bool:
        spec_file = self.folder / "ip-bucket"
        spec = spec_file.read_text().strip() if spec_file.exists() else ""
        if spec != self.bucket_spec:
            size, rate = (float(v) for v in spec.split()) if spec else (100.0, 5.0)
            self.bucket, self.bucket_spec = TokenBucket(size, rate), spec
        return self.bucket.take()

    def before_write(self, action: str, eni) -> None:
        with open(self.folder / "calls.log", "a") as fh:
            fh.write(f"{action} {eni.id}\n")
        if (self.folder / "deny").exists():
            raise EC2ClientError("UnauthorizedOperation", "You are not authorized to perform this operation.")
        throttle = self.folder / "throttle"
        left = int(throttle.read_text() or 0) if throttle.exists() else 0
        if left > 0:
            throttle.write_text(str(left - 1))
            raise EC2ClientError("RequestLimitExceeded", "Request limit exceeded.")
        if not self.take_token():
            raise EC2ClientError("RequestLimitExceeded", "Request limit exceeded.")
        tags = {t["key"]: t["value"] for t in eni.get_tags()}
        owned = any(k.startswith("kubernetes.io/cluster/") and v == "owned" for k, v in tags.items())
        if tags.get(NO_MANAGE) != "true" or not owned:
            raise EC2ClientError("UnauthorizedOperation", f"not authorized on {eni.id} (tags do not match the node role's condition)")

    def record(self, entry: dict) -> None:
        with open(self.folder / "writes.jsonl", "a") as fh:
            fh.write(json.dumps(entry) + "\n")

    def limit(self, eni) -> int:
        """The ENI's IPv4 slots: addresses (the primary included) plus prefixes, each one slot."""
        path = self.folder / "limits.json"
        limits = json.loads(path.read_text()) if path.exists() else {}
        if eni.id in limits:
            return int(limits[eni.id])
        if eni.instance is not None:
            return int(INSTANCE_TYPES[eni.instance.instance_type]["NetworkInfo"]["Ipv4AddressesPerInterface"])
        return DETACHED_LIMIT


def prefixes_of(eni) -> list[str]:
    return [p["Ipv4Prefix"] for p in getattr(eni, "ipv4_prefixes", [])]


def free_prefix(backend, subnet) -> str:
    """A /28 for Ipv4PrefixCount: from the subnet's `prefix` reservations first, then anywhere free and aligned;
    never from an `explicit` reservation, never over an address or prefix in use, never over the 4 first and the
    last address of the subnet (VPC user guide, "Subnet CIDR reservations" and "Subnet sizing")."""
    net = ipaddress.ip_network(subnet.cidr_block)
    taken = [ipaddress.ip_network(f"{net.network_address + i}/32") for i in range(4)]
    taken.append(ipaddress.ip_network(f"{net.broadcast_address}/32"))
    for other in backend.get_all_network_interfaces():
        if other.subnet.id == subnet.id:
            taken += [ipaddress.ip_network(a["PrivateIpAddress"]) for a in other.private_ip_addresses]
            taken += [ipaddress.ip_network(p) for p in prefixes_of(other)]
    reservations = list(getattr(subnet, "_cidr_reservations", []))
    taken += [ipaddress.ip_network(r.cidr) for r in reservations if r.reservation_type == "explicit"]
    pools = [ipaddress.ip_network(r.cidr) for r in reservations if r.reservation_type == "prefix"] + [net]
    for pool in pools:
        for block in pool.subnets(new_prefix=28) if pool.prefixlen <= 28 else []:
            if not any(block.overlaps(t) for t in taken):
                return str(block)
    raise EC2ClientError("InsufficientCidrBlocks", "The specified subnet does not have enough free cidr blocks to satisfy the request.")


def install(control: Control) -> None:
    def logged(action: str, rule):
        def handler(self):
            eni_id = self._get_param("NetworkInterfaceId")
            entry = {
                "action": action,
                "eni": eni_id,
                "addresses": len(self._get_param("PrivateIpAddresses", []) or []),
                "prefixes": len(self._get_param("Ipv4Prefixes", []) or []),
                "prefixCount": self._get_int_param("Ipv4PrefixCount", 0),
            }
            with control.lock:
                try:
                    result = rule(self)
                except EC2ClientError as exc:
                    control.record({**entry, "outcome": exc.code})
                    raise
                control.record({**entry, "outcome": "ok"})
                return result

        return handler

    def assign(self):
        eni = self.ec2_backend.get_network_interface(self._get_param("NetworkInterfaceId"))
        wanted = self._get_param("PrivateIpAddresses", []) or []
        wanted_prefixes = self._get_param("Ipv4Prefixes", []) or []
        count = self._get_int_param("Ipv4PrefixCount", 0) or 0
        allow = self._get_bool_param("AllowReassignment", False)
        control.before_write("AssignPrivateIpAddresses", eni)
        if wanted_prefixes:
            raise EC2ClientError("InvalidParameterValue", "explicit Ipv4Prefix values are not modelled by this stand-in")
        if wanted and count:
            raise EC2ClientError("InvalidParameterCombination", "You can't specify both IPv4 prefixes and IPv4 addresses.")
        held = {a.get("PrivateIpAddress") for a in eni.private_ip_addresses}
        new = [a for a in wanted if a not in held]
        if len(eni.private_ip_addresses) + len(prefixes_of(eni)) + len(new) + count > control.limit(eni):
            raise EC2ClientError("PrivateIpAddressLimitExceeded", f"Number of private addresses will exceed limit for {eni.id}.")
        if count:
            added = []
            for _ in range(count):
                added.append(free_prefix(self.ec2_backend, eni.subnet))
                eni.ipv4_prefixes = [*getattr(eni, "ipv4_prefixes", []), {"Ipv4Prefix": added[-1]}]
            return ActionResult({"NetworkInterfaceId": eni.id, "AssignedIpv4Prefixes": [{"Ipv4Prefix": p} for p in added]})
        subnet = ipaddress.ip_network(eni.subnet.cidr_block)
        for address in wanted:
            if ipaddress.ip_address(address) not in subnet:
                raise EC2ClientError("InvalidParameterValue", f"Address {address} does not fall within the subnet's address range")
            for other in self.ec2_backend.get_all_network_interfaces():
                if other is not eni and any(a.get("PrivateIpAddress") == address for a in other.private_ip_addresses) and not allow:
                    raise EC2ClientError("InvalidParameterValue", f"Address {address} is in use by {other.id}")
        for address in wanted:  # checked first, moved second: a refused call changes nothing
            for other in self.ec2_backend.get_all_network_interfaces():
                if other is not eni:
                    other.private_ip_addresses = [a for a in other.private_ip_addresses if a.get("PrivateIpAddress") != address]
        self.ec2_backend.assign_private_ip_addresses(eni.id, wanted, 0)
        assigned = [{"PrivateIpAddress": a} for a in wanted]
        return ActionResult({"NetworkInterfaceId": eni.id, "AssignedPrivateIpAddresses": assigned})

    def unassign(self):
        eni = self.ec2_backend.get_network_interface(self._get_param("NetworkInterfaceId"))
        wanted = self._get_param("PrivateIpAddresses", []) or []
        wanted_prefixes = self._get_param("Ipv4Prefixes", []) or []
        control.before_write("UnassignPrivateIpAddresses", eni)
        held = {a.get("PrivateIpAddress") for a in eni.private_ip_addresses}
        if any(a not in held for a in wanted) or any(p not in prefixes_of(eni) for p in wanted_prefixes):
            raise EC2ClientError("InvalidParameterValue", f"Some of the specified addresses are not assigned to interface {eni.id}")
        self.ec2_backend.unassign_private_ip_addresses(eni.id, wanted)
        eni.ipv4_prefixes = [p for p in getattr(eni, "ipv4_prefixes", []) if p["Ipv4Prefix"] not in wanted_prefixes]
        return EmptyResult()

    ElasticNetworkInterfaces.assign_private_ip_addresses = logged("AssignPrivateIpAddresses", assign)
    ElasticNetworkInterfaces.unassign_private_ip_addresses = logged("UnassignPrivateIpAddresses", unassign)


def install_boot_rules(folder: Path) -> None:
    bucket = TokenBucket()
    lock = threading.Lock()

    def gate(response, action: str, ident: str) -> None:
        # Who called: the AWS CLI (the node's programs) or an SDK (the harness looking at EC2).
        caller = "cli" if "aws-cli/" in response.headers.get("User-Agent", "") else "sdk"
        with lock, open(folder / "calls.log", "a") as fh:
            fh.write(f"{action} {ident} {caller}\n")
        if (folder / f"deny-{action}").exists():
            raise EC2ClientError("UnauthorizedOperation", f"You are not authorized to perform this operation ({action}).")
        throttle = folder / f"throttle-{action}"
        with lock:
            left = int(throttle.read_text() or 0) if throttle.exists() else 0
            if left > 0:
                throttle.write_text(str(left - 1))
        if left > 0 or (action.endswith("NetworkInterface") and (folder / "bucket").exists() and not bucket.take()):
            raise EC2ClientError("RequestLimitExceeded", "Request limit exceeded.")

    create, delete, attach = (
        ElasticNetworkInterfaces.create_network_interface,
        ElasticNetworkInterfaces.delete_network_interface,
        ElasticNetworkInterfaces.attach_network_interface,
    )
    describe_enis, describe_instances = ElasticNetworkInterfaces.describe_network_interfaces, InstanceResponse.describe_instances

    def create_rule(self):
        gate(self, "CreateNetworkInterface", self._get_param("SubnetId"))
        return create(self)

    def delete_rule(self):
        eni = self.ec2_backend.get_network_interface(self._get_param("NetworkInterfaceId"))
        gate(self, "DeleteNetworkInterface", eni.id)
        if eni.instance is not None:
            raise EC2ClientError("InvalidNetworkInterface.InUse", f"Interface: [{eni.id}] in use.")
        return delete(self)

    def attach_rule(self):
        eni = self.ec2_backend.get_network_interface(self._get_param("NetworkInterfaceId"))
        gate(self, "AttachNetworkInterface", eni.id)
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        index, card = int(self._get_param("DeviceIndex")), int(self._get_param("NetworkCardIndex", 0))
        if eni.instance is not None:
            raise EC2ClientError("InvalidNetworkInterface.InUse", f"Interface: [{eni.id}] in use.")
        if index in instance.nics:
            raise EC2ClientError(
                "InvalidParameterValue", f"Instance '{instance.id}' already has an interface attached at device index '{index}'."
            )
        if eni.subnet.availability_zone != instance.availability_zone:
            raise EC2ClientError("InvalidParameterCombination", f"{eni.id} and {instance.id} are in different Availability Zones.")
        result = attach(self)
        eni.network_card_index = card
        return result

    def modify_rule(self):
        eni = self.ec2_backend.get_network_interface(self._get_param("NetworkInterfaceId"))
        gate(self, "ModifyNetworkInterfaceAttribute", eni.id)
        change = self._get_param("Attachment") or {}
        if change:
            if change.get("AttachmentId") != eni.attachment_id:
                raise EC2ClientError("InvalidAttachmentID.NotFound", f"The attachment ID '{change.get('AttachmentId')}' does not exist")
            eni.delete_on_termination = str(change.get("DeleteOnTermination")).lower() == "true"
            return "<ModifyNetworkInterfaceAttributeResponse><return>true</return></ModifyNetworkInterfaceAttributeResponse>"
        return modify(self)

    def describe_enis_logged(self):
        gate(self, "DescribeNetworkInterfaces", ",".join(self._get_param("NetworkInterfaceIds", []) or []) or "-")
        return describe_enis(self)

    def describe_instances_logged(self):
        gate(self, "DescribeInstances", "-")
        return describe_instances(self)

    modify = ElasticNetworkInterfaces.modify_network_interface_attribute
    ElasticNetworkInterfaces.create_network_interface = create_rule
    ElasticNetworkInterfaces.delete_network_interface = delete_rule
    ElasticNetworkInterfaces.attach_network_interface = attach_rule
    ElasticNetworkInterfaces.modify_network_interface_attribute = modify_rule
    ElasticNetworkInterfaces.describe_network_interfaces = describe_enis_logged
    InstanceResponse.describe_instances = describe_instances_logged


def build_boot(endpoint: str, setup: dict) -> dict:
    """A VPC with the secondary CIDR, a node subnet and the multus subnets of one AZ, the multus SG, and instances."""
    region = setup.get("region", REGION)  # moto keeps one backend per Region, as EC2 does
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
    zone = setup.get("zone", f"{region}a")
    vpc = ec2.create_vpc(CidrBlock=setup["vpcCidr"])["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock=setup["secondaryCidr"])
    subnets = {
        name: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=setup.get("zones", {}).get(name, zone))["Subnet"]["SubnetId"]
        for name, cidr in setup["subnets"].items()
    }
    # The plan's subnet CIDR reservations (`prefix` or `explicit`), by subnet name: where Ipv4PrefixCount draws from.
    for name, reservations in setup.get("reservations", {}).items():
        for cidr, kind in reservations:
            ec2.create_subnet_cidr_reservation(SubnetId=subnets[name], Cidr=cidr, ReservationType=kind)
    sg = ec2.create_security_group(GroupName="multus-eni", Description="multus ENIs", VpcId=vpc)["GroupId"]
    instances = {}
    for key, spec in setup["instances"].items():
        out = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            InstanceType=spec.get("instanceType", "m5.large"),  # moto's default (m1.small) has 4 IPv4 slots per ENI
            SubnetId=subnets[spec["subnet"]],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in spec.get("tags", {}).items()]}],
        )
        instances[key] = out["Instances"][0]["InstanceId"]
    return {"region": region, "vpc": vpc, "subnets": subnets, "securityGroup": sg, "instances": instances}


def build(endpoint: str, setup: dict) -> dict[str, str]:
    """One VPC per group; a subnet per multus CIDR; an ENI per node slot with the slot's tags."""
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
    enis: dict[str, str] = {}
    for group in setup.get("groups", []):
        cidrs = sorted({slot["cidr"] for slot in group["slots"]})
        vpc_cidr = ipaddress.ip_network(cidrs[0]).supernet(new_prefix=16)
        vpc = ec2.create_vpc(CidrBlock=str(vpc_cidr))["Vpc"]["VpcId"]
        subnets = {c: ec2.create_subnet(VpcId=vpc, CidrBlock=c)["Subnet"]["SubnetId"] for c in cidrs}
        for slot in group["slots"]:
            tags = slot["tags"]
            eni = ec2.create_network_interface(
                SubnetId=subnets[slot["cidr"]],
                TagSpecifications=[{"ResourceType": "network-interface", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
            )["NetworkInterface"]
            enis[slot["key"]] = eni["NetworkInterfaceId"]
    return enis


def main() -> int:
    port, control_dir, setup_path, out_path = sys.argv[1:5]
    setup = json.loads(Path(setup_path).read_text())
    folder = Path(control_dir)
    folder.mkdir(parents=True, exist_ok=True)
    install(Control(folder))
    install_boot_rules(folder)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="0.0.0.0", port=int(port), verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    enis = build(endpoint, setup)
    if "boot" in setup:
        enis["boot"] = build_boot(endpoint, setup["boot"])  # type: ignore[assignment]
    if "boots" in setup:
        enis["boots"] = {key: build_boot(endpoint, world) for key, world in setup["boots"].items()}  # type: ignore[assignment]
    Path(out_path).write_text(json.dumps(enis))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
