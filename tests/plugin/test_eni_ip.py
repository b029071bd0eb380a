"""The eks-multus-eni-ip plugin on its own: CNI protocol answers, errors, Python 3.9, stdlib only.

The EC2 paths run in the conformance harness (real ipvlan, moto); these need
neither and run on any machine with `ip`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conformance.node_standin import imds_server
from tests.helpers import ROOT

PLUGIN = ROOT / "components" / "core" / "assets" / "eks-multus-eni-ip"
VERMIN = Path(sys.executable).parent / "vermin"
PREV = {"cniVersion": "1.0.0", "interfaces": [{"name": "net1", "sandbox": "/run/netns/p"}], "ips": [{"address": "100.64.30.10/19"}]}


def run(command: str, conf: dict | str | None, tmp_path: Path, **env: str) -> tuple[int, dict | None, str]:
    base = {
        "PATH": os.environ["PATH"],
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "ctr-1",
        "CNI_IFNAME": "net1",
        "CNI_NETNS": "/run/netns/p",
        "EKS_MULTUS_AWS_CLI": str(tmp_path / "no-aws-cli"),  # any EC2 call would fail loudly
        "EKS_MULTUS_IMDS_ENDPOINT": "http://127.0.0.1:9",
    }
    stdin = conf if isinstance(conf, str) else json.dumps(conf or {})
    done = subprocess.run([str(PLUGIN)], input=stdin, capture_output=True, text=True, env={**base, **env}, timeout=60)
    out = json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, out, done.stderr


def records(tmp_path: Path) -> list[str]:
    folder = tmp_path / "state"
    return sorted(p.name for p in folder.glob("*.json")) if folder.exists() else []


def conf(tmp_path: Path, **extra) -> dict:
    return {"cniVersion": "1.0.0", "name": "net", "type": "eks-multus-eni-ip", "master": "lo", "dataDir": str(tmp_path / "state"), **extra}


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
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "no-such-if", "prevResult": PREV}, {}, 7, "not found on this node"),
        ("ADD", {"cniVersion": "1.0.0", "name": "n", "master": "lo", "prevResult": PREV}, {}, 100, "IMDSv2"),
        ("CHECK", {"cniVersion": "1.0.0", "name": "n", "master": "lo"}, {}, 7, "prevResult"),
        ("NOPE", {"cniVersion": "1.0.0", "name": "n"}, {}, 4, "unknown CNI_COMMAND"),
    ],
)
def test_errors_are_cni_error_objects(tmp_path, command, stdin, env, code, words):
    if isinstance(stdin, dict):
        stdin = {**stdin, "dataDir": str(tmp_path / "state")}
    rc, out, _ = run(command, stdin, tmp_path, **env)
    assert rc == 1
    assert out["code"] == code and words in out["msg"], out
    assert set(out) == {"cniVersion", "code", "msg", "details"}
    assert not records(tmp_path)


def test_add_without_ipv4_passes_the_result_through_without_calling_ec2(tmp_path):
    prev = {"cniVersion": "1.0.0", "ips": [{"address": "fd00::10/64"}]}
    rc, out, _ = run("ADD", conf(tmp_path, prevResult=prev), tmp_path)
    assert rc == 0 and out == prev


def test_del_of_something_never_added_succeeds_without_calling_ec2(tmp_path):
    rc, out, _ = run("DEL", conf(tmp_path), tmp_path)
    assert rc == 0 and out is None


@pytest.fixture
def imds():
    """IMDS stand-in that maps the loopback's MAC to an ENI."""
    mac = Path("/sys/class/net/lo/address").read_text().strip()
    base = f"network/interfaces/macs/{mac}/"
    items = {"placement/region": "ap-northeast-2", base + "device-number": "1", base + "interface-id": "eni-0123456789abcdef0"}
    server = imds_server(0, lambda: items)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2")
def test_a_failed_assign_leaves_no_state_and_says_so(tmp_path, imds):
    rc, out, _ = run("ADD", conf(tmp_path, prevResult=PREV), tmp_path, EKS_MULTUS_IMDS_ENDPOINT=imds)
    assert rc == 1 and out["code"] == 50 and "AWS CLI" in out["msg"]
    assert records(tmp_path) == []  # recorded before the call, removed after it failed


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2")
def test_max_attempts_is_validated(tmp_path, imds):
    rc, out, _ = run("ADD", conf(tmp_path, prevResult=PREV, maxAttempts=0), tmp_path, EKS_MULTUS_IMDS_ENDPOINT=imds)
    assert rc == 1 and out["code"] == 7 and "maxAttempts" in out["msg"]


def test_runs_on_python_3_9_by_static_analysis():
    done = subprocess.run([str(VERMIN), "-t=3.9-", "--no-tips", "--violations", str(PLUGIN)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_version_checker_does_catch_newer_syntax(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("def f(x):\n    match x:\n        case 1:\n            return dict(a=1) | {'b': 2}\n")
    done = subprocess.run([str(VERMIN), "-t=3.9-", "--no-tips", "--violations", str(newer)], capture_output=True, text=True)
    assert done.returncode != 0 and "3.10" in done.stdout


def test_imports_only_the_standard_library():
    # In a fresh interpreter: CPython 3.11.7's ast.parse can fail with "AST constructor recursion depth
    # mismatch" after other tests change the recursion limit (fixed in later 3.11 releases).
    probe = (
        "import ast, json, sys\n"
        "tree = ast.parse(open(sys.argv[1]).read())\n"
        "mods = {a.name.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}\n"
        "mods |= {n.module.split('.')[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}\n"
        "print(json.dumps(sorted(mods)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(PLUGIN)], capture_output=True, text=True, check=True)
    modules = set(json.loads(done.stdout))
    assert modules and modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)


def test_is_an_executable_for_the_system_python():
    assert os.access(PLUGIN, os.X_OK)
    assert PLUGIN.read_text().splitlines()[0] == "#!/usr/bin/python3"


def fake_aws_cli(tmp_path: Path, body: str) -> Path:
    """A stand-in `aws` that runs `body` (sh) and answers `{}`; the plugin finds it via EKS_MULTUS_AWS_CLI."""
    fake = tmp_path / "aws"
    fake.write_text(f"#!/bin/sh\n{body}\necho '{{}}'\n")
    fake.chmod(0o755)
    return fake


def write_record(tmp_path: Path, container: str, address: str) -> None:
    """What ADD would have recorded for `container`'s net1."""
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    record = {"containerID": container, "ifname": "net1", "eni": "eni-0123456789abcdef0", "region": "eu-west-1", "addresses": [address]}
    (state / f"{container}-net1.json").write_text(json.dumps(record))


def test_aws_cli_runs_one_at_a_time_per_node(tmp_path):
    """Each CLI process counts against the Multus pod's memory limit, so concurrent pods queue for it."""
    log = tmp_path / "cli.log"
    fake = fake_aws_cli(tmp_path, f"echo start $(date +%s.%N) >> {log}\nsleep 0.4\necho end $(date +%s.%N) >> {log}")
    procs = []
    for i in range(3):
        write_record(tmp_path, f"ctr-{i}", f"100.64.0.{10 + i}")
        env = {
            "PATH": os.environ["PATH"],
            "CNI_COMMAND": "DEL",
            "CNI_CONTAINERID": f"ctr-{i}",
            "CNI_IFNAME": "net1",
            "EKS_MULTUS_AWS_CLI": str(fake),
        }
        procs.append(subprocess.Popen([str(PLUGIN)], stdin=subprocess.PIPE, env=env, text=True))
    for p in procs:  # all three have their config before any finishes
        p.stdin.write(json.dumps(conf(tmp_path)))
        p.stdin.close()
    for p in procs:
        assert p.wait(timeout=30) == 0
    events = [(float(t), kind) for kind, t in (line.split() for line in log.read_text().splitlines())]
    events.sort()
    assert [kind for _, kind in events] == ["start", "end"] * 3, events  # never two CLI processes at once
    assert records(tmp_path) == []  # each DEL released and dropped its record


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2")
def test_an_unexpected_failure_is_still_a_cni_error_object(tmp_path, imds):
    blocked = tmp_path / "a-file"
    blocked.write_text("where the record folder should be")
    rc, out, err = run("ADD", conf(tmp_path, prevResult=PREV, dataDir=str(blocked / "state")), tmp_path, EKS_MULTUS_IMDS_ENDPOINT=imds)
    assert rc == 1 and out["code"] == 999 and out["msg"] == "internal error", out
    assert "Traceback" not in err


def test_a_corrupt_record_means_nothing_known_to_release(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "ctr-1-net1.json").write_text("{not json")
    rc, out, _ = run("DEL", conf(tmp_path), tmp_path)
    assert rc == 0 and out is None


def test_gc_releases_only_attachments_the_runtime_no_longer_has(tmp_path):
    log = tmp_path / "cli.log"
    fake = fake_aws_cli(tmp_path, f'echo "$*" >> {log}')
    for i in (1, 2):
        write_record(tmp_path, f"ctr-{i}", f"100.64.0.{i}")
    gc = conf(tmp_path, cniVersion="1.1.0", **{"cni.dev/valid-attachments": [{"containerID": "ctr-1", "ifname": "net1"}]})
    rc, out, _ = run("GC", gc, tmp_path, EKS_MULTUS_AWS_CLI=str(fake))
    assert rc == 0 and out is None
    calls = log.read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith("ec2 unassign-private-ip-addresses --network-interface-id eni-0123456789abcdef0")
    assert "--private-ip-addresses 100.64.0.2 " in calls[0]
    assert records(tmp_path) == ["ctr-1-net1.json"]  # the live attachment keeps its record
