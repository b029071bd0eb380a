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
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces
from moto.ec2.responses.instances import InstanceResponse
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


class TokenBucket:
    """EC2's resource-rate bucket for Create/DeleteNetworkInterface: 100 tokens, 5 per second, per account and Region."""

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
        gate(self, "DescribeNetworkInterfaces", "-")
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
    sg = ec2.create_security_group(GroupName="multus-eni", Description="multus ENIs", VpcId=vpc)["GroupId"]
    instances = {}
    for key, spec in setup["instances"].items():
        out = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
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
