"""Routable addresses as extended resources: names, quantities per node group, and the pods' admission policy.

The policy's CEL is evaluated with cel-python, the way the API server applies a ValidatingAdmissionPolicy
(Kubernetes docs, "Validating Admission Policy": matchConditions, then variables, then validations; with
`failurePolicy: Fail` an expression that errors denies). cel-python lacks the libraries Kubernetes adds to
CEL, so the few the policy uses are given here as the Kubernetes docs ("CEL in Kubernetes", libraries) and
cel-go define them:
- strings extension: `split(sep)` (every piece, empty ones included, like Go strings.Split), `trim()`
  (leading and trailing Unicode white space);
- regex library: `findAll(re)` (every non-overlapping match, leftmost first);
- list library: `sum()` of a list of ints.
What this cannot show: that the API server's type checker accepts the expressions against the Pod schema.

The annotation cases follow the NPWG multi-net spec v1.3 section 4 and Multus v4.1.4
pkg/k8sclient/k8sclient.go parsePodNetworkAnnotation: JSON when the value holds `[`, `{` or `"`, else a
comma-separated list of `[namespace/]name[@interface]`, each item trimmed; the namespace defaults to the
pod's; a network listed twice is two attachments. encoding/json matches object keys case-insensitively.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from components.core import address_resources as ar
from components.core.manifests import taint_remover_policies
from tests.cel import refusal
from tests.helpers import ROOT, errors_of, load, ns


def admit(policy: dict, obj: dict, old: dict | None = None, namespace: str = "default", extra: dict | None = None) -> str | None:
    """None if admitted (or not matched), else the failing validation's message (messageExpression first)."""
    request = {
        "namespace": namespace,
        "operation": "CREATE" if old is None else "UPDATE",
        "userInfo": {"username": "someone", **(extra or {})},
    }
    return refusal(policy, obj, old, request)


def _policies(cfg) -> dict[str, tuple[dict, dict]]:
    objs = ar.pod_policy_objects(cfg)
    policies = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ValidatingAdmissionPolicy"}
    bindings = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ValidatingAdmissionPolicyBinding"}
    return {name: (p, bindings[name]) for name, p in policies.items()}


def _pod(annotation: str | None, *limits: dict[str, str] | None) -> dict:
    containers = []
    for i, lim in enumerate(limits or (None,)):
        c: dict = {"name": f"c{i}", "image": "nicolaka/netshoot:v0.13"}
        if lim is not None:
            c["resources"] = {"limits": lim, "requests": dict(lim)}
        containers.append(c)
    meta: dict = {"name": "sampleapp-1", "namespace": "default"}
    if annotation is not None:
        meta["annotations"] = {ar.NETWORKS_ANNOTATION: annotation}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": containers}}


# --- names and quantities ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("addresses.eks-multus.io/ens6", None),
        ("prefix-addresses.eks-multus.io/multus-a", None),
        ("example.com/dongle", None),
        ("dongle", "kubernetes.io domain"),
        ("kubernetes.io/dongle", "kubernetes.io domain"),
        ("node.kubernetes.io/dongle", "kubernetes.io domain"),
        ("requests.example.com/dongle", "requests."),
        ("Example.com/dongle", "DNS-1123 subdomain"),
        ("example.com/-dongle", "qualified name"),
        ("example.com/" + "d" * 64, "qualified name"),
        ("example.com/a/b", "more than one"),
    ],
)
def test_extended_resource_names_follow_is_extended_resource_name(name, words):
    # k8s.io/kubernetes pkg/apis/core/v1/helper/helpers.go IsExtendedResourceName: not native (no `/`, or
    # kubernetes.io/), no `requests.` prefix, and `requests.<name>` a qualified name (apimachinery IsQualifiedName).
    problem = ar.extended_resource_name_problem(name)
    assert (problem is None) if words is None else (problem is not None and words in problem), problem


def test_dev_advertises_the_m5_large_enis_nine_per_pod_slots():
    # m5.large: 10 IPv4 addresses per ENI (EC2 user guide, IP addresses per network interface), one the ENI's primary.
    assert ar.node_group_capacity(load("dev")) == {"multus-a": {"addresses.eks-multus.io/ens6": 9}}


def test_prod_advertises_fourteen_per_m5_xlarge_eni_and_nothing_for_the_host_device_enis():
    assert ar.node_group_capacity(load("prod")) == {
        "multus-a": {"addresses.eks-multus.io/multus-a": 14},
        "multus-c": {"addresses.eks-multus.io/multus-c": 14},
    }


def test_prefix_mode_is_its_prefixes_times_sixteen():
    assert ar.node_group_capacity(load("prefix")) == {
        "workers": {"addresses.eks-multus.io/stable": 9, "prefix-addresses.eks-multus.io/bulk": 144},
    }


def test_per_pod_addresses_on_an_eni_with_prefixes_get_the_slots_the_prefixes_leave():
    def mutate(flat):
        ns(flat, "networks")[0]["ipam"]["maxPrefixCount"] = 4
        ns(flat, "networks").append(
            {
                "name": "pinned",
                "type": "ipvlan",
                "master": "bulk",
                "cniVersion": "1.0.0",
                "ipam": {"type": "whereabouts", "range": "100.64.0.0/20", "rangeStart": "100.64.8.64", "rangeEnd": "100.64.8.127"},
            }
        )

    # 10 slots: the primary, up to 4 prefixes (64 addresses), 5 left for per-pod addresses.
    assert ar.node_group_capacity(load("prefix", mutate))["workers"] == {
        "addresses.eks-multus.io/bulk": 5,
        "addresses.eks-multus.io/stable": 9,
        "prefix-addresses.eks-multus.io/bulk": 64,
    }


def test_unrouted_networks_take_no_resource():
    cfg = load("dev", lambda f: ns(f, "networks")[0].update(eniIpAssignment=False))
    assert ar.node_group_capacity(cfg) == {} and ar.address_resource_objects(cfg) == []


def _second_on_multus_a(flat):
    ns(flat, "networks").append(
        {
            "name": "second",
            "type": "ipvlan",
            "master": "multus-a",
            "ipam": {"type": "host-local", "subnet": "100.64.0.0/19", "rangeStart": "100.64.31.10", "rangeEnd": "100.64.31.20"},
        }
    )


def test_two_names_of_one_eni_are_one_pool_named_by_the_first_network():
    cfg = load("dev", _second_on_multus_a)
    assert [r.resource for r in ar.routable_networks(cfg)] == ["addresses.eks-multus.io/ens6"] * 2
    assert ar.node_group_capacity(cfg) == {"multus-a": {"addresses.eks-multus.io/ens6": 9}}


def test_a_pool_that_is_two_enis_on_one_node_group_is_refused():
    def mutate(flat):
        # multus-b becomes device 2 of multus-a's group and device 1 of a second group: on that group `ens6`
        # and `multus-b` are one ENI, on the first they are two.
        ns(flat, "multusSubnets").append({"name": "multus-b", "availabilityZone": "ap-northeast-2a", "cidr": "100.64.32.0/20"})
        flat["eks-multus:vpc"]["secondaryCidr"] = "100.64.0.0/18"
        ns(flat, "nodeGroups")[0]["multusInterfaces"] = ["multus-a", "multus-b"]
        ns(flat, "nodeGroups").append(dict(ns(flat, "nodeGroups")[0], name="second", multusInterfaces=["multus-b"]))
        ns(flat, "networks")[0]["ipam"] = {
            "type": "whereabouts",
            "range": "100.64.0.0/19",
            "rangeStart": "100.64.30.10",
            "rangeEnd": "100.64.30.100",
        }
        ns(flat, "networks").append(
            {
                "name": "on-b",
                "type": "ipvlan",
                "master": "multus-b",
                "ipam": {"type": "whereabouts", "range": "100.64.32.0/20", "rangeStart": "100.64.40.10", "rangeEnd": "100.64.40.100"},
            }
        )

    errors = [e for e in errors_of("dev", mutate) if "one pool" in e]
    assert errors and errors[0].startswith("eks-multus:networks[") and "name the ENI the same way" in errors[0], errors


def test_capacity_config_is_per_node_group_with_the_label_the_nodes_carry():
    doc = json.loads(ar.capacity_config(load("prod")))
    assert doc["nodeGroupLabel"] == "eks-multus.io/node-group"
    assert doc["nodeGroups"]["multus-c"] == {"addresses.eks-multus.io/multus-c": 14}


# --- the pods' policy ---------------------------------------------------------------------------

R = "addresses.eks-multus.io/multus-a"


@pytest.fixture(scope="module")
def prod_policy() -> dict:
    ((policy, binding),) = _policies(load("prod")).values()
    assert binding["spec"]["validationActions"] == ["Deny"] and policy["spec"]["failurePolicy"] == "Fail"
    return policy


@pytest.mark.parametrize(
    ("annotation", "need"),
    [
        ("ipvlan-a", 1),
        ("default/ipvlan-a", 1),
        ("ipvlan-a@net1", 1),
        ("default/ipvlan-a@ipvlan1", 1),
        (" default/ipvlan-a , direct ", 1),
        ("ipvlan-a,ipvlan-a@net2", 2),
        ("other/ipvlan-a", 0),
        ("direct", 0),
        ("ipvlan-ab", 0),
        ('[{"name": "ipvlan-a"}]', 1),
        ('[{"name": "ipvlan-a", "namespace": "default", "interface": "net1", "ips": ["100.64.30.10/19"]}]', 1),
        ('[{"Name":"ipvlan-a","Namespace":"default"}]', 1),
        (
            '[{"name": "ipvlan-a", "cni-args": {"foo": "bar"}, "bandwidth": {"ingressRate": 100}}, {"name": "ipvlan-a", "interface": "net2"}]',
            2,
        ),
        ('[{"name": "ipvlan-a", "portMappings": [{"hostPort": 8080, "containerPort": 80}]}]', 1),
        ('[{"name": "ipvlan-a", "namespace": "other"}]', 0),
        # Multus v4.1.4 parsePodNetworkAnnotation: an empty namespace is the pod's
        ('[{"name": "ipvlan-a", "namespace": ""}]', 1),
        ('[{"namespace": "default", "name": "direct"}]', 0),
    ],
)
def test_the_pod_must_ask_for_each_attachment(prod_policy, annotation, need):
    bare = admit(prod_policy, _pod(annotation))
    if need == 0:
        assert bare is None
        return
    assert bare is not None and f'add {R}: "{need}" to resources.limits of one container' in bare, bare
    assert f"attaches {need} routable address(es)" in bare and "asks" not in bare
    assert admit(prod_policy, _pod(annotation, {R: str(need - 1)} if need > 1 else None)) is not None
    assert admit(prod_policy, _pod(annotation, {R: str(need)})) is None
    # any container may carry it; the scheduler sums the containers' requests
    assert admit(prod_policy, _pod(annotation, {"cpu": "10m"}, {R: str(need)})) is None


def test_an_escaped_element_cannot_slip_past(prod_policy):
    """Go's encoding/json (what Multus unmarshals the annotation with) decodes \\u escapes, so
    "ipvl\\u0061n-a" is ipvlan-a to Multus; no pattern sees through that, so such an element counts as
    every routable network and the pod must ask for them all."""
    escaped = '[{"name": "ipvl\\u0061n-a"}]'
    assert admit(prod_policy, _pod(escaped)) is not None
    assert admit(prod_policy, _pod(escaped, {R: "1"})) is not None  # one pool asked for, another not


def test_each_pool_is_asked_for_on_its_own(prod_policy):
    # ipvlan-c lives on multus-c's ENI: its own resource, whatever the pod asks of multus-a's
    message = admit(prod_policy, _pod("ipvlan-c", {R: "1"}))
    assert message is not None and 'add addresses.eks-multus.io/multus-c: "1"' in message
    assert admit(prod_policy, _pod("ipvlan-c", {"addresses.eks-multus.io/multus-c": "1"})) is None


def test_the_bare_name_is_the_pods_own_namespace(prod_policy):
    pod = _pod("ipvlan-a")
    pod["metadata"]["namespace"] = "team"
    assert admit(prod_policy, pod, namespace="team") is None  # team/ipvlan-a is not a network of this stack


def test_pods_without_the_annotation_are_not_matched(prod_policy):
    assert admit(prod_policy, _pod(None)) is None


def test_the_message_says_what_is_asked_for_and_what_to_add(prod_policy):
    message = admit(prod_policy, _pod("ipvlan-a,ipvlan-a", {R: "1"}))
    assert message == (
        "the pod attaches 2 routable address(es) of the ENI behind `multus-a` (default/ipvlan-a) but its containers ask "
        f'for 1; add {R}: "2" to resources.limits of one container, so it is scheduled only onto a node with a free address'
    )


def test_the_checker_does_deny_an_erroring_expression(prod_policy):
    broken = copy.deepcopy(prod_policy)
    broken["spec"]["validations"].append({"expression": "object.spec.nope == 1", "message": "errors deny"})
    assert admit(broken, _pod("ipvlan-a", {R: "1"})) == "errors deny"


def test_dev_warns_so_the_seeds_pod_is_admitted_as_written():
    ((policy, binding),) = _policies(load("dev")).values()
    assert policy["metadata"]["name"] == "eks-multus-address-requests-warn"
    assert binding["spec"]["validationActions"] == ["Warn"]
    # the seed's pod: the annotation and no resources (a Warn binding returns this as a warning, and admits)
    assert "addresses.eks-multus.io/ens6" in admit(policy, _pod("default/ipvlan-conf-1"))


def test_require_and_warn_networks_on_one_pool_answer_to_their_own_policy():
    def mutate(flat):
        _second_on_multus_a(flat)
        ns(flat, "networks")[0]["addressRequest"] = "warn"

    policies = _policies(load("dev", mutate))
    deny, _ = policies["eks-multus-address-requests"]
    warn, _ = policies["eks-multus-address-requests-warn"]
    assert admit(deny, _pod("ipvlan-conf-1")) is None and admit(warn, _pod("ipvlan-conf-1")) is not None
    message = admit(deny, _pod("second,ipvlan-conf-1", {"addresses.eks-multus.io/ens6": "1"}))
    assert message is not None and "attaches 2" in message  # both count against the pool


def test_host_device_refuses_address_request():
    errors = errors_of("prod", lambda f: ns(f, "networks")[2].update(addressRequest="warn"))
    assert any("networks[2].addressRequest" in e and "remove addressRequest" in e for e in errors), errors


def test_address_request_is_require_or_warn():
    errors = errors_of("dev", lambda f: ns(f, "networks")[0].update(addressRequest="sometimes"))
    assert any("networks[0].addressRequest" in e for e in errors), errors


# --- the taint remover's node-status policy ------------------------------------------------------

NODE = "ip-10-20-1-10.ap-northeast-2.compute.internal"
REMOVER = {"username": "system:serviceaccount:kube-system:eks-multus-taint-remover"}


def _status_policy() -> dict:
    (policy,) = [
        o for o in taint_remover_policies() if o["kind"] == "ValidatingAdmissionPolicy" and o["metadata"]["name"].endswith("-node-status")
    ]
    assert policy["spec"]["matchConstraints"]["resourceRules"][0]["resources"] == ["nodes/status"]
    return policy


def _node(capacity: dict, labels: dict | None = None, ready: str = "True") -> dict:
    native = {"cpu": "2", "memory": "7869740Ki", "pods": "20", "ephemeral-storage": "20959212Ki"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": NODE, "labels": labels or {"eks-multus.io/node-group": "multus-a"}},
        "spec": {"providerID": "aws:///ap-northeast-2a/i-0123456789abcdef0"},
        "status": {"capacity": native | capacity, "allocatable": dict(native), "conditions": [{"type": "Ready", "status": ready}]},
    }


def _by_remover(new: dict, old: dict, node: str = NODE) -> str | None:
    """The remover's pod-bound token names its node in userInfo.extra (ServiceAccountTokenPodNodeInfo)."""
    return admit(_status_policy(), new, old, extra=REMOVER | {"extra": {"authentication.kubernetes.io/node-name": [node]}})


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({}, {R: "9"}),
        ({R: "0"}, {R: "9"}),  # after the kubelet zeroed it
        ({R: "9", "prefix-addresses.eks-multus.io/bulk": "144"}, {R: "9"}),
        ({"vpc.amazonaws.com/pod-eni": "9"}, {"vpc.amazonaws.com/pod-eni": "9", R: "9"}),
    ],
)
def test_the_remover_may_set_and_remove_its_address_resources(old, new):
    assert _by_remover(_node(new), _node(old)) is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda n: n["status"]["capacity"].update(cpu="64"), "only the eks-multus.io address resources"),
        (lambda n: n["status"]["capacity"].update({"example.com/dongle": "4"}), "only the eks-multus.io address resources"),
        (lambda n: n["status"]["capacity"].update({"evil-eks-multus.io/x": "4"}), "only the eks-multus.io address resources"),
        (lambda n: n["status"]["capacity"].pop("pods"), "only the eks-multus.io address resources"),
        (lambda n: n["status"]["allocatable"].update({R: "99"}), "any status field but status.capacity"),
        (lambda n: n["status"]["conditions"][0].update(status="False"), "any status field but status.capacity"),
        (lambda n: n["metadata"]["labels"].update({"node-role.kubernetes.io/x": ""}), "node metadata"),
    ],
)
def test_every_other_status_or_metadata_change_is_denied(change, words):
    old = _node({R: "9"})
    new = copy.deepcopy(old)
    change(new)
    message = _by_remover(new, old)
    assert message is not None and words in message, message


def test_another_nodes_status_is_denied():
    assert "only the node its pod runs on" in _by_remover(_node({R: "9"}), _node({}), node="ip-10-20-1-11.ap-northeast-2.compute.internal")


def test_the_remover_s_own_defaults_are_the_core_s_names():
    """The taint remover is a standalone node program, so it spells the capacity file's path, the node-group
    label and the pattern of our resource names itself; they must be the ones the stack renders."""
    from components.core.manifests import CAPACITY_DIR
    from components.core.userdata import NODE_GROUP_LABEL

    remover = (ROOT / "components/core/assets/eks-multus-taint-remover").read_text()

    def constant(name: str) -> str:
        return re.search(rf"^{name} = (?:re\.compile\()?r?\"([^\"]+)\"", remover, re.M).group(1)

    assert constant("DEFAULT_CAPACITY_FILE") == f"{CAPACITY_DIR}/{ar.CAPACITY_KEY}"
    assert constant("DEFAULT_NODE_GROUP_LABEL") == NODE_GROUP_LABEL
    assert constant("OUR_RESOURCE") == ar.OUR_RESOURCE_PATTERN
