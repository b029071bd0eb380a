"""The node role's ENI statements, evaluated against requests that must be allowed and must be denied.

Evaluator: Principal Mapper's local policy simulation (nccgroup/PMapper,
`principalmapper/querying/local_policy_simulation.py`, PyPI `principalmapper`
1.1.5): Action/NotAction and Resource/NotResource with wildcards and policy
variables (`${key}` substituted from the request context), and Condition
blocks for the String*, Arn*, Bool, Numeric*, Date*, IpAddress and Null
operators, with `IfExists`, `ForAllValues:` and `ForAnyValue:`. A missing key
fails StringEquals/StringLike unless `IfExists`, and satisfies `ForAllValues:`
(IAM user guide, "Condition operators" and "Multivalued context keys").

Why not moto: moto 5.2.5's IAM enforcement evaluates identity policies with
the resource "*" and only `StringEquals` against `sts:ExternalId`
(`moto/iam/access_control.py`: "TODO add support for the Resource and Condition
parts of IAM policies"; `moto/iam/policy_conditions.py` ignores every other
operator; `moto/iam/utils.py` `format_incoming_conditional_values` fills only
sts:ExternalId), so it would allow every request here.

How EC2 authorizes (Service Authorization Reference, "Actions, resources, and
condition keys for Amazon EC2"; EC2 user guide, "Grant permission to tag
resources during creation"): one request is checked once per resource it
touches, each with its own context. CreateNetworkInterface touches the new
network-interface (aws:RequestTag/*, aws:TagKeys), the subnet and the security
group; tags given at creation also need ec2:CreateTags on the new ENI with
ec2:CreateAction = CreateNetworkInterface; AttachNetworkInterface touches the
ENI and the instance (ec2:ResourceTag/* of each). Credentials from an instance
profile carry ec2:SourceInstanceARN. A request is allowed when every one of its
checks has a matching Allow and none a matching Deny (IAM policy evaluation
logic).
"""

from __future__ import annotations

import collections
import collections.abc

import pytest

from components.core.iam import GROUP_TAG, INSTANCE_TAG, NO_MANAGE_TAG, eni_ip_policy, multus_eni_policy, multus_eni_tags

# principalmapper 1.1.5 imports Mapping/MutableMapping from `collections` (moved to collections.abc in Python 3.3,
# removed from `collections` in 3.10). Aliasing them is the whole shim; the evaluator's code is used as published.
for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.querying.local_policy_simulation import policy_has_matching_statement  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"
CLUSTER = "eks-multus-dev"
GROUP = "multus-a"
SUBNET = "subnet-0aaaaaaaaaaaaaaa1"
OTHER_SUBNET = "subnet-0bbbbbbbbbbbbbbb2"
SG = "sg-0ccccccccccccccc3"
OTHER_SG = "sg-0ddddddddddddddd4"
SELF = "i-0123456789abcdef0"
SIBLING = "i-0fedcba9876543210"  # another node of this cluster
STRANGER = "i-0999999999999999f"  # a node of another cluster
ENI = "eni-0eeeeeeeeeeeeeee5"

POLICIES = [
    multus_eni_policy(CLUSTER, GROUP, REGION, [SUBNET], SG, {"team": "ran"}),
    eni_ip_policy(CLUSTER, REGION),
]
TAGS = {**multus_eni_tags(CLUSTER, GROUP, {"team": "ran"}), INSTANCE_TAG: SELF}
OUR_ENI = dict(TAGS)
INSTANCE_TAGS = {f"kubernetes.io/cluster/{CLUSTER}": "owned", GROUP_TAG: GROUP}
OTHER_INSTANCE_TAGS = {"kubernetes.io/cluster/other": "owned"}


def arn(kind: str, ident: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:{kind}/{ident}"


def request_tags(tags: dict[str, str]) -> dict:
    return {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": list(tags)}


def resource_tags(tags: dict[str, str]) -> dict:
    return {f"ec2:ResourceTag/{k}": v for k, v in tags.items()}


def allowed(checks: list[tuple[str, str, dict]]) -> bool:
    """Every (action, resource, context) of the request must be allowed and none denied."""
    for action, resource, context in checks:
        ctx = CaseInsensitiveDict({"ec2:SourceInstanceARN": arn("instance", SELF), "ec2:Region": REGION, **context})
        if any(policy_has_matching_statement(p, "Deny", action, resource, ctx) for p in POLICIES):
            return False
        if not any(policy_has_matching_statement(p, "Allow", action, resource, ctx) for p in POLICIES):
            return False
    return True


def create(subnet: str = SUBNET, sg: str = SG, tags: dict[str, str] | None = None) -> list[tuple[str, str, dict]]:
    tags = TAGS if tags is None else tags
    new_eni = arn("network-interface", "*")
    ctx = {**request_tags(tags), "ec2:Subnet": arn("subnet", subnet)}
    checks = [
        ("ec2:CreateNetworkInterface", new_eni, ctx),
        ("ec2:CreateNetworkInterface", arn("subnet", subnet), ctx),
        ("ec2:CreateNetworkInterface", arn("security-group", sg), ctx),
    ]
    if tags:
        checks.append(("ec2:CreateTags", new_eni, {**request_tags(tags), "ec2:CreateAction": "CreateNetworkInterface"}))
    return checks


def on_eni(action: str, eni_tags: dict[str, str], **extra) -> list[tuple[str, str, dict]]:
    return [(action, arn("network-interface", ENI), {**resource_tags(eni_tags), **extra})]


def attach(eni_tags: dict[str, str], instance: str, instance_tags: dict[str, str]) -> list[tuple[str, str, dict]]:
    return [
        *on_eni("ec2:AttachNetworkInterface", eni_tags),
        ("ec2:AttachNetworkInterface", arn("instance", instance), resource_tags(instance_tags)),
    ]


def without(tags: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k != key}


ALLOWED = {
    "create the ENI in the group's multus subnet with the multus SG, tagged at creation": create(),
    "attach our ENI to this instance": attach(OUR_ENI, SELF, INSTANCE_TAGS),
    "set delete-on-termination on our ENI": on_eni("ec2:ModifyNetworkInterfaceAttribute", OUR_ENI),
    "delete our ENI (failed attach, orphan)": on_eni("ec2:DeleteNetworkInterface", OUR_ENI),
    "delete an orphan another node of the group created": on_eni("ec2:DeleteNetworkInterface", {**OUR_ENI, INSTANCE_TAG: SIBLING}),
    "describe ENIs": [("ec2:DescribeNetworkInterfaces", "*", {})],
    "describe instances (is an orphan's creator gone?)": [("ec2:DescribeInstances", "*", {})],
    "eni-ip: assign a pod address on our ENI": on_eni("ec2:AssignPrivateIpAddresses", OUR_ENI),
    "eni-ip: unassign a pod address on our ENI": on_eni("ec2:UnassignPrivateIpAddresses", OUR_ENI),
}

DENIED = {
    "create an ENI in another subnet": create(subnet=OTHER_SUBNET),
    "create an ENI with another security group": create(sg=OTHER_SG),
    "create an ENI without tags": create(tags={}),
    "create an ENI without the no_manage tag": create(tags=without(TAGS, NO_MANAGE_TAG)),
    "create an ENI for another node group": create(tags={**TAGS, GROUP_TAG: "multus-c"}),
    "create an ENI without naming its creating instance": create(tags=without(TAGS, INSTANCE_TAG)),
    "create an ENI with an extra tag key": create(tags={**TAGS, "kubernetes.io/role/elb": "1"}),
    "create tags outside a create (retag any ENI)": on_eni("ec2:CreateTags", {}, **request_tags(TAGS)),
    "create tags on our ENI outside a create": on_eni("ec2:CreateTags", OUR_ENI, **request_tags({NO_MANAGE_TAG: "false"})),
    "delete an untagged ENI": on_eni("ec2:DeleteNetworkInterface", {}),
    "delete the VPC CNI's ENI of this cluster (no no_manage tag)": on_eni(
        "ec2:DeleteNetworkInterface", {f"kubernetes.io/cluster/{CLUSTER}": "owned"}
    ),
    "delete another cluster's multus ENI": on_eni(
        "ec2:DeleteNetworkInterface", {**without(OUR_ENI, f"kubernetes.io/cluster/{CLUSTER}"), "kubernetes.io/cluster/other": "owned"}
    ),
    "attach our ENI to an instance of another cluster": attach(OUR_ENI, STRANGER, OTHER_INSTANCE_TAGS),
    "attach our ENI to another instance of this cluster": attach(OUR_ENI, SIBLING, INSTANCE_TAGS),
    "attach an untagged ENI to this instance": attach({}, SELF, INSTANCE_TAGS),
    "modify an untagged ENI": on_eni("ec2:ModifyNetworkInterfaceAttribute", {}),
    "detach any ENI": on_eni("ec2:DetachNetworkInterface", OUR_ENI),
    "eni-ip: assign on an untagged ENI": on_eni("ec2:AssignPrivateIpAddresses", {}),
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_allowed(case):
    assert allowed(ALLOWED[case]), case


@pytest.mark.parametrize("case", sorted(DENIED))
def test_denied(case):
    assert not allowed(DENIED[case]), case


def test_attach_to_self_depends_on_the_calling_instance():
    """The instance statement names no instance: the request's ec2:SourceInstanceARN decides."""
    checks = [("ec2:AttachNetworkInterface", arn("instance", SIBLING), resource_tags(INSTANCE_TAGS))]
    assert not allowed(checks)
    as_sibling = [(a, r, {**c, "ec2:SourceInstanceARN": arn("instance", SIBLING)}) for a, r, c in checks]
    assert allowed(as_sibling)
    # Credentials used off an instance carry no ec2:SourceInstanceARN: the variable stays unresolved, nothing matches.
    ctx = CaseInsensitiveDict(resource_tags(INSTANCE_TAGS))
    assert not policy_has_matching_statement(POLICIES[0], "Allow", "ec2:AttachNetworkInterface", arn("instance", SELF), ctx)


def test_policy_table_for_the_closing_note():
    """The evaluation table, printed with -s for the notes: every case and its outcome."""
    rows = [(case, allowed(checks)) for case, checks in {**ALLOWED, **DENIED}.items()]
    assert [c for c, ok in rows if ok] == list(ALLOWED)
    print("\n".join(f"{'allowed' if ok else 'denied '}  {case}" for case, ok in rows))
