"""Whole stacks through the real program and the `plan` command."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plan.render import kubernetes_objects
from tests.helpers import ROOT, STACKS, TEST_STACKS, planned

ALL_STACKS = sorted(p for p in [*STACKS.glob("Pulumi.*.yaml"), *TEST_STACKS.glob("Pulumi.*.yaml")])


def _plan_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plan", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, **kw)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("path", ALL_STACKS, ids=lambda p: p.name)
def test_every_stack_plans(path, tmp_path):
    done = _plan_cli("--config", str(path), "--out", str(tmp_path / "plan"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plan" / "resources.json").stat().st_size > 1000
    assert list((tmp_path / "plan" / "cni").glob("*.json"))
    assert list((tmp_path / "plan" / "manifests").glob("*.yaml"))


def test_plan_is_byte_identical_across_runs(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    a = _plan_cli("--stack", "prod", "--out", str(first))
    b = _plan_cli("--stack", "prod", "--out", str(second))
    assert a.returncode == b.returncode == 0
    assert _tree_digest(first) == _tree_digest(second)
    assert a.stdout.replace(str(first), "") == b.stdout.replace(str(second), "")


def test_plan_prints_a_tree_and_counts():
    done = _plan_cli("--stack", "dev", "--out", "build/plan/dev")
    assert done.returncode == 0, done.stderr
    assert "pulumi:pulumi:Stack" in done.stdout and "eks-multus:index:MultusNodeGroup" in done.stdout
    # The second zone (control plane only) adds its private and public subnets, route table and associations.
    # + the ENI agent's ConfigMap and DaemonSet (issue 14); + the address capacity ConfigMap, the pods' address
    # policy and binding, and the taint remover's node-status policy and binding (issue 14 item 3).
    assert "Resources: 76 to create" in done.stdout
    assert "    aws: 41" in done.stdout and "    kubernetes: 26" in done.stdout and "    pulumi: 1" in done.stdout


def test_bad_config_exits_1_with_key_named_errors_and_no_traceback(tmp_path):
    text = (STACKS / "Pulumi.dev.yaml").read_text()
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(
        text.replace("rangeEnd: 100.64.30.100", "rangeEnd: 100.64.40.1").replace("instanceType: m5.large", "instanceType: m5.larg")
    )
    done = _plan_cli("--config", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "eks-multus:networks[0].ipam.rangeEnd: 100.64.40.1 is outside subnet 100.64.0.0/19" in done.stderr
    assert "eks-multus:nodeGroups[0].instanceType: `m5.larg` is not a known EC2 instance type; did you mean m5.large" in done.stderr
    assert not (tmp_path / "out").exists(), "nothing is written for a refused config"


def test_bad_config_registers_nothing():
    from plan.runner import ProgramError, run_program
    from tests.helpers import stack_flat

    flat = stack_flat("dev")
    flat["eks-multus:networks"][0]["type"] = "macvlan"
    with pytest.raises(ProgramError) as info:
        run_program(flat, "dev")
    assert "eks-multus:networks[0].type: macvlan cannot work on EC2" in str(info.value)


def test_unreadable_yaml_is_reported_not_raised(tmp_path):
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text("config:\n  aws:region: [unclosed\n")
    done = _plan_cli("--config", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: {bad}: stack config has 1 error:\n  - Pulumi.broken.yaml, line 2: not valid YAML: " in done.stderr
    assert "expected ',' or ']'" in done.stderr
    assert "eks-multus:" not in done.stderr, "a file-level problem is not a config key"


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare(1) is not installed")
def test_plan_needs_no_network(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("unshare -n needs root")
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "plan", "--stack", "prod", "--out", str(tmp_path / "p"), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_outputs_are_scalars_a_consumer_can_use():
    outputs = planned("prod").outputs
    assert outputs["clusterName"] == "eks-multus-prod"
    assert outputs["multusSubnetCidrs"] == {
        "multus-a": "100.64.0.0/21",
        "multus-c": "100.64.8.0/21",
        "direct-a": "100.64.16.0/22",
        "direct-c": "100.64.20.0/22",
    }
    assert set(outputs["nodeGroupAsgNames"]) == {"multus-a", "multus-c"}
    assert outputs["networks"]["default/ipvlan-a"]["annotation"] == "default/ipvlan-a"
    assert outputs["kubeconfig"] == "[secret]"
    assert outputs["vpcId"].startswith("vpc-")


def test_test_stack_objects():
    objs = kubernetes_objects(planned("static-l3"))
    nads = [o for o in objs if o["kind"] == "NetworkAttachmentDefinition"]
    assert sorted(o["metadata"]["name"] for o in nads) == ["media", "signal-static"]
    assert all(o["metadata"]["namespace"] == "telco" for o in nads)


def test_warnings_are_printed_and_do_not_stop_the_plan(tmp_path, monkeypatch, capsys):
    """A rule in `components.core.advice.RULES` reaches the user as a `warning:` line; the plan still writes."""
    from components.core import advice
    from components.core.errors import ConfigIssue
    from plan.__main__ import main

    def rule(cfg):
        yield ConfigIssue("cluster.kubernetesVersion", f"{cfg.cluster.kubernetes_version} is a test warning", "nothing to do")

    monkeypatch.setattr(advice, "RULES", [rule])
    assert main(["--stack", "dev", "--out", str(tmp_path), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: eks-multus:cluster.kubernetesVersion: " in err and "is a test warning; nothing to do" in err
    assert err.count("is a test warning") == 1, err  # the program's log, printed once (not also by the root logger)
    assert (tmp_path / "resources.json").exists()


def test_unknown_stack_lists_the_stacks_that_exist(tmp_path):
    done = _plan_cli("--stack", "nope", "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "there is no stack `nope`" in done.stderr and "stacks: dev, prod" in done.stderr
    assert "CONFIG=" in done.stderr


def test_stack_and_config_together_are_refused(tmp_path):
    done = _plan_cli("--stack", "prod", "--config", str(TEST_STACKS / "Pulumi.byo-vpc.yaml"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "not both" in done.stderr
    assert not (tmp_path / "out").exists()


def test_make_passes_stack_only_when_given():
    """`make plan CONFIG=...` must not add the default `--stack dev` (that would be refused as both)."""
    recipe = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "-m plan" in line)
    assert "$(if $(STACK),--stack $(STACK))" in recipe
    assert "STACK ?=" not in (ROOT / "Makefile").read_text()


def test_a_committed_secret_still_plans_with_a_note(tmp_path):
    text = (TEST_STACKS / "Pulumi.byo-cluster.yaml").read_text()
    start, end = text.index("      kubeconfig: |"), text.index("  eks-multus:vpc:")
    path = tmp_path / "Pulumi.byo-cluster.yaml"
    path.write_text(
        text[:start] + "      kubeconfig:\n        secure: v1:AAAABBBBCCCC\n" + text[end:] + "  eks-multus:tags:\n    secure: v1:x\n"
    )
    done = _plan_cli("--config", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "note: eks-multus:cluster.existing.kubeconfig: is encrypted; the offline plan uses a stand-in" in done.stderr
    assert "note: eks-multus:tags: is encrypted as a whole; the offline plan uses its default" in done.stderr
    assert '"secure"' not in (tmp_path / "out" / "resources.json").read_text()
