"""The plan's AWS security rules, judged over every stack's resources.json rows.

Each rule looks at resources by type, whatever component made them, so new
node groups, policies or security groups are judged the moment they are
planned. Rows are `plan.render.resource_rows`, exactly what `make plan` writes
to resources.json (camelCase inputs as the Pulumi engine sees them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from components.core.advice import advise
from components.core.awsrules import (
    ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS,
    CONTROL_PLANE_LOG_TYPES,
    LOG_RETENTION_DAYS,
    control_plane_log_group,
    open_to_world,
    wildcard_resource_violations,
)
from plan.render import resource_rows
from tests.helpers import STACKS, TEST_STACKS, load, ns, planned, planned_with

STACK_NAMES = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in [*STACKS.glob("Pulumi.*.yaml"), *TEST_STACKS.glob("Pulumi.*.yaml")]
)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
POLICY_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
EKS_CLUSTER = ("eks:index:Cluster", "aws:eks/cluster:Cluster")
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _rows(stack: str) -> list[dict]:
    return resource_rows(planned(stack))


def _of(rows: list[dict], *types: str) -> list[dict]:
    return [r for r in rows if r["type"] in types]


def _truthy(value) -> bool:
    return value is True or value == "true"


# --- rule functions (each returns the findings; tests below also feed them bad rows) -------


def imds_findings(rows: list[dict]) -> Iterator[str]:
    """IMDSv2 only, hop limit 1: a pod without host networking cannot reach the node's credentials
    (EC2 user guide, "Configure the instance metadata options": httpPutResponseHopLimit; EKS best
    practices, "Restrict access to the instance profile assigned to the worker node")."""
    for r in _of(rows, LAUNCH_TEMPLATE, INSTANCE):
        md = r["inputs"].get("metadataOptions") or {}
        if md.get("httpEndpoint", "enabled") == "disabled":
            continue
        if md.get("httpTokens") != "required":
            yield f"{r['name']}: httpTokens is {md.get('httpTokens')!r}, not 'required' (IMDSv1 allowed)"
        if md.get("httpPutResponseHopLimit") != 1:
            yield f"{r['name']}: httpPutResponseHopLimit is {md.get('httpPutResponseHopLimit')!r}, not 1"


def ebs_findings(rows: list[dict]) -> Iterator[str]:
    for r in _of(rows, LAUNCH_TEMPLATE, INSTANCE):
        inputs = r["inputs"]
        mappings = inputs.get("blockDeviceMappings") or []
        ebs_blocks = [m.get("ebs") or {} for m in mappings]
        if r["type"] == INSTANCE:
            ebs_blocks += [inputs.get("rootBlockDevice") or {}, *(inputs.get("ebsBlockDevices") or [])]
        if r["type"] == LAUNCH_TEMPLATE and not mappings:
            yield f"{r['name']}: no block device mapping, so the root volume takes the AMI's (unencrypted) default"
        for ebs in ebs_blocks:
            if ebs and not _truthy(ebs.get("encrypted")):
                yield f"{r['name']}: EBS volume not encrypted"
    for r in _of(rows, VOLUME):
        if not _truthy(r["inputs"].get("encrypted")):
            yield f"{r['name']}: EBS volume not encrypted"


def world_ingress_findings(rows: list[dict]) -> Iterator[str]:
    """No security group lets the whole internet in, inline or as a separate rule resource."""
    for r in _of(rows, SECURITY_GROUP):
        for rule in r["inputs"].get("ingress") or []:
            if open_to_world([*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]):
                yield f"{r['name']}: ingress from a /0 block"
    for r in _of(rows, SG_RULE):
        if r["inputs"].get("type") == "ingress" and open_to_world(
            [*(r["inputs"].get("cidrBlocks") or []), *(r["inputs"].get("ipv6CidrBlocks") or [])]
        ):
            yield f"{r['name']}: ingress rule from a /0 block"
    for r in _of(rows, SG_INGRESS_RULE):
        if open_to_world([c for c in (r["inputs"].get("cidrIpv4"), r["inputs"].get("cidrIpv6")) if c]):
            yield f"{r['name']}: ingress rule from a /0 block"


def world_egress_findings(rows: list[dict]) -> Iterator[str]:
    """Egress to the world from the security groups this project creates (the multus ENIs')."""
    for r in _of(rows, SECURITY_GROUP):
        for rule in r["inputs"].get("egress") or []:
            if open_to_world([*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]):
                yield f"{r['name']}: egress to a /0 block"
    for r in _of(rows, SG_RULE):
        if r["inputs"].get("type") == "egress" and open_to_world(r["inputs"].get("cidrBlocks")):
            yield f"{r['name']}: egress rule to a /0 block"
    for r in _of(rows, SG_EGRESS_RULE):
        if open_to_world([c for c in (r["inputs"].get("cidrIpv4"), r["inputs"].get("cidrIpv6")) if c]):
            yield f"{r['name']}: egress rule to a /0 block"


def iam_findings(rows: list[dict]) -> Iterator[str]:
    for r in _of(rows, *POLICY_TYPES):
        for finding in wildcard_resource_violations(r["inputs"]["policy"]):
            yield f"{r['name']}: {finding}"


def control_plane_findings(rows: list[dict]) -> Iterator[str]:
    """A created cluster logs api, audit and authenticator, into a group with a retention made before it."""
    for r in _of(rows, *EKS_CLUSTER):
        inputs = r["inputs"]
        types = set(inputs.get("enabledClusterLogTypes") or [])
        missing = set(CONTROL_PLANE_LOG_TYPES) - types
        if missing:
            yield f"{r['name']}: control-plane log types {sorted(missing)} are off"
        name = inputs.get("name")
        groups = [g for g in _of(rows, LOG_GROUP) if g["inputs"].get("name") == control_plane_log_group(name)]
        if not groups:
            yield f"{r['name']}: no log group {control_plane_log_group(name)}, so EKS creates one that never expires"
            continue
        group = groups[0]
        if group["inputs"].get("retentionInDays") not in LOG_RETENTION_DAYS:
            yield f"{group['name']}: retention {group['inputs'].get('retentionInDays')!r} is not a CloudWatch retention"
        if group["urn"] not in r["dependencies"]:
            yield f"{r['name']}: does not wait for {group['name']}, so EKS may create the group first"
        if inputs.get("endpointPublicAccess") and not inputs.get("publicAccessCidrs"):
            yield f"{r['name']}: public endpoint without stated publicAccessCidrs (EKS defaults to 0.0.0.0/0)"


RULES = {
    "imds": imds_findings,
    "ebs": ebs_findings,
    "ingress": world_ingress_findings,
    "egress": world_egress_findings,
    "iam": iam_findings,
    "control-plane": control_plane_findings,
}


# --- every stack ------------------------------------------------------------------------


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("stack", STACK_NAMES)
def test_stack_meets_rule(stack, rule):
    findings = list(RULES[rule](_rows(stack)))
    assert not findings, "\n".join(findings)


def test_rules_have_something_to_judge():
    """Guard against a rule passing because the resources it looks for were renamed away."""
    rows = [r for s in STACK_NAMES for r in _rows(s)]
    assert _of(rows, LAUNCH_TEMPLATE)
    assert _of(rows, SECURITY_GROUP)
    assert _of(rows, *POLICY_TYPES)
    assert _of(rows, *EKS_CLUSTER) and _of(rows, LOG_GROUP)
    assert any("*" in json.dumps(json.loads(r["inputs"]["policy"])["Statement"]) for r in _of(rows, *POLICY_TYPES))


def test_public_endpoint_cidrs_are_stated_and_world_warns():
    """Every created cluster states its public CIDRs; 0.0.0.0/0 (also EKS's default) is a warning."""
    for stack in STACK_NAMES:
        cfg = load(stack)
        clusters = _of(_rows(stack), "eks:index:Cluster")
        if cfg.cluster.existing is not None:
            assert not clusters
            continue
        (cluster,) = clusters
        cidrs = cluster["inputs"].get("publicAccessCidrs")
        warned = any(i.path == "cluster.publicAccessCidrs" for i in advise(cfg))
        if cluster["inputs"].get("endpointPublicAccess"):
            assert cidrs, stack
            assert warned == open_to_world(cidrs), stack
        else:
            assert cidrs is None and not warned, stack


def test_restricted_public_endpoint_is_planned_and_not_warned():
    def restrict(flat):
        ns(flat, "cluster")["publicAccessCidrs"] = ["203.0.113.0/24"]

    rows = resource_rows(planned_with("prod", restrict))
    (cluster,) = _of(rows, "eks:index:Cluster")
    assert cluster["inputs"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert not any(i.path == "cluster.publicAccessCidrs" for i in advise(load("prod", restrict)))


def test_log_retention_is_configurable():
    rows = resource_rows(planned_with("dev", lambda flat: ns(flat, "cluster").update(logRetentionDays=365)))
    (group,) = _of(rows, LOG_GROUP)
    assert group["inputs"]["retentionInDays"] == 365
    assert group["inputs"]["name"] == f"/aws/eks/{load('dev').cluster_name}/cluster"


def test_open_multus_ingress_warns():
    def world(flat):
        flat["eks-multus:multusSecurityGroup"] = {"ingress": [{"cidrBlocks": ["0.0.0.0/0"]}]}

    issues = advise(load("dev", world))
    assert any(i.path == "multusSecurityGroup.ingress[0].cidrBlocks" for i in issues)
    assert list(world_ingress_findings(resource_rows(planned_with("dev", world))))


# --- the rules catch what they claim to --------------------------------------------------


def _row(type_: str, **inputs) -> dict:
    return {"type": type_, "name": "bad", "urn": "urn:bad", "inputs": inputs, "dependencies": []}


def test_imds_rule_refuses_v1_and_hop_limit_2():
    assert list(imds_findings([_row(LAUNCH_TEMPLATE, metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 1})]))
    assert list(imds_findings([_row(LAUNCH_TEMPLATE, metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 2})]))
    assert not list(imds_findings([_row(LAUNCH_TEMPLATE, metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 1})]))


def test_hop_limit_2_in_config_is_caught_in_the_plan():
    def two(flat):
        ns(flat, "nodeGroups")[0]["metadataHopLimit"] = 2

    assert list(imds_findings(resource_rows(planned_with("dev", two))))


def test_ebs_rule_refuses_unencrypted_volumes():
    plain = _row(LAUNCH_TEMPLATE, blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}])
    assert list(ebs_findings([plain]))
    assert list(ebs_findings([_row(LAUNCH_TEMPLATE)]))
    assert list(ebs_findings([_row(VOLUME, encrypted=False)]))


def test_security_group_rules_refuse_the_world():
    assert list(world_ingress_findings([_row(SECURITY_GROUP, ingress=[{"cidrBlocks": ["10.0.0.0/8", "0.0.0.0/0"]}])]))
    assert list(world_ingress_findings([_row(SECURITY_GROUP, ingress=[{"ipv6CidrBlocks": ["::/0"]}])]))
    assert list(world_ingress_findings([_row(SG_RULE, type="ingress", cidrBlocks=["0.0.0.0/0"])]))
    assert list(world_ingress_findings([_row(SG_INGRESS_RULE, cidrIpv4="0.0.0.0/0")]))
    assert list(world_egress_findings([_row(SECURITY_GROUP, egress=[{"cidrBlocks": ["0.0.0.0/0"]}])]))
    assert not list(world_ingress_findings([_row(SECURITY_GROUP, ingress=[{"cidrBlocks": ["100.64.0.0/19"]}])]))


def test_iam_rule_allows_star_only_for_actions_without_resource_level_permissions():
    ok = {"Statement": [{"Effect": "Allow", "Action": "ec2:DescribeNetworkInterfaces", "Resource": "*"}]}
    assert not wildcard_resource_violations(ok)
    for bad_action in (
        "ec2:CreateNetworkInterface",
        "ec2:AttachNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:Describe*",
        "ec2:*",
    ):
        bad = {"Statement": [{"Effect": "Allow", "Action": ["ec2:DescribeInstances", bad_action], "Resource": "*"}]}
        assert wildcard_resource_violations(bad), bad_action
    scoped = {"Statement": [{"Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": "arn:aws:ec2:*:*:subnet/*"}]}
    assert not wildcard_resource_violations(scoped)
    assert wildcard_resource_violations({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
    assert not wildcard_resource_violations(json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}))
    assert all(a.startswith("ec2:Describe") and "*" not in a for a in ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS)


def test_control_plane_rule_needs_log_types_group_and_order():
    cluster = _row("eks:index:Cluster", name="c", enabledClusterLogTypes=["api"], endpointPublicAccess=True)
    findings = list(control_plane_findings([cluster]))
    assert any("log types" in f for f in findings) and any("no log group" in f for f in findings)
    group = {**_row(LOG_GROUP, name="/aws/eks/c/cluster", retentionInDays=90), "urn": "urn:group"}
    full = {
        **cluster,
        "inputs": {**cluster["inputs"], "enabledClusterLogTypes": list(CONTROL_PLANE_LOG_TYPES), "publicAccessCidrs": ["0.0.0.0/0"]},
    }
    assert any("does not wait" in f for f in control_plane_findings([full, group]))
    assert not list(control_plane_findings([{**full, "dependencies": ["urn:group"]}, group]))
