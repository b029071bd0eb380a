#!/bin/bash
# Usage: venv.sh VENV REQUIREMENTS_FILE...
# Creates the virtual environment VENV (when missing) with $PYTHON (default
# python3) and installs the given requirement files into it.
#
# Debian splits the standard library: the `venv` module ships with python3, but
# `ensurepip` (which `python3 -m venv` runs to put pip into the new environment)
# ships in python3-venv, and pip itself in python3-pip. So, in order:
#   1. `python3 -m venv VENV` when ensurepip is there;
#   2. otherwise `python3 -m venv --without-pip VENV`, and the system pip
#      installs into it with `pip --python VENV/bin/python` (pip >= 22.3;
#      Debian 12 ships 23.0.1); pip's externally-managed check (PEP 668)
#      applies to the system interpreter, not to a virtual environment;
#   3. otherwise, as root with apt-get, install python3-venv and do 1;
#   4. otherwise stop and say which package to install.
set -euo pipefail
venv=$1
shift
python=${PYTHON:-python3}
pip_flags=(--quiet --disable-pip-version-check)

# ensurepip.version() reads the bundled pip wheel: false when the package is absent or an empty directory.
has_ensurepip() { "$python" -c 'import ensurepip; ensurepip.version()' >/dev/null 2>&1; }
has_system_pip() { "$python" -m pip --version >/dev/null 2>&1; }

if [[ ! -x $venv/bin/python ]]; then
  rm -rf "$venv"
  if ! has_ensurepip && ! has_system_pip && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    minor=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    echo "venv: $python has neither ensurepip nor pip; installing python${minor}-venv" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "python${minor}-venv" >/dev/null
  fi
  if has_ensurepip; then
    "$python" -m venv "$venv"
  elif has_system_pip; then
    echo "venv: $python has no ensurepip (Debian: python3-venv); using the system pip" >&2
    "$python" -m venv --without-pip "$venv"
  else
    echo "venv: $python can make no virtual environment with pip: install python3-venv or python3-pip (Debian), or set PYTHON to another interpreter" >&2
    exit 1
  fi
fi

if "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  pip=("$venv/bin/python" -m pip)
else
  pip=("$python" -m pip --python "$venv/bin/python")
fi
for requirements in "$@"; do
  "${pip[@]}" install "${pip_flags[@]}" -r "$requirements"
done
