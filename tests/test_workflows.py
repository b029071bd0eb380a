"""The GitHub workflows pass actionlint (with shellcheck on every `run:` block)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import ROOT

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # the venv's shellcheck
    return subprocess.run([str(BIN / "actionlint"), "-no-color", *map(str, files)], capture_output=True, text=True, env=env, cwd=ROOT)


def test_the_three_workflows_exist():
    assert [w.name for w in WORKFLOWS] == ["ci.yml", "plan-diff.yml", "preview.yml"]


def test_workflows_pass_actionlint():
    done = actionlint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_and_shellcheck_do_catch_mistakes(tmp_path):
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: pulumi/actions@v7\n        with:\n          comand: preview\n"
        "      - run: rm -rf $DIR/*\n"
    )
    done = actionlint(bad)
    assert done.returncode == 1
    assert "comand" in done.stdout, done.stdout  # an input pulumi/actions@v7 does not have
    assert "SC2115" in done.stdout, done.stdout  # shellcheck ran on the run: block


def test_ci_runs_the_readme_test_command_and_previews_comment_with_least_privilege():
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    assert any(s.get("run") == "bash .ci/run" for s in ci["jobs"]["test"]["steps"])
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    preview = yaml.safe_load((ROOT / ".github/workflows/preview.yml").read_text())
    assert preview["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    step = next(s for s in preview["jobs"]["preview"]["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert step["with"]["command"] == "preview" and step["with"]["comment-on-pr"] is True
    diff = yaml.safe_load((ROOT / ".github/workflows/plan-diff.yml").read_text())
    assert "id-token" not in diff["permissions"]  # no cloud credentials
    assert "make -C" in (ROOT / ".github/workflows/plan-diff.yml").read_text()
