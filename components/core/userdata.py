"""AL2023 node user data: a nodeadm NodeConfig plus the multus interface boot step.

Rendered as MIME multipart with a fixed boundary so the same inputs always
give the same bytes (the launch template only changes when the node really
would).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import tokenize
from dataclasses import dataclass, field
from importlib import resources

from .cni import ENI_IP_PLUGIN, uses_eni_ip, uses_eni_prefix
from .iam import multus_eni_tags
from .limits import instance_limits
from .model import ENI_PREFIX_IPAM, IpvlanNetwork, Network, NodeGroup, StackConfig
from .readiness import NOT_READY_TAINT_EFFECT, NOT_READY_TAINT_KEY, NOT_READY_TAINT_VALUE
from .topology import providers
from .yamltext import dump_yaml

BOUNDARY = "==EKS-MULTUS-BOUNDARY=="
LABEL_PREFIX = "eks-multus.io"
NODE_GROUP_LABEL = f"{LABEL_PREFIX}/node-group"
"""Names a multus node's node group (the taint remover reads its capacity by it)."""
SCRIPT_PATH = "/usr/local/sbin/eks-multus-interfaces"
CONF_PATH = "/etc/eks-multus/interfaces.json"
BOOT_PROGRAM = "eks-multus-interfaces"
UNIT_NAME = "eks-multus-interfaces.service"
CNI_BIN_DIR = "/opt/cni/bin"
USER_DATA_LIMIT = 16384
"""EC2 refuses user data larger than 16 KB (before base64)."""


@dataclass(frozen=True)
class ClusterInfo:
    """What a node needs to join; known only once the control plane exists."""

    name: str
    endpoint: str
    certificate_authority: str
    service_cidr: str


@dataclass(frozen=True)
class MultusNetworkIds:
    """The multus subnets' ids (by subnet name) and the multus security group: known once they exist."""

    security_group_id: str
    subnet_ids: dict[str, str] = field(default_factory=dict)


def asset(name: str) -> bytes:
    return resources.files(__package__).joinpath(f"assets/{name}").read_bytes()


def interfaces_script() -> str:
    return asset(BOOT_PROGRAM).decode()


def without_docs(source: bytes) -> bytes:
    """A node program as installed: comments and blank lines dropped, each docstring replaced by `pass`.

    Both programs travel in the user data, which EC2 caps at 16 KB; their
    documentation stays in the repository. Token-based, so every other line
    stays as written (multi-line strings included); the shebang line is kept.
    """
    lines = source.decode().splitlines()
    tokens = list(tokenize.generate_tokens(io.StringIO(source.decode()).readline))
    keep = [True] * (len(lines) + 1)  # 1-based
    cut: dict[int, int] = {}  # line -> column where a trailing comment starts
    replace: dict[int, str] = {}
    in_string: set[int] = set()
    before = tokenize.ENCODING
    for i, tok in enumerate(tokens):
        (row, col), (end_row, _) = tok.start, tok.end
        if tok.type == tokenize.STRING and end_row > row:
            in_string.update(range(row + 1, end_row + 1))
        if tok.type == tokenize.COMMENT and row > 1:
            cut[row] = col
        after = next((t.type for t in tokens[i + 1 :] if t.type not in (tokenize.NL, tokenize.COMMENT)), tokenize.ENDMARKER)
        docstring = tok.type == tokenize.STRING and before in (tokenize.ENCODING, tokenize.INDENT, tokenize.NEWLINE, tokenize.DEDENT)
        if docstring and after in (tokenize.NEWLINE, tokenize.ENDMARKER):
            replace[row] = lines[row - 1][:col] + "pass"
            for r in range(row + 1, end_row + 1):
                keep[r] = False
                in_string.discard(r)
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            before = tok.type
    out = []
    for number, line in enumerate(lines, start=1):
        if not keep[number]:
            continue
        if number in replace:
            line = replace[number]
        elif number in cut:
            line = line[: cut[number]].rstrip()
        if line.strip() or number in in_string:
            out.append(line)
    return ("\n".join(out) + "\n").encode()


def without_shell_comments(source: bytes) -> bytes:
    """A bash node program as installed: the shebang, then every line but comment-only and blank ones.

    Line-based, so only for programs without here-documents or multi-line strings (the CNI relay)."""
    lines = source.decode().splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if line.strip() and not line.lstrip().startswith("#")]
    return ("\n".join(kept) + "\n").encode()


def installed_program(name: str) -> bytes:
    """A node program as it lands on the node: without its documentation (bash or Python)."""
    source = asset(name)
    if source.startswith(b"#!/bin/bash\n"):
        return without_shell_comments(source)
    return without_docs(source)


def node_program(name: str) -> str:
    """gzip+base64 of a node program without its documentation, for cloud-init's `encoding: gz+b64`."""
    return compressed(installed_program(name))


def compressed(data: bytes) -> str:
    """gzip+base64 for cloud-init `encoding: gz+b64`; mtime 0 keeps the bytes stable."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode()


def node_labels(group: NodeGroup) -> dict[str, str]:
    """Labels that let workloads select nodes by the multus subnets they carry."""
    labels = {NODE_GROUP_LABEL: group.name}
    if group.is_multus:
        labels[f"{LABEL_PREFIX}/multus"] = "true"
    for name in group.multus_interfaces:
        labels[f"subnet.{LABEL_PREFIX}/{name}"] = "true"
    labels.update(group.labels)
    return dict(sorted(labels.items()))


def network_node_selector(cfg: StackConfig, net: Network) -> dict[str, str]:
    """Labels a pod using `net` should select: nodes that carry the network's subnet (or any multus node)."""
    name = net.master if isinstance(net, IpvlanNetwork) else net.device
    subnets = sorted({a.subnet.name for a in providers(cfg, name)}) if name else []
    if len(subnets) == 1:
        return {f"subnet.{LABEL_PREFIX}/{subnets[0]}": "true"}
    return {f"{LABEL_PREFIX}/multus": "true"}


def interfaces_conf(cfg: StackConfig, group: NodeGroup, cluster_name: str, ids: MultusNetworkIds) -> str:
    """The boot step's input: which ENI to create in which subnet at which device index, and its tags."""
    subnets = {s.name: s for s in cfg.multus_subnets}
    missing = [name for name in group.multus_interfaces if name not in ids.subnet_ids]
    if missing or not ids.security_group_id:
        raise ValueError(f"node group {group.name}: no subnet id for {missing} or no multus security group id")
    doc = {
        "cluster": cluster_name,
        "nodeGroup": group.name,
        "region": cfg.region,
        "securityGroupId": ids.security_group_id,
        "tags": multus_eni_tags(cluster_name, group.name, dict(cfg.tags)),
        "interfaces": [
            {"deviceIndex": index, "name": subnets[name].ifname, "subnet": name, "subnetId": ids.subnet_ids[name]}
            for index, name in enumerate(group.multus_interfaces, start=1)
        ],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"


def max_pods(group: NodeGroup) -> int:
    limits = instance_limits(group.instance_type)
    if limits is None:
        raise ValueError(f"unknown instance type {group.instance_type}")
    return limits.max_pods(len(group.multus_interfaces))


def registration_taints(group: NodeGroup) -> list[str]:
    """The group's taints, plus the startup taint the remover lifts once the multus networks are ready."""
    taints = [f"{t.key}={t.value}:{t.effect}" for t in group.taints]
    if group.multus_interfaces:
        taints.append(f"{NOT_READY_TAINT_KEY}={NOT_READY_TAINT_VALUE}:{NOT_READY_TAINT_EFFECT}")
    return taints


def node_config(cfg: StackConfig, group: NodeGroup, cluster: ClusterInfo) -> dict:
    flags = ["--node-labels=" + ",".join(f"{k}={v}" for k, v in node_labels(group).items())]
    taints = registration_taints(group)
    if taints:
        flags.append("--register-with-taints=" + ",".join(taints))
    return {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {
            "cluster": {
                "name": cluster.name,
                "apiServerEndpoint": cluster.endpoint,
                "certificateAuthority": cluster.certificate_authority,
                "cidr": cluster.service_cidr,
            },
            "kubelet": {"config": {"maxPods": max_pods(group)}, "flags": flags},
        },
    }


def boot_unit() -> str:
    """Runs at every boot. cloud-init's runcmd starts it on the first (inside cloud-final.service, which
    nodeadm-run.service, the unit that starts the kubelet, is ordered after); Before= holds it ahead of both on
    later boots. Its output goes to the console too, so `aws ec2 get-console-output` shows why a node is not ready."""
    return "\n".join(
        [
            "[Unit]",
            "Description=eks-multus: create, attach, name and raise the multus ENIs",
            "Wants=network-online.target",
            "After=network-online.target",
            "Before=kubelet.service nodeadm-run.service",
            "",
            "[Service]",
            "Type=oneshot",
            "RemainAfterExit=yes",
            f"ExecStart={SCRIPT_PATH}",
            "TimeoutStartSec=900",
            "StandardOutput=journal+console",
            "StandardError=journal+console",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def cloud_config(cfg: StackConfig, group: NodeGroup, cluster_name: str = "", ids: MultusNetworkIds | None = None) -> dict:
    files: list[dict] = []
    runcmd: list[list[str]] = []
    if group.multus_interfaces:
        if ids is None:
            raise ValueError(f"node group {group.name} has multus interfaces: the multus subnet and security group ids are required")
        files += [
            {"path": CONF_PATH, "permissions": "0644", "content": interfaces_conf(cfg, group, cluster_name, ids)},
            # Compressed like the plugin: together they are most of the user data, and EC2 caps it at 16 KB.
            {"path": SCRIPT_PATH, "permissions": "0755", "encoding": "gz+b64", "content": node_program(BOOT_PROGRAM)},
            {"path": f"/etc/systemd/system/{UNIT_NAME}", "permissions": "0644", "content": boot_unit()},
        ]
        runcmd = [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", UNIT_NAME]]
    if uses_eni_ip(cfg):
        # Compressed, as the boot program: EC2 caps the user data at 16 KB.
        files.append(
            {
                "path": f"{CNI_BIN_DIR}/{ENI_IP_PLUGIN}",
                "permissions": "0755",
                "encoding": "gz+b64",
                "content": node_program(ENI_IP_PLUGIN),
            }
        )
        if group.multus_interfaces:
            runcmd += eni_prefix_link(cfg)
    out: dict = {"write_files": files}
    if runcmd:
        out["runcmd"] = runcmd
    return out


def eni_prefix_link(cfg: StackConfig) -> list[list[str]]:
    """The plugin is also the prefix-mode IPAM plugin, under that name (it reads its role from argv[0])."""
    return [["ln", "-sf", ENI_IP_PLUGIN, f"{CNI_BIN_DIR}/{ENI_PREFIX_IPAM}"]] if uses_eni_prefix(cfg) else []


def render_user_data(cfg: StackConfig, group: NodeGroup, cluster: ClusterInfo, ids: MultusNetworkIds | None = None) -> str:
    parts = [("application/node.eks.aws", "---\n" + dump_yaml(node_config(cfg, group, cluster)))]
    if group.is_multus:  # a system node group has no multus ENIs to bring up, and no multus pods
        parts.append(("text/cloud-config", "#cloud-config\n" + dump_yaml(cloud_config(cfg, group, cluster.name, ids))))
    out = ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"', ""]
    for content_type, body in parts:
        out += [f"--{BOUNDARY}", f"Content-Type: {content_type}; charset=us-ascii", "", body.rstrip("\n"), ""]
    out.append(f"--{BOUNDARY}--")
    return "\n".join(out) + "\n"
