"""`pip install` of the repository into a fresh virtualenv, and a plan of a program importing it.

Offline: the wheel is built from this checkout (`pip wheel --no-build-isolation --no-index`,
with the pinned setuptools and wheel of requirements-dev.txt), and installed with
`--no-index --find-links` into a new venv. The heavy runtime dependencies (pulumi, the
providers' SDKs, pydantic) are this test venv's own, made visible to the new venv by a
`.pth` file, the offline equivalent of `--system-site-packages` for a venv parent: pip
still resolves the distribution's pinned requirements against them, so a pin that does
not match requirements.txt fails the install.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from components import package
from tests.helpers import ROOT


def _pins(text: str) -> list[str]:
    return sorted(line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip() and not line.startswith("-r"))


def test_pyproject_matches_the_requirements_and_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["name"] == "eks-multus"
    assert project["project"]["version"] == package.VERSION
    assert sorted(project["project"]["dependencies"]) == _pins((ROOT / "requirements.txt").read_text())
    assert project["tool"]["setuptools"]["package-dir"] == {"eks_multus": "components"}
    backend = project["build-system"]["requires"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9.]+", r) for r in backend)
    dev = _pins((ROOT / "requirements-dev.txt").read_text())
    assert set(backend) <= set(dev)  # what builds the wheel offline here


def _run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(cmd, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_fresh_venv_installs_the_distribution_and_plans_a_program_with_it(tmp_path):
    import importlib.util

    assert importlib.util.find_spec("wheel") is not None, "building the wheel needs requirements-dev.txt's wheel (make test installs it)"
    # Built from a copy of what the distribution is made of: setuptools writes egg-info and build/ next to the source.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "components", source / "components", ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(wheels), str(source)], tmp_path)
    (wheel,) = wheels.glob("eks_multus-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip())
    ours = [p for p in sys.path if p.endswith("site-packages")] or [sysconfig.get_paths()["purelib"]]
    (site / "_shared_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    _run([*pip, "--python", str(python), "install", "--no-index", "--find-links", str(wheels), "-q", "eks-multus"], tmp_path)

    # Installed under its own name, with its data files; the project layout's name is not importable.
    probe = (
        "import importlib.util, eks_multus, eks_multus.args;"
        "from eks_multus.core import limits, userdata;"
        "print(eks_multus.__file__); print(importlib.util.find_spec('components'));"
        "print(len(limits.known_instance_types()) > 100, len(userdata.asset('eks-multus-eni-ip')) > 100)"
    )
    out = _run([str(python), "-c", probe], tmp_path).stdout.splitlines()
    assert out[0].startswith(str(site)), out
    assert out[1] == "None"
    assert out[2] == "True True"  # package data: the instance table and the node-side programs
    assert wheel.name.startswith(f"eks_multus-{package.VERSION}-")

    # The plan runner from the checkout, the program importing the installed package.
    plan_out = tmp_path / "plan"
    _run([str(python), "-m", "plan", "--main", "examples/library", "--quiet", "--out", str(plan_out)], ROOT)
    rows = (plan_out / "resources.json").read_text()
    assert "eks-multus:index:MultusVpc" in rows and "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition" in rows
    used = _run(
        [str(python), "-c", "import sys, runpy; sys.argv=['x']; import eks_multus.vpc as v; print(v.__file__)"],
        ROOT,
    ).stdout.strip()
    assert used.startswith(str(site)), used  # from the checkout too, eks_multus is the installed one
