"""Findings that do not stop a deployment but that a user should read first.

Same shape as validation errors (key path, problem, fix); the Pulumi program
logs them as warnings and the offline plan prints them to stderr. A rule is a
function of the validated model; add it to `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .errors import ConfigIssue
from .model import StackConfig

Rule = Callable[[StackConfig], Iterator[ConfigIssue]]

RULES: list[Rule] = []


def advise(cfg: StackConfig) -> list[ConfigIssue]:
    """Every warning for a config that already passed validation, in key order."""
    found: set[ConfigIssue] = set()
    for rule in RULES:
        found.update(rule(cfg))
    return sorted(found)


def _public_endpoint_open_to_world(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """A created cluster's public API endpoint without source CIDRs takes EKS's default, 0.0.0.0/0."""
    c = cfg.cluster
    if c.existing is not None or not c.endpoint_public_access:
        return
    if not c.public_access_cidrs or any(n.prefixlen == 0 for n in c.public_access_cidrs):
        yield ConfigIssue(
            "cluster.publicAccessCidrs",
            "the public Kubernetes API endpoint accepts connections from anywhere (0.0.0.0/0)",
            "list the networks that run kubectl and Pulumi (e.g. [203.0.113.0/24]), or set cluster.endpointPublicAccess: false",
        )


RULES.append(_public_endpoint_open_to_world)


def _multus_ingress_open_to_world(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """Pods on multus networks answer whatever the multus security group lets in."""
    for i, rule in enumerate(cfg.multus_security_group.ingress or ()):
        if any(c.prefixlen == 0 for c in rule.cidr_blocks):
            yield ConfigIssue(
                f"multusSecurityGroup.ingress[{i}].cidrBlocks",
                "lets every address on the internet reach pods on multus networks (a /0 block)",
                "list the peers' CIDRs instead",
            )


RULES.append(_multus_ingress_open_to_world)
