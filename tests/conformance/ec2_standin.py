"""A local EC2 endpoint for the ENI-IP conformance run: a moto server plus what moto lacks.

moto 5.2.5 keeps ENIs, tags and secondary addresses, but its
AssignPrivateIpAddresses ignores AllowReassignment and never looks at other
ENIs, and its UnassignPrivateIpAddresses ignores addresses that are not there.
Real EC2 moves an address only when reassignment is allowed, refuses an address
outside the ENI's subnet, and refuses to unassign what the ENI does not hold.
This stand-in adds those rules, the node role's IAM condition (writes only on
ENIs tagged no_manage=true and owned by the cluster), and two switches in a
control folder: `deny` (every write is UnauthorizedOperation) and `throttle`
(the next N writes are RequestLimitExceeded). Each write is appended to
`calls.log`, so tests can count attempts.

    python -m tests.conformance.ec2_standin PORT CONTROL_DIR SETUP_JSON OUT_JSON
"""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
import time
from pathlib import Path

import boto3
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces
from moto.server import ThreadedMotoServer

NO_MANAGE = "node.k8s.amazonaws.com/no_manage"
REGION = "ap-northeast-2"


class Control:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

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
        tags = {t["key"]: t["value"] for t in eni.get_tags()}
        owned = any(k.startswith("kubernetes.io/cluster/") and v == "owned" for k, v in tags.items())
        if tags.get(NO_MANAGE) != "true" or not owned:
            raise EC2ClientError("UnauthorizedOperation", f"not authorized on {eni.id} (tags do not match the node role's condition)")


def install(control: Control) -> None:
    def assign(self):
        eni = self.ec2_backend.get_network_interface(self._get_param("NetworkInterfaceId"))
        wanted = self._get_param("PrivateIpAddresses", [])
        allow = self._get_bool_param("AllowReassignment", False)
        control.before_write("AssignPrivateIpAddresses", eni)
        subnet = ipaddress.ip_network(eni.subnet.cidr_block)
        for address in wanted:
            if ipaddress.ip_address(address) not in subnet:
                raise EC2ClientError("InvalidParameterValue", f"Address {address} does not fall within the subnet's address range")
            for other in self.ec2_backend.get_all_network_interfaces():
                held = [a for a in other.private_ip_addresses if a.get("PrivateIpAddress") == address]
                if other is eni or not held:
                    continue
                if not allow:
                    raise EC2ClientError("InvalidParameterValue", f"Address {address} is in use by {other.id}")
                for item in held:
                    other.private_ip_addresses.remove(item)
        self.ec2_backend.assign_private_ip_addresses(eni.id, wanted, 0)
        return "<AssignPrivateIpAddressesResponse><return>true</return></AssignPrivateIpAddressesResponse>"

    def unassign(self):
        eni = self.ec2_backend.get_network_interface(self._get_param("NetworkInterfaceId"))
        wanted = self._get_param("PrivateIpAddresses", [])
        control.before_write("UnassignPrivateIpAddresses", eni)
        held = {a.get("PrivateIpAddress") for a in eni.private_ip_addresses}
        missing = [a for a in wanted if a not in held]
        if missing:
            raise EC2ClientError("InvalidParameterValue", f"Some of the specified addresses are not assigned to interface {eni.id}")
        self.ec2_backend.unassign_private_ip_addresses(eni.id, wanted)
        return "<UnassignPrivateIpAddressesResponse><return>true</return></UnassignPrivateIpAddressesResponse>"

    ElasticNetworkInterfaces.assign_private_ip_addresses = assign
    ElasticNetworkInterfaces.unassign_private_ip_addresses = unassign


def build(endpoint: str, setup: dict) -> dict[str, str]:
    """One VPC per group; a subnet per multus CIDR; an ENI per node slot with the slot's tags."""
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
    enis: dict[str, str] = {}
    for group in setup["groups"]:
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
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="0.0.0.0", port=int(port), verbose=False)
    server.start()
    enis = build(f"http://127.0.0.1:{port}", setup)
    Path(out_path).write_text(json.dumps(enis))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
