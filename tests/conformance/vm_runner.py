"""Runs inside the User-Mode Linux VM: every planned CNI config through the real plugins.

Reads a job file (networks to run, the node group's multus interfaces and its
boot step's input) and, per job, builds a "node" namespace wired to the EC2
stand-in (moto plus EC2's documented rules, tests/conformance/ec2_standin.py,
in the VM's root namespace, reached over a veth pair). The real boot program,
exactly as the user data installs it, creates and attaches the node's multus
ENIs in the stand-in; the harness makes each attached ENI appear in the node
namespace as a link with the ENI's MAC under the AL2023 kernel name, and the
node's IMDSv2 serves what EC2 has attached (node_standin.py). Then two "pod"
namespaces run ADD / CHECK / DEL per the CNI spec, conflists in libcni's
order, on those links. The EC2 side is read with boto3. Writes a JSON report.
"""

from __future__ import annotations

import collections
import ctypes
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, ROOT_DIR)

from tests.conformance.aws_cli import client_script  # noqa: E402
from tests.conformance.node_standin import Hotplug, attached, imds_server, metadata  # noqa: E402

CNI_PATH = "/usr/lib/cni"
CHECK_VERSIONS = ("0.4.0", "1.0.0", "1.1.0")
ENI_IP = "eks-multus-eni-ip"
EC2_PORT = 5000
EC2_CONTROL = "/run/ec2-standin"
REGION = "ap-northeast-2"
AWS_CLI = os.path.join(os.path.dirname(sys.executable), "aws")
"""The AWS CLI the node programs run; main() points it at the fork server's client (tests/conformance/aws_cli.py)."""
AWS_CLI_DIR = "/run/aws-cli"
EXECS: collections.Counter = collections.Counter()
"""Plugin processes started, by plugin type (the report's figures for what a CNI call costs here)."""
CLONE_NEWNET = 0x40000000
ASSETS = os.path.join(ROOT_DIR, "components", "core", "assets")
AGENT = os.path.join(ASSETS, "eks-multus-eni-agent")
AGENT_ATTEMPTS = 3
"""EC2 attempts per call in the VM's agents (the node default is 8)."""
"""Where the project's plugins (eks-multus-eni-ip) are: CNI_PATH searches it after Debian's."""
NO_MANAGE = "node.k8s.amazonaws.com/no_manage"
PREFIX_IPAM = "eks-multus-eni-prefix"
PLUGIN_LINKS = "/run/eks-multus-cni"
"""The relay under its IPAM name, a symlink as the user data's runcmd makes it (components/core/userdata.py)."""


def progress(message: str) -> None:
    """To the VM log (build/conformance/vm.log), as it happens."""
    print(f"[{time.monotonic():8.1f}] {message}", file=sys.stderr, flush=True)


def sh(*args: str, check: bool = True, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(list(args), capture_output=True, text=True, input=input, env=env, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def world_for(job: dict, index: int) -> dict:
    """One VPC per job: the secondary CIDR, a node subnet, the group's multus subnets, and its nodes' instances."""
    zone = job["interfaces"][0]["zone"]
    tags = {f"kubernetes.io/cluster/{job['cluster']}": "owned"}
    return {
        "region": job["region"],
        "vpcCidr": "10.0.0.0/16",
        "secondaryCidr": job["secondaryCidr"],
        "zone": zone,
        "subnets": {"node": "10.0.0.0/24", **{i["subnet"]: i["cidr"] for i in job["interfaces"]}},
        "zones": {i["subnet"]: i["zone"] for i in job["interfaces"]},
        # The scenario job's extra nodes: b (an address moves to it), c (its create is refused); the prefix
        # scenario's b (a second node drawing prefixes from the same reservation).
        "instances": {
            f"node{index}{suffix}": {"subnet": "node", "tags": tags, "instanceType": job["instanceType"]}
            for suffix in ("", "b", "c")[: 3 if job.get("scenarios") else 2 if job.get("prefixScenario") else 1]
        },
        "reservations": job.get("reservations", {}),
    }


class Ec2:
    """The EC2 stand-in in the VM's root namespace, and a boto3 view of it."""

    def __init__(self, worlds: dict[str, dict]) -> None:
        os.makedirs(EC2_CONTROL, exist_ok=True)
        setup, out = os.path.join(EC2_CONTROL, "setup.json"), os.path.join(EC2_CONTROL, "out.json")
        with open(setup, "w") as fh:
            json.dump({"groups": [], "boots": worlds}, fh)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.conformance.ec2_standin", str(EC2_PORT), EC2_CONTROL, setup, out],
            cwd=ROOT_DIR,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(EC2_CONTROL, "standin.log"), "w"),
        )
        deadline = time.monotonic() + 180
        while not os.path.exists(out) or not os.path.getsize(out):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the EC2 stand-in did not start: " + open(os.path.join(EC2_CONTROL, "standin.log")).read())
            time.sleep(0.2)
        with open(out) as fh:
            self.worlds: dict[str, dict] = json.load(fh)["boots"]
        self.clients: dict = {}
        self.use(REGION)

    def use(self, region: str) -> None:
        """The Region the next job's calls go to (moto, like EC2, keeps each Region apart)."""
        import boto3  # the VM runs the project's interpreter, which has the test dependencies

        if region not in self.clients:
            self.clients[region] = boto3.client(
                "ec2",
                region_name=region,
                endpoint_url=f"http://127.0.0.1:{EC2_PORT}",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
        self.region, self.client = region, self.clients[region]

    def addresses(self, eni: str) -> set[str]:
        found = self.client.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["PrivateIpAddresses"]
        return {a["PrivateIpAddress"] for a in found if not a.get("Primary")}

    def switch(self, name: str, value: str | None) -> None:
        path = os.path.join(EC2_CONTROL, name)
        if value is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            with open(path, "w") as fh:
                fh.write(value)

    def raw_log(self) -> list[str]:
        path = os.path.join(EC2_CONTROL, "calls.log")
        return [line.rstrip("\n") for line in open(path)] if os.path.exists(path) else []

    def log(self) -> list[str]:
        """EC2 calls made by the node's programs (AWS CLI), not by this harness (boto3)."""
        path = os.path.join(EC2_CONTROL, "calls.log")
        if not os.path.exists(path):
            return []
        with open(path) as fh:
            lines = [line.rstrip("\n") for line in fh]
        # Boot-rule lines end in the caller; the ENI-IP rules' lines (Assign/Unassign) carry none.
        return [line.removesuffix(" cli") for line in lines if not line.endswith(" sdk")]

    def calls(self, action: str) -> int:
        return sum(1 for line in self.log() if line.startswith(action + " "))

    def writes(self) -> list[dict]:
        """The ENI-IP rules' writes as the stand-in recorded them (writes.jsonl: action, eni, counts, outcome)."""
        path = os.path.join(EC2_CONTROL, "writes.jsonl")
        return [json.loads(line) for line in open(path)] if os.path.exists(path) else []

    def prefixes(self, eni: str) -> list[str]:
        """The /28 prefixes EC2 holds for the ENI (DescribeNetworkInterfaces `Ipv4Prefixes`)."""
        found = self.client.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
        return sorted(p["Ipv4Prefix"] for p in found.get("Ipv4Prefixes", []))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Node:
    """A node namespace on an instance of the stand-in: links appear as EC2 attaches ENIs; IMDS on its loopback."""

    count = 0

    def __init__(self, name: str, job: dict, ec2: Ec2, world: dict, **env: str) -> None:
        Node.count += 1
        self.extra_env = env
        self.name, self.job, self.ec2, self.world = name, job, ec2, world
        self.interfaces = job["interfaces"]
        self.instance_id = world["instances"][name]
        self.port = 18000 + Node.count
        self.link = Node.count
        self.root = f"/run/node-root/{name}"
        self.imds = None
        self.agent: subprocess.Popen | None = None
        self.agent_dir = f"/run/eks-multus-agent-{name}"
        self.hotplug: Hotplug | None = None
        self.enis: dict[int, str] = {}
        self.kernel = {i["deviceIndex"]: i["kernel"] for i in self.interfaces}

    def appear(self, index: int, mac: str) -> None:
        """What the kernel does on attach: a link with the ENI's MAC (AL2023 names device index i ens(5+i))."""
        name = self.kernel.get(index, f"ens{5 + index}")
        sh("ip", "-n", self.name, "link", "add", name, "type", "dummy")
        sh("ip", "-n", self.name, "link", "set", "dev", name, "address", mac)

    def start(self, program: str) -> dict:
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")
        (primary,) = [e for e in attached(self.ec2.client, self.instance_id) if e["Attachment"]["DeviceIndex"] == 0]
        sh("ip", "-n", self.name, "link", "add", "ens5", "type", "dummy")
        sh("ip", "-n", self.name, "link", "set", "dev", "ens5", "address", primary["MacAddress"].lower())
        root, peer = f"ec2v{self.link}", "ec2"
        sh("ip", "link", "add", root, "type", "veth", "peer", "name", peer, "netns", self.name)
        sh("ip", "addr", "add", f"10.250.{self.link}.1/30", "dev", root)
        sh("ip", "link", "set", root, "up")
        sh("ip", "-n", self.name, "addr", "add", f"10.250.{self.link}.2/30", "dev", peer)
        sh("ip", "-n", self.name, "link", "set", peer, "up")
        self.start_imds()
        self.hotplug = Hotplug(self.ec2.client, self.instance_id, self.appear, interval=0.5)
        self.hotplug.start()
        conf = self.job["bootConf"].replace("@multus-security-group", self.world["securityGroup"])
        for name, subnet_id in self.world["subnets"].items():
            conf = conf.replace(f"@subnet/{name}", subnet_id)
        self.conf = f"/run/eks-multus-{self.name}.json"
        with open(self.conf, "w") as fh:
            fh.write(conf)
        before = len(self.ec2.log())
        progress(f"{self.name}: boot step")
        boot = self.boot(program)
        boot["calls"] = self.ec2.log()[before:]
        progress(f"{self.name}: boot step rc {boot['rc']} in {boot['seconds']} s, {len(boot['calls'])} EC2 calls")
        self.hotplug.stop()  # every attach has happened; the poller only costs CPU from here on
        self.enis = {e["Attachment"]["DeviceIndex"]: e["NetworkInterfaceId"] for e in attached(self.ec2.client, self.instance_id)}
        resolved = {}
        for iface in self.interfaces:
            link = sh("ip", "-n", self.name, "-o", "link", "show", "dev", iface["altname"], check=False)
            resolved[iface["altname"]] = link.stdout.split(": ")[1].split("@")[0] if link.returncode == 0 else None
        boot["resolved"] = resolved
        boot["up"] = all(
            "UP" in sh("ip", "-n", self.name, "-o", "link", "show", "dev", i["kernel"], check=False).stdout.split("<")[-1].split(">")[0]
            for i in self.interfaces
        )
        boot["ec2"] = self.ec2_view()
        self.start_agent()
        boot["networkd"] = {
            i["altname"]: _read(f"{self.root}/etc/systemd/network/10-eks-multus-{i['altname']}.network") for i in self.interfaces
        }
        boot["nodeadmCache"] = {
            i["kernel"]: _read(f"{self.root}/etc/eks/nodeadm/udev-net-manager/{self.instance_id}/{i['kernel']}") for i in self.interfaces
        }
        return boot

    def boot(self, program: str, **env: str) -> dict:
        later = bool(self.hotplug and self.hotplug.stopped.is_set())
        if later:  # a later boot: links may appear again (a refused node)
            self.hotplug = Hotplug(self.ec2.client, self.instance_id, self.appear, interval=0.5)
            self.hotplug.seen = {e for e in self.enis.values()}
            self.hotplug.start()
        try:
            return self._boot(program, **env)
        finally:
            if later:  # every attach of this boot has happened (polling on cost a describe every 0.5 s for the rest of the run)
                self.hotplug.stop()

    def _boot(self, program: str, **env: str) -> dict:
        started = time.monotonic()
        done = sh(
            "ip",
            "netns",
            "exec",
            self.name,
            sys.executable,
            program,
            check=False,
            env={**self.env(), **self.boot_env(), **self.extra_env, **env},
        )
        status = _read(f"{self.root}/run/eks-multus/network.json")
        return {
            "rc": done.returncode,
            "log": done.stdout + done.stderr,
            "seconds": round(time.monotonic() - started, 2),
            "status": json.loads(status) if status else None,
        }

    def boot_env(self) -> dict[str, str]:
        return {
            "EKS_MULTUS_CONFIG": self.conf,
            "EKS_MULTUS_ROOT": self.root,  # files under the VM's /run, never the host's /etc (hostfs root)
            "EKS_MULTUS_SYSFS_NET": "/sys/class/net",  # `ip netns exec` mounts the namespace's sysfs
            "EKS_MULTUS_BACKOFF_SECONDS": "0.2",
            "EKS_MULTUS_LINK_WAIT_SECONDS": "30",
        }

    def ec2_view(self) -> dict:
        """What EC2 holds for the node's multus ENIs: subnet, SG, tags, device index, delete-on-termination."""
        subnet_ids = {i["deviceIndex"]: self.world["subnets"][i["subnet"]] for i in self.interfaces}
        out = {}
        for eni in attached(self.ec2.client, self.instance_id):
            index = eni["Attachment"]["DeviceIndex"]
            if index == 0:
                continue
            tags = {t["Key"]: t["Value"] for t in eni.get("TagSet", [])}
            out[str(index)] = {
                "eni": eni["NetworkInterfaceId"],
                "inItsSubnet": eni["SubnetId"] == subnet_ids.get(index),
                "securityGroups": [g["GroupId"] for g in eni["Groups"]] == [self.world["securityGroup"]],
                "noManage": tags.get(NO_MANAGE) == "true",
                "clusterOwned": tags.get(f"kubernetes.io/cluster/{self.job['cluster']}") == "owned",
                "nodeGroupTag": tags.get("eks-multus.io/node-group"),
                "deleteOnTermination": eni["Attachment"]["DeleteOnTermination"] is True,
                "networkCard": eni["Attachment"].get("NetworkCardIndex"),
            }
        return out

    def start_imds(self) -> None:
        """IMDS on the node's loopback, served from this process: only its socket is made in the node's namespace.

        (One Python process per node importing boto3 cost about 4 s of the VM's single CPU each.)
        """
        client, instance_id, region = self.ec2.client, self.instance_id, self.world["region"]
        self.imds = in_netns(self.name, lambda: imds_server(self.port, lambda: metadata(client, instance_id, region)))
        threading.Thread(target=self.imds.serve_forever, daemon=True).start()

    def start_agent(self, **knobs) -> None:
        """The node agent (eks-multus-eni-agent) in the node's namespace, as the DaemonSet runs it on the host.

        `knobs` override its config keys (reconcileSeconds, graceSeconds, maxAttempts) for one scenario.
        """
        os.makedirs(self.agent_dir, exist_ok=True)
        config = {
            "socket": f"{self.agent_dir}/agent.sock",
            "stateFile": f"{self.agent_dir}/state.json",
            "cacheDirs": [f"{self.agent_dir}/results"],
            "reconcileSeconds": 3600,
            "graceSeconds": 3600,
            "batchWindowSeconds": 0.05,
            "maxAttempts": AGENT_ATTEMPTS,
            **({"interfaces": self.job["agentInterfaces"]} if "agentInterfaces" in self.job else {}),
            **knobs,
        }
        with open(f"{self.agent_dir}/agent.json", "w") as fh:
            json.dump(config, fh)
        env = {**self.env(), "EKS_MULTUS_AGENT_CONFIG": f"{self.agent_dir}/agent.json"}
        log = open(f"{self.agent_dir}/agent.log", "a")
        self.agent = subprocess.Popen(["ip", "netns", "exec", self.name, sys.executable, AGENT], env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while not os.path.exists(config["socket"]):
            if time.monotonic() > deadline or self.agent.poll() is not None:
                raise RuntimeError(f"agent for {self.name} did not start: {_read(f'{self.agent_dir}/agent.log')}")
            time.sleep(0.05)
        # Prefixes are assigned on the agent's start-up thread: wait for them, as pods wait for the node.
        wanted = self.prefix_enis()
        if wanted and not _wait(lambda: all(len(self.ask({"op": "stats"})["prefixes"].get(e, [])) >= n for e, n in wanted.items()), 60):
            raise RuntimeError(f"agent for {self.name} assigned no prefixes to {wanted}: {_read(f'{self.agent_dir}/agent.log')}")

    def prefix_enis(self) -> dict[str, int]:
        """ENI id -> the prefix count the agent's config asks for at start (its `interfaces`)."""
        index = {i["altname"]: i["deviceIndex"] for i in self.interfaces}
        return {
            self.enis[index[i["name"]]]: i["prefixCount"] for i in self.job.get("agentInterfaces", []) if index.get(i["name"]) in self.enis
        }

    def ask(self, request: dict) -> dict:
        """One JSON request line to the agent's unix socket (root's, 0600), as the agent's docstring defines it."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(60)
            conn.connect(f"{self.agent_dir}/agent.sock")
            conn.sendall((json.dumps(request) + "\n").encode())
            answer = conn.makefile("rb").readline()
        return json.loads(answer)

    def kill_agent(self) -> None:
        """A crash: SIGKILL, no shutdown path runs (what the kernel's OOM killer or a node hiccup does)."""
        if self.agent:
            self.agent.kill()
        self.stop_agent()

    def state(self) -> dict[str, dict]:
        """The agent's persisted attachments, by container ID."""
        text = _read(f"{self.agent_dir}/state.json")
        return {r["containerID"]: r for r in (json.loads(text).get("attachments", {}) if text else {}).values()}

    def stop_agent(self) -> None:
        if self.agent:
            self.agent.terminate()
            self.agent.wait(timeout=10)
            self.agent = None
            try:
                os.unlink(f"{self.agent_dir}/agent.sock")
            except FileNotFoundError:
                pass

    def stop_imds(self) -> None:
        if self.imds:
            self.imds.shutdown()
            self.imds.server_close()
            self.imds = None

    def env(self) -> dict[str, str]:
        """What the node's programs get: the keys reach only the boot program's AWS CLI (the agent signs with the
        IMDS stand-in's instance-profile credentials); the EC2 endpoint both."""
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/tmp",
            "EKS_MULTUS_IMDS_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "EKS_MULTUS_AWS_CLI": AWS_CLI,
            "AWS_ENDPOINT_URL_EC2": f"http://10.250.{self.link}.1:{EC2_PORT}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def close(self) -> None:
        if self.hotplug:
            self.hotplug.stop()
        self.stop_agent()
        self.stop_imds()
        sh("ip", "link", "del", f"ec2v{self.link}", check=False)
        sh("ip", "netns", "del", self.name, check=False)


def in_netns(name: str, make):
    """`make()` run on a thread that joined network namespace `name` (setns(2) moves only the calling thread)."""
    out: dict = {}

    def run() -> None:
        try:
            with open(f"/run/netns/{name}") as fh:
                if ctypes.CDLL(None, use_errno=True).setns(fh.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {name}")
            out["value"] = make()
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def start_aws_cli() -> subprocess.Popen:
    """The AWS CLI fork server in the VM's root namespace (the EC2 endpoint is a root-side veth address)."""
    global AWS_CLI
    os.makedirs(AWS_CLI_DIR, exist_ok=True)
    sock = os.path.join(AWS_CLI_DIR, "sock")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT_DIR, "tests", "conformance", "aws_cli.py"), sock],
        cwd=ROOT_DIR,
        stdout=subprocess.PIPE,
        stderr=open(os.path.join(AWS_CLI_DIR, "server.log"), "w"),
        text=True,
    )
    AWS_CLI = client_script(os.path.join(AWS_CLI_DIR, "aws"), sock)
    return proc


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def _exec(node: Node, command: str, conf: dict, container: str, netns: str, ifname: str, plugin_dirs: str) -> subprocess.CompletedProcess:
    env = {
        **node.env(),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container,
        "CNI_NETNS": f"/run/netns/{netns}",
        "CNI_IFNAME": ifname,
        "CNI_PATH": plugin_dirs,
    }
    EXECS[conf["type"]] += 1
    binary = next((os.path.join(d, conf["type"]) for d in plugin_dirs.split(":") if os.path.exists(os.path.join(d, conf["type"]))), None)
    if binary is None:
        return subprocess.CompletedProcess([conf["type"]], 1, "", f"plugin {conf['type']} not in {plugin_dirs}")
    return sh("ip", "netns", "exec", node.name, binary, input=json.dumps(conf), env=env, check=False)


def cni(node: Node, command: str, conf: dict, container: str, netns: str, ifname: str, cached: dict | None = None):
    """One CNI operation as libcni runs it: ADD/CHECK in list order, DEL in reverse.

    ADD hands each plugin the previous result; CHECK and DEL (from 0.4.0) hand
    every plugin the cached result of the ADD. Returns the final process and
    each plugin's ADD output.
    """
    plugin_dirs = f"{CNI_PATH}:{ASSETS}:{PLUGIN_LINKS}"
    version = conf["cniVersion"]
    plugins = conf.get("plugins", [conf])
    order = list(reversed(plugins)) if command == "DEL" else plugins
    prev = cached if command in ("CHECK", "DEL") and version in CHECK_VERSIONS else None
    outputs: list[dict] = []
    done = subprocess.CompletedProcess([], 0, "", "")
    for plugin in order:
        entry = dict(plugin, cniVersion=version, name=conf["name"])  # what libcni injects into each plugin
        if prev is not None:
            entry["prevResult"] = prev
        done = _exec(node, command, entry, container, netns, ifname, plugin_dirs)
        if done.returncode != 0:
            return done, outputs
        if command == "ADD":
            prev = json.loads(done.stdout)
            outputs.append(prev)
    if command == "ADD":
        done = subprocess.CompletedProcess(done.args, 0, json.dumps(prev), done.stderr)
    return done, outputs


def node_group_of(job: dict) -> tuple[str, str]:
    """Jobs of one stack and node group run on one node: their node interfaces and boot input are the same."""
    return job["stack"], json.loads(job["bootConf"])["nodeGroup"]


def run_network(job: dict, index: int, script: str, ec2: Ec2, booted: dict, owner: int) -> dict:
    """One network's CNI run, on its node group's node: booted by the group's first job (`owner`), then reused."""
    pods = (f"pod{index}a", f"pod{index}b")
    conf = job["conf"]
    plugins = conf.get("plugins", [conf])
    chained = [p["type"] for p in plugins]
    world = ec2.worlds[f"job{owner}"]
    ec2.use(world["region"])
    entry = {
        "stack": job["stack"],
        "network": job["network"],
        "plugin": plugins[0]["type"],
        "chain": chained,
        "substituted": job.get("substituted", ""),
    }
    first = plugins[0]
    started = time.monotonic()
    nodes: list[Node] = []  # this job's extra nodes; the group's node is closed by main()
    key = node_group_of(job)
    try:
        if key in booted:
            node, entry["boot"] = booted[key]
            entry["bootShared"] = node.name
            if entry["boot"] is None:
                raise RuntimeError(f"{node.name} (node group {key[1]}) did not boot for an earlier network")
        else:
            node = Node(f"node{owner}", job, ec2, world)
            booted[key] = (node, None)
            entry["boot"] = node.start(script)
            # A reboot: the same program again finds its ENIs attached and creates nothing.
            before = len(ec2.log())
            again = node.boot(script)
            again["calls"] = ec2.log()[before:]
            entry["boot"]["second"] = again
            booted[key] = (node, entry["boot"])
        if job.get("scenarios"):
            if owner != index:  # the scenarios' extra nodes are instances of this job's world
                raise RuntimeError("the scenario network must be the first of its node group")
            entry["boot"]["refusedCreate"] = refused_create(job, index, ec2, world, script, nodes)
        enis = node.enis if ENI_IP in chained else None
        for pod in pods:
            sh("ip", "netns", "add", pod)
        results = []
        # A static address exists once per node, so static networks take one pod.
        single = first["type"] != "ipvlan" or (first.get("ipam") or {}).get("type") == "static"
        for pod in pods[:1] if single else pods:
            done, outputs = cni(node, "ADD", conf, f"ctr-{pod}", pod, "net1")
            if done.returncode != 0:
                raise RuntimeError(f"ADD {pod}: {done.stdout.strip()} {done.stderr.strip()}")
            result = json.loads(done.stdout)
            ips = result.get("ips", [])
            shown = sh("ip", "-n", pod, "-d", "address", "show", "dev", "net1").stdout
            results.append(
                {
                    "pod": pod,
                    "address": ips[0]["address"] if ips else None,
                    "gateway": ips[0].get("gateway") if ips else None,
                    "ip": shown,
                    "raw": result,
                    "outputs": outputs,
                }
            )
        entry["pods"] = [{k: v for k, v in r.items() if k not in ("raw", "outputs")} for r in results]
        if first["type"] == "ipvlan":
            mode = first.get("mode", "l2")
            entry["modeShown"] = all(f"ipvlan  mode {mode}" in r["ip"] for r in results)
            if len(results) > 1:
                target = results[1]["address"].split("/")[0]
                ping = sh("ip", "netns", "exec", pods[0], "ping", "-c", "2", "-i", "0.2", "-W", "2", target, check=False)
                entry["ping"] = ping.returncode == 0
        else:
            entry["movedIn"] = "net1" in sh("ip", "-n", pods[0], "-o", "link").stdout
            entry["goneFromNode"] = job["device"] not in sh("ip", "-n", node.name, "-o", "link").stdout
        eni = _master_eni(job, enis)
        if eni:
            on_eni = ec2.addresses(eni)
            entry["eniIp"] = {
                "eni": eni,
                "assignedAfterAdd": sorted(on_eni),
                "assigned": all(_ip(r) in on_eni for r in results),
                "passedThrough": all(r["outputs"][-1] == r["outputs"][0] for r in results),
            }
        if conf["cniVersion"] in CHECK_VERSIONS:
            entry["check"] = cni(node, "CHECK", conf, f"ctr-{pods[0]}", pods[0], "net1", cached=results[0]["raw"])[0].returncode == 0
        for r in results:
            done, _ = cni(node, "DEL", conf, f"ctr-{r['pod']}", r["pod"], "net1", cached=r["raw"])
            if done.returncode != 0:
                raise RuntimeError(f"DEL {r['pod']}: {done.stdout.strip()} {done.stderr.strip()}")
        entry["released"] = _released(first, conf["name"], results)
        if eni:
            left = ec2.addresses(eni)
            entry["eniIp"]["releasedFromEni"] = not any(_ip(r) in left for r in results)
            entry["eniIp"]["stateCleared"] = not _state_files()
        if first["type"] == "host-device":
            entry["movedBack"] = job["device"] in sh("ip", "-n", node.name, "-o", "link").stdout
        entry["secondDel"] = cni(node, "DEL", conf, f"ctr-{pods[0]}", pods[0], "net1", cached=results[0]["raw"])[0].returncode == 0
        if eni and job.get("scenarios"):
            entry["eniIp"]["scenarios"] = eni_scenarios(job, index, node, eni, ec2, script, nodes)
        if job.get("prefixScenario"):
            if owner != index:  # node b is an instance of this job's world
                raise RuntimeError("the prefix scenario network must be the first of its node group")
            progress(f"{node.name}: prefix mode on two nodes")
            entry["prefix"] = prefix_scenarios(job, index, node, ec2, script, nodes)
        entry["ok"] = _ok(entry)
    except Exception as exc:
        entry["ok"] = False
        entry["error"] = str(exc)
    finally:
        for ns in (*pods, f"pod{index}c"):
            sh("ip", "netns", "del", ns, check=False)
        for n in nodes:
            n.close()
        entry["seconds"] = round(time.monotonic() - started, 2)
    return entry


def refused_create(job: dict, index: int, ec2: Ec2, world: dict, script: str, nodes: list[Node]) -> dict:
    """EC2 refuses CreateNetworkInterface on a fresh node: nothing is left in EC2, the status says why."""
    node = Node(f"node{index}c", job, ec2, world, EKS_MULTUS_ATTEMPTS="1")
    nodes.append(node)
    ec2.switch("deny-CreateNetworkInterface", "")
    try:
        boot = node.start(script)
    finally:
        ec2.switch("deny-CreateNetworkInterface", None)
    mine = ec2.client.describe_network_interfaces(Filters=[{"Name": "tag:eks-multus.io/instance", "Values": [node.instance_id]}])
    return {
        "rc": boot["rc"],
        "status": boot["status"],
        "console": [line for line in boot["log"].splitlines() if "NOT READY" in line],
        "leftInEc2": [e["NetworkInterfaceId"] for e in mine["NetworkInterfaces"]],
        "attached": sorted(boot["ec2"]),
        "creates": sum(1 for c in boot["calls"] if c.startswith("CreateNetworkInterface")),
    }


def eni_scenarios(job: dict, index: int, node: Node, eni: str, ec2: Ec2, script: str, nodes: list[Node]) -> dict:
    """Move between nodes, EC2 refusing, throttling, IMDS down: what is left on the ENIs each time."""
    conf = job["conf"]
    out: dict = {}
    pod, other = f"pod{index}a", f"pod{index}c"
    sh("ip", "netns", "add", other)

    # Move: the pod's address comes up on node B (host-local there has its own
    # store and, here, a range of just that address), as when a pod with a
    # fixed address is rescheduled before its old sandbox is torn down.
    node_b = Node(f"node{index}b", job, ec2, ec2.worlds[f"job{index}"])
    nodes.append(node_b)
    node_b.start(script)
    eni_b = _master_eni(job, node_b.enis)
    done_a, _ = cni(node, "ADD", conf, f"ctr-{pod}", pod, "net1")
    conf_b = json.loads(json.dumps(conf))
    conf_b["plugins"][0]["ipam"].update(rangeStart=_first_ip(done_a), rangeEnd=_first_ip(done_a), dataDir=f"/var/lib/cni/node{index}b")
    move = {"onNodeAAfterAdd": _first_ip(done_a) in ec2.addresses(eni)}
    done_b, _ = cni(node_b, "ADD", conf_b, f"ctr-{other}", other, "net1")
    addr_a, addr_b = _first_ip(done_a), _first_ip(done_b)
    move.update(address=addr_a, sameAddress=addr_a == addr_b and addr_a is not None)
    move["onNodeBOnly"] = addr_b in ec2.addresses(eni_b) and addr_b not in ec2.addresses(eni)
    cni(node, "DEL", conf, f"ctr-{pod}", pod, "net1", cached=json.loads(done_a.stdout))
    move["keptOnNodeBAfterDelOnA"] = addr_b in ec2.addresses(eni_b)
    cni(node_b, "DEL", conf_b, f"ctr-{other}", other, "net1", cached=json.loads(done_b.stdout))
    move["releasedAfterDelOnB"] = addr_b not in ec2.addresses(eni_b)
    out["move"] = move

    def failing_add(add_conf: dict, between=None) -> dict:
        done, _ = cni(node, "ADD", add_conf, f"ctr-{pod}", pod, "net1")
        error = json.loads(done.stdout) if done.stdout.strip() else {}
        if between:
            between()
        cni(node, "DEL", add_conf, f"ctr-{pod}", pod, "net1")  # the runtime's cleanup after a failed ADD
        return {
            "failed": done.returncode != 0,
            "code": error.get("code"),
            "msg": error.get("msg"),
            "nothingOnEni": not ec2.addresses(eni),
            "noState": not _state_files(),
            "linkGone": sh("ip", "-n", pod, "link", "show", "dev", "net1", check=False).returncode != 0,
        }

    ec2.switch("deny", "")
    out["ec2Refused"] = failing_add(conf)
    ec2.switch("deny", None)

    before = ec2.calls("AssignPrivateIpAddresses")
    ec2.switch("throttle", "2")
    done, _ = cni(node, "ADD", conf, f"ctr-{pod}", pod, "net1")
    out["throttledThenOk"] = {
        "ok": done.returncode == 0,
        "assignAttempts": ec2.calls("AssignPrivateIpAddresses") - before,
        "assigned": done.returncode == 0 and _first_ip(done) in ec2.addresses(eni),
    }
    if done.returncode == 0:
        cni(node, "DEL", conf, f"ctr-{pod}", pod, "net1", cached=json.loads(done.stdout))

    before = ec2.calls("AssignPrivateIpAddresses")
    ec2.switch("throttle", "100")
    out["throttleExhausted"] = failing_add(conf, between=lambda: ec2.switch("throttle", None))
    out["throttleExhausted"]["assignAttempts"] = ec2.calls("AssignPrivateIpAddresses") - before
    ec2.switch("throttle", None)

    # IMDS down: the agent's credentials and ENI lookup are warm, so pods still start.
    node.stop_imds()
    done, _ = cni(node, "ADD", conf, f"ctr-{pod}", pod, "net1")
    out["imdsDownWarm"] = {"ok": done.returncode == 0, "assigned": done.returncode == 0 and _first_ip(done) in ec2.addresses(eni)}
    if done.returncode == 0:
        cni(node, "DEL", conf, f"ctr-{pod}", pod, "net1", cached=json.loads(done.stdout))
    out["imdsDownWarm"]["released"] = not ec2.addresses(eni) and not _state_files()
    node.start_imds()
    # The agent down: the plugin says so with a retryable code, and nothing happens in EC2.
    node.stop_agent()
    out["agentDown"] = failing_add(conf, between=node.start_agent)  # the runtime's DEL retry finds it back
    progress(f"{node.name}: agent restart mid-batch")
    out["restartMidBatch"] = restart_mid_batch(index, node, eni, ec2, conf)
    progress(f"{node.name}: lost DEL")
    out["lostDel"] = lost_del(index, node, eni, ec2, conf)
    return out


def prefix_scenarios(job: dict, index: int, node: Node, ec2: Ec2, script: str, nodes: list[Node]) -> dict:
    """Prefix mode on two nodes whose master ENIs share a subnet with a `prefix` CIDR reservation.

    The agent assigns each ENI its prefixCount /28 prefixes at start (AssignPrivateIpAddresses with
    Ipv4PrefixCount: EC2 user guide, "Assign prefixes to network interfaces"), drawn from the reservation
    (VPC user guide, "Subnet CIDR reservations": a `prefix` reservation is where EC2 takes prefixes from).
    Pods then get addresses out of their own node's prefixes through ipvlan's IPAM, eks-multus-eni-prefix,
    with no EC2 call per ADD or DEL; a DEL frees the address and is idempotent, CHECK holds for a live pod
    (CNI spec, "DEL" and "CHECK"). Filling the node grows the ENI by one prefix per call when the free
    addresses fall to the agent's LOW_WATER, up to maxPrefixCount; past that an ADD fails with the agent's
    no-address code.
    """
    conf = job["conf"]  # the rendered prefix network: one ipvlan conf whose IPAM is eks-multus-eni-prefix
    ipam = conf["ipam"]
    count, most = ipam["prefixCount"], ipam["maxPrefixCount"]
    master = next(i for i in job["interfaces"] if conf["master"] in (i["altname"], i["kernel"]))
    reservation = next(c for c, kind in job["reservations"][master["subnet"]] if kind == "prefix")
    out: dict = {"reservation": reservation, "prefixCount": count, "maxPrefixCount": most}
    node_b = Node(f"node{index}b", job, ec2, ec2.worlds[f"job{index}"])
    nodes.append(node_b)
    boot_b = node_b.start(script)
    out["nodeBBoot"] = {"rc": boot_b["rc"], "ready": (boot_b["status"] or {}).get("ready") is True}
    enis = {"a": node.enis[master["deviceIndex"]], "b": node_b.enis[master["deviceIndex"]]}
    on_node = {"a": node, "b": node_b}
    held = {k: ec2.prefixes(e) for k, e in enis.items()}
    out["atStart"] = {
        k: {
            "eni": enis[k],
            "prefixes": held[k],
            "agentPrefixes": on_node[k].ask({"op": "stats"})["prefixes"].get(enis[k], []),
            "writes": [{x: w[x] for x in ("action", "prefixCount", "addresses", "outcome")} for w in ec2.writes() if w["eni"] == enis[k]],
        }
        for k in enis
    }
    pods = {"a": [f"pa{index}1", f"pa{index}2"], "b": [f"pb{index}1", f"pb{index}2"]}
    extra = f"pa{index}3"
    every = [*pods["a"], *pods["b"], extra]
    for pod in every:
        sh("ip", "netns", "add", pod)
    results: dict = {}
    cached: dict = {}
    live, freed = pods["a"][1], pods["a"][0]
    try:
        # The pods' window: every EC2 call about either ENI (writes and describes) and the agents' own counters.
        writes, lines = len(ec2.writes()), len(ec2.raw_log())
        agent_calls = {k: on_node[k].ask({"op": "stats"})["ec2Calls"] for k in enis}
        for k, names in pods.items():
            for pod in names:
                done, _ = cni(on_node[k], "ADD", conf, f"ctr-{pod}", pod, "net1")
                results[pod] = (k, done)
        out["adds"] = {pod: {"node": k, "rc": d.returncode, "address": _first_ip(d)} for pod, (k, d) in results.items()}
        out["ping"] = {}
        for k, (source, target) in pods.items():  # pod to pod on one node, as run_network pings
            ping = ("ping", "-c", "2", "-i", "0.2", "-W", "2", str(out["adds"][target]["address"]))
            out["ping"][k] = sh("ip", "netns", "exec", source, *ping, check=False).returncode == 0
        cached.update({pod: json.loads(d.stdout) for pod, (_, d) in results.items() if d.returncode == 0})
        out["checkLive"] = cni(node, "CHECK", conf, f"ctr-{live}", live, "net1", cached=cached.get(live))[0].returncode == 0
        dels = [cni(node, "DEL", conf, f"ctr-{freed}", freed, "net1", cached=cached.get(freed))[0].returncode for _ in range(2)]
        out["delTwice"] = dels
        out["freedNotHeld"] = f"ctr-{freed}" not in node.state()
        out["checkAfterDel"] = cni(node, "CHECK", conf, f"ctr-{freed}", freed, "net1", cached=cached.get(freed))[0].returncode
        again, _ = cni(node, "ADD", conf, f"ctr-{extra}", extra, "net1")
        results[extra] = ("a", again)
        cached[extra] = json.loads(again.stdout) if again.returncode == 0 else None
        out["reAdd"] = {"rc": again.returncode, "address": _first_ip(again), "freed": out["adds"][freed]["address"]}
        out["podWindow"] = {
            "standinWrites": ec2.writes()[writes:],
            "standinCallsNamingTheEnis": [line for line in ec2.raw_log()[lines:] if any(e in line for e in enis.values())],
            "agentCallsBefore": agent_calls,
            "agentCallsAfter": {k: on_node[k].ask({"op": "stats"})["ec2Calls"] for k in enis},
        }
        out["secondaryAddressesOnEnis"] = {k: sorted(ec2.addresses(e)) for k, e in enis.items()}
        out["fill"] = _fill_prefixes(node, enis["a"], ec2, conf, f"/run/netns/{live}", count, most)
        out["afterFill"] = {k: ec2.prefixes(e) for k, e in enis.items()}
        # One ADD more through ipvlan, as the runtime makes it, on the full node.
        writes = len(ec2.writes())
        full = f"pa{index}4"
        sh("ip", "netns", "add", full)
        every.append(full)
        done, _ = cni(node, "ADD", conf, f"ctr-{full}", full, "net1")
        error = json.loads(done.stdout) if done.stdout.strip() else {}
        cleanup = cni(node, "DEL", conf, f"ctr-{full}", full, "net1")[0].returncode  # the runtime's DEL after a failed ADD
        out["fullAdd"] = {
            "rc": done.returncode,
            "code": error.get("code"),
            "msg": error.get("msg"),
            "writes": ec2.writes()[writes:],
            "cleanupDelRc": cleanup,
            "linkGone": sh("ip", "-n", full, "link", "show", "dev", "net1", check=False).returncode != 0,
        }
    finally:
        for container in [c for c in node.state() if c.startswith("fill-")]:
            node.ask({"op": "release", "containerID": container, "ifname": "net1"})
        for pod, (k, _) in results.items():
            if pod != freed:
                cni(on_node[k], "DEL", conf, f"ctr-{pod}", pod, "net1", cached=cached.get(pod))
        for pod in every:
            sh("ip", "netns", "del", pod, check=False)
    out["nothingHeld"] = not node.state() and not node_b.state()
    return out


def _fill_prefixes(node: Node, eni: str, ec2: Ec2, conf: dict, netns: str, count: int, most: int) -> dict:
    """Allocations (the request the IPAM relay sends for an ADD, straight to the agent) until it says no more.

    Per allocation: the free addresses before it (16 per prefix held, minus those in use), and whether the
    ENI grew, by how many prefixes, in how many stand-in writes."""
    stats = node.ask({"op": "stats"})
    used = sum(1 for r in node.state().values() if r["eni"] == eni)
    held = len(stats["prefixes"].get(eni, []))
    growth, quiet_free, last = [], [], {}
    for n in range(16 * 64):
        writes = len(ec2.writes())
        request = {"containerID": f"fill-{n}", "ifname": "net1", "netns": netns, "network": conf["name"], "master": conf["master"]}
        last = node.ask({"op": "allocate", **request, "prefixCount": count, "maxPrefixCount": most})
        after = len(node.ask({"op": "stats"})["prefixes"].get(eni, []))
        added = ec2.writes()[writes:]
        free = 16 * held - used
        if after != held or added:
            growth.append({"freeBefore": free, "prefixesBefore": held, "prefixesAfter": after, "writes": added})
        elif held < most:
            quiet_free.append(free)
        if not last.get("ok"):
            break
        used, held = used + 1, after
    return {
        "allocated": n if not last.get("ok") else n + 1,
        "inUseAtEnd": used,
        "prefixesAtEnd": held,
        "growth": growth,
        "lowestFreeWithoutGrowth": min(quiet_free) if quiet_free else None,
        "refusal": {k: last.get(k) for k in ("ok", "code", "msg")},
    }


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _concurrently(node: Node, command: str, conf: dict, pods: list[str], cached: dict | None = None) -> dict:
    """The runtime's parallel sandbox setups (or teardowns) on one node: one CNI call per pod at once."""
    done: dict = {}

    def one(pod: str) -> None:
        done[pod] = cni(node, command, conf, f"ctr-{pod}", pod, "net1", cached=(cached or {}).get(pod))

    threads = [threading.Thread(target=one, args=(pod,)) for pod in pods]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done


def _kill_mid_batch(node: Node, ec2: Ec2, conf: dict, pods: list[str], command: str, action: str, phase: str, cached=None):
    """Concurrent `command`s for `pods` while EC2 throttles `action`; the agent is SIGKILLed once every record is
    persisted in `phase` and an attempt reached EC2. Returns the CNI results, whether the batch was in flight at
    the kill, and whether every record was still in `phase` after the crash."""
    node.stop_agent()
    node.start_agent(maxAttempts=10_000)
    before = ec2.calls(action)
    ec2.switch("throttle", "1000000")
    done: dict = {}
    worker = threading.Thread(target=lambda: done.update(_concurrently(node, command, conf, pods, cached)))
    worker.start()
    ids = [f"ctr-{p}" for p in pods]

    def in_phase() -> bool:
        state = node.state()
        return all(state.get(c, {}).get("phase") == phase for c in ids)

    inflight = _wait(lambda: in_phase() and ec2.calls(action) > before, 120)
    progress(f"{node.name}: {action} batch in flight: {inflight}; killing the agent")
    node.kill_agent()
    worker.join()
    ec2.switch("throttle", None)
    return done, inflight, in_phase()


def restart_mid_batch(index: int, node: Node, eni: str, ec2: Ec2, conf: dict) -> dict:
    """The agent killed while a batch is at EC2 (assigns, then unassigns): nothing lost, nothing leaked.

    EC2 throttles (RequestLimitExceeded, what EC2 answers a request over its rate: EC2 API reference,
    "Request throttling") and the agent, given attempts enough, keeps the batch in backoff until it is
    killed, its records persisted as `assigning` (or `releasing`). The plugins' ADDs fail, and the runtime
    cleans up with DEL (CNI spec, "Lifecycle": a runtime calls DEL after a failed ADD). The restarted agent
    finishes each record: an assign whose pod's netns exists is replayed, an interrupted release is done.
    A pod assigned before the crash is neither lost nor released.
    """
    out: dict = {}
    keep, pods = f"r{index}k", [f"r{index}{n}" for n in range(3)]
    for pod in (keep, *pods):
        sh("ip", "netns", "add", pod)
    try:
        kept, _ = cni(node, "ADD", conf, f"ctr-{keep}", keep, "net1")
        kept_ip = _first_ip(kept)
        ids = [f"ctr-{p}" for p in pods]
        # Assigns: the batch in flight at EC2 when the agent dies.
        adds, inflight, recorded = _kill_mid_batch(node, ec2, conf, pods, "ADD", "AssignPrivateIpAddresses", "assigning")
        out["assign"] = {
            "inFlightAtKill": inflight,
            "addsFailed": all(adds[p][0].returncode != 0 for p in pods),
            "recordedAtCrash": recorded,
        }
        # Each failed ADD's address, from its IPAM step (the runtime has no result to cache).
        addresses = {p: (adds[p][1][0]["ips"][0]["address"].split("/")[0] if adds[p][1] else None) for p in pods}
        node.start_agent()
        finished = _wait(lambda: all(node.state().get(c, {}).get("phase") == "assigned" for c in ids), 60)
        on_eni = ec2.addresses(eni)
        out["assign"].update(
            resumed=finished,
            onEniAfterRestart=all(a in on_eni for a in addresses.values()),
            keptUntouched=kept_ip in on_eni and node.state().get(f"ctr-{keep}", {}).get("phase") == "assigned",
        )
        cached = {p: adds[p][1][0] for p in pods if adds[p][1]}
        # Unassigns: the DELs' batch in flight when the agent dies.
        dels, inflight, recorded = _kill_mid_batch(node, ec2, conf, pods, "DEL", "UnassignPrivateIpAddresses", "releasing", cached)
        out["unassign"] = {
            "inFlightAtKill": inflight,
            "delsFailed": all(dels[p][0].returncode != 0 for p in pods),
            "recordedAtCrash": recorded,
        }
        node.start_agent()
        finished = _wait(lambda: not any(c in node.state() for c in ids), 60)
        on_eni = ec2.addresses(eni)
        retried = _concurrently(node, "DEL", conf, pods, cached)  # the runtime retries a failed DEL
        out["unassign"].update(
            resumed=finished,
            goneFromEni=not any(a in on_eni for a in addresses.values()),
            keptUntouched=kept_ip in on_eni,
            retriedDelsOk=all(d[0].returncode == 0 for d in retried.values()),
        )
        cni(node, "DEL", conf, f"ctr-{keep}", keep, "net1", cached=json.loads(kept.stdout) if kept.returncode == 0 else None)
        out["nothingLeft"] = not ec2.addresses(eni) and not _state_files()
    finally:
        ec2.switch("throttle", None)
        if node.agent is None:
            node.start_agent()
        for pod in (keep, *pods):
            sh("ip", "netns", "del", pod, check=False)
    return out


def lost_del(index: int, node: Node, eni: str, ec2: Ec2, conf: dict) -> dict:
    """A DEL that never comes: the agent's reconciler releases the address once the pod is gone.

    Gone is judged as the agent documents it: no network namespace at the path the ADD named, and no
    entry in the runtime's CNI result cache (libcni writes `<cacheDir>/results/<network>-<containerID>-<ifname>`
    on ADD and removes it on DEL: containernetworking/cni libcni/api.go, getCacheFilePath), and not before
    the grace has passed since the assign. Short reconcile interval and grace here (config keys
    reconcileSeconds, graceSeconds); the node defaults are 60 s and 120 s.
    """
    grace = 6.0
    cache = f"{node.agent_dir}/results"
    os.makedirs(cache, exist_ok=True)
    live, cached_pod, gone = f"l{index}k", f"l{index}c", f"l{index}g"
    node.stop_agent()
    node.start_agent(reconcileSeconds=1, graceSeconds=grace)
    out: dict = {}
    results: dict = {}
    try:
        for pod in (live, cached_pod, gone):
            sh("ip", "netns", "add", pod)
            done, _ = cni(node, "ADD", conf, f"ctr-{pod}", pod, "net1")
            since = node.state().get(f"ctr-{pod}", {}).get("since", 0.0)  # when the agent recorded it (time.time())
            results[pod] = (done, _first_ip(done), time.monotonic(), since)
        entry = os.path.join(cache, f"{conf['name']}-ctr-{cached_pod}-net1")
        with open(entry, "w") as fh:  # what libcni caches for the pod that keeps its entry
            fh.write(results[cached_pod][0].stdout)
        progress(f"{node.name}: three pods added; their DELs are lost")
        out["added"] = all(r[0].returncode == 0 and r[1] in ec2.addresses(eni) for r in results.values())
        # The DELs are lost: the sandboxes' netns go away and the plugin never hears of it.
        for pod in (cached_pod, gone):
            sh("ip", "netns", "del", pod)
        added_gone = results[gone][2]
        time.sleep(max(0.0, added_gone + 1 - time.monotonic()))
        out["keptWithinGrace"] = results[gone][1] in ec2.addresses(eni)
        # The reconciler unassigns, then drops the record: wait for both.
        out["releasedAfterGrace"] = _wait(
            lambda: results[gone][1] not in ec2.addresses(eni) and f"ctr-{gone}" not in node.state(), grace + 20
        )
        out["secondsAfterAssign"] = round(time.time() - results[gone][3], 1)
        out["notInState"] = f"ctr-{gone}" not in node.state()
        out["keptWhileCached"] = results[cached_pod][1] in ec2.addresses(eni) and f"ctr-{cached_pod}" in node.state()
        os.unlink(entry)
        out["releasedOnceCacheGone"] = _wait(
            lambda: results[cached_pod][1] not in ec2.addresses(eni) and f"ctr-{cached_pod}" not in node.state(), 20
        )
        out["liveKept"] = results[live][1] in ec2.addresses(eni) and f"ctr-{live}" in node.state()
        cni(node, "DEL", conf, f"ctr-{live}", live, "net1", cached=json.loads(results[live][0].stdout))
        out["nothingLeft"] = not ec2.addresses(eni) and not _state_files()
    finally:
        node.stop_agent()
        node.start_agent()
        for pod in (live, cached_pod, gone):
            sh("ip", "netns", "del", pod, check=False)
    return out


def _ip(result: dict) -> str:
    return result["address"].split("/")[0]


def _first_ip(done: subprocess.CompletedProcess) -> str | None:
    if done.returncode != 0:
        return None
    ips = json.loads(done.stdout).get("ips", [])
    return ips[0]["address"].split("/")[0] if ips else None


def _master_eni(job: dict, enis: dict[int, str] | None) -> str | None:
    if not enis:
        return None
    master = job["conf"]["plugins"][0]["master"]
    index = next(i["deviceIndex"] for i in job["interfaces"] if master in (i["altname"], i["kernel"]))
    return enis[index]


def _state_files() -> list[str]:
    """Attachments every node agent still holds (its persisted state)."""
    out = []
    for state in glob.glob("/run/eks-multus-agent-*/state.json"):
        with open(state) as fh:
            out += sorted(json.load(fh).get("attachments", {}))
    return out


def _released(first: dict, name: str, results: list[dict]) -> bool:
    ipam = first.get("ipam") or {}
    if ipam.get("type") != "host-local":
        return True
    folder = os.path.join(ipam.get("dataDir", "/var/lib/cni/networks"), name)
    left = [_ip(r) for r in results if r["address"] and os.path.exists(os.path.join(folder, _ip(r)))]
    return not left


def _boot_ok(boot: dict, job_interfaces: int) -> bool:
    """Created, attached and recorded as EC2 documents it; networkd kept off; a reboot creates nothing."""
    views = boot.get("ec2", {}).values()
    ec2_ok = len(views) == job_interfaces and all(
        v["inItsSubnet"]
        and v["securityGroups"]
        and v["noManage"]
        and v["clusterOwned"]
        and v["deleteOnTermination"]
        and v["networkCard"] == 0
        for v in views
    )
    networkd_ok = all(
        text and "Unmanaged=yes" in text and "DHCP" not in text and "Gateway" not in text and "Route" not in text
        for text in boot.get("networkd", {}).values()
    )
    second = boot.get("second", {})
    second_ok = second.get("rc") == 0 and not [c for c in second.get("calls", []) if not c.startswith("Describe")]
    status = boot.get("status") or {}
    return (
        ec2_ok
        and networkd_ok
        and second_ok
        and status.get("ready") is True
        and all(v == "cni" for v in boot.get("nodeadmCache", {}).values())
    )


def _ok(entry: dict) -> bool:
    boot = entry.get("boot", {})
    if not _boot_ok(boot, len(boot.get("resolved", {}))):
        return False
    # Debian's host-device 1.1.1 fails a repeated DEL once the device is back on the node: recorded, not required.
    keys = ["released"] + (["modeShown", "secondDel"] if entry["plugin"] == "ipvlan" else ["movedIn", "goneFromNode", "movedBack"])
    if len(entry.get("pods", [])) > 1:
        keys.append("ping")
    if "check" in entry:
        keys.append("check")
    eni_ok = True
    if ENI_IP in entry["chain"]:
        e = entry.get("eniIp", {})
        eni_ok = all(e.get(k) for k in ("assigned", "passedThrough", "releasedFromEni", "stateCleared"))
    return boot.get("rc") == 0 and boot.get("up") and all(boot.get("resolved", {}).values()) and all(entry.get(k) for k in keys) and eni_ok


def main() -> int:
    job_path, report_path, script = sys.argv[1:4]
    with open(job_path) as fh:
        jobs = json.load(fh)
    started = time.monotonic()
    progress(f"{len(jobs)} jobs; starting the AWS CLI fork server and the EC2 stand-in")
    os.makedirs(PLUGIN_LINKS, exist_ok=True)
    if not os.path.lexists(os.path.join(PLUGIN_LINKS, PREFIX_IPAM)):
        os.symlink(os.path.join(ASSETS, ENI_IP), os.path.join(PLUGIN_LINKS, PREFIX_IPAM))
    aws_cli = start_aws_cli()
    owners: dict[tuple[str, str], int] = {}
    for i, job in enumerate(jobs):
        owners.setdefault(node_group_of(job), i)
    ec2 = Ec2({f"job{i}": world_for(jobs[i], i) for i in sorted(set(owners.values()))})
    booted: dict = {}
    ec2_seconds = round(time.monotonic() - started, 2)
    if aws_cli.stdout.readline().strip() != "ready":
        raise RuntimeError("the AWS CLI fork server did not start: " + (_read(os.path.join(AWS_CLI_DIR, "server.log")) or ""))
    progress(f"EC2 stand-in up in {ec2_seconds} s, AWS CLI server in {round(time.monotonic() - started, 2)} s")
    try:
        entries = []
        for i, job in enumerate(jobs):
            progress(f"job {i}: {job['stack']} {job['network']}")
            entries.append(run_network(job, i, script, ec2, booted, owners[node_group_of(job)]))
            progress(f"job {i}: ok={entries[-1]['ok']} in {entries[-1]['seconds']} s {entries[-1].get('error') or ''}")
        log = ec2.raw_log()
    finally:
        for node, _ in booted.values():
            node.close()
        ec2.close()
        aws_cli.send_signal(signal.SIGTERM)
    figures = {
        # "<Action> <id> [cli|sdk]": the ENI-IP rules' writes carry no caller (the agent makes them, with the AWS CLI today).
        "ec2Calls": dict(collections.Counter(" ".join([line.split(" ")[0], *line.split(" ")[2:3]]) for line in log)),
        "pluginExecs": dict(EXECS),
    }
    progress(f"figures: {json.dumps(figures, sort_keys=True)}")
    with open(report_path, "w") as fh:
        json.dump(
            {"entries": entries, "seconds": round(time.monotonic() - started, 2), "ec2StartSeconds": ec2_seconds, "figures": figures},
            fh,
            indent=2,
            sort_keys=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
