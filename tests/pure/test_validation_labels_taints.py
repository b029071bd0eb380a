"""Node labels and taints are refused here when the kubelet or the API server would refuse them on the node.

Sources: the kubelet exits on unknown kubernetes.io/k8s.io --node-labels (kubernetes/kubernetes
cmd/kubelet/app/options/options.go ValidateKubeletFlags, allowed set in
staging/src/k8s.io/kubelet/pkg/apis/well_known_labels.go); NodeRestriction forbids node-restriction.kubernetes.io
labels from a kubelet (plugin/pkg/admission/noderestriction/admission.go getForbiddenLabels);
--register-with-taints is parsed by pkg/util/taints parseTaint (IsQualifiedName key, IsValidLabelValue value,
three effects); the API server refuses duplicate key+effect (pkg/apis/core/validation validateNodeTaints).
"""

from __future__ import annotations

import pytest

from components.core.userdata import ClusterInfo, node_config
from tests.helpers import errors_of, load, ns

CLUSTER = ClusterInfo("eks-multus-test", "https://EXAMPLE.gr7.ap-northeast-2.eks.amazonaws.com", "Q0EtREFUQQ==", "172.20.0.0/16")


def _labels(labels: dict):
    def mutate(flat):
        ns(flat, "nodeGroups")[0]["labels"] = labels

    return mutate


def _taints(*taints: dict):
    def mutate(flat):
        ns(flat, "nodeGroups")[0]["taints"] = list(taints)

    return mutate


LABEL = "nodeGroups[0].labels"
TAINT = "nodeGroups[0].taints"
CASES = [
    (
        "kubernetes-io-role",
        _labels({"node-role.kubernetes.io/worker": ""}),
        f"{LABEL}.node-role.kubernetes.io/worker",
        "outside its allowed set",
    ),
    ("app-kubernetes-io", _labels({"app.kubernetes.io/name": "cnf"}), f"{LABEL}.app.kubernetes.io/name", "outside its allowed set"),
    ("bare-kubernetes-io", _labels({"kubernetes.io/role": "cnf"}), f"{LABEL}.kubernetes.io/role", "outside its allowed set"),
    ("k8s-io", _labels({"example.k8s.io/x": "y"}), f"{LABEL}.example.k8s.io/x", "outside its allowed set"),
    (
        "node-restriction",
        _labels({"node-restriction.kubernetes.io/secure": "true"}),
        f"{LABEL}.node-restriction.kubernetes.io/secure",
        "NodeRestriction admission plugin refuses it",
    ),
    ("own-multus", _labels({"eks-multus.io/multus": "false"}), f"{LABEL}.eks-multus.io/multus", "set by eks-multus"),
    ("own-subnet", _labels({"subnet.eks-multus.io/multus-a": "false"}), f"{LABEL}.subnet.eks-multus.io/multus-a", "set by eks-multus"),
    ("taint-bad-key", _taints({"key": "bad key!", "effect": "NoSchedule"}), f"{TAINT}[0].key", "`bad key!` is not a valid taint key"),
    ("taint-two-slashes", _taints({"key": "a/b/c", "effect": "NoSchedule"}), f"{TAINT}[0].key", "more than one /"),
    ("taint-bad-prefix", _taints({"key": "Example.com/x", "effect": "NoSchedule"}), f"{TAINT}[0].key", "not a DNS subdomain"),
    ("taint-long-name", _taints({"key": "x" * 64, "effect": "NoSchedule"}), f"{TAINT}[0].key", "longer than 63"),
    ("taint-empty-key", _taints({"key": "", "effect": "NoSchedule"}), f"{TAINT}[0].key", "empty name"),
    (
        "taint-bad-value",
        _taints({"key": "dedicated", "value": "a:b", "effect": "NoSchedule"}),
        f"{TAINT}[0].value",
        "not a valid taint value",
    ),
    ("taint-long-value", _taints({"key": "dedicated", "value": "v" * 64, "effect": "NoSchedule"}), f"{TAINT}[0].value", "longer than 63"),
    ("taint-bad-effect", _taints({"key": "dedicated", "effect": "NoScheduling"}), f"{TAINT}[0].effect", "NoSchedule"),
    (
        "taint-duplicate",
        _taints({"key": "dedicated", "value": "a", "effect": "NoSchedule"}, {"key": "dedicated", "value": "b", "effect": "NoSchedule"}),
        f"{TAINT}[1]",
        "unique by key and effect",
    ),
    (
        "taint-reserved",
        _taints({"key": "eks-multus.io/network-not-ready", "value": "true", "effect": "NoSchedule"}),
        f"{TAINT}[0].key",
        "readiness gate's startup taint",
    ),
]


@pytest.mark.parametrize("mutate,path,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_with_key_and_fix(mutate, path, words):
    errors = errors_of("dev", mutate)
    key = f"eks-multus:{path}"
    matching = [e for e in errors if e.startswith(f"{key}:")]
    assert matching, f"no error for {key}; got {errors}"
    assert any(words in e for e in matching), f"{words!r} not in {matching}"
    assert all("; " in e for e in matching), f"every error says what would be valid: {matching}"


def test_what_the_kubelet_allows_is_accepted():
    labels = {
        "example.com/team": "net",
        "node.kubernetes.io/pool": "multus",
        "x.kubelet.kubernetes.io/y": "z",
        "topology.kubernetes.io/zone": "ap-northeast-2a",
        "plain": "",
    }
    taints = (
        {"key": "example.com/dedicated", "value": "net", "effect": "NoSchedule"},
        {"key": "example.com/dedicated", "value": "net", "effect": "NoExecute"},
        {"key": "edge", "effect": "PreferNoSchedule"},
        {"key": "node.kubernetes.io/out-of-service", "value": "", "effect": "NoExecute"},
    )

    def mutate(flat):
        _labels(labels)(flat)
        _taints(*taints)(flat)

    cfg = load("dev", mutate)
    flags = node_config(cfg, cfg.node_groups[0], CLUSTER)["spec"]["kubelet"]["flags"]
    assert (
        "--register-with-taints=example.com/dedicated=net:NoSchedule,example.com/dedicated=net:NoExecute,edge=:PreferNoSchedule,"
        in " ".join(flags)
    )


def test_all_label_and_taint_errors_come_together():
    def mutate(flat):
        _labels({"node-role.kubernetes.io/worker": "", "eks-multus.io/x": "y"})(flat)
        _taints({"key": "bad key!", "effect": "NoSchedule"}, {"key": "ok", "value": "bad value!", "effect": "NoSchedule"})(flat)

    errors = errors_of("dev", mutate)
    for key in (f"{LABEL}.node-role.kubernetes.io/worker", f"{LABEL}.eks-multus.io/x", f"{TAINT}[0].key", f"{TAINT}[1].value"):
        assert any(e.startswith(f"eks-multus:{key}:") for e in errors), (key, errors)
