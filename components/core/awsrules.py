"""The AWS side's security rules as data: control-plane logging, IAM wildcards, open ingress.

tests/security/test_aws.py applies them to every planned stack's resources;
the components read the logging constants from here.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Network, collapse_addresses, ip_network
from typing import Any

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator")
"""EKS control-plane log types sent to CloudWatch (of api, audit, authenticator, controllerManager,
scheduler: EKS user guide, control-plane-logs; pulumi-eks 4.4.0 `enabled_cluster_log_types`)."""

LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
"""The values CloudWatch Logs accepts for a log group's retention (PutRetentionPolicy API reference,
`retentionInDays` valid values)."""


def control_plane_log_group(cluster_name: str) -> str:
    """EKS writes control-plane logs to this group and creates it, without retention, if it is missing
    (EKS user guide, control-plane-logs); creating it first is how the retention is set."""
    return f"/aws/eks/{cluster_name}/cluster"


ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = frozenset(
    {
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeInstances",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeTags",
        "ec2:DescribeVpcs",
    }
)
"""Actions whose Resource can only be `*`: their "Resource types" column is empty in the Service
Authorization Reference, "Actions, resources, and condition keys for Amazon EC2"
(docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html: "If there is no
value for this column, you must specify all resources ("*")"); the EC2 user guide adds that the
ec2:Describe* actions do not support resource-level permissions. Listed one by one, only those this
project may call; extend the list from that page, never by pattern."""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_resource_violations(policy: str | dict[str, Any]) -> list[str]:
    """Allow statements that grant `*` resources to an action that has resource-level permissions.

    A wildcard action (`ec2:*`, `ec2:Describe*`) on `*` is always a violation: it cannot be
    checked against the list. `NotResource` and `NotAction` are violations too.
    """
    doc = json.loads(policy) if isinstance(policy, str) else policy
    found = []
    for i, st in enumerate(_as_list(doc.get("Statement", []))):
        label = st.get("Sid") or f"Statement[{i}]"
        if st.get("Effect") != "Allow":
            continue
        if "NotResource" in st or "NotAction" in st:
            found.append(f"{label}: NotResource/NotAction grants more than it names")
            continue
        if "*" not in _as_list(st.get("Resource", [])):
            continue
        for action in _as_list(st.get("Action", [])):
            if "*" in action or action not in ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS:
                found.append(f"{label}: {action} on Resource * (it supports resource-level permissions, or is a wildcard)")
    return found


def open_to_world(cidrs: list[str] | None) -> bool:
    """Whether a rule's CIDRs let in every address (any /0)."""
    return any(ip_network(c, strict=False).prefixlen == 0 for c in cidrs or [])


def multus_egress_cidrs(multus_subnets: list[IPv4Network], pod_networks: list[IPv4Network], route_dsts: list[IPv4Network]) -> list[str]:
    """Where traffic leaving a multus ENI may go: the multus subnets, the pods' own IPAM subnets,
    and the destinations of the networks' routes, collapsed. Nothing else is routed out of a pod's
    secondary interface, and security groups are stateful, so replies to inbound traffic need no
    egress rule, and Amazon DNS, DHCP and instance metadata are never filtered by security groups
    (VPC user guide, security group rules). A route to 0.0.0.0/0 opens egress to the world
    on purpose, and the AWS rules in tests/security then refuse that stack."""
    return [str(n) for n in collapse_addresses({*multus_subnets, *pod_networks, *route_dsts})]
