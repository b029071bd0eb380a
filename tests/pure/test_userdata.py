"""Golden rendered user data per node-group case, and its parts."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from components.core.cni import ENI_IP_PLUGIN
from components.core.readiness import NOT_READY_TAINT_KEY
from components.core.userdata import (
    BOOT_PROGRAM,
    USER_DATA_LIMIT,
    ClusterInfo,
    MultusNetworkIds,
    interfaces_conf,
    max_pods,
    node_config,
    node_program,
    render_user_data,
)
from tests.helpers import load, ns

PLACEHOLDERS = {name: f"<gzip+base64 of components/core/assets/{name}, without docstrings>" for name in (ENI_IP_PLUGIN, BOOT_PROGRAM)}
GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "userdata"
CLUSTER = ClusterInfo("eks-multus-test", "https://EXAMPLE.gr7.ap-northeast-2.eks.amazonaws.com", "Q0EtREFUQQ==", "172.20.0.0/16")
SG = "sg-0123456789abcdef0"


def ids_for(cfg) -> MultusNetworkIds:
    """Real-length ids (17 hex digits), one per multus subnet."""
    return MultusNetworkIds(SG, {s.name: f"subnet-{i:017x}" for i, s in enumerate(cfg.multus_subnets, start=1)})


def render(cfg, group, cluster=CLUSTER) -> str:
    return render_user_data(cfg, group, cluster, ids_for(cfg))


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
    # The programs' compressed bytes stand as placeholders: test_node_programs_are_installed_as_their_assets checks
    # them, and the goldens stay readable and do not change with every edit of a program.
    rendered = render(cfg, cfg.node_groups[index])
    for name, placeholder in PLACEHOLDERS.items():
        rendered = rendered.replace(node_program(name), placeholder)
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
    parts = _parts(render(cfg, cfg.node_groups[0]))
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


def test_kubelet_registers_with_the_startup_taint_after_the_groups_own():
    cfg = load("dev", _tainted)
    flags = node_config(cfg, cfg.node_groups[0], CLUSTER)["spec"]["kubelet"]["flags"]
    assert "--register-with-taints=multus=true:NoSchedule,eks-multus.io/network-not-ready=true:NoSchedule" in flags
    plain = node_config(load("dev"), load("dev").node_groups[0], CLUSTER)["spec"]["kubelet"]["flags"]
    assert f"--register-with-taints={NOT_READY_TAINT_KEY}=true:NoSchedule" in plain


def test_boot_step_is_installed_with_the_subnet_and_security_group_ids():
    cfg = load("prod")
    parts = _parts(render(cfg, cfg.node_groups[0]))
    cloud = yaml.safe_load(parts["text/cloud-config"])
    files = {f["path"]: f for f in cloud["write_files"]}
    conf = json.loads(files["/etc/eks-multus/interfaces.json"]["content"])
    ids = ids_for(cfg)
    assert conf["interfaces"] == [
        {"deviceIndex": 1, "name": "multus-a", "subnet": "multus-a", "subnetId": ids.subnet_ids["multus-a"]},
        {"deviceIndex": 2, "name": "direct-a", "subnet": "direct-a", "subnetId": ids.subnet_ids["direct-a"]},
    ]
    assert conf["securityGroupId"] == SG and conf["region"] == "ap-northeast-2" and conf["nodeGroup"] == "multus-a"
    assert conf["tags"]["node.k8s.amazonaws.com/no_manage"] == "true"
    assert conf["tags"]["kubernetes.io/cluster/eks-multus-test"] == "owned"
    assert conf["tags"]["eks-multus.io/node-group"] == "multus-a"
    program = files["/usr/local/sbin/eks-multus-interfaces"]
    assert program["permissions"] == "0755" and program["encoding"] == "gz+b64"
    unit = files["/etc/systemd/system/eks-multus-interfaces.service"]["content"]
    assert "Before=kubelet.service nodeadm-run.service" in unit and "StandardOutput=journal+console" in unit
    assert ["systemctl", "enable", "--now", "eks-multus-interfaces.service"] in cloud["runcmd"]


def test_no_ids_no_user_data_for_a_group_with_multus_interfaces():
    cfg = load("dev")
    with pytest.raises(ValueError, match="security group ids are required"):
        render_user_data(cfg, cfg.node_groups[0], CLUSTER)
    with pytest.raises(ValueError, match="no subnet id"):
        render_user_data(cfg, cfg.node_groups[0], CLUSTER, MultusNetworkIds(SG, {}))


def test_max_pods_counts_only_vpc_cni_enis():
    cfg = load("prod")
    # m5.xlarge: 4 ENIs x 15 IPv4, two multus ENIs: 2 * 14 + 2
    assert max_pods(cfg.node_groups[0]) == 30
    conf = json.loads(interfaces_conf(cfg, cfg.node_groups[1], "c", ids_for(cfg)))
    assert [(i["deviceIndex"], i["name"]) for i in conf["interfaces"]] == [(1, "multus-c"), (2, "direct-c")]


def test_rendering_is_deterministic():
    cfg = load("prod")
    assert render(cfg, cfg.node_groups[0]) == render(cfg, cfg.node_groups[0])
    assert node_config(cfg, cfg.node_groups[0], CLUSTER) == node_config(load("prod"), load("prod").node_groups[0], CLUSTER)


ASSETS = Path(__file__).resolve().parents[2] / "components" / "core" / "assets"


def _cloud_files(cfg) -> dict[str, dict]:
    cloud = yaml.safe_load(_parts(render(cfg, cfg.node_groups[0]))["text/cloud-config"])
    return {f["path"]: f for f in cloud["write_files"]}


def test_the_cni_relay_is_installed_as_its_asset_without_comments():
    entry = _cloud_files(load("dev"))["/opt/cni/bin/eks-multus-eni-ip"]
    assert entry["permissions"] == "0755" and entry["encoding"] == "gz+b64"
    installed = gzip.decompress(base64.b64decode(entry["content"])).decode()
    source = (ASSETS / ENI_IP_PLUGIN).read_text()
    assert installed.startswith("#!/bin/bash\n") and len(installed) < len(source)
    assert subprocess.run(["bash", "-n"], input=installed, text=True).returncode == 0
    lines = iter(source.splitlines())  # in order, each a whole line of the asset
    assert all(any(candidate == line for candidate in lines) for line in installed.splitlines())
    assert not [x for x in installed.splitlines()[1:] if x.lstrip().startswith("#") or not x.strip()]


@pytest.mark.parametrize(("path", "name"), [("/usr/local/sbin/eks-multus-interfaces", BOOT_PROGRAM)])
def test_node_programs_are_installed_as_their_assets_without_documentation(path, name):
    entry = _cloud_files(load("dev"))[path]
    assert entry["permissions"] == "0755" and entry["encoding"] == "gz+b64"
    installed = gzip.decompress(base64.b64decode(entry["content"])).decode()
    source = (ASSETS / name).read_text()
    compile(installed, name, "exec")
    assert installed.startswith("#!/usr/bin/python3\n") and len(installed) < len(source)
    # Line by line, in order: every installed line is a line of the asset, that line cut before a trailing
    # comment, or `pass` standing for a docstring. Nothing else is added or reordered.
    lines = iter(source.splitlines())
    for line in installed.splitlines():
        if line.strip() == "pass":
            continue
        assert any(candidate == line or candidate.startswith(line + "  #") for candidate in lines), line
    assert '"""' not in installed.split("\n", 2)[1]  # the module docstring is gone
    assert not [x for x in installed.splitlines() if x.lstrip().startswith("#") and not x.startswith("#!")]


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
        assert len(render(cfg, group, cluster).encode()) <= USER_DATA_LIMIT


def test_a_group_without_multus_interfaces_gets_no_boot_step_and_no_startup_taint():
    """Team decision 4 (system node groups): validation of `multusInterfaces: []` is i12b's; rendering must cope."""
    cfg = load("dev")
    system = cfg.node_groups[0].model_copy(update={"multus_interfaces": ()})
    text = render_user_data(cfg, system, CLUSTER)  # no ids needed
    parts = _parts(text)
    flags = yaml.safe_load(parts["application/node.eks.aws"])["spec"]["kubelet"]["flags"]
    assert not any(NOT_READY_TAINT_KEY in f for f in flags)
    # no cloud-config part at all: no boot step, no unit, and no ENI-IP plugin (no multus pods land there)
    assert "text/cloud-config" not in parts
