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


def test_a_config_built_in_code_is_validated_like_stack_config(tmp_path):
    broken = tmp_path / "__main__.py"
    text = MAIN.read_text()
    assert '"range_end": "100.64.16.50"' in text
    broken.write_text(text.replace('"range_end": "100.64.16.50"', '"range_end": "100.64.17.10"'))
    with pytest.raises(ProgramError) as err:
        _run(broken)
    # The first component that takes it refuses it, naming the argument path.
    assert "MultusVpc 'lib-vpc'" in str(err.value)
    assert "config.networks[1].ipam.rangeEnd: 100.64.17.10 is outside" in str(err.value)


def test_the_example_imports_the_distribution_not_the_checkout_layout():
    text = MAIN.read_text()
    assert "sys.path" not in text
    assert "from eks_multus import" in text
    assert "from components" not in text


def test_plan_main_plans_the_library_example(tmp_path):
    """`python -m plan --main DIR`: the program in DIR, its project name, the same mocks and outputs."""
    from plan.__main__ import main

    assert main(["--main", str(ROOT / "examples" / "library"), "--quiet", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "resources.json").read_text())
    assert rows[0]["urn"].startswith("urn:pulumi:dev::eks-multus-library::")
    types = {r["type"] for r in rows}
    assert {"eks-multus:index:MultusVpc", "eks-multus:index:MultusCluster", "eks-multus:index:NetworkAttachments"} <= types
    assert json.loads((tmp_path / "outputs.json").read_text())["clusterName"] == "multus-lib-dev"
    assert sorted(p.name for p in (tmp_path / "manifests").iterdir())


def test_plan_main_refuses_what_it_cannot_run(tmp_path, capsys):
    from plan.__main__ import main

    (tmp_path / "Pulumi.yaml").write_text("name: y\nruntime: yaml\n")
    assert main(["--main", str(tmp_path), "--quiet", "--out", str(tmp_path / "out")]) == 1
    assert "runtime `yaml`: the offline plan runs Python programs only" in capsys.readouterr().err
    assert main(["--main", str(tmp_path / "nowhere"), "--quiet"]) == 1
    assert "no Pulumi.yaml here" in capsys.readouterr().err


def test_plan_main_answers_stack_references_from_a_planned_stack(tmp_path, capsys):
    """examples/workload reads the platform through a StackReference: `--stack-reference NAME=FILE`
    answers it with a plan's outputs.json (what `pulumi stack output` would hold)."""
    from plan.__main__ import main

    assert main(["--stack", "dev", "--quiet", "--out", str(tmp_path / "dev")]) == 0
    ref = f"organization/eks-multus/dev={tmp_path / 'dev' / 'outputs.json'}"
    argv = ["--main", str(ROOT / "examples" / "workload"), "--stack-reference", ref, "--quiet", "--out", str(tmp_path / "wl")]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "wl" / "resources.json").read_text())
    (pod,) = [r for r in rows if r["type"] == "kubernetes:core/v1:Pod"]
    assert pod["inputs"]["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"]
    assert main([*argv[:2], "--stack-reference", "organization/eks-multus/dev", "--quiet"]) == 1
    assert "give NAME=FILE" in capsys.readouterr().err
