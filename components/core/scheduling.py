"""Where pods can run: the tolerations a network's pods need, and whether untolerating pods fit anywhere.

A pod schedules onto a node only if it tolerates every NoSchedule and NoExecute
taint of that node (Kubernetes "Taints and Tolerations"; PreferNoSchedule only
steers). The startup taint of issue 11 is not listed: it goes away once the
node's networks are ready, and a pod should wait for that.
"""

from __future__ import annotations

from .model import IpvlanNetwork, Network, NodeGroup, StackConfig
from .topology import providers

HARD_EFFECTS = ("NoSchedule", "NoExecute")


def hard_taints(group: NodeGroup) -> tuple:
    return tuple(t for t in group.taints if t.effect in HARD_EFFECTS)


def network_node_groups(cfg: StackConfig, net: Network) -> tuple[NodeGroup, ...]:
    """The node groups a pod of `net` may land on (the ones its node selector admits)."""
    name = net.master if isinstance(net, IpvlanNetwork) else net.device
    subnets = {a.subnet.name for a in providers(cfg, name)} if name else set()
    if len(subnets) == 1:
        (subnet,) = subnets
        return tuple(g for g in cfg.node_groups if subnet in g.multus_interfaces)
    return tuple(g for g in cfg.node_groups if g.is_multus)


def network_tolerations(cfg: StackConfig, net: Network) -> list[dict[str, str]]:
    """Tolerations for every user taint of the nodes that carry `net` (pod spec form, sorted)."""
    seen = {(t.key, t.value, t.effect) for g in network_node_groups(cfg, net) for t in g.taints}
    return [{"key": k, "operator": "Equal", "value": v, "effect": e} for k, v, e in sorted(seen)]


def untolerating_capacity(cfg: StackConfig) -> tuple[NodeGroup, ...]:
    """Node groups with nodes that accept a pod with no tolerations (CoreDNS as EKS installs it, for one)."""
    return tuple(g for g in cfg.node_groups if g.desired_size > 0 and not hard_taints(g))
