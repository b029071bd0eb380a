"""examples/library: the components composed by hand from a model built in code."""

from __future__ import annotations

import json

import pytest

from plan.mocks import PlanMocks
from plan.runner import ProgramError, run_program
from tests.components.plan_index import of_type, one
from tests.helpers import ROOT

MAIN = ROOT / "examples" / "library" / "__main__.py"


def _run(main=MAIN):
    return run_program({"aws:region": "eu-central-1"}, "lib", main=main, project="eks-multus-library", mocks=PlanMocks("eu-central-1"))


def test_library_program_builds_the_platform_without_stack_config():
    result = _run()
    types = [r.type for r in result.registrations]
    assert "eks-multus:index:MultusPlatform" not in types  # composed by hand
    for component in ("MultusVpc", "MultusCluster", "MultusNodeGroup", "Multus", "Whereabouts", "NetworkAttachments"):
        assert f"eks-multus:index:{component}" in types, component
    lt = one(result, "aws:ec2/launchTemplate:LaunchTemplate", "lib-cnf-lt")
    assert [n["deviceIndex"] for n in lt.inputs["networkInterfaces"]] == [0]  # the node attaches its multus ENIs itself
    grant = one(result, "aws:iam/rolePolicy:RolePolicy", "lib-cnf-multus-enis")
    assert "arn:aws:ec2:eu-central-1:*:network-interface/*" in grant.inputs["policy"]
    nads = {n.inputs["metadata"]["name"]: n for n in of_type(result, "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition")}
    assert sorted(nads) == ["fronthaul", "oam"]
    conf = json.loads(nads["oam"].inputs["spec"]["config"])
    assert [p["type"] for p in conf["plugins"]] == ["ipvlan", "eks-multus-eni-ip"]
    assert nads["oam"].inputs["metadata"]["namespace"] == "ran"
    assert result.outputs["clusterName"] == "multus-lib-lib"


def test_the_programs_own_resource_sits_between_the_components():
    result = _run()
    rule = one(result, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "lib-monitoring")
    sg = one(result, "aws:ec2/securityGroup:SecurityGroup", "lib-vpc-multus-eni")
    assert sg.urn in rule.dependencies and rule.inputs["cidrIpv4"] == "10.99.0.0/16"


def test_a_model_built_in_code_is_validated_like_stack_config(tmp_path):
    broken = tmp_path / "__main__.py"
    broken.write_text(MAIN.read_text().replace('range_end="100.64.16.50"', 'range_end="100.64.17.10"'))
    with pytest.raises(ProgramError) as err:
        _run(broken)
    assert "eks-multus:networks[1].ipam.rangeEnd" in str(err.value)
