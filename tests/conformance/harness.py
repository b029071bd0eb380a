"""Host side of the conformance run: jobs from the offline plans, one UML boot, the report."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from components.core.agent_manifests import agent_config
from components.core.model import EniPrefixIpam, IpvlanNetwork
from components.core.topology import attachments, kernel_name_al2023, providers, whole_eni_candidates
from components.core.userdata import CONF_PATH, SCRIPT_PATH, ClusterInfo, MultusNetworkIds, render_user_data
from plan.render import cni_configs, kubernetes_objects
from tests.helpers import ROOT, load, planned

OUT = ROOT / "build" / "conformance"
PROGRAM = OUT / "eks-multus-interfaces"
"""The boot program exactly as a node's user data installs it (written by jobs_for)."""
SG_PLACEHOLDER = "@multus-security-group"
UML = "/usr/bin/linux.uml"
UML_MODULES = Path("/usr/lib/uml/modules")
SCENARIO_NETWORK = ("dev", "ipvlan-conf-1")
PREFIX_SCENARIO_NETWORK = ("prefix", "bulk")
"""The prefix-mode network that also runs the two-node prefix scenario (vm_runner.prefix_scenarios)."""
RESERVATION = "aws:ec2/subnetCidrReservation:SubnetCidrReservation"
MODULES = ("lib/crc-ccitt", "net/ipv6/ipv6", "drivers/net/ipvlan/ipvlan", "drivers/net/dummy", "drivers/net/macvlan", "drivers/net/veth")


def missing_tools() -> list[str]:
    needed = {
        "UML kernel modules": str(UML_MODULES),
        "linux.uml": UML,
        "ipvlan plugin": "/usr/lib/cni/ipvlan",
        "host-local plugin": "/usr/lib/cni/host-local",
        "ip": shutil.which("ip"),
        "ping": shutil.which("ping"),
    }
    gone = [name for name, path in needed.items() if not path or not os.path.exists(path)]
    if os.geteuid() != 0:
        gone.append("root")
    return gone


def _cloud_files(cfg, group) -> dict[str, str]:
    """The node's files from its rendered user data; subnet and SG ids are placeholders the VM fills in."""
    ids = MultusNetworkIds(SG_PLACEHOLDER, {s.name: f"@subnet/{s.name}" for s in cfg.multus_subnets})
    text = render_user_data(cfg, group, ClusterInfo(cfg.cluster_name, "https://example.invalid", "Q0E=", "172.20.0.0/16"), ids)
    body = text.split("#cloud-config\n", 1)[1].split("\n--==", 1)[0]
    out = {}
    for entry in yaml.safe_load(body)["write_files"]:
        data = entry["content"].encode()
        out[entry["path"]] = gzip.decompress(base64.b64decode(data)).decode() if entry.get("encoding") == "gz+b64" else entry["content"]
    return out


def jobs_for(stack: str) -> list[dict]:
    """One job per NAD of the stack's plan, with the node interfaces its node group has, and its boot step's input."""
    cfg = load(stack)
    plan = planned(stack)
    confs = cni_configs(kubernetes_objects(plan))
    # What the agent DaemonSet's config file holds (its `interfaces`: prefixes to assign at start).
    agent_interfaces = json.loads(agent_config(cfg))["interfaces"]
    reservations = _reservations(cfg, plan)
    jobs = []
    for net in cfg.networks:
        conf = copy.deepcopy(confs[f"{net.namespace}_{net.name}.json"])
        first = conf["plugins"][0] if "plugins" in conf else conf
        job: dict = {
            "stack": stack,
            "network": f"{net.namespace}/{net.name}",
            "conf": conf,
            "cluster": cfg.cluster_name,
            "region": cfg.region,
        }
        if isinstance(net, IpvlanNetwork):
            slot = providers(cfg, net.master)[0]
        else:
            slot = providers(cfg, net.device)[0] if net.device else whole_eni_candidates(cfg)[0]
            device = kernel_name_al2023(slot.device_index)
            if "device" not in first:
                first["device"] = device
                job["substituted"] = "device: Multus injects the device the SR-IOV plugin allocated; the test names it"
            job["device"] = device
        group = slot.node_group
        job["interfaces"] = [
            {
                "kernel": kernel_name_al2023(a.device_index),
                "altname": a.subnet.ifname,
                "deviceIndex": a.device_index,
                "cidr": str(a.subnet.cidr),
                "subnet": a.subnet.name,
                "zone": a.subnet.availability_zone,
            }
            for a in attachments(cfg)
            if a.node_group == group
        ]
        # The instance type sets the ENI's IPv4 slots, which EC2 (and the stand-in) enforce per ENI.
        job["instanceType"] = group.instance_type
        files = _cloud_files(cfg, group)
        job["bootConf"] = files[CONF_PATH]
        job["secondaryCidr"] = str(cfg.vpc.secondary_cidr)
        OUT.mkdir(parents=True, exist_ok=True)
        PROGRAM.write_text(files[SCRIPT_PATH])
        # The seed network also runs the ENI-IP plugin's move, refusal, throttling and IMDS-down cases.
        job["scenarios"] = (stack, net.name) == SCENARIO_NETWORK
        if agent_interfaces:
            job["agentInterfaces"] = agent_interfaces
        if isinstance(net, IpvlanNetwork) and isinstance(net.ipam, EniPrefixIpam):
            job["reservations"] = reservations  # the plan's, where the stand-in draws the prefixes from
            job["prefixScenario"] = (stack, net.name) == PREFIX_SCENARIO_NETWORK
        ipam = first.get("ipam") or {}
        if ipam.get("type") == "whereabouts":
            # Debian ships no whereabouts binary; host-local over the same range exercises the same plugin path.
            first["ipam"] = {
                "type": "host-local",
                "subnet": ipam["range"],
                **({"rangeStart": ipam["range_start"]} if "range_start" in ipam else {}),
                **({"rangeEnd": ipam["range_end"]} if "range_end" in ipam else {}),
                "gateway": ipam["gateway"],
            }
            job["substituted"] = "ipam: whereabouts -> host-local over the same range"
        jobs.append(job)
    return jobs


def _reservations(cfg, plan) -> dict[str, list[list[str]]]:
    """The subnet CIDR reservations the program registers, by multus subnet name: [[cidr, type], ...]."""
    cidr_of = {r.id: r.inputs.get("cidrBlock") for r in plan.registrations if r.type == "aws:ec2/subnet:Subnet"}
    name_of = {str(s.cidr): s.name for s in cfg.multus_subnets}
    out: dict[str, list[list[str]]] = {}
    for r in plan.registrations:
        if r.type == RESERVATION:
            name = name_of[cidr_of[r.inputs["subnetId"]]]
            out.setdefault(name, []).append([r.inputs["cidrBlock"], r.inputs["reservationType"]])
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_in_uml(jobs: list[dict], timeout: int = 1800) -> dict:
    """Boot UML once, run every job in it, return the report."""
    OUT.mkdir(parents=True, exist_ok=True)
    job_path, report_path, log_path = OUT / "jobs.json", OUT / "report.json", OUT / "vm.log"
    job_path.write_text(json.dumps(jobs, indent=2))
    report_path.unlink(missing_ok=True)
    init = OUT / "init.sh"
    modules = max(UML_MODULES.iterdir())  # the user-mode-linux package ships one kernel release
    init.write_text(
        "\n".join(
            [
                "#!/bin/sh",
                "mount -t proc proc /proc",
                "mount -t sysfs sys /sys",
                "mount -t tmpfs tmpfs /run",
                "mkdir -p /run/netns /var/lib/cni",
                "mount -t tmpfs tmpfs /var/lib/cni",
                *[f"insmod {modules}/kernel/{m}.ko 2>/dev/null" for m in MODULES],
                "ip link set lo up",
                f"cd {ROOT}",
                f"{sys.executable} {ROOT}/tests/conformance/vm_runner.py {job_path} {report_path} {PROGRAM} > {log_path} 2>&1",
                f"{sys.executable} -c 'import ctypes; ctypes.CDLL(None).reboot(0x4321fedc)'",
                "",
            ]
        )
    )
    init.chmod(0o755)
    started, cpu = time.monotonic(), _children_cpu()
    subprocess.run(
        [
            "setsid",
            "timeout",
            str(timeout),
            UML,
            "mem=768M",
            "rootfstype=hostfs",
            "rootflags=/",
            "rw",
            f"init={init}",
            "con=null",
            "con0=null,fd:1",
            "quiet",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout + 30,
        check=False,
    )
    if not report_path.exists():
        raise AssertionError(f"the VM wrote no report; its log: {log_path.read_text() if log_path.exists() else '(none)'}")
    report = json.loads(report_path.read_text())
    report["wallSeconds"] = round(time.monotonic() - started, 2)
    report["cpuSeconds"] = round(_children_cpu() - cpu, 2)  # the UML kernel and its processes; its one CPU's share
    report_path.write_text(json.dumps(report, indent=2, sort_keys=True))
    return report
