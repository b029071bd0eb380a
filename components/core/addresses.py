"""Addresses a multus subnet must keep for the ENIs themselves.

Every IPAM range is an explicit subnet CIDR reservation, and EC2 never gives
an address in an explicit reservation to a network interface on its own
(VPC user guide, "Subnet CIDR reservations"; CreateSubnetCidrReservation:
"explicit - You assign the reserved IP addresses to network interfaces").
Each multus ENI still needs a primary address from the rest of the subnet;
when none is left, creating it fails with `InsufficientFreeAddressesInSubnet`
(EC2 API reference, error codes: the subnet does not contain enough free
private IP addresses). So the unreserved part of a multus subnet
must hold one address per ENI that can exist at once: every node group's
`maxSize` plus one instance launched during a rolling replacement, times the
ENIs each node has in that subnet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Network

from .errors import ConfigIssue
from .ipplan import aws_reserved, merge_ranges
from .model import EniPrefixIpam, HostLocalIpam, MultusSubnet, StackConfig, StaticIpam
from .topology import ipam_plan

REFRESH_SURGE = 1
"""Instances a node group may run above maxSize while a refresh or replacement launches the new one first."""


@dataclass(frozen=True)
class SubnetBudget:
    subnet: MultusSubnet
    reserved: int
    """Addresses in IPAM reservations."""
    enis: int
    """Multus ENIs that can exist in the subnet at once."""

    @property
    def usable(self) -> int:
        return self.subnet.cidr.num_addresses - len(aws_reserved(self.subnet.cidr))

    @property
    def free(self) -> int:
        return self.usable - self.reserved


def reservation_blocks(cfg: StackConfig, subnet: IPv4Network) -> list[tuple[int, IPv4Network]]:
    """(network index, block) of every reservation in `subnet`."""
    out = []
    for i, net in enumerate(cfg.networks):
        if net.ipam is None:
            continue
        plan = ipam_plan(net.ipam)
        # A reversed range is its own validation error; it reserves nothing.
        if plan.subnet == subnet and all(first <= last for first, last in plan.ranges):
            out.extend((i, block) for block in merge_ranges(list(plan.ranges)) if block.subnet_of(subnet))
    return out


def budgets(cfg: StackConfig) -> list[SubnetBudget]:
    out = []
    for s in cfg.multus_subnets:
        reserved = sum(b.num_addresses for _, b in reservation_blocks(cfg, s.cidr))
        enis = sum((g.max_size + REFRESH_SURGE) * g.multus_interfaces.count(s.name) for g in cfg.node_groups)
        out.append(SubnetBudget(s, reserved, enis))
    return out


def _range_key(cfg: StackConfig, index: int) -> str:
    ipam = cfg.networks[index].ipam
    q = f"networks[{index}].ipam"
    if isinstance(ipam, StaticIpam):
        return f"{q}.addresses"
    if isinstance(ipam, EniPrefixIpam):
        return f"{q}.reservation"
    if ipam is not None and (ipam.range_start is not None or ipam.range_end is not None):
        return f"{q}.rangeStart" if ipam.range_start is not None else f"{q}.rangeEnd"
    return f"{q}.subnet" if isinstance(ipam, HostLocalIpam) else f"{q}.range"


def eni_address_issues(cfg: StackConfig) -> Iterator[ConfigIssue]:
    for b in budgets(cfg):
        if b.enis <= b.free:
            continue
        networks = sorted({i for i, _ in reservation_blocks(cfg, b.subnet.cidr)})
        for i in networks:
            yield ConfigIssue(
                _range_key(cfg, i),
                f"the IPAM reservations leave {max(b.free, 0)} of multus subnet {b.subnet.name}'s {b.usable} usable addresses "
                f"unreserved, but its ENIs need {b.enis} (node groups' maxSize plus {REFRESH_SURGE} during a node replacement, "
                "one ENI each); EC2 never gives a reserved address to an ENI",
                f"shrink the range so at least {b.enis} addresses of {b.subnet.cidr} stay outside it (e.g. set rangeStart/rangeEnd)",
            )
