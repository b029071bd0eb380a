"""The eks-multus-eni-ip plugin: a bash relay to the node agent, which answers the CNI protocol.

The relay runs as the node runs it; the CNI logic (config checks, error objects) is the agent's, so
the error cases run against a real agent process (tests/plugin/agent_rig.py) and the "agent not
ready" ones against a port nobody listens on.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.plugin.agent_rig import Ec2Standin, Node, free_port

PLUGIN = ROOT / "components" / "core" / "assets" / "eks-multus-eni-ip"
AGENT = ROOT / "components" / "core" / "assets" / "eks-multus-eni-agent"
PREV = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/run/netns/p"}], "ips": [{"address": "100.64.30.10/19"}]}
NO_AGENT = {"EKS_MULTUS_AGENT_PORT": str(free_port())}
needs_ip = pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2 (the agent resolves the master's MAC)")


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agent")
    ec2 = Ec2Standin(folder / "ec2")
    eni_id = ec2.world({"node": {"primary": "100.64.0.10"}})["node"]
    node = Node(folder / "node", ec2, eni_id)
    node.start()
    yield {"EKS_MULTUS_AGENT_PORT": str(node.port)}
    node.close()
    ec2.close()


def run(command: str, conf: dict | str | None, tmp_path: Path, plugin: Path = PLUGIN, **env: str) -> tuple[int, dict | None, str]:
    base = {
        "PATH": os.environ["PATH"],
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "ctr-1",
        "CNI_IFNAME": "net1",
        "CNI_NETNS": "/run/netns/p",
        **NO_AGENT,
    }
    stdin = conf if isinstance(conf, str) else json.dumps(conf or {})
    done = subprocess.run([str(plugin)], input=stdin, capture_output=True, text=True, env={**base, **env}, timeout=60)
    out = json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, out, done.stderr


def test_version_lists_every_version_the_model_allows(tmp_path):
    from components.core.model import CniVersion

    rc, out, _ = run("VERSION", None, tmp_path)
    assert rc == 0 and out["cniVersion"] == "1.1.0"
    assert set(CniVersion.__args__) <= set(out["supportedVersions"])


NEEDS_AGENT = "agent"


@pytest.mark.parametrize(
    ("command", "stdin", "env", "code", "words"),
    [
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo"}, NEEDS_AGENT, 7, "chain this plugin after ipvlan"),
        ("ADD", {"cniVersion": "0.2.0", "name": "n", "master": "lo", "prevResult": PREV}, NEEDS_AGENT, 1, "unsupported cniVersion"),
        ("ADD", "{not json", NEEDS_AGENT, 6, "not JSON"),
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "prevResult": PREV}, NEEDS_AGENT, 7, "`master` is required"),
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": PREV}, {"CNI_CONTAINERID": ""}, 4, "CNI_CONTAINERID"),
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": PREV}, {}, 11, "agent not ready"),
        ("DEL", {"cniVersion": "1.0.0", "name": "n", "master": "lo"}, {}, 11, "agent not ready"),
        ("STATUS", {"cniVersion": "1.1.0", "name": "n"}, {}, 50, "agent not ready"),
        ("CHECK", {"cniVersion": "1.0.0", "name": "n", "master": "lo"}, NEEDS_AGENT, 7, "prevResult"),
        ("NOPE", {"cniVersion": "1.0.0", "name": "n"}, NEEDS_AGENT, 4, "unknown CNI_COMMAND"),
    ],
)
def test_errors_are_cni_error_objects(request, tmp_path, command, stdin, env, code, words):
    if env == NEEDS_AGENT or "CNI_CONTAINERID" in env:
        if shutil.which("ip") is None:
            pytest.skip("needs iproute2 (the agent resolves the master's MAC)")
        env = {**request.getfixturevalue("agent"), **({} if env == NEEDS_AGENT else env)}
    rc, out, err = run(command, stdin, tmp_path, **env)
    assert rc == 1
    assert out["code"] == code and words in out["msg"], out
    assert set(out) == {"cniVersion", "code", "msg", "details"}
    assert "Traceback" not in err


def test_a_port_that_is_not_a_number_is_a_config_error(tmp_path):
    rc, out, _ = run("DEL", {"cniVersion": "1.0.0", "name": "n"}, tmp_path, EKS_MULTUS_AGENT_PORT="http")
    assert rc == 1 and out["code"] == 7 and "must be a number" in out["msg"], out


def test_an_unreachable_agent_answers_with_the_config_s_cni_version_and_names_the_port(tmp_path):
    rc, out, err = run("ADD", {"cniVersion": "0.4.0", "name": "n", "master": "lo", "prevResult": PREV}, tmp_path)
    port = NO_AGENT["EKS_MULTUS_AGENT_PORT"]
    assert rc == 1 and out["cniVersion"] == "0.4.0" and f"127.0.0.1:{port}" in out["msg"], out
    assert err == f"eks-multus-eni-ip: {out['msg']}: connection refused\n"


@needs_ip
def test_add_without_ipv4_passes_the_result_through(tmp_path, agent):
    prev = {"cniVersion": "1.0.0", "ips": [{"address": "fd00::10/64"}]}
    rc, out, _ = run("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": prev}, tmp_path, **agent)
    assert rc == 0 and out == prev


@needs_ip
def test_the_agent_prints_exactly_what_the_python_plugin_printed(tmp_path, agent):
    """Same bytes as before the relay: json.dumps with its default separators, one newline; for a 0.x
    config the IPAM result's IP carries `version: "4"` (CNI spec 0.4.0, "IPAM plugin result")."""
    conf = {"cniVersion": "0.4.0", "name": "pfx", "type": "ipvlan", "master": "lo"}
    conf["ipam"] = {"type": "eks-multus-eni-prefix", "subnet": "100.64.0.0/19", "gateway": "100.64.0.1", "prefixCount": 0}
    base = {"PATH": os.environ["PATH"], "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", **agent}
    link = tmp_path / "eks-multus-eni-prefix"
    link.symlink_to(PLUGIN)
    done = subprocess.run([str(link)], input=json.dumps(conf), capture_output=True, text=True, env=base, timeout=60)
    msg = "ipam.prefixCount must be an integer from 1 to 64"
    assert done.stdout == '{"cniVersion": "0.4.0", "code": 7, "msg": "' + msg + '", "details": ""}\n'
    assert done.stderr == f"eks-multus-eni-ip: {msg}\n" and done.returncode == 1
    done = subprocess.run([str(PLUGIN)], input="", capture_output=True, text=True, env={**base, "CNI_COMMAND": "VERSION"})
    versions = '["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]'
    assert done.stdout == '{"cniVersion": "1.1.0", "supportedVersions": ' + versions + "}\n" and done.returncode == 0


def _listener(behaviour) -> tuple[socket.socket, int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve():
        conn, _ = server.accept()
        behaviour(conn)

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def test_an_agent_that_hangs_up_is_a_retryable_error(tmp_path):
    def hang_up(conn):
        conn.recv(65536)
        conn.close()

    server, port = _listener(hang_up)
    rc, out, _ = run(
        "ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": PREV}, tmp_path, EKS_MULTUS_AGENT_PORT=str(port)
    )
    server.close()
    assert rc == 1 and out["code"] == 11 and "before answering" in out["msg"], out


def test_an_agent_that_never_answers_is_a_retryable_error(tmp_path):
    held = []
    server, port = _listener(held.append)
    env = {"EKS_MULTUS_AGENT_PORT": str(port), "EKS_MULTUS_AGENT_TIMEOUT": "1"}
    rc, out, _ = run("DEL", {"cniVersion": "1.0.0", "name": "n", "master": "lo"}, tmp_path, **env)
    server.close()
    assert rc == 1 and out["code"] == 11 and out["msg"] == "agent did not answer", out


def test_the_relay_frames_its_whole_invocation(tmp_path):
    """What reaches the agent: role, the CNI_ variables and the config, byte for byte (UTF-8 included)."""
    got = []

    def record(conn):
        data = b""
        while data.count(b"\n") < 8:
            data += conn.recv(65536)
        head = data.split(b"\n", 8)
        while len(head[8]) < int(head[7]):
            head[8] += conn.recv(65536)
        got.append(head)
        conn.sendall(b'0\n3\n5\nerr{"a"}')
        conn.close()

    server, port = _listener(record)
    conf = '{"cniVersion": "1.0.0", "name": "n\u00e9t", "pad": "' + "x" * 200_000 + '"}\n'  # read in blocks, whole
    env = {"EKS_MULTUS_AGENT_PORT": str(port), "CNI_ARGS": "K8S_POD_NAME=p;K8S_POD_NAMESPACE=d"}
    done = subprocess.run(
        [str(PLUGIN)], input=conf.encode(), capture_output=True, env={"PATH": os.environ["PATH"], "CNI_COMMAND": "ADD", **env}
    )
    server.close()
    head = got[0]
    assert head[:7] == [b"eks-multus-cni/1", b"eks-multus-eni-ip", b"ADD", b"", b"", b"", env["CNI_ARGS"].encode()]
    assert int(head[7]) == len(conf.encode()) and head[8] == conf.encode()
    assert (done.returncode, done.stdout, done.stderr) == (0, b'{"a"}', b"err")


@needs_ip
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the relay as another user")
def test_a_peer_that_is_not_root_is_refused(agent):
    """The loopback port is open to every local user; the agent admits only root's sockets
    (the owner of the connection's client end in /proc/net/tcp), as the 0600 unix socket did."""
    with tempfile.TemporaryDirectory(prefix="eks-multus-relay-") as folder:  # tmp_path's parents are 0700
        os.chmod(folder, 0o755)
        relay = Path(folder) / "eks-multus-eni-ip"
        shutil.copy(PLUGIN, relay)
        relay.chmod(0o755)
        env = {"PATH": "/usr/bin:/bin", "CNI_COMMAND": "DEL", "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", **agent}
        conf = json.dumps({"cniVersion": "1.0.0", "name": "n"})
        nobody = subprocess.run([str(relay)], input=conf, capture_output=True, text=True, env=env, user=65534, group=65534, timeout=30)
        root = subprocess.run([str(relay)], input=conf, capture_output=True, text=True, env=env, timeout=30)
    out = json.loads(nobody.stdout)
    assert nobody.returncode == 1 and out["code"] == 104 and "uid 65534" in out["msg"], out
    assert root.returncode == 0 and root.stdout == "", root.stdout  # root's DEL of nothing: idempotent


@pytest.mark.parametrize(("path", "shebang"), [(PLUGIN, "#!/bin/bash"), (AGENT, "#!/usr/bin/python3")])
def test_is_an_executable_for_the_node_s_interpreter(path, shebang):
    assert os.access(path, os.X_OK)
    assert path.read_text().splitlines()[0] == shebang


NO_PREV = {"cniVersion": "1.0.0", "name": "n", "master": "lo"}
"""An ADD the agent itself refuses (code 7, no prevResult): a whole round trip, and no EC2 call."""


def test_the_relay_starts_no_process(tmp_path, agent):
    """Builtins only: the relay's one process execs nothing and forks nothing (strace -f), for a whole round
    trip to the agent."""
    if shutil.which("strace") is None:
        pytest.skip("needs strace")
    trace = tmp_path / "trace"
    env = {"PATH": os.environ["PATH"], "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c", "CNI_IFNAME": "net1", **agent}
    cmd = ["strace", "-f", "-qq", "-e", "trace=execve,fork,vfork,clone,clone3", "-o", str(trace), str(PLUGIN)]
    done = subprocess.run(cmd, input=json.dumps(NO_PREV), capture_output=True, text=True, env=env, timeout=60)
    out = json.loads(done.stdout)
    assert done.returncode == 1 and out["code"] == 7 and "chain this plugin after ipvlan" in out["msg"], out  # the agent's answer
    calls = [line for line in trace.read_text().splitlines() if line.strip()]
    assert len(calls) == 1 and "execve(" in calls[0] and str(PLUGIN) in calls[0], calls


def test_the_plugin_costs_milliseconds_not_an_aws_cli(tmp_path, agent):
    """No AWS CLI, no interpreter: one bash start and a socket round trip to the agent."""
    import time

    start = time.perf_counter()
    for _ in range(5):
        rc, out, _ = run("ADD", NO_PREV, tmp_path, **agent)
        assert rc == 1 and "chain this plugin after ipvlan" in out["msg"], out  # answered by the agent
    assert (time.perf_counter() - start) / 5 < 0.5


@needs_ip
def test_the_config_s_agent_port_is_where_the_relay_connects(tmp_path, agent):
    """`agentPort` in the plugin's config (what NetworkAttachments writes for a non-default eniAgent.port)."""
    conf = {"cniVersion": "1.0.0", "name": "n", "master": "lo", "agentPort": int(agent["EKS_MULTUS_AGENT_PORT"])}
    rc, out, _ = run("ADD", conf, tmp_path, EKS_MULTUS_AGENT_PORT="")
    assert rc == 1 and out["code"] == 7 and "chain this plugin after ipvlan" in out["msg"], out  # the agent answered
