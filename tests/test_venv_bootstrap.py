"""scripts/venv.sh (what `make plan` and `make test` run) on Debian without python3-venv.

Debian splits Python: the `venv` module is in libpython3.X-stdlib, `ensurepip` (which
`python3 -m venv` runs) in python3.X-venv, pip in python3-pip (`dpkg -L python3.11-venv`:
only /usr/lib/python3.11/ensurepip). The machine is simulated by hiding those files from
Debian's own /usr/bin/python3 in a private mount namespace (the packages stay installed
for everyone else): a copy of the standard library without ensurepip, and of
dist-packages without pip, bind-mounted over the originals.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "scripts" / "venv.sh"
PYTHON = Path("/usr/bin/python3")


def _debian_python() -> tuple[str, Path] | None:
    """(X.Y, stdlib dir) of Debian's system python3, or None when this is not such a machine."""
    if not PYTHON.exists() or shutil.which("unshare") is None or shutil.which("dpkg") is None:
        return None
    out = subprocess.run(
        [str(PYTHON), "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"], capture_output=True, text=True
    )
    minor = out.stdout.strip()
    stdlib = Path(f"/usr/lib/python{minor}")
    owned = subprocess.run(["dpkg", "-S", str(stdlib / "venv" / "__init__.py")], capture_output=True, text=True)
    if out.returncode or not (stdlib / "ensurepip").is_dir() or owned.returncode:
        return None
    return minor, stdlib


def _can_unshare() -> bool:
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


DEBIAN = _debian_python()
pytestmark = pytest.mark.skipif(
    DEBIAN is None or not _can_unshare(), reason="needs Debian's python3 with python3-venv, dpkg and unshare -m (root)"
)


@pytest.fixture(scope="module")
def hidden(tmp_path_factory) -> Path:
    """Copies of the stdlib without ensurepip and of dist-packages without pip."""
    assert DEBIAN is not None
    _, stdlib = DEBIAN
    root = tmp_path_factory.mktemp("debian")
    shutil.copytree(stdlib, root / "stdlib", symlinks=True, ignore=shutil.ignore_patterns("ensurepip"))
    dist = Path("/usr/lib/python3/dist-packages")
    shutil.copytree(dist, root / "dist", symlinks=True, ignore=shutil.ignore_patterns("pip", "pip-*"))
    return root


def _run(hidden: Path, without_pip: bool, *cmd: str, env: dict | None = None) -> subprocess.CompletedProcess:
    assert DEBIAN is not None
    _, stdlib = DEBIAN
    mounts = f"mount --bind {hidden / 'stdlib'} {stdlib}"
    if without_pip:
        mounts += f" && mount --bind {hidden / 'dist'} /usr/lib/python3/dist-packages"
    script = f'{mounts} && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "bash", "-c", script, "sim", *cmd],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _wheel(folder: Path) -> Path:
    """A one-module wheel, so pip has something real to install without a network."""
    path = folder / "eksm_probe-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("eksm_probe.py", "VALUE = 42\n")
        z.writestr("eksm_probe-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: eksm-probe\nVersion: 1.0\n")
        z.writestr("eksm_probe-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr("eksm_probe-1.0.dist-info/RECORD", "")
    (folder / "req.txt").write_text(f"{path}\n")
    return folder / "req.txt"


def test_the_simulation_hides_what_the_packages_ship(hidden):
    plain = _run(hidden, False, str(PYTHON), "-m", "venv", str(hidden / "probe"))
    assert plain.returncode != 0 and "ensurepip is not" in plain.stdout + plain.stderr  # Debian's own message
    nopip = _run(hidden, True, str(PYTHON), "-m", "pip", "--version")
    assert nopip.returncode != 0 and "No module named pip" in nopip.stderr


def test_without_python3_venv_the_system_pip_fills_the_venv(hidden, tmp_path):
    req = _wheel(tmp_path)
    venv = tmp_path / "venv"
    done = _run(hidden, False, "env", f"PYTHON={PYTHON}", "bash", str(SCRIPT), str(venv), str(req))
    assert done.returncode == 0, done.stderr
    assert "using the system pip" in done.stderr
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import eksm_probe, sys; print(eksm_probe.VALUE, sys.prefix)"], capture_output=True, text=True
    )
    assert check.stdout.split() == ["42", str(venv)]
    # a second file (make test after make plan) goes into the same environment
    again = _run(hidden, False, "env", f"PYTHON={PYTHON}", "bash", str(SCRIPT), str(venv), str(req))
    assert again.returncode == 0, again.stderr


def test_without_venv_and_pip_it_says_what_to_install(hidden, tmp_path):
    req = _wheel(tmp_path)
    # a stand-in apt-get that only records what it was asked (the real one would change this machine)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bin_dir / "apt-get").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHON": str(PYTHON)}
    done = _run(hidden, True, "bash", str(SCRIPT), str(tmp_path / "venv"), str(req), env=env)
    assert done.returncode == 1
    assert "install python3-venv or python3-pip" in done.stderr
    minor, _ = DEBIAN
    # as root with apt it first tries Debian's package for this interpreter (dpkg -L python3.11-venv: ensurepip)
    assert f"install -y -qq --no-install-recommends python{minor}-venv" in log.read_text()


def test_a_python_with_ensurepip_makes_a_normal_venv(tmp_path):
    req = _wheel(tmp_path)
    done = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "venv"), str(req)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "venv" / "bin" / "pip").exists()
