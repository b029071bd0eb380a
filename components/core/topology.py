"""Where each multus ENI sits on a node and which names reach it.

A network's `master` (or host-device `device`) is a name on the node: the
kernel name the AMI gives the ENI at device index i (AL2023 on Nitro: ens5+i,
the only AMI family eks-multus runs; AL2's eth<i> does not exist there), or
the alternative name our boot step adds from the multus subnet. Resolving names here lets validation tell which subnet a network
lives in before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from .ipplan import aws_reserved, vpc_router
from .model import (
    EniPrefixIpam,
    HostDeviceNetwork,
    HostLocalIpam,
    IpvlanNetwork,
    MultusSubnet,
    NodeGroup,
    StackConfig,
    StaticIpam,
    WhereaboutsIpam,
)


@dataclass(frozen=True)
class Attachment:
    """One multus ENI slot of a node group."""

    node_group: NodeGroup
    device_index: int
    subnet: MultusSubnet

    @property
    def names(self) -> tuple[str, ...]:
        return (self.subnet.ifname, kernel_name_al2023(self.device_index))

    @property
    def pci_address(self) -> str:
        return pci_address(self.device_index)


def kernel_name_al2023(device_index: int) -> str:
    """Predictable name AL2023 gives device index i on common Nitro types (ens5 is the primary)."""
    return f"ens{5 + device_index}"


def pci_address(device_index: int) -> str:
    """PCI slot of the ENI at device index i on common Nitro types (00:05.0 is the primary)."""
    return f"0000:00:{5 + device_index:02x}.0"


def attachments(cfg: StackConfig) -> tuple[Attachment, ...]:
    out = []
    for group in cfg.node_groups:
        for index, subnet_name in enumerate(group.multus_interfaces, start=1):
            subnet = cfg.subnet(subnet_name)
            if subnet is not None:
                out.append(Attachment(group, index, subnet))
    return tuple(out)


def providers(cfg: StackConfig, ifname: str) -> tuple[Attachment, ...]:
    """Every multus ENI slot that a node reaches under `ifname`."""
    return tuple(a for a in attachments(cfg) if ifname in a.names)


def ipvlan_masters(cfg: StackConfig) -> tuple[Attachment, ...]:
    """Multus ENI slots some ipvlan network uses as its master."""
    return tuple(a for n in cfg.networks if isinstance(n, IpvlanNetwork) for a in providers(cfg, n.master))


def whole_eni_candidates(cfg: StackConfig) -> tuple[Attachment, ...]:
    """Multus ENI slots no ipvlan network uses: the ones safe to hand to a pod whole."""
    used = {(a.node_group.name, a.device_index) for a in ipvlan_masters(cfg)}
    return tuple(a for a in attachments(cfg) if (a.node_group.name, a.device_index) not in used)


def interface_name_of(network: IpvlanNetwork | HostDeviceNetwork) -> str | None:
    if isinstance(network, IpvlanNetwork):
        return network.master
    return network.device


@dataclass(frozen=True)
class IpamPlan:
    """What an IPAM config hands out, as address ranges, and its subnet and gateway."""

    subnet: IPv4Network
    ranges: tuple[tuple[IPv4Address, IPv4Address], ...]
    gateway: IPv4Address | None
    node_local: bool
    """True when each node allocates on its own (host-local, static)."""


def ipam_plan(ipam: HostLocalIpam | WhereaboutsIpam | StaticIpam | EniPrefixIpam) -> IpamPlan:
    """The addresses an IPAM config will give pods."""
    if isinstance(ipam, EniPrefixIpam):
        # Pods get addresses from their node's prefixes, which EC2 takes from the reservation first.
        res = ipam.reservation
        return IpamPlan(ipam.subnet, ((res.network_address, res.broadcast_address),), ipam.gateway or vpc_router(ipam.subnet), False)
    if isinstance(ipam, HostLocalIpam):
        net = ipam.subnet
        first = ipam.range_start or net.network_address + 2
        last = ipam.range_end or net.broadcast_address - 1
        return IpamPlan(net, ((first, last),), ipam.gateway or vpc_router(net), True)
    if isinstance(ipam, WhereaboutsIpam):
        net = ipam.range
        # Our generated config excludes AWS's first four addresses, so the lowest pick is .4.
        first = max(ipam.range_start or net.network_address, net.network_address + 4)
        last = ipam.range_end or net.broadcast_address - 1
        return IpamPlan(net, ((first, last),), ipam.gateway or vpc_router(net), False)
    net = ipam.addresses[0].address.network
    gateway = next((e.gateway for e in ipam.addresses if e.gateway), None)
    return IpamPlan(net, tuple((e.address.ip, e.address.ip) for e in ipam.addresses), gateway, True)


def touches_aws_reserved(subnet: IPv4Network, first: IPv4Address, last: IPv4Address) -> list[IPv4Address]:
    return [a for a in aws_reserved(subnet) if first <= a <= last]


def nat_gateway_zones(cfg: StackConfig) -> tuple[str, ...]:
    """Zones of a created VPC that get a NAT gateway.

    Zones with a node group come first: `single` puts its one gateway in the first
    of them, `perAz` gives each of them its own. A zone that only holds the control
    plane's subnets (EKS needs two zones; its ENIs need no NAT) gets none, and its
    private route table points at the first gateway.
    """
    if cfg.vpc.nat_gateways == "none":
        return ()
    used = {g.availability_zone for g in cfg.node_groups}
    with_nodes = tuple(z for z in cfg.vpc.availability_zones if z in used) or cfg.vpc.availability_zones[:1]
    return with_nodes[:1] if cfg.vpc.nat_gateways == "single" else with_nodes
