"""The eks-multus-eni-ip plugin on its own: CNI protocol answers, errors, Python 3.9, stdlib only.

With the agent (tests/plugin/test_eni_agent.py) the plugin is a thin client; these need no agent.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT

PLUGIN = ROOT / "components" / "core" / "assets" / "eks-multus-eni-ip"
AGENT = ROOT / "components" / "core" / "assets" / "eks-multus-eni-agent"
PREV = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/run/netns/p"}], "ips": [{"address": "100.64.30.10/19"}]}


def run(command: str, conf: dict | str | None, tmp_path: Path, **env: str) -> tuple[int, dict | None, str]:
    base = {
        "PATH": os.environ["PATH"],
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "ctr-1",
        "CNI_IFNAME": "net1",
        "CNI_NETNS": "/run/netns/p",
        "EKS_MULTUS_AGENT_SOCKET": str(tmp_path / "no-agent.sock"),
    }
    stdin = conf if isinstance(conf, str) else json.dumps(conf or {})
    done = subprocess.run([str(PLUGIN)], input=stdin, capture_output=True, text=True, env={**base, **env}, timeout=60)
    out = json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, out, done.stderr


def test_version_lists_every_version_the_model_allows(tmp_path):
    from components.core.model import CniVersion

    rc, out, _ = run("VERSION", None, tmp_path)
    assert rc == 0 and out["cniVersion"] == "1.1.0"
    assert set(CniVersion.__args__) <= set(out["supportedVersions"])


@pytest.mark.parametrize(
    ("command", "stdin", "env", "code", "words"),
    [
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo"}, {}, 7, "chain this plugin after ipvlan"),
        ("ADD", {"cniVersion": "0.2.0", "name": "n", "master": "lo", "prevResult": PREV}, {}, 1, "unsupported cniVersion"),
        ("ADD", "{not json", {}, 6, "not JSON"),
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "prevResult": PREV}, {}, 7, "`master` is required"),
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": PREV}, {"CNI_CONTAINERID": ""}, 4, "CNI_CONTAINERID"),
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": PREV}, {}, 11, "agent not ready"),
        ("DEL", {"cniVersion": "1.0.0", "name": "n", "master": "lo"}, {}, 11, "agent not ready"),
        ("STATUS", {"cniVersion": "1.1.0", "name": "n"}, {}, 50, "agent not ready"),
        ("CHECK", {"cniVersion": "1.0.0", "name": "n", "master": "lo"}, {}, 7, "prevResult"),
        ("NOPE", {"cniVersion": "1.0.0", "name": "n"}, {}, 4, "unknown CNI_COMMAND"),
    ],
)
def test_errors_are_cni_error_objects(tmp_path, command, stdin, env, code, words):
    rc, out, err = run(command, stdin, tmp_path, **env)
    assert rc == 1
    assert out["code"] == code and words in out["msg"], out
    assert set(out) == {"cniVersion", "code", "msg", "details"}
    assert "Traceback" not in err


def test_add_without_ipv4_passes_the_result_through_without_the_agent(tmp_path):
    prev = {"cniVersion": "1.0.0", "ips": [{"address": "fd00::10/64"}]}
    rc, out, _ = run("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": prev}, tmp_path)
    assert rc == 0 and out == prev


def test_an_agent_that_hangs_up_is_a_retryable_error(tmp_path):
    import socket
    import threading

    path = str(tmp_path / "agent.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def hang_up():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    rc, out, _ = run(
        "ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": PREV}, tmp_path, EKS_MULTUS_AGENT_SOCKET=path
    )
    server.close()
    assert rc == 1 and out["code"] == 11 and "before answering" in out["msg"], out


@pytest.mark.parametrize("path", [PLUGIN, AGENT])
def test_is_an_executable_for_the_system_python(path):
    assert os.access(path, os.X_OK)
    assert path.read_text().splitlines()[0] == "#!/usr/bin/python3"


def test_the_plugin_costs_milliseconds_not_an_aws_cli(tmp_path):
    """No AWS CLI, no boto: one interpreter start and a socket round trip."""
    import time

    start = time.perf_counter()
    for _ in range(5):
        run("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": PREV}, tmp_path)
    assert (time.perf_counter() - start) / 5 < 0.5
