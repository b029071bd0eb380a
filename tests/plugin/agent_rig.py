"""A node's agent on this machine: IMDSv2 stand-in, EC2 CLI stand-in, the agent process, the plugins.

IMDSv2 stand-in answers what the agent reads: the session token (PUT /latest/api/token),
placement/region, network/interfaces/macs/<mac>/interface-id and the instance profile's
credentials at iam/security-credentials/<role> (EC2 user guide, "Retrieve security credentials
from instance metadata": a JSON document with Code, AccessKeyId, SecretAccessKey, Token,
Expiration). `master` is the loopback, whose MAC maps to the node's ENI.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.helpers import ROOT

ASSETS = ROOT / "components" / "core" / "assets"
AGENT = ASSETS / "eks-multus-eni-agent"
PLUGIN = ASSETS / "eks-multus-eni-ip"
STANDIN = Path(__file__).resolve().parent / "ec2_cli_standin.py"
REGION = "ap-northeast-2"
LO_MAC = "00:00:00:00:00:00"


class Imds:
    def __init__(self, eni: str, credentials: bool = True) -> None:
        self.eni, self.credentials, self.credential_reads = eni, credentials, 0
        rig = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: str) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                self._send(200 if ok else 400, "token" if ok else "")

            def do_GET(self):
                if self.headers.get("X-aws-ec2-metadata-token") != "token":
                    return self._send(401, "")
                base = "/latest/meta-data/"
                item = self.path[len(base) :] if self.path.startswith(base) else ""
                if item == "placement/region":
                    return self._send(200, REGION)
                if item == f"network/interfaces/macs/{LO_MAC}/interface-id":
                    return self._send(200, rig.eni)
                if item.startswith("iam/security-credentials/") and rig.credentials:
                    if item == "iam/security-credentials/":
                        return self._send(200, "node-role")
                    rig.credential_reads += 1
                    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600))
                    doc = {"Code": "Success", "AccessKeyId": "ASIATEST", "SecretAccessKey": "secret", "Token": "t", "Expiration": expiry}
                    return self._send(200, json.dumps(doc))
                return self._send(404, "")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()


def ec2_state(path: Path, enis: dict[str, dict], subnets: dict | None = None, bucket: dict | None = None) -> None:
    state = {"subnets": subnets or {}, "enis": enis, "calls": [], "throttleNext": 0}
    if bucket:
        state["bucket"] = {**bucket, "tokens": bucket["size"], "at": time.time()}
    path.write_text(json.dumps(state))


def eni(primary: str, subnet: str = "100.64.0.0/19", limit: int = 10) -> dict:
    return {"subnet": subnet, "limit": limit, "primary": primary, "addresses": [], "prefixes": []}


def free_port() -> int:
    """A loopback port nobody listens on, for one agent (each test node has its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Node:
    """One node: its agent process (own folder, socket, state) against the shared EC2 state."""

    def __init__(self, folder: Path, ec2: Path, eni_id: str, cost: str = "", **config) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.ec2 = folder, ec2
        self.imds = Imds(eni_id)
        self.socket = str(folder / "agent.sock")
        cli = folder / "aws"
        cli.write_text(f'#!/bin/sh\nexec {sys.executable} {STANDIN} "$@"\n')
        cli.chmod(0o755)
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
            "EKS_MULTUS_AWS_CLI": str(cli),
            "EC2_STANDIN_STATE": str(ec2),
            "EC2_STANDIN_COST": cost,
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
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


def read_ec2(path: Path) -> dict:
    return json.loads(path.read_text())


def chained_conf(addresses: list[str], name: str = "net") -> dict:
    prev = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1"}], "ips": [{"address": f"{a}/19"} for a in addresses]}
    return {"cniVersion": "1.0.0", "name": name, "type": "eks-multus-eni-ip", "master": "lo", "prevResult": prev}


def prefix_conf(count: int = 1, most: int | None = None, cni_version: str = "1.0.0") -> dict:
    ipam = {"type": "eks-multus-eni-prefix", "subnet": "100.64.0.0/19", "gateway": "100.64.0.1", "prefixCount": count}
    if most:
        ipam["maxPrefixCount"] = most
    return {"cniVersion": cni_version, "name": "pfx", "type": "ipvlan", "master": "lo", "ipam": ipam}
