"""Hardening rules over every planned Kubernetes object, by kind (whatever component made it).

checkov (test_checkov.py) reports against its own catalogue; these rules hold
the project's own line: every unprivileged container is fully restricted, no
RBAC wildcard, every image either digest-pinned or with a stated reason, and
the README lists every waiver the plan carries.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network

import pytest

from components.core import images
from components.core.awsrules import multus_egress_cidrs
from components.core.hardening import waive, waivers_of
from components.core.manifests import MULTUS_RBAC
from plan.render import kubernetes_objects
from tests.helpers import ROOT, STACKS, TEST_STACKS, planned, planned_with

STACK_NAMES = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in [*STACKS.glob("Pulumi.*.yaml"), *TEST_STACKS.glob("Pulumi.*.yaml")]
)
WORKLOADS = ("DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job", "Pod")


def _objects(stack: str) -> list[dict]:
    return kubernetes_objects(planned(stack))


def _pod_spec(obj: dict) -> dict:
    return obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]


def _containers(obj: dict) -> list[dict]:
    spec = _pod_spec(obj)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _workloads(stack: str) -> list[dict]:
    return [o for o in _objects(stack) if o["kind"] in WORKLOADS]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_unprivileged_containers_are_restricted(stack):
    """seccomp RuntimeDefault (container or pod), no escalation, no capabilities, read-only root."""
    for obj in _workloads(stack):
        pod = _pod_spec(obj).get("securityContext") or {}
        for c in _containers(obj):
            ctx = c.get("securityContext") or {}
            where = f"{obj['metadata']['name']}/{c['name']}"
            if ctx.get("privileged"):
                continue
            seccomp = ctx.get("seccompProfile") or pod.get("seccompProfile") or {}
            assert seccomp.get("type") == "RuntimeDefault", where
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert "ALL" in (ctx.get("capabilities") or {}).get("drop", []), where
            assert not (ctx.get("capabilities") or {}).get("add"), where
            assert ctx.get("readOnlyRootFilesystem") is True, where


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_privilege_and_host_access_are_always_waived_with_a_reason(stack):
    for obj in _workloads(stack):
        spec, waived = _pod_spec(obj), waivers_of(obj)
        name = obj["metadata"]["name"]
        if any((c.get("securityContext") or {}).get("privileged") for c in _containers(obj)):
            assert waived.get("CKV_K8S_16"), name
        if spec.get("hostNetwork"):
            assert waived.get("CKV_K8S_19"), name
        if spec.get("hostPID"):
            assert waived.get("CKV_K8S_17"), name
        if spec.get("automountServiceAccountToken") is not False:
            assert "API server" in waived.get("CKV_K8S_38", ""), f"{name}: token mounted without saying why it talks to the API"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_rbac_has_no_wildcards(stack):
    for obj in _objects(stack):
        if obj["kind"] not in ("ClusterRole", "Role"):
            continue
        for rule in obj["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), f"{obj['metadata']['name']}: {field} {rule}"


def test_multus_may_not_write_pods_or_nads():
    """multus-daemon reads pods and NADs and writes only pods/status and events (manifests.MULTUS_RBAC cites the calls)."""
    writes = {"create", "update", "patch", "delete", "deletecollection"}
    granted = {(res, verb) for rule in MULTUS_RBAC for res in rule["resources"] for verb in rule["verbs"]}
    assert not {(r, v) for r, v in granted if r in ("pods", "network-attachment-definitions") and v in writes}
    assert ("pods/status", "update") in granted and ("events", "create") in granted
    assert {("pods", "watch"), ("network-attachment-definitions", "watch")} <= granted


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_image_is_pinned_by_digest_or_says_why_not(stack):
    for obj in _workloads(stack):
        for c in _containers(obj):
            assert images.check_image_reference(c["image"]) is None, c["image"]
            if "@sha256:" not in c["image"]:
                assert waivers_of(obj).get("CKV_K8S_43") == images.digest_status(c["image"])


def test_reconciler_runs_as_nobody_with_nothing_writable():
    (rec,) = [o for o in _objects("prod") if o["kind"] == "Deployment" and o["metadata"]["name"] == "whereabouts-reconciler"]
    (c,) = _containers(rec)
    ctx = c["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] >= 10000
    assert all(m.get("readOnly") for m in c["volumeMounts"])
    policies = [o for o in _objects("prod") if o["kind"] == "NetworkPolicy"]
    labels = rec["spec"]["template"]["metadata"]["labels"]
    assert any(p["spec"]["podSelector"]["matchLabels"].items() <= labels.items() and "ingress" not in p["spec"] for p in policies)


def test_sriov_plugin_gets_no_api_token():
    (ds,) = [o for o in _objects("prod") if o["metadata"]["name"] == "kube-sriov-device-plugin" and o["kind"] == "DaemonSet"]
    assert _pod_spec(ds)["automountServiceAccountToken"] is False


def test_multus_probes_follow_the_image():
    def multus(objs):
        (ds,) = [o for o in objs if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "kube-multus-ds"]
        return ds

    eks = multus(_objects("dev"))
    upstream = multus(kubernetes_objects(planned_with("dev", lambda flat: flat["eks-multus:multus"].update(image="upstream"))))
    for ds in (eks, upstream):
        main = _pod_spec(ds)["containers"][0]
        assert main["readinessProbe"]["exec"]["command"] == ["test", "-f", "/host/etc/cni/net.d/00-multus.conf"]
    assert "livenessProbe" not in _pod_spec(eks)["containers"][0] and waivers_of(eks).get("CKV_K8S_8")
    assert _pod_spec(upstream)["containers"][0]["livenessProbe"]["exec"]["command"][:2] == ["test", "-S"]
    assert "CKV_K8S_8" not in waivers_of(upstream)


def _readme_security() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Security\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "README has no `## Security` section"
    return match.group(1)


def test_readme_lists_every_waiver_and_image():
    section = _readme_security()
    stacks = [*STACK_NAMES]
    objs = [o for s in stacks for o in _objects(s)]
    objs += kubernetes_objects(planned_with("dev", lambda flat: flat["eks-multus:multus"].update(image="upstream")))
    for obj in objs:
        for check, reason in waivers_of(obj).items():
            assert f"`{check}`" in section, check
            assert reason in section, f"README security section lacks: {obj['metadata']['name']} {check} {reason}"
    for image, status in images.DIGEST_STATUS.items():
        assert image in section and status in section, image


def test_waive_numbers_annotations_and_refuses_reasons_checkov_would_mangle():
    obj = {"metadata": {"name": "x", "annotations": {"checkov.io/skip1": "CKV_K8S_19=already there"}}}
    waive(obj, {"CKV_K8S_16": "privileged: needed"})
    assert obj["metadata"]["annotations"]["checkov.io/skip2"] == "CKV_K8S_16=privileged: needed"
    assert waivers_of(obj) == {"CKV_K8S_19": "already there", "CKV_K8S_16": "privileged: needed"}
    for reason in ("", "  ", "a=b", "two\nlines"):
        with pytest.raises(ValueError):
            waive({"metadata": {}}, {"CKV_K8S_16": reason})
    with pytest.raises(ValueError):
        waive({"metadata": {}}, {"CKV_AWS_1": "not a Kubernetes check"})


def test_multus_egress_is_the_multus_side_and_the_routes():
    subnets = [IPv4Network("100.64.0.0/21"), IPv4Network("100.64.8.0/21")]
    assert multus_egress_cidrs(subnets, [IPv4Network("100.64.0.0/24")], []) == ["100.64.0.0/20"]
    assert multus_egress_cidrs(subnets, [], [IPv4Network("192.168.50.0/24")]) == ["100.64.0.0/20", "192.168.50.0/24"]
    assert multus_egress_cidrs(subnets, [], [IPv4Network("0.0.0.0/0")]) == ["0.0.0.0/0"]
