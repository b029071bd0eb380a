"""Every node-side program runs on a Python it does not choose: AL2023's /usr/bin/python3 (3.9, with
nothing but the standard library; the AWS CLI v2 brings its own Python) or, for the taint remover, a
stock python image. So each must parse as 3.9 and import only the standard library.

A bash program (the CNI relay) runs on the node's bash 5 (AL2023's; Debian's in the conformance VM):
it must parse (`bash -n`) and pass shellcheck (pinned in requirements-dev.txt).

One check for every program in components/core/assets, so a new one is covered without a new test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

ASSETS = ROOT / "components" / "core" / "assets"
PROGRAMS = sorted(p for p in ASSETS.iterdir() if p.is_file() and "python3" in p.read_text().splitlines()[0])
SHELL_PROGRAMS = sorted(p for p in ASSETS.iterdir() if p.is_file() and p.read_text().splitlines()[0] == "#!/bin/bash")
VERMIN = Path(sys.executable).parent / "vermin"
SHELLCHECK = Path(sys.executable).parent / "shellcheck"


def test_every_node_program_is_checked():
    names = {p.name for p in PROGRAMS}
    assert {"eks-multus-interfaces", "eks-multus-eni-agent", "eks-multus-taint-remover"} <= names, names
    assert {p.name for p in SHELL_PROGRAMS} == {"eks-multus-eni-ip"}
    assert {p.name for p in ASSETS.iterdir() if p.is_file()} == names | {p.name for p in SHELL_PROGRAMS}


@pytest.mark.parametrize("path", SHELL_PROGRAMS, ids=lambda p: p.name)
def test_bash_programs_parse_and_pass_shellcheck(path):
    done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([str(SHELLCHECK), "--shell=bash", "--severity=style", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_does_catch_mistakes(tmp_path):
    bad = tmp_path / "bad"
    bad.write_text("#!/bin/bash\nrm -rf $dir/*\n")
    done = subprocess.run([str(SHELLCHECK), "--shell=bash", str(bad)], capture_output=True, text=True)
    assert done.returncode != 0 and "SC2086" in done.stdout, done.stdout


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_runs_on_python_3_9_by_static_analysis(path):
    done = subprocess.run([str(VERMIN), "-t=3.9-", "--no-tips", "--violations", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_version_checker_does_catch_newer_syntax(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("def f(x):\n    match x:\n        case 1:\n            return dict(a=1) | {'b': 2}\n")
    done = subprocess.run([str(VERMIN), "-t=3.9-", "--no-tips", "--violations", str(newer)], capture_output=True, text=True)
    assert done.returncode != 0 and "3.10" in done.stdout


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_imports_only_the_standard_library(path):
    # Parsed in a fresh interpreter, away from anything this test process has parsed (python/cpython#106905).
    probe = (
        "import ast, json, sys\n"
        "tree = ast.parse(open(sys.argv[1]).read())\n"
        "mods = {a.name.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}\n"
        "mods |= {n.module.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}\n"
        "print(json.dumps(sorted(mods)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout))
    assert modules and modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)
