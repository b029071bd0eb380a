"""The readiness gate under mocks: who tolerates the startup taint, the remover's pod, RBAC and policies."""

from __future__ import annotations

import pytest

from components.core import images, readiness
from components.core.manifests import (
    CHECKSUM_ANNOTATION,
    TAINT_REMOVER,
    checksum,
    needs_readiness_gate,
    taint_remover_program,
)
from components.core.userdata import asset
from plan.render import kubernetes_objects
from tests.components.plan_index import by_urn, of_type, one
from tests.helpers import load, planned

TAINT = {"key": readiness.NOT_READY_TAINT_KEY, "value": readiness.NOT_READY_TAINT_VALUE, "effect": readiness.NOT_READY_TAINT_EFFECT}
DS = "kubernetes:apps/v1:DaemonSet"


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    """k8s.io/api core/v1 toleration.go ToleratesTaint: effect empty or equal; empty key with Exists matches every key."""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("key") and t["key"] != taint["key"]:
            continue
        operator = t.get("operator", "Equal")
        if operator == "Exists" or (operator == "Equal" and t.get("value", "") == taint["value"]):
            return True
    return False


def test_the_toleration_check_follows_kubernetes():
    assert tolerates([{"operator": "Exists"}], TAINT)
    assert tolerates([{"operator": "Exists", "effect": "NoSchedule"}], TAINT)
    assert not tolerates([{"operator": "Exists", "effect": "NoExecute"}], TAINT)
    assert not tolerates([{"key": "CriticalAddonsOnly", "operator": "Exists"}], TAINT)
    assert tolerates([{"key": TAINT["key"], "value": "true", "effect": "NoSchedule"}], TAINT)
    assert not tolerates([{"key": TAINT["key"], "value": "false"}], TAINT)


def _objects(stack: str) -> dict:
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in kubernetes_objects(planned(stack))}


def _pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_daemons_that_must_run_first_tolerate_the_taint(stack):
    # Multus, whereabouts, the SR-IOV device plugin, the ENI agent (issue 14) and the remover itself run before the taint goes.
    # The VPC CNI add-on's aws-node tolerates every taint (`tolerations: - operator: Exists`,
    # aws/amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml). Everything else we create waits, and so do
    # user workloads and CoreDNS (upstream's manifest tolerates only CriticalAddonsOnly; EKS's add-on build unverified).
    objs = _objects(stack)
    daemonsets = {k[2]: o for k, o in objs.items() if k[0] == "DaemonSet"}
    expected = {"kube-multus-ds", TAINT_REMOVER, "eks-multus-eni-agent"} | (
        {"whereabouts", "kube-sriov-device-plugin"} if stack == "prod" else set()
    )
    assert set(daemonsets) == expected
    for name, ds in daemonsets.items():
        assert tolerates(_pod_spec(ds).get("tolerations", []), TAINT), name
    for key, obj in objs.items():
        if key[0] == "Deployment":
            assert not tolerates(_pod_spec(obj).get("tolerations", []), TAINT), key


def test_remover_runs_on_every_multus_node_as_an_unprivileged_host_network_pod():
    ds = _objects("dev")[("DaemonSet", "kube-system", TAINT_REMOVER)]
    spec = _pod_spec(ds)
    assert spec["nodeSelector"] == {"eks-multus.io/multus": "true"}
    assert spec["hostNetwork"] is True and spec["serviceAccountName"] == TAINT_REMOVER
    assert spec["priorityClassName"] == "system-node-critical"
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    (container,) = spec["containers"]
    assert container["image"] == images.TAINT_REMOVER_PYTHON and images.check_image_reference(container["image"]) is None
    assert container["resources"]["requests"] == container["resources"]["limits"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert all(m["readOnly"] for m in mounts.values())
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["status"]["hostPath"]["path"] == mounts["status"]["mountPath"] == readiness.STATUS_DIR
    cni_dir = readiness.MULTUS_CONFIG_FILE.rsplit("/", 1)[0]
    assert volumes["cni-net-dir"]["hostPath"]["path"] == mounts["cni-net-dir"]["mountPath"] == cni_dir
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert env["EKS_MULTUS_TAINT"] == f"{TAINT['key']}={TAINT['value']}:{TAINT['effect']}"
    assert env["EKS_MULTUS_STATUS_FILE"] == readiness.STATUS_FILE
    assert env["EKS_MULTUS_MULTUS_CONFIG"] == readiness.MULTUS_CONFIG_FILE
    assert env["EKS_MULTUS_STATUS_ANNOTATION"] == readiness.STATUS_ANNOTATION


def test_remover_program_ships_in_a_config_map_and_rolls_the_pods_on_change():
    objs = _objects("dev")
    cm = objs[("ConfigMap", "kube-system", TAINT_REMOVER)]
    assert cm["data"][TAINT_REMOVER] == asset("eks-multus-taint-remover").decode() == taint_remover_program()
    ds = objs[("DaemonSet", "kube-system", TAINT_REMOVER)]
    assert ds["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION] == checksum(cm["data"][TAINT_REMOVER])
    command = _pod_spec(ds)["containers"][0]["command"]
    mount = next(m for m in _pod_spec(ds)["containers"][0]["volumeMounts"] if m["name"] == "program")
    assert command == ["python3", f"{mount['mountPath']}/{TAINT_REMOVER}"]


def test_rbac_is_get_and_patch_nodes_patch_their_status_and_create_events_in_default():
    objs = _objects("dev")
    assert objs[("ClusterRole", None, TAINT_REMOVER)]["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
        # the address capacity, through the status subresource (address_resources.py)
        {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]},
    ]
    subject = [{"kind": "ServiceAccount", "name": TAINT_REMOVER, "namespace": "kube-system"}]
    assert objs[("ClusterRoleBinding", None, TAINT_REMOVER)]["subjects"] == subject
    role = objs[("Role", "default", f"{TAINT_REMOVER}-events")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]
    assert objs[("RoleBinding", "default", f"{TAINT_REMOVER}-events")]["subjects"] == subject


def test_policies_are_bound_deny_fail_closed_and_match_only_the_remover():
    objs = _objects("dev")
    for kind, suffix in (("nodes", "nodes"), ("nodes/status", "node-status"), ("events", "events")):
        name = f"{TAINT_REMOVER}-{suffix}"
        policy = objs[("ValidatingAdmissionPolicy", None, name)]
        binding = objs[("ValidatingAdmissionPolicyBinding", None, name)]
        assert binding["spec"] == {"policyName": name, "validationActions": ["Deny"]}
        assert policy["spec"]["failurePolicy"] == "Fail"
        (rule,) = policy["spec"]["matchConstraints"]["resourceRules"]
        assert rule["resources"] == [kind] and rule["operations"] == (["CREATE"] if kind == "events" else ["UPDATE"])
        (condition,) = policy["spec"]["matchConditions"]
        assert condition["expression"] == "request.userInfo.username == 'system:serviceaccount:kube-system:eks-multus-taint-remover'"


def test_remover_waits_for_its_admission_policies():
    result = planned("dev")
    urns = by_urn(result)
    ds = one(result, DS, f"eks-multus-readiness-daemonset-kube-system/{TAINT_REMOVER}")
    policy_urns = {
        r.urn
        for t in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
        for r in of_type(result, f"kubernetes:admissionregistration.k8s.io/v1:{t}")
        if urns[r.parent].type == "eks-multus:index:ReadinessGate"  # the pods' address policy is NetworkAttachments'
    }
    assert len(policy_urns) == 6 and policy_urns <= set(ds.dependencies)
    assert urns[ds.parent].type == "eks-multus:index:ReadinessGate"


def test_no_gate_without_multus_node_groups():
    cfg = load("dev")
    assert needs_readiness_gate(cfg)
    system_only = cfg.model_copy(update={"node_groups": tuple(g.model_copy(update={"multus_interfaces": ()}) for g in cfg.node_groups)})
    assert not needs_readiness_gate(system_only)
