"""The taint remover as its pod runs it, against an HTTPS stand-in of the API server.

The node's files (status file, /sys/class/net, Multus's config, the service
account) are a temporary tree the program is pointed at with its EKS_MULTUS_*
variables; the stand-in (tests/plugin/apiserver_standin.py) applies the JSON
patches the way kube-apiserver does and records every request.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.core import readiness
from tests.conftest import IN_CI
from tests.helpers import ROOT
from tests.plugin.apiserver_standin import ApiServer, serve, write_tls_files

PROGRAM = ROOT / "components" / "core" / "assets" / "eks-multus-taint-remover"
NODE = "ip-10-20-1-10.ap-northeast-2.compute.internal"
OTHER = "ip-10-20-1-11.ap-northeast-2.compute.internal"
TOKEN = "token-of-the-taint-remover"
OURS = {"key": readiness.NOT_READY_TAINT_KEY, "value": readiness.NOT_READY_TAINT_VALUE, "effect": readiness.NOT_READY_TAINT_EFFECT}
DEDICATED = {"key": "dedicated", "value": "net", "effect": "NoSchedule"}
MACS = {"ens6": "02:1a:2b:3c:4d:01", "ens7": "02:1a:2b:3c:4d:02"}
INTERFACES = [
    {"deviceIndex": 1, "name": "multus-a", "kernel": "ens6", "mac": MACS["ens6"], "eni": "eni-0a1b2c3d4e5f60001"},
    {"deviceIndex": 2, "name": "direct-a", "kernel": "ens7", "mac": MACS["ens7"], "eni": "eni-0a1b2c3d4e5f60002"},
]
IFF_UP, IFF_BROADCAST, IFF_MULTICAST = 0x1, 0x2, 0x1000


def _node(name: str, taints: list[dict] | None) -> dict:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "labels": {"kubernetes.io/hostname": name, "eks-multus.io/multus": "true"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"providerID": f"aws:///ap-northeast-2a/i-{abs(hash(name)) % 10**12:012d}"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    if taints is not None:
        node["spec"]["taints"] = taints
    return node


class Node:
    """The node's side: the files the program reads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sysfs = root / "sys" / "class" / "net"
        self.status = root / "run" / "eks-multus" / "network.json"
        self.multus = root / "etc" / "cni" / "net.d" / "00-multus.conf"
        self.sa = root / "serviceaccount"
        for folder in (self.sysfs, self.status.parent, self.multus.parent, self.sa):
            folder.mkdir(parents=True, exist_ok=True)
        self.link("lo", "00:00:00:00:00:00", up=True, state="unknown")
        self.link("ens5", "02:1a:2b:3c:4d:00", up=True)

    def link(self, name: str, mac: str, up: bool = True, state: str | None = None) -> None:
        folder = self.sysfs / name
        folder.mkdir(exist_ok=True)
        (folder / "address").write_text(mac + "\n")
        flags = IFF_BROADCAST | IFF_MULTICAST | (IFF_UP if up else 0)
        (folder / "flags").write_text(f"{flags:#x}\n")
        (folder / "operstate").write_text((state or ("up" if up else "down")) + "\n")

    def write_status(self, ready: bool, reason: str = "", interfaces: list[dict] | None = None) -> None:
        doc = {
            "ready": ready,
            "reason": reason,
            "updated": "2026-12-01T14:00:00Z",
            "interfaces": INTERFACES if interfaces is None else interfaces,
        }
        self.status.write_text(json.dumps(doc))

    def multus_writes_config(self) -> None:
        self.multus.write_text(json.dumps({"cniVersion": "0.3.1", "name": "multus-cni-network", "type": "multus-shim"}))

    def all_ready(self) -> None:
        for kernel, mac in MACS.items():
            self.link(kernel, mac, up=True)
        self.write_status(True)
        self.multus_writes_config()


@contextlib.contextmanager
def remover_world(folder: Path, nodes: list[dict], **extra_env: str):
    """A node (service account, sysfs, status files), the API server stand-in over TLS holding `nodes`, and the
    environment the remover's pod gives it."""
    node = Node(folder / "node")
    ca, cert, key = write_tls_files(folder / "tls")
    (node.sa / "ca.crt").write_bytes(ca.read_bytes())
    (node.sa / "token").write_text(TOKEN + "\n")
    (node.sa / "namespace").write_text("kube-system")
    api = ApiServer(token=TOKEN)
    for item in nodes:
        api.add_node(item)
    server = serve(api, cert, key)
    env = {
        "PATH": os.environ["PATH"],
        "NODE_NAME": NODE,
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(server.server_address[1]),
        "EKS_MULTUS_SERVICE_ACCOUNT_DIR": str(node.sa),
        "EKS_MULTUS_SYSFS_NET": str(node.sysfs),
        "EKS_MULTUS_STATUS_FILE": str(node.status),
        "EKS_MULTUS_MULTUS_CONFIG": str(node.multus),
        **extra_env,
    }
    try:
        yield node, api, env
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def world(tmp_path):
    with remover_world(tmp_path, [_node(NODE, [DEDICATED, OURS]), _node(OTHER, [OURS])]) as made:
        yield made


def once(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROGRAM), "--once"], env=env, capture_output=True, text=True, timeout=60)


def taints(api: ApiServer, name: str = NODE) -> list[dict]:
    return api.nodes[name]["spec"].get("taints", [])


def annotation(api: ApiServer, name: str = NODE) -> str | None:
    return api.nodes[name]["metadata"].get("annotations", {}).get(readiness.STATUS_ANNOTATION)


def test_ready_node_loses_only_its_own_taint(world):
    node, api, env = world
    node.all_ready()
    done = once(env)
    assert done.returncode == 0, done.stderr
    assert taints(api) == [DEDICATED]
    assert taints(api, OTHER) == [OURS], "another node's taint is not ours to lift"
    assert annotation(api).startswith("ready: 2 multus interface(s) up (multus-a, direct-a)")
    node_path = f"/api/v1/nodes/{NODE}"
    assert {(r.method, r.path) for r in api.requests} == {
        ("GET", node_path),
        ("PATCH", node_path),
        ("POST", "/api/v1/namespaces/default/events"),
    }
    (patch,) = [r for r in api.requests if r.method == "PATCH"]
    assert patch.content_type == "application/json-patch+json" and patch.authorization == f"Bearer {TOKEN}"
    assert patch.body[0] == {"op": "test", "path": "/spec/taints", "value": [DEDICATED, OURS]}
    touched = {op["path"] for op in patch.body if op["op"] != "test"}
    assert touched == {"/spec/taints", "/metadata/annotations/eks-multus.io~1network-status"}
    (event,) = api.events
    assert event["type"] == "Normal" and event["reason"] == "NetworkReady"
    assert event["involvedObject"] == {"apiVersion": "v1", "kind": "Node", "name": NODE, "uid": f"uid-{NODE}"}


def test_last_taint_removed_leaves_no_taint_list(world):
    node, api, env = world
    api.change_node(NODE, lambda n: n["spec"].update(taints=[OURS]))
    node.all_ready()
    assert once(env).returncode == 0
    assert "taints" not in api.nodes[NODE]["spec"]


@pytest.mark.parametrize(
    "break_it,words",
    [
        (
            lambda n: n.write_status(False, "CreateNetworkInterface in subnet-0abc: UnauthorizedOperation"),
            "boot step failed: CreateNetworkInterface",
        ),
        (
            lambda n: n.link("ens7", MACS["ens7"], up=False),
            "direct-a (device index 2, eni-0a1b2c3d4e5f60002, 02:1a:2b:3c:4d:02): link ens7 is down",
        ),
        (lambda n: n.link("ens7", MACS["ens7"], up=True, state="lowerlayerdown"), "link ens7 is down"),
        (
            lambda n: (n.sysfs / "ens6" / "address").write_text("02:ff:ff:ff:ff:ff\n"),
            "multus-a (device index 1, eni-0a1b2c3d4e5f60001, 02:1a:2b:3c:4d:01): no link with this MAC",
        ),
        (lambda n: n.multus.unlink(), "Multus has not written"),
        (lambda n: n.multus.write_text(""), "is not readable JSON"),
        (lambda n: n.status.unlink(), "has not written"),
        (lambda n: n.status.write_text('{"ready": tru'), "cannot read"),
    ],
    ids=[
        "boot-step-failed",
        "link-down",
        "no-carrier",
        "mac-missing",
        "multus-config-missing",
        "multus-config-empty",
        "no-status-file",
        "corrupt-status",
    ],
)
def test_not_ready_keeps_the_taint_and_says_why(world, break_it, words):
    node, api, env = world
    node.all_ready()
    break_it(node)
    done = once(env)
    assert done.returncode == 0, done.stderr
    assert taints(api) == [DEDICATED, OURS]
    assert words in annotation(api)
    assert words in done.stderr
    (event,) = api.events
    assert event["type"] == "Warning" and event["reason"] == "NetworkNotReady" and words in event["message"]
    assert event["metadata"]["namespace"] == "default" and event["involvedObject"]["name"] == NODE
    patches = [r for r in api.requests if r.method == "PATCH"]
    assert all(op["path"].startswith("/metadata/annotations") for p in patches for op in p.body), "the taint list is not touched"


def test_after_a_reboot_the_taint_comes_back_while_not_ready(world):
    # The kubelet applies --register-with-taints only when it creates the Node (kubelet_node_status.go,
    # tryRegisterWithAPIServer reconciles an existing Node without taints), so after a reboot the remover puts it back.
    node, api, env = world
    api.change_node(NODE, lambda n: n["spec"].update(taints=[DEDICATED]))
    node.write_status(False, "attach eni-0a1b2c3d4e5f60001: timed out after 60s")
    assert once(env).returncode == 0
    assert taints(api) == [DEDICATED, OURS]
    api.change_node(NODE, lambda n: n["spec"].pop("taints"))
    assert once(env).returncode == 0
    assert taints(api) == [OURS]
    last = [r for r in api.requests if r.method == "PATCH"][-1]
    assert last.body[0]["path"] == "/metadata/resourceVersion", "with no taint list to test, the patch tests the resourceVersion"


def test_a_node_that_never_ran_the_boot_step_gets_no_taint_added(world):
    # A node from before the readiness gate has no status file; tainting it would stall a rolling upgrade.
    _, api, env = world
    api.change_node(NODE, lambda n: n["spec"].update(taints=[DEDICATED]))
    assert once(env).returncode == 0
    assert taints(api) == [DEDICATED]
    assert "has not written" in annotation(api)


def test_a_concurrent_taint_change_is_kept(world):
    node, api, env = world
    node.all_ready()
    late = {"key": "maintenance", "value": "1", "effect": "NoExecute"}
    api.before_patch = lambda server, name: server.change_node(name, lambda n: n["spec"]["taints"].insert(0, late))
    done = once(env)
    assert done.returncode == 0, done.stderr
    assert [r.status for r in api.requests if r.method == "PATCH"] == [422, 200]
    assert taints(api) == [late, DEDICATED]
    assert "changed meanwhile (HTTP 422" in done.stderr


def test_nothing_to_do_is_only_a_read(world):
    node, api, env = world
    node.all_ready()
    assert once(env).returncode == 0
    api.requests.clear()
    api.events.clear()
    assert once(env).returncode == 0
    assert [(r.method, r.status) for r in api.requests] == [("GET", 200)]
    assert not api.events


def test_a_rejected_token_changes_nothing(world):
    node, api, env = world
    node.all_ready()
    (node.sa / "token").write_text("stale-token")
    done = once(env)
    assert done.returncode == 1
    assert "HTTP 401" in done.stderr
    assert taints(api) == [DEDICATED, OURS] and annotation(api) is None


def test_an_untrusted_server_certificate_is_refused(world, tmp_path):
    node, api, env = world
    node.all_ready()
    other_ca, _, _ = write_tls_files(tmp_path / "other")
    (node.sa / "ca.crt").write_bytes(other_ca.read_bytes())
    done = once(env)
    assert done.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in done.stderr
    assert not api.requests


def test_missing_settings_are_named(world):
    _, _, env = world
    done = once({k: v for k, v in env.items() if k not in ("NODE_NAME", "KUBERNETES_SERVICE_HOST")})
    assert done.returncode == 2
    assert "NODE_NAME is not set" in done.stderr and "KUBERNETES_SERVICE_HOST is not set" in done.stderr


def _wait(predicate, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_the_loop_lifts_the_taint_when_multus_arrives_then_stays_quiet(world, tmp_path):
    node, api, env = world
    log = (tmp_path / "remover.log").open("w")
    for kernel, mac in MACS.items():
        node.link(kernel, mac)
    node.write_status(True)
    proc = subprocess.Popen([sys.executable, str(PROGRAM)], env={**env, "EKS_MULTUS_INTERVAL_SECONDS": "0.1"}, stderr=log, text=True)
    try:
        _wait(lambda: (annotation(api) or "").startswith("Multus has not written"))
        assert OURS in taints(api)
        node.multus_writes_config()
        _wait(lambda: OURS not in taints(api))
        # The lift's own writes may trail the taint by a moment under load: count from when they stop.
        settled, quiet_since, deadline = len(api.requests), time.monotonic(), time.monotonic() + 5
        while time.monotonic() - quiet_since < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
            if len(api.requests) != settled:
                settled, quiet_since = len(api.requests), time.monotonic()
        time.sleep(1.0)  # ten rounds of local checks
        assert len(api.requests) == settled, "an unchanged node costs no API requests"
        node.link("ens6", MACS["ens6"], up=False)
        _wait(lambda: OURS in taints(api))
        assert "link ens6 is down" in annotation(api)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


REAL_LINKS = """
set -e
mount -t sysfs sysfs /sys
ip link add ens6 address {mac} type veth peer name peer6
ip link set ens6 up
{python} {program} --check && exit 9
ip link set peer6 up
sleep 0.3
{python} {program} --check
ip link set ens6 down
{python} {program} --check && exit 9
exit 0
"""


def test_reads_the_kernels_own_sysfs(tmp_path):
    # A real link in a network namespace of its own, with sysfs mounted there: flags is "0x1003" and
    # operstate "lowerlayerdown" while the veth peer is down (no carrier), "up" once it is up.
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "-m", "true"], capture_output=True).returncode != 0:
        if IN_CI:
            pytest.fail("needs root and unshare")
        pytest.skip("needs root and unshare")
    node = Node(tmp_path / "node")
    node.write_status(True, interfaces=[INTERFACES[0]])
    node.multus_writes_config()
    env = {
        "PATH": os.environ["PATH"],
        "EKS_MULTUS_STATUS_FILE": str(node.status),
        "EKS_MULTUS_MULTUS_CONFIG": str(node.multus),
    }
    script = REAL_LINKS.format(mac=MACS["ens6"], python=sys.executable, program=PROGRAM)
    done = subprocess.run(["unshare", "-n", "-m", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    first, second, third = done.stdout.strip().splitlines()
    assert first == "not ready: multus-a (device index 1, eni-0a1b2c3d4e5f60001, 02:1a:2b:3c:4d:01): link ens6 is down"
    assert second == "ready: 1 multus interface(s) up (multus-a), Multus config written"
    assert third == first


def test_defaults_are_the_readiness_contract():
    text = PROGRAM.read_text()
    taint = f"{readiness.NOT_READY_TAINT_KEY}={readiness.NOT_READY_TAINT_VALUE}:{readiness.NOT_READY_TAINT_EFFECT}"
    assert f'DEFAULT_TAINT = "{taint}"' in text
    assert f'DEFAULT_STATUS_FILE = "{readiness.STATUS_FILE}"' in text
    assert f'DEFAULT_MULTUS_CONFIG = "{readiness.MULTUS_CONFIG_FILE}"' in text
    assert f'DEFAULT_STATUS_ANNOTATION = "{readiness.STATUS_ANNOTATION}"' in text


def test_the_patches_it_sends_pass_the_admission_policy(world):
    policy_check = pytest.importorskip("tests.pure.test_admission_policy")
    node, api, env = world
    node.write_status(False, "no free ENI slot")
    assert once(env).returncode == 0
    node.all_ready()
    assert once(env).returncode == 0
    node.link("ens6", MACS["ens6"], up=False)
    assert once(env).returncode == 0
    api.change_node(NODE, lambda n: n["spec"].pop("taints"))
    assert once(env).returncode == 0
    assert len(api.admitted) == 4
    policy = policy_check._policy("nodes")
    for change in api.admitted:
        assert policy_check.admit(policy, change.new, change.old, node=NODE) is None
        assert policy_check.admit(policy, change.new, change.old, node=OTHER) is not None
    event_policy = policy_check._policy("events")
    assert api.events and all(policy_check.admit(event_policy, e, None, node=NODE) is None for e in api.events)
