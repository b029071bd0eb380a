"""checkov over the planned manifests of every stack: no finding without a stated reason.

Each stack (stacks/ and tests/stacks/) is planned under mocks and written the
way `make plan` writes it; checkov (pinned in requirements-scan.txt, its own
venv, path in $CHECKOV) scans all manifests in one run. A failed check is a
test failure; a skipped one must come from our own `checkov.io/skip<N>:
<ID>=<reason>` annotation with a real reason (checkov fills in "No comment
provided" when the reason is missing, checkov/kubernetes/kubernetes_utils.py
get_skipped_checks). A second run over the same files with the annotations
removed proves every waiver is still needed, so a fix upstream or here makes a
stale waiver fail the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from components.core.hardening import SKIP_ANNOTATION_PREFIX, check_waiver, waivers_of
from plan.render import write_plan
from tests.conftest import IN_CI
from tests.helpers import STACKS, TEST_STACKS, planned

STACK_NAMES = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in [*STACKS.glob("Pulumi.*.yaml"), *TEST_STACKS.glob("Pulumi.*.yaml")]
)


def _checkov() -> str:
    found = os.environ.get("CHECKOV") or shutil.which("checkov")
    if found and Path(found).exists():
        return found
    if IN_CI:
        pytest.fail("checkov not found: `make test` installs it into .venv-scan and sets CHECKOV")
    pytest.skip("checkov not installed: run `make scan` or `make test` (they set up .venv-scan)")


def _scan(folder: Path) -> dict:
    """One checkov run over <folder>/<stack>/*.yaml (one JSON report for all stacks)."""
    cmd = [_checkov(), "--framework", "kubernetes", "--output", "json", "--compact", "--directory", str(folder)]
    # BC_SKIP_MAPPING: no call to the vendor's guideline API, which fails offline with a traceback on
    # stderr (checkov/main.py treats it as --skip-download; skips then work by CKV ids only, as ours are).
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0, report["results"]["parsing_errors"]
    return report


@pytest.fixture(scope="module")
def planned_manifests(tmp_path_factory) -> Path:
    """<tmp>/<stack>/*.yaml: the manifests/ folder of every stack's plan, as `make plan` writes it."""
    plans, root = tmp_path_factory.mktemp("plans"), tmp_path_factory.mktemp("manifests")
    for name in STACK_NAMES:
        write_plan(planned(name), plans / name)
        shutil.copytree(plans / name / "manifests", root / name)
    return root


@pytest.fixture(scope="module")
def report(planned_manifests) -> dict:
    return _scan(planned_manifests)


def _objects(root: Path) -> dict[str, dict]:
    """`<stack>/<file>` -> the object in it (one object per file)."""
    return {f"{p.parent.name}/{p.name}": yaml.safe_load(p.read_text()) for p in sorted(root.glob("*/*.yaml"))}


def _key(check: dict) -> str:
    """`<stack>/<file>` of a result (checkov's file_path is `/<scanned dir>/<stack>/<file>`)."""
    path = Path(check["file_path"])
    return f"{path.parent.name}/{path.name}"


def test_every_stack_is_scanned(report, planned_manifests):
    scanned = {_key(c) for kind in ("passed_checks", "failed_checks", "skipped_checks") for c in report["results"][kind]}
    workloads = {k for k, o in _objects(planned_manifests).items() if o["kind"] in ("DaemonSet", "Deployment")}
    assert {k.split("/")[0] for k in scanned} == set(STACK_NAMES)
    assert workloads and workloads <= scanned
    assert report["summary"]["passed"] > 0


def test_no_finding_without_a_justification(report):
    failed = sorted(f"{_key(c)}: {c['check_id']} {c['check_name']}" for c in report["results"]["failed_checks"])
    assert not failed, "unjustified checkov findings (fix them, or waive with hardening.waive and a reason):\n" + "\n".join(failed)


def test_every_skip_is_ours_and_has_a_one_line_reason(report, planned_manifests):
    objects = _objects(planned_manifests)
    for c in report["results"]["skipped_checks"]:
        reason = c["check_result"].get("suppress_comment", "")
        assert reason and reason != "No comment provided", f"{_key(c)}: {c['check_id']} skipped without a reason"
        check_waiver(c["check_id"], reason)
        assert waivers_of(objects[_key(c)]).get(c["check_id"]) == reason, f"{_key(c)}: {c['check_id']} skipped by something else"


def test_every_waiver_is_still_needed(report, planned_manifests, tmp_path):
    """Without the annotations, exactly the waived checks fail, object by object."""
    waived: dict[str, set[str]] = {}
    for key, obj in _objects(planned_manifests).items():
        reasons = waivers_of(obj)
        if reasons:
            waived[key] = set(reasons)
        annotations = obj["metadata"].get("annotations") or {}
        for k in [k for k in annotations if k.startswith(SKIP_ANNOTATION_PREFIX)]:
            del annotations[k]
        out = tmp_path / key
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump(obj))
    bare = _scan(tmp_path)
    failing: dict[str, set[str]] = defaultdict(set)
    for c in bare["results"]["failed_checks"]:
        failing[_key(c)].add(c["check_id"])
    assert waived, "no waivers at all: the stack runs privileged CNI daemons, so this cannot be right"
    assert dict(failing) == waived
    # The waived run skipped exactly what the bare run failed: nothing else hides behind an annotation.
    assert report["summary"]["skipped"] == bare["summary"]["failed"]


def test_counts_are_reported(report, capsys):
    """The summary the closing note quotes (visible with -s)."""
    with capsys.disabled():
        print("\ncheckov", report["summary"]["checkov_version"], {k: report["summary"][k] for k in ("passed", "failed", "skipped")})
    assert report["summary"]["checkov_version"] == _pinned_version()


def _pinned_version() -> str:
    from tests.helpers import ROOT

    for line in (ROOT / "requirements-scan.txt").read_text().splitlines():
        if line.startswith("checkov=="):
            return line.split("==", 1)[1]
    raise AssertionError("checkov is not pinned in requirements-scan.txt")
