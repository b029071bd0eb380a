"""IP and CIDR planning with `ipaddress`: subnet carving, AWS rules, IPAM ranges."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, collapse_addresses, summarize_address_range

RFC1918 = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"))
# Blocks AWS never accepts in a VPC, and the one it keeps for its own use.
NEVER_IN_VPC = (
    IPv4Network("0.0.0.0/8"),
    IPv4Network("127.0.0.0/8"),
    IPv4Network("169.254.0.0/16"),
    IPv4Network("224.0.0.0/4"),
    IPv4Network("240.0.0.0/4"),
)
AWS_SERVICE_BLOCK = IPv4Network("198.19.0.0/16")


def aws_reserved(subnet: IPv4Network) -> tuple[IPv4Address, ...]:
    """The five addresses AWS keeps in every subnet: network, router, DNS, future, broadcast."""
    base = subnet.network_address
    return (base, base + 1, base + 2, base + 3, subnet.broadcast_address)


def vpc_router(subnet: IPv4Network) -> IPv4Address:
    return subnet.network_address + 1


def secondary_cidr_problem(primary: IPv4Network | None, secondary: IPv4Network) -> str | None:
    """Why AWS would refuse `secondary` as an extra block of a VPC whose first block is `primary`.

    `primary` is None for an existing VPC, whose CIDR the config does not carry:
    only the checks that do not depend on it run.
    """
    if not 16 <= secondary.prefixlen <= 28:
        return f"prefix /{secondary.prefixlen} is outside what AWS accepts for a VPC block (/16 to /28)"
    if primary is None:
        blocked = next((b for b in NEVER_IN_VPC if secondary.overlaps(b)), None)
        return f"lies in {blocked}, which AWS never accepts in a VPC" if blocked else None
    if secondary.overlaps(primary):
        return f"overlaps the VPC CIDR {primary}"
    for block in NEVER_IN_VPC:
        if secondary.overlaps(block):
            return f"lies in {block}, which AWS never accepts in a VPC"
    if secondary.overlaps(AWS_SERVICE_BLOCK) and not primary.subnet_of(AWS_SERVICE_BLOCK):
        return f"lies in {AWS_SERVICE_BLOCK}, which AWS only accepts when the VPC CIDR is in it"
    primary_private = next((b for b in RFC1918 if primary.subnet_of(b)), None)
    secondary_private = next((b for b in RFC1918 if secondary.overlaps(b)), None)
    if primary_private and secondary_private and primary_private != secondary_private:
        return f"is in {secondary_private}, but a VPC whose CIDR is in {primary_private} only accepts blocks of that range or 100.64.0.0/10"
    return None


@dataclass(frozen=True)
class AzSubnets:
    availability_zone: str
    private: IPv4Network
    public: IPv4Network


def plan_vpc_subnets(vpc: IPv4Network, zones: tuple[str, ...] | list[str]) -> tuple[AzSubnets, ...]:
    """Carve one large private and one small public subnet per AZ out of the VPC CIDR.

    The VPC is cut into 2**k equal blocks, k the fewest bits that give every AZ
    its own block plus one spare; private subnets take the first blocks, and the
    last block is cut again for the public subnets (load balancers and NAT only).
    """
    count = len(zones)
    if count == 0:
        return ()
    bits = max(1, (count).bit_length())
    while 2**bits < count + 1:
        bits += 1
    if vpc.prefixlen + bits > 28:
        raise ValueError(f"{vpc} is too small for {count} availability zones")
    blocks = list(vpc.subnets(prefixlen_diff=bits))
    public_bits = max(1, (count - 1).bit_length())
    public_prefix = blocks[-1].prefixlen + public_bits
    if public_prefix > 28:
        raise ValueError(f"{vpc} is too small for {count} availability zones")
    public = list(blocks[-1].subnets(new_prefix=public_prefix))
    return tuple(AzSubnets(az, blocks[i], public[i]) for i, az in enumerate(zones))


def reservation_cidrs(first: IPv4Address, last: IPv4Address) -> tuple[IPv4Network, ...]:
    """The fewest CIDR blocks that cover exactly first..last."""
    return tuple(summarize_address_range(first, last))


def merge_ranges(ranges: list[tuple[IPv4Address, IPv4Address]]) -> tuple[IPv4Network, ...]:
    """CIDR blocks covering the union of several address ranges."""
    nets: list[IPv4Network] = []
    for first, last in ranges:
        nets.extend(summarize_address_range(first, last))
    return tuple(collapse_addresses(nets))


def ranges_overlap(a: tuple[IPv4Address, IPv4Address], b: tuple[IPv4Address, IPv4Address]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def whereabouts_excludes(subnet: IPv4Network, gateway: IPv4Address) -> tuple[IPv4Network, ...]:
    """Addresses whereabouts must never hand out in a VPC subnet: AWS's five and the gateway.

    whereabouts skips the network and broadcast address but not the router
    (.1), so without this its first pick would be the VPC router.
    """
    singles = [IPv4Network(f"{a}/32") for a in (*aws_reserved(subnet), gateway)]
    return tuple(collapse_addresses(singles))
