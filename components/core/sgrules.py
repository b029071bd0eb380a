"""The multus ENI security group: effective rules and what EC2 accepts in one.

Ingress is the default rule (all traffic from the multus subnets) plus the
user's rules, unless `replaceDefault: true`; egress is the user's list when
given, else all traffic to the multus subnets and the networks' pod ranges and
route destinations (never 0.0.0.0/0 unless a network routes there).

What a rule may say follows the EC2 API's `IpPermission`
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html):
`IpProtocol` is a name (tcp, udp, icmp, icmpv6) or an IP protocol number, `-1`
for every protocol; for tcp and udp `FromPort`/`ToPort` are a port range; for
icmp and icmpv6 they are the ICMP type and code, `-1` meaning all, and all
types needs all codes; `-1` and numbers other than tcp, udp, icmp and icmpv6
allow every port whatever the range says. The pulumi-aws `SecurityGroup`
inline rule (`ec2/_inputs.py`, `SecurityGroupIngressArgs.protocol`) takes `-1`
with both ports 0, not `all`, and protocol numbers for anything but icmp, tcp,
udp and -1, so rules are handed over in that form.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .awsrules import multus_egress_cidrs
from .errors import ConfigIssue
from .model import EniPrefixIpam, HostLocalIpam, SecurityGroupRule, StackConfig, StaticIpam, WhereaboutsIpam

NAMES = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
ALL = "-1"
# What pulumi-aws is given for each protocol number with a name of its own.
_PROVIDER_NAME = {6: "tcp", 17: "udp", 1: "icmp"}
DESCRIPTION_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-:/()#,@[]+=&;{}!$*")
"""Characters EC2 accepts in a rule description (up to 255 of them; IpRange.Description)."""


def protocol_number(protocol: str) -> int | None:
    """IP protocol number of a rule's protocol; -1 for all; None when EC2 would refuse it."""
    text = protocol.strip().lower()
    if text in ("-1", "all"):
        return -1
    if text in NAMES:
        return NAMES[text]
    if text.isdigit() and 0 <= int(text) <= 255:
        return int(text)
    return None


def provider_protocol(protocol: str) -> str:
    """The form pulumi-aws takes: tcp, udp, icmp, -1, or the protocol number."""
    number = protocol_number(protocol)
    if number is None:
        raise ValueError(f"invalid protocol {protocol}")  # validation refuses it first
    if number == -1:
        return ALL
    return _PROVIDER_NAME.get(number, str(number))


def _as_input(rule: SecurityGroupRule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "protocol": provider_protocol(rule.protocol),
        "from_port": rule.from_port,
        "to_port": rule.to_port,
        "cidr_blocks": [str(c) for c in rule.cidr_blocks],
    }
    if rule.description:
        out["description"] = rule.description
    return out


def default_ingress(cfg: StackConfig) -> dict[str, Any]:
    return {
        "protocol": ALL,
        "from_port": 0,
        "to_port": 0,
        "cidr_blocks": [str(s.cidr) for s in cfg.multus_subnets],
        "description": "multus subnets",
    }


def default_egress(cfg: StackConfig) -> dict[str, Any]:
    """All traffic, but only to the multus subnets and what the networks' pods address or route to."""
    pod_networks, route_dsts = [], []
    for net in cfg.networks:
        ipam = net.ipam
        if isinstance(ipam, HostLocalIpam):
            pod_networks.append(ipam.subnet)
        elif isinstance(ipam, WhereaboutsIpam):
            pod_networks.append(ipam.range)
        elif isinstance(ipam, StaticIpam):
            pod_networks.extend(a.address.network for a in ipam.addresses)
        elif isinstance(ipam, EniPrefixIpam):
            pod_networks.append(ipam.subnet)
        route_dsts.extend(r.dst for r in (ipam.routes if ipam is not None else ()))
    cidrs = multus_egress_cidrs([s.cidr for s in cfg.multus_subnets], pod_networks, route_dsts)
    return {"protocol": ALL, "from_port": 0, "to_port": 0, "cidr_blocks": cidrs, "description": "multus networks"}


def ingress_rules(cfg: StackConfig) -> list[dict[str, Any]]:
    sg = cfg.multus_security_group
    user = [_as_input(r) for r in sg.ingress]
    return user if sg.replace_default else [default_ingress(cfg), *user]


def egress_rules(cfg: StackConfig) -> list[dict[str, Any]]:
    sg = cfg.multus_security_group
    return [default_egress(cfg)] if sg.egress is None else [_as_input(r) for r in sg.egress]


def rule_issues(rule: SecurityGroupRule, key: str) -> Iterator[ConfigIssue]:
    """What EC2 or the provider would refuse (or silently widen) in one rule."""
    number = protocol_number(rule.protocol)
    if number is None:
        yield ConfigIssue(
            f"{key}.protocol",
            f"`{rule.protocol}` is not a protocol EC2 accepts",
            "use tcp, udp, icmp, icmpv6, -1 (every protocol) or an IP protocol number 0-255",
        )
        return
    lo, hi = rule.from_port, rule.to_port
    if number in (6, 17):
        for field, port in (("fromPort", lo), ("toPort", hi)):
            if not 0 <= port <= 65535:
                yield ConfigIssue(f"{key}.{field}", f"{port} is not a port", "use a port from 0 to 65535")
        if 0 <= lo <= 65535 and 0 <= hi <= 65535 and lo > hi:
            yield ConfigIssue(f"{key}.toPort", f"port range {lo}-{hi} is reversed", f"make toPort at least {lo}")
    elif number in (1, 58):
        for field, value, what in (("fromPort", lo, "type"), ("toPort", hi, "code")):
            if not -1 <= value <= 255:
                yield ConfigIssue(
                    f"{key}.{field}", f"{value} is not an ICMP {what}", f"use an ICMP {what} from 0 to 255, or -1 for every {what}"
                )
        if lo == -1 and hi != -1:
            yield ConfigIssue(
                f"{key}.toPort",
                f"every ICMP type (fromPort -1) needs every code, not code {hi}",
                "set toPort to -1, or name one ICMP type in fromPort",
            )
    elif lo != 0 or hi != 0:
        what = "every protocol" if number == -1 else f"protocol {number}"
        yield ConfigIssue(
            f"{key}.fromPort" if lo != 0 else f"{key}.toPort",
            f"a rule for {what} covers every port, so ports {lo}-{hi} would not limit it",
            "set fromPort and toPort to 0, or use tcp or udp for a port range",
        )
    if len(rule.description) > 255 or not set(rule.description) <= DESCRIPTION_CHARS:
        yield ConfigIssue(
            f"{key}.description",
            "is not a description EC2 accepts",
            "use at most 255 letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
        )


def security_group_issues(cfg: StackConfig) -> Iterator[ConfigIssue]:
    sg = cfg.multus_security_group
    for direction, rules in (("ingress", sg.ingress), ("egress", sg.egress or ())):
        for i, rule in enumerate(rules):
            yield from rule_issues(rule, f"multusSecurityGroup.{direction}[{i}]")
    if any(protocol_number(r.protocol) is None for r in (*sg.ingress, *(sg.egress or ()))):
        return
    # EC2 refuses a permission that is already in the group (InvalidPermission.Duplicate).
    for direction, rules, first_user in (
        ("ingress", ingress_rules(cfg), 0 if sg.replace_default else 1),
        ("egress", egress_rules(cfg), 0),
    ):
        first: dict[tuple, int] = {}
        for i, rule in enumerate(rules):
            for block in rule["cidr_blocks"]:
                ident = (rule["protocol"], rule["from_port"], rule["to_port"], block)
                if ident not in first:
                    first[ident] = i
                    continue
                earlier = first[ident] - first_user
                where = "the default multus-subnet rule" if earlier < 0 else f"{direction}[{earlier}]"
                yield ConfigIssue(
                    f"multusSecurityGroup.{direction}[{i - first_user}]",
                    f"allows {rule['protocol']} {rule['from_port']}-{rule['to_port']} for {block}, which {where} already does",
                    "list each permission once (EC2 refuses a duplicate), or set replaceDefault: true to leave the default rule out",
                )
