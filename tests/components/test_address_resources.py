"""Routable addresses as node resources, under mocks: what each stack registers, and where."""

from __future__ import annotations

import json

import pytest

from components.core.address_resources import CAPACITY_CONFIG, CAPACITY_KEY, POLICY
from components.core.manifests import CAPACITY_DIR, TAINT_REMOVER
from plan.render import kubernetes_objects
from tests.components.plan_index import by_urn, of_type, one
from tests.helpers import planned

CM = "kubernetes:core/v1:ConfigMap"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"


def _objects(stack: str) -> dict:
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in kubernetes_objects(planned(stack))}


@pytest.mark.parametrize(("stack", "policy", "action"), [("dev", f"{POLICY}-warn", "Warn"), ("prod", POLICY, "Deny")])
def test_capacity_and_policy_ride_with_the_networks(stack, policy, action):
    result = planned(stack)
    urns = by_urn(result)
    config = one(result, CM, f"eks-multus-networks-configmap-kube-system/{CAPACITY_CONFIG}")
    assert urns[config.parent].type == "eks-multus:index:NetworkAttachments"
    doc = json.loads(config.inputs["data"][CAPACITY_KEY])
    assert doc["nodeGroups"] and all(v > 0 for g in doc["nodeGroups"].values() for v in g.values())
    (vap,) = [r for r in of_type(result, VAP) if r.inputs["metadata"]["name"] == policy]
    assert urns[vap.parent].type == "eks-multus:index:NetworkAttachments"
    objs = _objects(stack)
    assert objs[("ValidatingAdmissionPolicyBinding", None, policy)]["spec"]["validationActions"] == [action]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_taint_remover_reads_the_capacity_configmap_it_may_run_without(stack):
    objs = _objects(stack)
    pod = objs[("DaemonSet", "kube-system", TAINT_REMOVER)]["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "capacity"]
    assert volume["configMap"] == {"name": CAPACITY_CONFIG, "optional": True}
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "capacity"]
    assert mount == {"name": "capacity", "mountPath": CAPACITY_DIR, "readOnly": True}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["EKS_MULTUS_CAPACITY_FILE"] == f"{CAPACITY_DIR}/{CAPACITY_KEY}"
    # the key the program reads is the key the ConfigMap holds
    assert CAPACITY_KEY in objs[("ConfigMap", "kube-system", CAPACITY_CONFIG)]["data"]


def test_the_outputs_name_each_routable_networks_resource():
    outputs = planned("prod").outputs
    assert outputs["networks"]["default/ipvlan-a"]["addressResource"] == "addresses.eks-multus.io/multus-a"
    assert "addressResource" not in outputs["networks"]["default/ena-direct"]  # host-device: a whole ENI


def test_node_daemonsets_share_one_skeleton():
    # review finding D3: the agent and the remover come from one helper; the fields it sets are the same
    objs = _objects("dev")
    agent = objs[("DaemonSet", "kube-system", "eks-multus-eni-agent")]["spec"]
    remover = objs[("DaemonSet", "kube-system", TAINT_REMOVER)]["spec"]
    assert agent["updateStrategy"] == remover["updateStrategy"]
    shared = ("hostNetwork", "priorityClassName", "nodeSelector", "tolerations")
    assert {k: agent["template"]["spec"][k] for k in shared} == {k: remover["template"]["spec"][k] for k in shared}
    for spec in (agent, remover):
        (container,) = spec["template"]["spec"]["containers"]
        assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert agent["template"]["spec"]["automountServiceAccountToken"] is False
    assert remover["template"]["spec"]["serviceAccountName"] == TAINT_REMOVER
