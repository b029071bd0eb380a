"""The boot step as the node runs it (the program the user data installs), against the EC2 stand-in.

The moto-based stand-in (tests/conformance/ec2_standin.py) runs as its own
process with EC2's attach/delete/modify rules; the node's IMDSv2 and the
kernel's view of attached ENIs are driven by its state (node_standin.py). The
kernel side is a fake root (EKS_MULTUS_ROOT): `sys/class/net/<link>/address`
folders appear when the stand-in says an ENI is attached, and a small `ip`
stand-in keeps altnames and link state. The real links, altnames and networkd
files are checked in the User-Mode Linux run (tests/conformance).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
import yaml

from components.core.iam import GROUP_TAG, INSTANCE_TAG, NO_MANAGE_TAG
from components.core.readiness import STATUS_FILE
from components.core.userdata import ClusterInfo, MultusNetworkIds, render_user_data
from tests.conformance.node_standin import Hotplug, imds_server, metadata
from tests.helpers import ROOT, free_port, load

REGION = "ap-northeast-2"
CLUSTER = ClusterInfo("eks-multus-test", "https://EXAMPLE.eks.amazonaws.com", "Q0E=", "172.20.0.0/16")
AWS_CLI = Path(sys.executable).parent / "aws"
FAKE_IP = '''#!/usr/bin/env python3
"""Enough of iproute2 for the boot step: link show (names and altnames), property add altname, set up."""
import json, os, sys
root, state_path = os.environ["EKS_MULTUS_ROOT"], os.environ["FAKE_IP_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {"altnames": {}, "up": []}
links = os.listdir(root + "/sys/class/net")
args = sys.argv[1:]
def kernel(name):
    return name if name in links else state["altnames"].get(name)
if args[:4] == ["-o", "link", "show", "dev"]:
    k = kernel(args[4])
    if not k:
        sys.exit('Device "%s" does not exist.' % args[4])
    print("7: %s: <BROADCAST,MULTICAST%s> mtu 9001" % (k, ",UP" if k in state["up"] else ""))
elif args[:3] == ["link", "property", "add"] and args[5] == "altname":
    if kernel(args[6]):
        sys.exit("RTNETLINK answers: File exists")
    state["altnames"][args[6]] = args[4]
elif args[:3] == ["link", "set", "dev"] and args[4] == "up":
    state["up"].append(args[3])
else:
    sys.exit("fake ip: unsupported " + " ".join(args))
json.dump(state, open(state_path, "w"))
'''


@pytest.fixture(scope="module")
def ec2(tmp_path_factory):
    """The stand-in with prod's zone-a multus subnets, the multus SG, and one instance per scenario."""
    if not AWS_CLI.exists():
        pytest.fail(f"the AWS CLI is a test dependency (requirements-dev.txt): {AWS_CLI} is missing")
    cfg = load("prod")
    folder = tmp_path_factory.mktemp("ec2")
    owned = {f"kubernetes.io/cluster/{CLUSTER.name}": "owned", GROUP_TAG: "multus-a"}
    names = ("first", "refused-create", "refused-attach", "orphans", "sibling", "dead", "throttled")
    setup = {
        "boot": {
            "vpcCidr": "10.30.0.0/16",
            "secondaryCidr": str(cfg.vpc.secondary_cidr),
            "subnets": {"node": "10.30.0.0/20", **{s.name: str(s.cidr) for s in cfg.multus_subnets}},
            "zones": {s.name: s.availability_zone for s in cfg.multus_subnets},
            "zone": "ap-northeast-2a",
            "instances": {n: {"subnet": "node", "tags": owned} for n in names},
        }
    }
    (folder / "setup.json").write_text(json.dumps(setup))
    port = free_port()
    log = open(folder / "standin.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.conformance.ec2_standin",
            str(port),
            str(folder),
            str(folder / "setup.json"),
            str(folder / "out.json"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while not (folder / "out.json").exists() or not (folder / "out.json").stat().st_size:
        assert proc.poll() is None and time.monotonic() < deadline, (folder / "standin.log").read_text()
        time.sleep(0.2)
    world = json.loads((folder / "out.json").read_text())["boot"]
    client = boto3.client(
        "ec2", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="test", aws_secret_access_key="test"
    )
    yield {"cfg": cfg, "world": world, "client": client, "port": port, "folder": folder}
    proc.terminate()
    proc.wait(timeout=10)


class Node:
    """One instance's boot: its fake root, IMDS and hotplug, and the program from its rendered user data."""

    def __init__(self, ec2: dict, key: str, tmp: Path) -> None:
        self.ec2, self.tmp = ec2, tmp
        tmp.mkdir(parents=True)
        self.instance_id = ec2["world"]["instances"][key]
        cfg = ec2["cfg"]
        ids = MultusNetworkIds(ec2["world"]["securityGroup"], {n: ec2["world"]["subnets"][n] for n in cfg.node_groups[0].multus_interfaces})
        text = render_user_data(cfg, cfg.node_groups[0], CLUSTER, ids)
        cloud = yaml.safe_load(text.split("#cloud-config\n", 1)[1].split("\n--==", 1)[0])
        files = {f["path"]: f for f in cloud["write_files"]}
        self.program = tmp / "eks-multus-interfaces"
        self.program.write_bytes(gzip.decompress(base64.b64decode(files["/usr/local/sbin/eks-multus-interfaces"]["content"])))
        self.config = tmp / "interfaces.json"
        self.config.write_text(files["/etc/eks-multus/interfaces.json"]["content"])
        self.root = tmp / "root"
        (self.root / "sys/class/net/ens5").mkdir(parents=True)
        (self.root / "sys/class/net/ens5/address").write_text("02:00:00:00:00:05\n")
        self.ip = tmp / "ip"
        self.ip.write_text(FAKE_IP)
        self.ip.chmod(0o755)
        self.imds_port = free_port()
        self.imds = imds_server(self.imds_port, lambda: metadata(ec2["client"], self.instance_id, REGION))
        threading.Thread(target=self.imds.serve_forever, daemon=True).start()
        self.hotplug = Hotplug(ec2["client"], self.instance_id, self.appear)
        self.hotplug.start()

    def appear(self, index: int, mac: str) -> None:
        link = self.root / "sys/class/net" / f"ens{5 + index}"  # AL2023 Nitro naming: device index i is ens(5+i)
        link.mkdir(parents=True, exist_ok=True)
        (link / "address").write_text(mac + "\n")

    def boot(self, **env: str) -> tuple[subprocess.CompletedProcess, dict, float]:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, str(self.program)],
            capture_output=True,
            text=True,
            timeout=300,
            env={
                "PATH": os.environ["PATH"],
                "HOME": str(self.tmp),
                "EKS_MULTUS_ROOT": str(self.root),
                "EKS_MULTUS_CONFIG": str(self.config),
                "EKS_MULTUS_IMDS_ENDPOINT": f"http://127.0.0.1:{self.imds_port}",
                "EKS_MULTUS_AWS_CLI": str(AWS_CLI),
                "EKS_MULTUS_IP": str(self.ip),
                "FAKE_IP_STATE": str(self.tmp / "ip.json"),
                "EKS_MULTUS_BACKOFF_SECONDS": "0.05",
                "EKS_MULTUS_LINK_WAIT_SECONDS": "20",
                "AWS_ENDPOINT_URL_EC2": f"http://127.0.0.1:{self.ec2['port']}",
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_EC2_METADATA_DISABLED": "true",
                **env,
            },
        )
        status = json.loads((self.root / STATUS_FILE.lstrip("/")).read_text())
        return done, status, time.monotonic() - started

    def enis(self) -> list[dict]:
        out = self.ec2["client"].describe_network_interfaces(Filters=[{"Name": f"tag:{INSTANCE_TAG}", "Values": [self.instance_id]}])
        return out["NetworkInterfaces"]

    def close(self) -> None:
        self.hotplug.stop()
        self.imds.shutdown()


def calls(ec2: dict) -> list[str]:
    """EC2 calls the node made (through the AWS CLI), not the harness's own look-ups."""
    path = ec2["folder"] / "calls.log"
    return [line for line in path.read_text().splitlines() if line.endswith(" cli")] if path.exists() else []


def switch(ec2: dict, name: str, value: str | None) -> None:
    path = ec2["folder"] / name
    if value is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(value)


@pytest.fixture
def node(ec2, tmp_path, request):
    nodes = []

    def make(key: str) -> Node:
        nodes.append(Node(ec2, key, tmp_path / key))
        return nodes[-1]

    yield make
    for n in nodes:
        n.close()


def test_first_boot_creates_tags_and_attaches_each_eni_in_its_subnet_then_a_reboot_creates_nothing(ec2, node):
    n = node("first")
    world = ec2["world"]
    before = len(calls(ec2))
    done, status, seconds = n.boot()
    assert done.returncode == 0, done.stdout + done.stderr
    made = calls(ec2)[before:]
    enis = {e["Attachment"]["DeviceIndex"]: e for e in n.enis()}
    assert sorted(enis) == [1, 2]
    for index, name in ((1, "multus-a"), (2, "direct-a")):
        eni = enis[index]
        assert eni["SubnetId"] == world["subnets"][name]
        assert [g["GroupId"] for g in eni["Groups"]] == [world["securityGroup"]]
        tags = {t["Key"]: t["Value"] for t in eni["TagSet"]}
        assert tags[NO_MANAGE_TAG] == "true" and tags[f"kubernetes.io/cluster/{CLUSTER.name}"] == "owned"
        assert tags[GROUP_TAG] == "multus-a" and tags[INSTANCE_TAG] == n.instance_id
        assert eni["Attachment"]["InstanceId"] == n.instance_id and eni["Attachment"]["DeleteOnTermination"] is True
        assert eni["Attachment"]["NetworkCardIndex"] == 0
        network = (n.root / f"etc/systemd/network/10-eks-multus-{name}.network").read_text()
        assert f"PermanentMACAddress={eni['MacAddress'].lower()}" in network and "Unmanaged=yes" in network
        assert "DHCP" not in network and "Gateway" not in network and "RoutingPolicyRule" not in network
        kernel = f"ens{5 + index}"
        assert (n.root / f"etc/eks/nodeadm/udev-net-manager/{n.instance_id}/{kernel}").read_text() == "cni"
    ip = json.loads((n.tmp / "ip.json").read_text())
    assert ip == {"altnames": {"multus-a": "ens6", "direct-a": "ens7"}, "up": ["ens6", "ens7"]}
    assert status["ready"] is True and status["reason"] == ""
    assert [(i["deviceIndex"], i["name"], i["kernel"]) for i in status["interfaces"]] == [(1, "multus-a", "ens6"), (2, "direct-a", "ens7")]
    assert sum(c.startswith("CreateNetworkInterface") for c in made) == 2
    first = {"seconds": round(seconds, 2), "calls": len(made)}

    # Reboot: the ENIs are still attached, so nothing is created, attached or modified.
    before = len(calls(ec2))
    done, status, seconds = n.boot()
    again = calls(ec2)[before:]
    assert done.returncode == 0 and status["ready"] is True
    assert not [c for c in again if not c.startswith("Describe")], again
    assert {e["NetworkInterfaceId"] for e in n.enis()} == {e["NetworkInterfaceId"] for e in enis.values()}
    sys.__stdout__.write(f"\nboot step: first boot {first}, reboot {{'seconds': {seconds:.2f}, 'calls': {len(again)}}}\n")


def test_a_refused_create_leaves_nothing_and_the_status_says_why(ec2, node):
    n = node("refused-create")
    switch(ec2, "deny-CreateNetworkInterface", "")
    try:
        done, status, _ = n.boot(EKS_MULTUS_ATTEMPTS="2")
    finally:
        switch(ec2, "deny-CreateNetworkInterface", None)
    assert done.returncode == 1
    assert status["ready"] is False and "UnauthorizedOperation" in status["reason"] and "\n" not in status["reason"]
    assert "NOT READY" in done.stdout  # what the console shows
    assert n.enis() == []


def test_a_refused_attach_deletes_the_eni_it_created(ec2, node):
    n = node("refused-attach")
    before = len(calls(ec2))
    switch(ec2, "deny-AttachNetworkInterface", "")
    try:
        done, status, _ = n.boot(EKS_MULTUS_ATTEMPTS="2")
    finally:
        switch(ec2, "deny-AttachNetworkInterface", None)
    made = calls(ec2)[before:]
    assert done.returncode == 1 and status["ready"] is False and "AttachNetworkInterface" in status["reason"]
    assert n.enis() == []
    created = sum(c.startswith("CreateNetworkInterface") for c in made)
    assert created == 2 and sum(c.startswith("DeleteNetworkInterface") for c in made) == created  # one per attempt


def test_orphans_of_dead_instances_go_and_a_live_siblings_stay(ec2, node):
    world, client = ec2["world"], ec2["client"]
    tags = {f"kubernetes.io/cluster/{CLUSTER.name}": "owned", NO_MANAGE_TAG: "true", GROUP_TAG: "multus-a"}

    def leftover(creator: str) -> str:
        spec = [{"ResourceType": "network-interface", "Tags": [{"Key": k, "Value": v} for k, v in {**tags, INSTANCE_TAG: creator}.items()]}]
        return client.create_network_interface(SubnetId=world["subnets"]["multus-a"], TagSpecifications=spec)["NetworkInterface"][
            "NetworkInterfaceId"
        ]

    dead, sibling = world["instances"]["dead"], world["instances"]["sibling"]
    client.terminate_instances(InstanceIds=[dead])
    of_dead, of_sibling = leftover(dead), leftover(sibling)
    done, status, _ = node("orphans").boot()
    assert done.returncode == 0 and status["ready"] is True, done.stdout
    left = {e["NetworkInterfaceId"] for e in client.describe_network_interfaces()["NetworkInterfaces"]}
    assert of_dead not in left, "an available ENI of a terminated instance is an orphan"
    assert of_sibling in left, "a live sibling may be between its create and its attach"


def test_throttled_creates_are_retried_and_the_node_converges(ec2, node):
    n = node("throttled")
    before = len(calls(ec2))
    switch(ec2, "throttle-CreateNetworkInterface", "2")
    done, status, _ = n.boot()
    switch(ec2, "throttle-CreateNetworkInterface", None)
    made = calls(ec2)[before:]
    assert done.returncode == 0 and status["ready"] is True, done.stdout
    assert sum(c.startswith("CreateNetworkInterface") for c in made) == 2 + 2  # two refused, retried by the CLI
    assert len(n.enis()) == 2
