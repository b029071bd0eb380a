"""System node groups (`multusInterfaces: []`, Team decision 4) and pods that tolerate nothing.

Why it matters: with `skipDefaultNodeGroup` pulumi-eks creates no CoreDNS add-on
(pulumi/pulumi-eks nodejs/eks/cluster/cluster.ts: the add-on is made only with
`corednsAddonOptions.enabled`, Fargate, Auto Mode or the default node group), so the
CoreDNS EKS bootstraps is all there is, and it tolerates no user taint. A pod schedules
only onto nodes whose NoSchedule/NoExecute taints it tolerates (Kubernetes docs,
"Taints and Tolerations"; PreferNoSchedule only steers).
"""

from __future__ import annotations

from components.core.advice import advise
from components.core.scheduling import network_tolerations, untolerating_capacity
from components.core.userdata import ClusterInfo, node_labels, render_user_data
from tests.helpers import load, ns
from tests.pure.test_userdata import ids_for

CLUSTER = ClusterInfo("eks-multus-dev", "https://example.eks.amazonaws.com", "Q0E=", "172.20.0.0/16")
SYSTEM = {
    "name": "system",
    "instanceType": "t3.medium",
    "availabilityZone": "ap-northeast-2a",
    "minSize": 1,
    "maxSize": 2,
    "desiredSize": 1,
    "multusInterfaces": [],
}


def _taint_dev(flat):
    ns(flat, "nodeGroups")[0]["taints"] = [{"key": "telco", "value": "ran", "effect": "NoSchedule"}]


def _with_system(flat):
    _taint_dev(flat)
    ns(flat, "nodeGroups").append(dict(SYSTEM))


def test_a_system_node_group_is_accepted():
    cfg = load("dev", _with_system)
    system = cfg.node_groups[1]
    assert system.multus_interfaces == () and not system.is_multus


def test_system_nodes_get_no_boot_step_and_no_multus_label():
    cfg = load("dev", _with_system)
    system = cfg.node_groups[1]
    labels = node_labels(system)
    assert labels == {"eks-multus.io/node-group": "system"}
    text = render_user_data(cfg, system, CLUSTER)
    assert "application/node.eks.aws" in text
    assert "text/cloud-config" not in text and "eks-multus-interfaces" not in text and "eks-multus-eni-ip" not in text
    # all the ENIs of a t3.medium (3 x 6 addresses) stay with the VPC CNI: 3 * (6 - 1) + 2
    assert "maxPods: 17" in text
    # multus nodes keep their boot step and label
    assert node_labels(cfg.node_groups[0])["eks-multus.io/multus"] == "true"
    assert "text/cloud-config" in render_user_data(cfg, cfg.node_groups[0], CLUSTER, ids_for(cfg))


def test_warns_when_every_node_group_is_tainted():
    cfg = load("dev", _taint_dev)
    assert untolerating_capacity(cfg) == ()
    (issue,) = [i for i in advise(cfg) if i.path == "nodeGroups"]
    assert "CoreDNS" in issue.render() and "multusInterfaces: []" in issue.render()


def test_no_warning_with_an_untainted_system_group_or_soft_taints():
    assert not [i for i in advise(load("dev", _with_system)) if i.path == "nodeGroups"]

    def soft(flat):
        ns(flat, "nodeGroups")[0]["taints"] = [{"key": "prefer", "effect": "PreferNoSchedule"}]

    assert not [i for i in advise(load("dev", soft)) if i.path == "nodeGroups"]
    assert not [i for i in advise(load("dev")) if i.path == "nodeGroups"]


def test_a_system_group_with_no_nodes_does_not_count():
    def empty_system(flat):
        _with_system(flat)
        ns(flat, "nodeGroups")[1].update(minSize=0, desiredSize=0)

    assert [i.path for i in advise(load("dev", empty_system)) if i.path == "nodeGroups"] == ["nodeGroups"]


def test_network_tolerations_follow_the_taints_of_the_nodes_that_carry_it():
    cfg = load("dev", _with_system)
    assert network_tolerations(cfg, cfg.networks[0]) == [{"key": "telco", "operator": "Equal", "value": "ran", "effect": "NoSchedule"}]
    assert network_tolerations(load("dev"), load("dev").networks[0]) == []


def test_an_existing_cluster_has_its_own_nodes_for_coredns():
    from tests.pure.test_validation import _byo_cluster

    def tainted_byo(flat):
        _byo_cluster()(flat)
        _taint_dev(flat)

    assert not [i for i in advise(load("dev", tainted_byo)) if i.path == "nodeGroups"]
