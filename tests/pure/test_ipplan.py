"""Property tests of the IP planning helpers."""

from __future__ import annotations

import itertools
from ipaddress import IPv4Address, IPv4Network

from hypothesis import given, settings
from hypothesis import strategies as st

from components.core.ipplan import (
    aws_reserved,
    merge_ranges,
    plan_vpc_subnets,
    reservation_cidrs,
    secondary_cidr_problem,
    whereabouts_excludes,
)


@st.composite
def networks(draw, min_prefix=8, max_prefix=28):
    prefix = draw(st.integers(min_prefix, max_prefix))
    base = draw(st.integers(0, 2**32 - 1)) >> (32 - prefix) << (32 - prefix)
    return IPv4Network((base, prefix))


@st.composite
def address_ranges(draw):
    net = draw(networks(16, 28))
    a = draw(st.integers(int(net.network_address), int(net.broadcast_address)))
    b = draw(st.integers(a, int(net.broadcast_address)))
    return IPv4Address(a), IPv4Address(b)


@given(address_ranges())
def test_reservations_cover_exactly_the_range(bounds):
    first, last = bounds
    blocks = reservation_cidrs(first, last)
    assert sum(b.num_addresses for b in blocks) == int(last) - int(first) + 1
    assert blocks[0].network_address == first and blocks[-1].broadcast_address == last
    for x, y in itertools.pairwise(blocks):
        assert int(x.broadcast_address) + 1 == int(y.network_address)


@given(st.lists(address_ranges(), min_size=1, max_size=4))
def test_merged_ranges_cover_the_union_and_nothing_else(ranges):
    blocks = merge_ranges(ranges)
    spans = sorted((int(a), int(b)) for a, b in ranges)
    union: list[list[int]] = []
    for first, last in spans:
        if union and first <= union[-1][1] + 1:
            union[-1][1] = max(union[-1][1], last)
        else:
            union.append([first, last])
    assert sum(b.num_addresses for b in blocks) == sum(last - first + 1 for first, last in union)
    for b in blocks:
        assert any(first <= int(b.network_address) and int(b.broadcast_address) <= last for first, last in union)


@settings(max_examples=200)
@given(networks(16, 24), st.integers(1, 6))
def test_vpc_subnets_are_disjoint_and_inside(vpc, zones):
    names = [f"zone-{i}" for i in range(zones)]
    try:
        plan = plan_vpc_subnets(vpc, names)
    except ValueError as exc:
        assert "too small" in str(exc)
        assert vpc.prefixlen > 21, "a /21 or larger must fit six zones"
        return
    assert [p.availability_zone for p in plan] == names
    subnets = [s for p in plan for s in (p.private, p.public)]
    for s in subnets:
        assert s.subnet_of(vpc)
        assert s.prefixlen <= 28
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b)
    # private subnets get the larger share: each at least as big as any public one
    assert min(p.private.num_addresses for p in plan) >= max(p.public.num_addresses for p in plan)


@given(networks(16, 28))
def test_aws_reserved_are_the_first_four_and_the_last(subnet):
    reserved = aws_reserved(subnet)
    assert len(set(reserved)) == 5
    assert all(a in subnet for a in reserved)
    assert reserved[-1] == subnet.broadcast_address


@given(networks(16, 28))
def test_whereabouts_excludes_cover_aws_reserved_and_gateway(subnet):
    gateway = subnet.network_address + 1
    excludes = whereabouts_excludes(subnet, gateway)
    for address in (*aws_reserved(subnet), gateway):
        assert any(address in e for e in excludes)
    assert sum(e.num_addresses for e in excludes) == 5


@given(networks(16, 28), networks(16, 28))
def test_secondary_cidr_never_accepts_overlap(primary, secondary):
    if primary.overlaps(secondary):
        assert secondary_cidr_problem(primary, secondary) is not None


def test_secondary_cidr_known_answers():
    ten = IPv4Network("10.20.0.0/16")
    assert secondary_cidr_problem(ten, IPv4Network("100.64.0.0/19")) is None
    assert secondary_cidr_problem(ten, IPv4Network("10.21.0.0/16")) is None
    assert "only accepts" in secondary_cidr_problem(ten, IPv4Network("172.16.0.0/16"))
    assert "198.19.0.0/16" in secondary_cidr_problem(ten, IPv4Network("198.19.0.0/20"))
