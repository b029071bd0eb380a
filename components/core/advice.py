"""Findings that do not stop a deployment but that a user should read first.

Same shape as validation errors (key path, problem, fix); the Pulumi program
logs them as warnings and the offline plan prints them to stderr. A rule is a
function of the validated model; add it to `RULES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from .egress import needs_endpoints, service_name
from .errors import ConfigIssue
from .model import StackConfig
from .rollout import is_autoscaled
from .scheduling import untolerating_capacity
from .versions import eks_version, eks_versions, plan_date

Rule = Callable[[StackConfig], Iterator[ConfigIssue]]

RULES: list[Rule] = []


def extended_support_on(cfg: StackConfig, on: dt.date) -> Iterator[ConfigIssue]:
    """A created cluster on a version past EKS standard support costs more per hour (EKS pricing: six times)."""
    info = eks_version(cfg.cluster.kubernetes_version)
    if cfg.cluster.existing is not None or info is None or info.phase(on) != "extended":
        return
    newer = [v for v, row in eks_versions().items() if row.phase(on) == "standard"]
    yield ConfigIssue(
        "cluster.kubernetesVersion",
        f"{info.version} left EKS standard support on {info.end_of_standard_text}; extended support is billed extra per cluster "
        f"hour and ends on {info.end_of_extended_text}",
        f"upgrade one minor at a time to {newer[-1] if newer else 'a version in standard support'}",
    )


def _extended_support(cfg: StackConfig) -> Iterator[ConfigIssue]:
    yield from extended_support_on(cfg, plan_date())


RULES.append(_extended_support)


def _unused_existing_namespaces(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """A listed namespace no network uses is most likely a typo, and then the intended one gets created."""
    used = {n.namespace for n in cfg.networks}
    for i, name in enumerate(cfg.existing_namespaces):
        if name not in used:
            yield ConfigIssue(
                f"existingNamespaces[{i}]",
                f"no network uses namespace `{name}`, so listing it changes nothing",
                f"use one of the networks' namespaces ({', '.join(sorted(used)) or 'none'}) or remove it",
            )


RULES.append(_unused_existing_namespaces)


def advise(cfg: StackConfig) -> list[ConfigIssue]:
    """Every warning for a config that already passed validation, in key order."""
    found: set[ConfigIssue] = set()
    for rule in RULES:
        found.update(rule(cfg))
    return sorted(found)


def _untolerating_pods(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """Some node must take pods that tolerate nothing.

    pulumi-eks installs no CoreDNS add-on for a cluster without its default node
    group (nodejs/eks/cluster/cluster.ts: the add-on needs `corednsAddonOptions.enabled`,
    Fargate or the default node group), so the cluster keeps the CoreDNS that EKS
    bootstraps, which tolerates no user taint; the whereabouts reconciler neither.
    An existing cluster has nodes of its own for them.
    """
    if cfg.cluster.existing is not None or untolerating_capacity(cfg):
        return
    yield ConfigIssue(
        "nodeGroups",
        "every node group is tainted (NoSchedule/NoExecute) or has no nodes, so pods without tolerations, "
        "CoreDNS among them, never schedule and cluster DNS stays down",
        "add a system node group without taints (multusInterfaces: [], desiredSize >= 1), or drop a taint",
    )


RULES.append(_untolerating_pods)


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


def _autoscaler_without_nat(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """Autoscaled groups in a VPC without NAT: Cluster Autoscaler reaches EC2 Auto Scaling only through an endpoint.

    The ASGs carry Cluster Autoscaler's discovery tags (core/rollout.py), and the EKS user guide
    ("Deploy private clusters with limited internet access", awsdocs/amazon-eks-user-guide
    latest/ug/clusters/private-clusters.adoc) says Cluster Autoscaler there needs the sts and
    `autoscaling` interface endpoints and `--aws-use-static-instance-list=true` (no pricing API).
    eks-multus creates sts, not autoscaling: a user who runs no autoscaler should not pay for it.
    """
    if not needs_endpoints(cfg):
        return
    groups = [g.name for g in cfg.node_groups if is_autoscaled(g)]
    if not groups:
        return
    yield ConfigIssue(
        "vpc.natGateways",
        f"is none and node group{'s' if len(groups) > 1 else ''} {', '.join(groups)} scale{'' if len(groups) > 1 else 's'} "
        f"(minSize < maxSize), but eks-multus creates no "
        f"{service_name(cfg.region, 'autoscaling')} endpoint, so a Cluster Autoscaler in this VPC cannot reach EC2 Auto Scaling",
        "if you run Cluster Autoscaler, add that interface endpoint (private DNS on) to the private subnets and start it with "
        "--aws-use-static-instance-list=true; or set vpc.natGateways: single",
    )


RULES.append(_autoscaler_without_nat)
