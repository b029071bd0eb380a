"""Where the node agent comes from: measured against EC2's 16,384-byte user data limit, then the DaemonSet."""

from __future__ import annotations

import json

from components.core.agent_manifests import AGENT, eni_agent_objects
from components.core.userdata import (
    USER_DATA_LIMIT,
    ClusterInfo,
    MultusNetworkIds,
    cloud_config,
    compressed,
    installed_program,
    node_program,
    render_user_data,
)
from tests.helpers import load

CLUSTER = ClusterInfo("eks-multus-test", "https://EXAMPLE.gr7.ap-northeast-2.eks.amazonaws.com", "Q" * 3000, "172.20.0.0/16")


def _ids(cfg):
    return MultusNetworkIds("sg-0123456789abcdef0", {s.name: f"subnet-{i:017x}" for i, s in enumerate(cfg.multus_subnets)})


def test_the_agent_does_not_fit_in_user_data_next_to_the_boot_step_and_the_plugin():
    """With a 3 KB CA, prod's user data plus the agent (gzip+base64, docs stripped) exceeds EC2's limit,
    and so do all three programs in one gzip stream: hence the DaemonSet."""
    cfg = load("prod")
    group = cfg.node_groups[0]
    now = len(render_user_data(cfg, group, CLUSTER, _ids(cfg)).encode())
    agent = len(node_program(AGENT))
    assert now <= USER_DATA_LIMIT < now + agent, (now, agent)
    together = compressed(b"".join(installed_program(n) for n in ("eks-multus-interfaces", "eks-multus-eni-ip", AGENT)))
    assert now - len(node_program("eks-multus-interfaces")) - len(node_program("eks-multus-eni-ip")) + len(together) > USER_DATA_LIMIT


def test_every_stack_with_eni_addresses_gets_the_agent_daemonset():
    for stack in ("dev", "prod", "prefix"):
        objs = eni_agent_objects(load(stack))
        kinds = [o["kind"] for o in objs]
        assert kinds == ["ConfigMap", "DaemonSet"], stack
        pod = objs[1]["spec"]["template"]["spec"]
        assert pod["hostNetwork"] and pod["nodeSelector"] == {"eks-multus.io/multus": "true"}
        command = pod["containers"][0]["command"][-1]
        assert "chroot /host" in command and "/usr/bin/python3" in command  # the host's Python 3.9
        assert pod["containers"][0]["resources"]["limits"] == {"cpu": "500m", "memory": "128Mi"}


def test_the_prefix_stack_tells_the_agent_what_to_assign_at_start():
    objs = eni_agent_objects(load("prefix"))
    assert json.loads(objs[0]["data"]["agent.json"]) == {"interfaces": [{"name": "bulk", "prefixCount": 3}]}
    assert json.loads(eni_agent_objects(load("dev"))[0]["data"]["agent.json"]) == {"interfaces": []}


def test_the_prefix_stack_links_the_ipam_plugin_name_at_boot():
    cfg = load("prefix")
    runcmd = cloud_config(cfg, cfg.node_groups[0], "c", _ids(cfg))["runcmd"]
    assert ["ln", "-sf", "eks-multus-eni-ip", "/opt/cni/bin/eks-multus-eni-prefix"] in runcmd
    dev = load("dev")
    assert not any(c[0] == "ln" for c in cloud_config(dev, dev.node_groups[0], "c", _ids(dev))["runcmd"])
