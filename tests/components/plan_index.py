"""Look-ups over a plan's registrations for component tests."""

from __future__ import annotations

from ipaddress import IPv4Network

from plan.mocks import Registration


def of_type(result, type_token: str) -> list[Registration]:
    return [r for r in result.registrations if r.type == type_token]


def one(result, type_token: str, name: str) -> Registration:
    found = [r for r in of_type(result, type_token) if r.name == name]
    assert len(found) == 1, f"{type_token} {name}: {[r.name for r in of_type(result, type_token)]}"
    return found[0]


def by_urn(result) -> dict[str, Registration]:
    return {r.urn: r for r in result.registrations}


def cidr(text: str) -> IPv4Network:
    return IPv4Network(text)
