"""The taint remover's ValidatingAdmissionPolicies, evaluated by a real CEL implementation.

`cel-python` (celpy) evaluates the very expressions the manifests carry, the way
the API server applies a policy (Kubernetes docs, "Validating Admission
Policy"): every matchCondition must be true for the policy to apply; then the
variables are computed and every validation must be true; with
`failurePolicy: Fail` an expression that errors denies. The CEL variables are
the documented ones: `object`, `oldObject` (null on CREATE), `request` (with
`request.userInfo.username` and `.extra`) and `variables`.

What this cannot show: that the API server's CEL type checker (cel-go with the
Node OpenAPI schema) accepts the expressions; they use only has(), filter(),
all(), size(), `in` and ==, which the Kubernetes CEL docs list.
"""

from __future__ import annotations

import copy

import pytest

from components.core import readiness
from components.core.manifests import TAINT_REMOVER_USER, taint_remover_policies
from tests.cel import refusal

NODE = "ip-10-20-1-10.ap-northeast-2.compute.internal"
OURS = {"key": readiness.NOT_READY_TAINT_KEY, "value": readiness.NOT_READY_TAINT_VALUE, "effect": readiness.NOT_READY_TAINT_EFFECT}
DEDICATED = {"key": "dedicated", "value": "net", "effect": "NoSchedule"}
NODE_EXTRA = "authentication.kubernetes.io/node-name"


def _policy(kind: str) -> dict:
    (policy,) = [o for o in taint_remover_policies() if o["kind"] == "ValidatingAdmissionPolicy" and o["metadata"]["name"].endswith(kind)]
    return policy


def admit(policy: dict, obj: dict, old: dict | None, user: str = TAINT_REMOVER_USER, node: str | None = NODE) -> str | None:
    """None if admitted, else the message of the first failing validation."""
    user_info: dict = {"username": user, "groups": ["system:serviceaccounts", "system:authenticated"]}
    if node is not None:
        user_info["extra"] = {NODE_EXTRA: [node], "authentication.kubernetes.io/pod-name": ["eks-multus-taint-remover-x7k2p"]}
    request = {"userInfo": user_info, "operation": "UPDATE" if old is not None else "CREATE"}
    return refusal(policy, obj, old, request)


def _node(name: str = NODE, taints: list[dict] | None = None, annotations: dict | None = None) -> dict:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "eks-multus.io/multus": "true"}},
        "spec": {"providerID": "aws:///ap-northeast-2a/i-0123456789abcdef0", "podCIDR": "10.0.1.0/24"},
    }
    if annotations is not None:
        node["metadata"]["annotations"] = annotations
    if taints is not None:
        node["spec"]["taints"] = taints
    return node


OLD = _node(taints=[DEDICATED, OURS], annotations={"node.alpha.kubernetes.io/ttl": "0"})


def _changed(mutate) -> dict:
    new = copy.deepcopy(OLD)
    mutate(new)
    return new


def _set_status(n: dict, text: str = "ready: 1 multus interface(s) up") -> None:
    n["metadata"].setdefault("annotations", {})[readiness.STATUS_ANNOTATION] = text


ALLOWED = {
    "lift-taint-and-annotate": _changed(lambda n: (n["spec"].update(taints=[DEDICATED]), _set_status(n))),
    "annotate-only": _changed(lambda n: _set_status(n, "not ready: boot step failed: quota")),
    "nothing-changes": copy.deepcopy(OLD),
}
DENIED = {
    "remove-another-taint": (_changed(lambda n: n["spec"].update(taints=[OURS])), "add or remove only"),
    "add-another-taint": (_changed(lambda n: n["spec"]["taints"].append({"key": "x", "effect": "NoSchedule"})), "add or remove only"),
    "our-key-other-effect": (
        _changed(lambda n: n["spec"].update(taints=[DEDICATED, {**OURS, "effect": "NoExecute"}])),
        "add or remove only",
    ),
    "our-key-other-value": (_changed(lambda n: n["spec"].update(taints=[DEDICATED, {**OURS, "value": "false"}])), "add or remove only"),
    "our-taint-twice": (_changed(lambda n: n["spec"]["taints"].append({**OURS, "effect": "NoExecute"})), "add or remove only"),
    "add-label": (_changed(lambda n: n["metadata"]["labels"].update({"node-role.kubernetes.io/gpu": ""})), "may not change labels"),
    "drop-labels": (_changed(lambda n: n["metadata"].pop("labels")), "may not change labels"),
    "cordon": (_changed(lambda n: n["spec"].update(unschedulable=True)), "may not change labels"),
    "pod-cidr": (_changed(lambda n: n["spec"].update(podCIDR="10.0.9.0/24")), "may not change labels"),
    "provider-id": (_changed(lambda n: n["spec"].pop("providerID")), "may not change labels"),
    "finalizer": (_changed(lambda n: n["metadata"].update(finalizers=["example.com/hold"])), "may not change labels"),
    "other-annotation-added": (
        _changed(lambda n: n["metadata"]["annotations"].update(x="1")),
        "only the eks-multus.io/network-status annotation",
    ),
    "other-annotation-changed": (
        _changed(lambda n: n["metadata"]["annotations"].update({"node.alpha.kubernetes.io/ttl": "30"})),
        "only the eks-multus.io/network-status annotation",
    ),
    "other-annotation-removed": (_changed(lambda n: n["metadata"].pop("annotations")), "only the eks-multus.io/network-status annotation"),
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_own_node_taint_and_annotation_are_allowed(case):
    assert admit(_policy("nodes"), ALLOWED[case], OLD) is None


def test_lifting_the_last_taint_is_allowed():
    old = _node(taints=[OURS], annotations={})
    assert admit(_policy("nodes"), _node(annotations={readiness.STATUS_ANNOTATION: "ready: 1 multus interface(s) up"}), old) is None
    assert admit(_policy("nodes"), _node(annotations={}), old) is None
    assert admit(_policy("nodes"), _node(), old) is None


def test_putting_the_taint_back_is_allowed():
    old = _node(taints=[DEDICATED], annotations={})
    new = _node(taints=[DEDICATED, OURS], annotations={readiness.STATUS_ANNOTATION: "not ready: link multus-a is down"})
    assert admit(_policy("nodes"), new, old) is None
    assert admit(_policy("nodes"), _node(taints=[OURS], annotations={}), _node(annotations={})) is None


@pytest.mark.parametrize("case", sorted(DENIED))
def test_every_other_change_is_denied(case):
    new, words = DENIED[case]
    message = admit(_policy("nodes"), new, OLD)
    assert message is not None and words in message, message


def test_another_node_is_denied():
    other = "ip-10-20-1-11.ap-northeast-2.compute.internal"
    old = _node(other, taints=[OURS], annotations={})
    new = _node(other, taints=[], annotations={})
    assert "only the node its pod runs on" in admit(_policy("nodes"), new, old)


def test_a_token_without_node_info_is_denied():
    # Tokens not bound to a pod (or issued before ServiceAccountTokenPodNodeInfo) carry no node name.
    assert "only the node its pod runs on" in admit(_policy("nodes"), ALLOWED["lift-taint-and-annotate"], OLD, node=None)


def test_other_users_are_not_matched():
    new, _ = DENIED["cordon"]
    assert admit(_policy("nodes"), new, OLD, user="system:serviceaccount:kube-system:cluster-autoscaler") is None
    assert admit(_policy("nodes"), new, OLD, user="system:serviceaccount:default:eks-multus-taint-remover") is None


def test_the_checker_does_fail_a_false_expression():
    broken = copy.deepcopy(_policy("nodes"))
    broken["spec"]["validations"].append({"expression": "object.spec.nope == 1", "message": "errors deny"})
    assert admit(broken, ALLOWED["annotate-only"], OLD) == "errors deny"


def _event(kind: str, name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.187a", "namespace": "default"},
        "involvedObject": {"apiVersion": "v1", "kind": kind, "name": name},
        "reason": "NetworkNotReady",
        "message": "boot step failed",
        "type": "Warning",
    }


def test_events_only_about_its_own_node():
    policy = _policy("events")
    assert admit(policy, _event("Node", NODE), None) is None
    assert "its own node" in admit(policy, _event("Node", "ip-10-20-1-11.ap-northeast-2.compute.internal"), None)
    assert "its own node" in admit(policy, _event("Pod", NODE), None)
    assert admit(policy, _event("Pod", NODE), None, user="system:node:" + NODE) is None
