"""Tags AWS would refuse are refused in config, naming the key.

Limits (EC2 user guide, "Tag your Amazon EC2 resources", tag restrictions; the same in the Tag type of
the EKS, IAM and EC2 Auto Scaling API references, e.g. CloudFormation AWS::EKS::AccessEntry Tag: key
1-128, value 0-256): at most 50 user tags per resource, keys of at most 128 and values of at most 256
Unicode characters, `aws:` reserved as a prefix of keys and values. Cluster Autoscaler's node-template
tags (`k8s.io/cluster-autoscaler/node-template/label/<label key>`, kubernetes/autoscaler
cluster-autoscaler/cloudprovider/aws/README.md) are ASG tags too, so a long label key makes a key
CreateAutoScalingGroup refuses.
"""

from __future__ import annotations

import pytest

from components.core.rollout import autoscaler_tags
from tests.helpers import errors_of, load, ns


def _tags(tags: dict):
    def mutate(flat):
        flat["eks-multus:tags"] = tags

    return mutate


def _autoscaled(labels: dict | None = None, taints: list | None = None):
    def mutate(flat):
        group = ns(flat, "nodeGroups")[0]
        group.update(minSize=1, maxSize=3)
        for net in ns(flat, "networks"):  # dev's host-local networks are refused on more than one node otherwise
            net["allowHostLocalOnMultipleNodes"] = True
        if labels is not None:
            group["labels"] = labels
        if taints is not None:
            group["taints"] = taints

    return mutate


LONG_LABEL = "a" * 20 + ".example.com/" + "x" * 63  # a valid label and taint key (prefix <= 253, name <= 63), 96 characters
CASES = [
    ("key-129", _tags({"k" * 129: "v"}), "eks-multus:tags." + "k" * 129, "at most 128"),
    ("value-257", _tags({"team": "v" * 257}), "eks-multus:tags.team", "at most 256"),
    ("value-aws-prefix", _tags({"team": "AWS:net"}), "eks-multus:tags.team", "value starting with `aws:`"),
    ("46-tags", _tags({f"t{i}": "v" for i in range(46)}), "eks-multus:tags: has 46 tags", "keep at most 45"),
    (
        "autoscaler-label-key",
        _autoscaled(labels={LONG_LABEL: "a"}),
        f"eks-multus:nodeGroups[0].labels.{LONG_LABEL}",
        "AWS takes tag keys of at most 128",
    ),
    (
        "autoscaler-taint-key",
        _autoscaled(taints=[{"key": LONG_LABEL, "value": "a", "effect": "NoSchedule"}]),
        "eks-multus:nodeGroups[0].taints[0].key",
        "AWS takes tag keys of at most 128",
    ),
    (
        "asg-over-50",
        lambda flat: (_tags({f"t{i}": "v" for i in range(40)})(flat), _autoscaled(labels={f"l{i}": "v" for i in range(10)})(flat)),
        "eks-multus:nodeGroups[0]: gets",
        "AWS takes at most 50",
    ),
]


@pytest.mark.parametrize(("mutate", "path", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused(mutate, path, fragment):
    errors = errors_of("dev", mutate)
    assert any(e.startswith(path) and fragment in e for e in errors), errors


def test_at_the_limits_is_accepted():
    """128/256 characters, 45 tags (a multus ENI then carries 50), and an ASG with exactly 50 tags."""
    cfg = load("dev", _tags({"k" * 128: "v" * 256, **{f"t{i}": "v" for i in range(44)}}))
    assert len(cfg.tags) == 45
    base = load("dev", _autoscaled(labels={}))
    own = len(autoscaler_tags(base, base.node_groups[0]))  # dev's own node labels, the enabled and cluster tags
    labels = {f"l{i}": "v" for i in range(7)}
    cfg = load("dev", lambda flat: (_tags({f"t{i}": "v" for i in range(40 - own)})(flat), _autoscaled(labels=labels)(flat)))
    assert len(cfg.tags) + 3 + len(autoscaler_tags(cfg, cfg.node_groups[0])) == 50
