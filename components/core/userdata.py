"""AL2023 node user data: a nodeadm NodeConfig plus the multus interface boot step.

Rendered as MIME multipart with a fixed boundary so the same inputs always
give the same bytes (the launch template only changes when the node really
would).
"""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass
from importlib import resources

from .cni import ENI_IP_PLUGIN, uses_eni_ip
from .limits import instance_limits
from .model import IpvlanNetwork, Network, NodeGroup, StackConfig
from .topology import providers
from .yamltext import dump_yaml

BOUNDARY = "==EKS-MULTUS-BOUNDARY=="
LABEL_PREFIX = "eks-multus.io"
SCRIPT_PATH = "/usr/local/sbin/eks-multus-interfaces"
CONF_PATH = "/etc/eks-multus/interfaces"
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


def asset(name: str) -> bytes:
    return resources.files(__package__).joinpath(f"assets/{name}").read_bytes()


def interfaces_script() -> str:
    return asset("eks-multus-interfaces.sh").decode()


def compressed(data: bytes) -> str:
    """gzip+base64 for cloud-init `encoding: gz+b64`; mtime 0 keeps the bytes stable."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode()


def node_labels(group: NodeGroup) -> dict[str, str]:
    """Labels that let workloads select nodes by the multus subnets they carry."""
    labels = {f"{LABEL_PREFIX}/node-group": group.name}
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


def interfaces_conf(cfg: StackConfig, group: NodeGroup) -> str:
    lines = ["# device-index name (written by eks-multus)"]
    subnets = {s.name: s for s in cfg.multus_subnets}
    lines += [f"{index} {subnets[name].ifname}" for index, name in enumerate(group.multus_interfaces, start=1)]
    return "\n".join(lines) + "\n"


def max_pods(group: NodeGroup) -> int:
    limits = instance_limits(group.instance_type)
    if limits is None:
        raise ValueError(f"unknown instance type {group.instance_type}")
    return limits.max_pods(len(group.multus_interfaces))


def node_config(cfg: StackConfig, group: NodeGroup, cluster: ClusterInfo) -> dict:
    flags = ["--node-labels=" + ",".join(f"{k}={v}" for k, v in node_labels(group).items())]
    if group.taints:
        flags.append("--register-with-taints=" + ",".join(f"{t.key}={t.value}:{t.effect}" for t in group.taints))
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


def cloud_config(cfg: StackConfig, group: NodeGroup) -> dict:
    unit = "\n".join(
        [
            "[Unit]",
            "Description=eks-multus: name multus ENIs and bring them up",
            "Wants=network-online.target",
            "After=network-online.target",
            "Before=kubelet.service",
            "",
            "[Service]",
            "Type=oneshot",
            "RemainAfterExit=yes",
            f"ExecStart={SCRIPT_PATH}",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )
    files = [
        {"path": CONF_PATH, "permissions": "0644", "content": interfaces_conf(cfg, group)},
        {"path": SCRIPT_PATH, "permissions": "0755", "content": interfaces_script()},
        {"path": f"/etc/systemd/system/{UNIT_NAME}", "permissions": "0644", "content": unit},
    ]
    if uses_eni_ip(cfg):
        # Compressed: the plugin is most of the user data, and EC2 caps it at 16 KB.
        files.append(
            {
                "path": f"{CNI_BIN_DIR}/{ENI_IP_PLUGIN}",
                "permissions": "0755",
                "encoding": "gz+b64",
                "content": compressed(asset(ENI_IP_PLUGIN)),
            }
        )
    return {
        "write_files": files,
        "runcmd": [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", UNIT_NAME]],
    }


def render_user_data(cfg: StackConfig, group: NodeGroup, cluster: ClusterInfo) -> str:
    parts = [("application/node.eks.aws", "---\n" + dump_yaml(node_config(cfg, group, cluster)))]
    if group.is_multus:  # a system node group has no multus ENIs to bring up
        parts.append(("text/cloud-config", "#cloud-config\n" + dump_yaml(cloud_config(cfg, group))))
    out = ["MIME-Version: 1.0", f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"', ""]
    for content_type, body in parts:
        out += [f"--{BOUNDARY}", f"Content-Type: {content_type}; charset=us-ascii", "", body.rstrip("\n"), ""]
    out.append(f"--{BOUNDARY}--")
    return "\n".join(out) + "\n"
