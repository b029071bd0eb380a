"""Prefix mode and per-node capacity: how many routable pod addresses a node's multus ENIs hold.

An ENI has a fixed number of IPv4 slots (limits.py: `ipv4PerEni`, the primary address included).
A per-pod address (whereabouts, static, host-local chained with eks-multus-eni-ip) takes one
slot. A /28 prefix also takes one slot and holds 16 addresses (EC2 user guide, "Assign prefixes
to network interfaces": prefixes count against the instance type's IPv4-addresses-per-ENI
limit). So on m5.large (10 slots) the multus ENI holds 9 per-pod addresses, or 9 prefixes
= 144 prefix-mode addresses.

Prefix mode draws prefixes from the multus subnet's `prefix` CIDR reservation first
(CreateSubnetCidrReservation: "prefix - AWS assigns the reserved IP addresses to network
interfaces"); the reservation keeps a fragmented subnet from failing prefix assignment with
InsufficientCidrBlocks (EKS best practices guide, prefix mode). It must hold a prefix for every
ENI that can exist at once: each node group's maxSize plus one during a replacement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Network

from .addresses import REFRESH_SURGE
from .errors import ConfigIssue
from .ipplan import aws_reserved, ranges_overlap, vpc_router
from .limits import instance_limits
from .model import PREFIX_ADDRESSES, EniPrefixIpam, HostDeviceNetwork, IpvlanNetwork, NodeGroup, StackConfig
from .topology import Attachment, ipam_plan, providers


def prefix_networks(cfg: StackConfig) -> list[tuple[int, IpvlanNetwork | HostDeviceNetwork]]:
    return [(i, n) for i, n in enumerate(cfg.networks) if isinstance(n.ipam, EniPrefixIpam)]


def _slots(net: IpvlanNetwork | HostDeviceNetwork, cfg: StackConfig) -> tuple[Attachment, ...]:
    return providers(cfg, net.master) if isinstance(net, IpvlanNetwork) else ()


def needed_addresses(cfg: StackConfig, net: IpvlanNetwork) -> int:
    """Addresses the prefix reservation must hold: every ENI that can exist at once, at its most prefixes."""
    assert isinstance(net.ipam, EniPrefixIpam)
    enis = sum(a.node_group.max_size + REFRESH_SURGE for a in _slots(net, cfg))
    return enis * net.ipam.most_prefixes * PREFIX_ADDRESSES


def suggest_reservation(cfg: StackConfig, index: int) -> IPv4Network | None:
    """The highest block of the subnet big enough for the network and clear of other networks' ranges."""
    net = cfg.networks[index]
    assert isinstance(net, IpvlanNetwork) and isinstance(net.ipam, EniPrefixIpam)
    need = max(needed_addresses(cfg, net), PREFIX_ADDRESSES)
    subnet = net.ipam.subnet
    prefixlen = max(subnet.prefixlen, 32 - (need - 1).bit_length())
    others = [r for i, n in enumerate(cfg.networks) if i != index and n.ipam is not None for r in ipam_plan(n.ipam).ranges]
    reserved = aws_reserved(subnet)
    for block in reversed(list(subnet.subnets(new_prefix=prefixlen))):
        span = (block.network_address, block.broadcast_address)
        if any(a in block for a in reserved) or any(ranges_overlap(span, r) for r in others):
            continue
        return block
    return None


def eni_prefix_issues(cfg: StackConfig) -> Iterator[ConfigIssue]:
    seen: dict[str, int] = {}
    for i, net in prefix_networks(cfg):
        ipam = net.ipam
        assert isinstance(ipam, EniPrefixIpam)
        q = f"networks[{i}].ipam"
        if isinstance(net, HostDeviceNetwork):
            yield ConfigIssue(
                f"{q}.type",
                "host-device moves a whole ENI into the pod; prefix addresses are handed out on an ENI that stays on the node",
                "use eks-multus-eni-prefix with an ipvlan network, or static/whereabouts with host-device",
            )
            continue
        yield from _reservation(cfg, i, net, ipam, q)
        if ipam.gateway is not None and (ipam.gateway not in ipam.subnet or ipam.gateway in ipam.reservation):
            yield ConfigIssue(
                f"{q}.gateway",
                f"{ipam.gateway} is outside subnet {ipam.subnet} or inside the prefix reservation {ipam.reservation}",
                f"leave it out (the VPC router {vpc_router(ipam.subnet)}) or use that",
            )
        if ipam.max_prefix_count is not None and ipam.max_prefix_count < ipam.prefix_count:
            yield ConfigIssue(
                f"{q}.maxPrefixCount",
                f"{ipam.max_prefix_count} is below prefixCount {ipam.prefix_count}",
                f"set it to at least {ipam.prefix_count}, or leave it out",
            )
        key = f"{q}.maxPrefixCount" if ipam.max_prefix_count is not None else f"{q}.prefixCount"
        for a in _slots(net, cfg):
            if a.subnet.cidr != ipam.subnet:
                yield ConfigIssue(
                    f"{q}.subnet",
                    f"{ipam.subnet} is not the multus subnet {a.subnet.name} ({a.subnet.cidr}) that `{net.master}` is attached to",
                    f"use {a.subnet.cidr}",
                )
                break
            if a.subnet.name in seen and seen[a.subnet.name] != i:
                yield ConfigIssue(
                    f"{q}.type",
                    f"networks[{seen[a.subnet.name]}] already takes prefix addresses on multus subnet {a.subnet.name}; "
                    "two pools on one ENI would hand out the same prefixes",
                    "use one prefix-mode network per multus subnet",
                )
            seen.setdefault(a.subnet.name, i)
            slots = prefix_slots(a.node_group)
            if slots is not None and ipam.most_prefixes > slots:
                yield ConfigIssue(
                    key,
                    f"{ipam.most_prefixes} prefixes do not fit node group {a.node_group.name}'s ENI: {a.node_group.instance_type} "
                    f"has {slots + 1} IPv4 slots per ENI, one of them the ENI's primary address",
                    f"use at most {slots}",
                )


def prefix_slots(group: NodeGroup) -> int | None:
    """IPv4 slots of one ENI left for prefixes or per-pod addresses (the primary address takes one)."""
    lim = instance_limits(group.instance_type)
    return None if lim is None else lim.ipv4_per_eni - 1


def _reservation(cfg: StackConfig, i: int, net: IpvlanNetwork, ipam: EniPrefixIpam, q: str) -> Iterator[ConfigIssue]:
    res, subnet = ipam.reservation, ipam.subnet
    suggestion = suggest_reservation(cfg, i) if subnet.prefixlen <= 28 else None
    fix = f"use {suggestion}" if suggestion else "make the multus subnet larger or the other networks' ranges smaller"
    if not res.subnet_of(subnet):
        yield ConfigIssue(f"{q}.reservation", f"{res} is not inside subnet {subnet}", fix)
        return
    if res.prefixlen > 28:
        yield ConfigIssue(f"{q}.reservation", f"{res} is smaller than one /28 prefix", fix)
        return
    touched = [a for a in aws_reserved(subnet) if a in res]
    if touched:
        yield ConfigIssue(f"{q}.reservation", f"{res} includes {', '.join(map(str, touched))}, which AWS reserves in every subnet", fix)
    need = needed_addresses(cfg, net)
    if need > res.num_addresses:
        enis = need // (ipam.most_prefixes * PREFIX_ADDRESSES)
        yield ConfigIssue(
            f"{q}.reservation",
            f"{res} holds {res.num_addresses // PREFIX_ADDRESSES} prefixes, but {enis} ENIs (node groups' maxSize plus "
            f"{REFRESH_SURGE} during a replacement) at {ipam.most_prefixes} prefixes each need {need // PREFIX_ADDRESSES}",
            fix,
        )


@dataclass(frozen=True)
class EniCapacity:
    """One multus ENI of a node group's nodes."""

    node_group: str
    interface: str
    device_index: int
    slots: int
    """IPv4 slots of the ENI (primary included)."""
    prefixes: int
    """Slots prefix mode takes at its most."""
    boot_prefixes: int
    """Slots prefix mode takes at boot."""
    networks: tuple[tuple[str, str, int], ...]
    """(namespace/name, mode, routable addresses per node) of every ipvlan network on this ENI."""

    whole: bool = False
    """No ipvlan network uses it: a host-device network can hand it to one pod."""


@dataclass(frozen=True)
class NodeCapacity:
    node_group: str
    instance_type: str
    max_pods: int
    enis_used: int
    max_enis: int
    enis: tuple[EniCapacity, ...]


def capacity(cfg: StackConfig) -> list[NodeCapacity]:
    out = []
    for group in cfg.node_groups:
        lim = instance_limits(group.instance_type)
        if lim is None:
            continue
        enis = []
        for index, subnet_name in enumerate(group.multus_interfaces, start=1):
            slot = next((a for a in providers(cfg, subnet_name) if a.node_group is group and a.device_index == index), None)
            names = slot.names if slot else (subnet_name,)
            nets = [n for n in cfg.networks if isinstance(n, IpvlanNetwork) and n.master in names]
            prefixes = sum(n.ipam.most_prefixes for n in nets if isinstance(n.ipam, EniPrefixIpam))
            boot = sum(n.ipam.prefix_count for n in nets if isinstance(n.ipam, EniPrefixIpam))
            per_pod_slots = lim.ipv4_per_eni - 1 - prefixes
            rows = []
            for n in nets:
                if isinstance(n.ipam, EniPrefixIpam):
                    rows.append((f"{n.namespace}/{n.name}", "prefix", n.ipam.most_prefixes * PREFIX_ADDRESSES))
                elif n.eni_ip_assignment:
                    rows.append((f"{n.namespace}/{n.name}", "per-pod", max(per_pod_slots, 0)))
                else:
                    rows.append((f"{n.namespace}/{n.name}", "unrouted", 0))
            enis.append(EniCapacity(group.name, subnet_name, index, lim.ipv4_per_eni, prefixes, boot, tuple(rows), not nets))
        out.append(
            NodeCapacity(
                group.name,
                group.instance_type,
                lim.max_pods(len(group.multus_interfaces)),
                1 + len(group.multus_interfaces),
                lim.max_enis,
                tuple(enis),
            )
        )
    return out


def capacity_text(cfg: StackConfig) -> str:
    """What `make plan` prints: per node group and network, routable addresses per node, maxPods, ENI slots."""
    lines = ["Capacity per node (routable = addresses EC2 delivers to a pod's net interface on one node):"]
    for node in capacity(cfg):
        lines.append(f"  {node.node_group} ({node.instance_type}): maxPods {node.max_pods}, ENIs {node.enis_used} of {node.max_enis}")
        for eni in node.enis:
            if eni.whole:
                lines.append(f"    {eni.interface} (device {eni.device_index}): no ipvlan network; a whole ENI for one host-device pod")
                continue
            used = f"{1 + eni.boot_prefixes}" + (f" (up to {1 + eni.prefixes})" if eni.prefixes != eni.boot_prefixes else "")
            lines.append(
                f"    {eni.interface} (device {eni.device_index}): IPv4 slots {used} of {eni.slots} taken by the primary address and prefixes"
            )
            for name, mode, routable in eni.networks:
                shared = " (shared by every per-pod network on this ENI)" if mode == "per-pod" else ""
                lines.append(f"      {name}: {mode}, routable addresses per node {routable}{shared}{_scheduled_as(cfg, name)}")
    return "\n".join(lines) + "\n"


def _scheduled_as(cfg: StackConfig, ref: str) -> str:
    """How the scheduler sees the network's addresses (address_resources.py), for the capacity print."""
    from .address_resources import routable_networks

    r = next((r for r in routable_networks(cfg) if r.ref == ref), None)
    if r is None:
        return ""
    asks = "pods must ask for it" if r.network.address_request == "require" else "pods without it are admitted with a warning"
    return f"; node resource {r.resource} ({asks})"
