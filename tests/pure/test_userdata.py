"""Golden rendered user data per node-group case, and its parts."""

from __future__ import annotations

import base64
import gzip
import os
from pathlib import Path

import pytest
import yaml

from components.core.cni import ENI_IP_PLUGIN
from components.core.userdata import (
    USER_DATA_LIMIT,
    ClusterInfo,
    asset,
    compressed,
    interfaces_conf,
    max_pods,
    node_config,
    render_user_data,
)
from tests.helpers import load, ns

PLUGIN_PLACEHOLDER = "<gzip+base64 of components/core/assets/eks-multus-eni-ip>"
GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "userdata"
CLUSTER = ClusterInfo("eks-multus-test", "https://EXAMPLE.gr7.ap-northeast-2.eks.amazonaws.com", "Q0EtREFUQQ==", "172.20.0.0/16")


def _tainted(flat):
    ns(flat, "nodeGroups")[0].update(labels={"workload": "cnf"}, taints=[{"key": "multus", "value": "true", "effect": "NoSchedule"}])


CASES = {
    "dev-multus-a": ("dev", None, 0),
    "prod-multus-a": ("prod", None, 0),
    "prod-multus-c": ("prod", None, 1),
    "dev-labels-taints": ("dev", _tainted, 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_user_data_matches_golden(case):
    stack, mutate, index = CASES[case]
    cfg = load(stack, mutate)
    # The plugin's compressed bytes stand as a placeholder: test_eni_ip_plugin_is_installed_byte_for_byte checks them,
    # and the goldens stay readable and do not change with every edit of the plugin.
    rendered = render_user_data(cfg, cfg.node_groups[index], CLUSTER).replace(compressed(asset(ENI_IP_PLUGIN)), PLUGIN_PLACEHOLDER)
    path = GOLDEN / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(rendered)
    assert path.exists(), f"golden file missing; run UPDATE_GOLDEN=1 pytest {__file__}"
    assert rendered == path.read_text()


def _parts(text: str) -> dict[str, str]:
    boundary = text.split('boundary="', 1)[1].split('"', 1)[0]
    parts = {}
    for chunk in text.split(f"--{boundary}")[1:-1]:
        head, body = chunk.strip("\n").split("\n\n", 1)
        parts[head.split(":", 1)[1].split(";")[0].strip()] = body
    return parts


def test_node_config_joins_the_cluster_with_maxpods_without_multus_enis():
    cfg = load("dev")
    parts = _parts(render_user_data(cfg, cfg.node_groups[0], CLUSTER))
    doc = yaml.safe_load(parts["application/node.eks.aws"])
    assert doc["kind"] == "NodeConfig"
    assert doc["spec"]["cluster"] == {
        "name": "eks-multus-test",
        "apiServerEndpoint": CLUSTER.endpoint,
        "certificateAuthority": "Q0EtREFUQQ==",
        "cidr": "172.20.0.0/16",
    }
    # m5.large: 3 ENIs x 10 IPv4; one multus ENI leaves 2 for the VPC CNI: 2 * 9 + 2
    assert doc["spec"]["kubelet"]["config"]["maxPods"] == 20
    assert (
        "--node-labels=eks-multus.io/multus=true,eks-multus.io/node-group=multus-a,subnet.eks-multus.io/multus-a=true"
        in doc["spec"]["kubelet"]["flags"]
    )


def test_boot_step_is_installed_with_the_device_map():
    cfg = load("prod")
    parts = _parts(render_user_data(cfg, cfg.node_groups[0], CLUSTER))
    cloud = yaml.safe_load(parts["text/cloud-config"])
    files = {f["path"]: f for f in cloud["write_files"]}
    assert files["/etc/eks-multus/interfaces"]["content"].splitlines()[1:] == ["1 multus-a", "2 direct-a"]
    assert files["/usr/local/sbin/eks-multus-interfaces"]["permissions"] == "0755"
    assert "ip link property add dev" in files["/usr/local/sbin/eks-multus-interfaces"]["content"]
    assert "Before=kubelet.service" in files["/etc/systemd/system/eks-multus-interfaces.service"]["content"]
    assert ["systemctl", "enable", "--now", "eks-multus-interfaces.service"] in cloud["runcmd"]


def test_max_pods_counts_only_vpc_cni_enis():
    cfg = load("prod")
    # m5.xlarge: 4 ENIs x 15 IPv4, two multus ENIs: 2 * 14 + 2
    assert max_pods(cfg.node_groups[0]) == 30
    assert interfaces_conf(cfg, cfg.node_groups[1]).splitlines()[1:] == ["1 multus-c", "2 direct-c"]


def test_rendering_is_deterministic():
    cfg = load("prod")
    assert render_user_data(cfg, cfg.node_groups[0], CLUSTER) == render_user_data(cfg, cfg.node_groups[0], CLUSTER)
    assert node_config(cfg, cfg.node_groups[0], CLUSTER) == node_config(load("prod"), load("prod").node_groups[0], CLUSTER)


PLUGIN = Path(__file__).resolve().parents[2] / "components" / "core" / "assets" / "eks-multus-eni-ip"


def _cloud_files(cfg) -> dict[str, dict]:
    cloud = yaml.safe_load(_parts(render_user_data(cfg, cfg.node_groups[0], CLUSTER))["text/cloud-config"])
    return {f["path"]: f for f in cloud["write_files"]}


def test_eni_ip_plugin_is_installed_byte_for_byte_into_the_cni_bin_dir():
    entry = _cloud_files(load("dev"))["/opt/cni/bin/eks-multus-eni-ip"]
    assert entry["permissions"] == "0755" and entry["encoding"] == "gz+b64"
    assert gzip.decompress(base64.b64decode(entry["content"])) == PLUGIN.read_bytes()


def test_no_plugin_install_when_every_network_opts_out():
    def mutate(flat):
        ns(flat, "networks")[0]["eniIpAssignment"] = False

    assert "/opt/cni/bin/eks-multus-eni-ip" not in _cloud_files(load("dev", mutate))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_user_data_fits_the_ec2_limit_with_a_real_sized_certificate(stack):
    cfg = load(stack)
    # An EKS cluster CA is about 1.5 KB of base64; leave room for twice that.
    cluster = ClusterInfo(CLUSTER.name, CLUSTER.endpoint, "Q" * 3000, CLUSTER.service_cidr)
    for group in cfg.node_groups:
        assert len(render_user_data(cfg, group, cluster).encode()) <= USER_DATA_LIMIT
