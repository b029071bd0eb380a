"""A node's agent on this machine: the HTTP EC2 stand-in, an IMDSv2 stand-in, the agent process, the plugins.

EC2 is tests/conformance/ec2_standin.py (moto 5.2.5 plus EC2's documented rules, its docstring cites them),
run as its own process and reached over HTTP, as the agent reaches EC2 (EKS_MULTUS_EC2_ENDPOINT). Each
test gets a world of its own in it (a VPC, the multus subnet with its CIDR reservations, ENIs tagged as the
node role's IAM condition wants), so one stand-in serves a whole module.

IMDSv2 is tests/conformance/node_standin.py's `imds_server`, serving what the agent reads: placement/region,
network/interfaces/macs/<mac>/interface-id and the instance profile's credentials (node_standin.credentials).
`master` is the loopback, whose MAC maps to the node's ENI; credential document reads are counted.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3

from tests.conformance.node_standin import credentials, imds_server
from tests.helpers import ROOT, free_port

ASSETS = ROOT / "components" / "core" / "assets"
AGENT = ASSETS / "eks-multus-eni-agent"
PLUGIN = ASSETS / "eks-multus-eni-ip"
REGION = "ap-northeast-2"  # the stand-in's Region (tests/conformance/ec2_standin.py REGION)
LO_MAC = "00:00:00:00:00:00"
CLUSTER_TAGS = {"node.k8s.amazonaws.com/no_manage": "true", "kubernetes.io/cluster/eks-multus-test": "owned"}


class Ec2Standin:
    """tests/conformance/ec2_standin.py in a process of its own, its control folder, and a boto3 view of it."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        (folder / "out.json").unlink(missing_ok=True)
        (folder / "setup.json").write_text(json.dumps({"groups": []}))
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log = open(folder / "standin.log", "w")
        command = [sys.executable, "-m", "tests.conformance.ec2_standin", str(port), str(folder), str(folder / "setup.json")]
        self.proc = subprocess.Popen([*command, str(folder / "out.json")], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 60
        while not (folder / "out.json").exists() or not (folder / "out.json").stat().st_size:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the EC2 stand-in did not start: " + (folder / "standin.log").read_text())
            time.sleep(0.1)
        self.client = boto3.client(
            "ec2", region_name=REGION, endpoint_url=self.endpoint, aws_access_key_id="test", aws_secret_access_key="test"
        )

    def world(self, enis: dict[str, dict], subnet: str = "100.64.0.0/19", prefix: list[str] = (), explicit: list[str] = ()) -> dict:
        """A VPC and subnet of their own, the subnet's CIDR reservations, and ENIs {key: {"primary", "limit"}};
        returns {key: ENI id}. moto keeps overlapping VPCs apart, as EC2 does across VPCs."""
        vpc = self.client.create_vpc(CidrBlock=subnet.split("/")[0] + "/16")["Vpc"]["VpcId"]
        subnet_id = self.client.create_subnet(VpcId=vpc, CidrBlock=subnet)["Subnet"]["SubnetId"]
        for kind, cidrs in (("prefix", prefix), ("explicit", explicit)):
            for cidr in cidrs:
                self.client.create_subnet_cidr_reservation(SubnetId=subnet_id, Cidr=cidr, ReservationType=kind)
        tags = [{"Key": k, "Value": v} for k, v in CLUSTER_TAGS.items()]
        ids, limits_file = {}, self.folder / "limits.json"
        limits = json.loads(limits_file.read_text()) if limits_file.exists() else {}
        for key, spec in enis.items():
            ids[key] = self.client.create_network_interface(
                SubnetId=subnet_id,
                PrivateIpAddress=spec["primary"],
                TagSpecifications=[{"ResourceType": "network-interface", "Tags": tags}],
            )["NetworkInterface"]["NetworkInterfaceId"]
            limits[ids[key]] = spec.get("limit", 10)  # m5.large: 10 IPv4 addresses per ENI
        limits_file.write_text(json.dumps(limits))
        return ids

    def _eni(self, eni: str) -> dict:
        return self.client.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]

    def addresses(self, eni: str) -> list[str]:
        """The ENI's secondary addresses, sorted."""
        return sorted(a["PrivateIpAddress"] for a in self._eni(eni)["PrivateIpAddresses"] if not a.get("Primary"))

    def prefixes(self, eni: str) -> list[str]:
        return [p["Ipv4Prefix"] for p in self._eni(eni).get("Ipv4Prefixes", [])]

    def writes(self, eni: str, action: str | None = None) -> list[dict]:
        """Assign/Unassign attempts on the ENI, in order, each with its outcome ("ok" or EC2's error code)."""
        path = self.folder / "writes.jsonl"
        entries = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        return [e for e in entries if e["eni"] == eni and action in (None, e["action"])]

    def switch(self, name: str, value: str | None) -> None:
        path = self.folder / name
        if value is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(value)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()


class Imds:
    """node_standin's IMDSv2 server with one node's items; counts reads of the credential document."""

    def __init__(self, eni: str, credentials_served: bool = True) -> None:
        self.eni, self.credentials, self.credential_reads = eni, credentials_served, 0
        rig = self

        class Served(dict):
            def get(self, key, default=None):
                if key.startswith("iam/security-credentials/") and key != "iam/security-credentials/" and key in self:
                    rig.credential_reads += 1
                return super().get(key, default)

        def items() -> dict[str, str]:
            served = Served({"placement/region": REGION, f"network/interfaces/macs/{LO_MAC}/interface-id": rig.eni})
            if rig.credentials:
                served.update(credentials())
            return served

        self.server = imds_server(0, items)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Node:
    """One node: its agent process (own folder, socket, state) against the shared EC2 stand-in."""

    def __init__(self, folder: Path, ec2: Ec2Standin, eni_id: str, **config) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.ec2 = folder, ec2
        self.imds = Imds(eni_id)
        self.socket = str(folder / "agent.sock")
        self.cache = folder / "cni-results"
        self.cache.mkdir(exist_ok=True)
        self.port = free_port()
        self.config = {
            "port": self.port,
            "socket": self.socket,
            "stateFile": str(folder / "state.json"),
            "cacheDirs": [str(self.cache)],
            "reconcileSeconds": 3600,
            "graceSeconds": 0,
            **config,
        }
        (folder / "agent.json").write_text(json.dumps(self.config))
        self.env = {
            "PATH": os.environ["PATH"],
            "EKS_MULTUS_AGENT_CONFIG": str(folder / "agent.json"),
            "EKS_MULTUS_IMDS_ENDPOINT": self.imds.endpoint,
            "EKS_MULTUS_EC2_ENDPOINT": ec2.endpoint,
        }
        self.proc: subprocess.Popen | None = None

    def start(self, python: str = "/usr/bin/python3", wrap: list[str] | None = None) -> None:
        py = python if os.path.exists(python) else sys.executable
        self.log = open(self.folder / "agent.log", "a")
        self.proc = subprocess.Popen([*(wrap or []), py, str(AGENT)], env=self.env, stderr=self.log, stdout=self.log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                self.ask({"op": "stats"})
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("agent did not start: " + (self.folder / "agent.log").read_text())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None
            self.log.close()

    def close(self) -> None:
        self.stop()
        self.imds.close()

    def ask(self, request: dict) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(60)
            sock.connect(self.socket)
            sock.sendall((json.dumps(request) + "\n").encode())
            return json.loads(sock.makefile().readline())

    def plugin(
        self, command: str, conf: dict, container: str, ifname: str = "net1", netns: str = "", role: Path = PLUGIN
    ) -> subprocess.Popen:
        env = {
            "PATH": os.environ["PATH"],
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": container,
            "CNI_IFNAME": ifname,
            "CNI_NETNS": netns,
            "EKS_MULTUS_AGENT_PORT": str(self.port),
        }
        proc = subprocess.Popen([str(role)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        proc.stdin.write(json.dumps(conf))
        proc.stdin.close()
        return proc


def finish(proc: subprocess.Popen) -> tuple[int, dict | None]:
    out = proc.stdout.read()
    rc = proc.wait(timeout=120)
    return rc, (json.loads(out) if out.strip() else None)


def chained_conf(addresses: list[str], name: str = "net") -> dict:
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1"}], "ips": [{"address": f"{a}/19"} for a in addresses]}
    return {"cniVersion": "1.0.0", "name": name, "type": "eks-multus-eni-ip", "master": "lo", "prevResult": prev}


def prefix_conf(count: int = 1, most: int | None = None, cni_version: str = "1.0.0") -> dict:
    ipam = {"type": "eks-multus-eni-prefix", "subnet": "100.64.0.0/19", "gateway": "100.64.0.1", "prefixCount": count}
    if most:
        ipam["maxPrefixCount"] = most
    return {"cniVersion": cni_version, "name": "pfx", "type": "ipvlan", "master": "lo", "ipam": ipam}
