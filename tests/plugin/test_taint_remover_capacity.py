"""The taint remover advertises its node's routable addresses, as its pod runs it, against the API server stand-in.

The capacity file is the ConfigMap eks-multus makes (address_resources.capacity_config of the stack);
the node's side is the stand-in's kubelet: its status update copies capacity into allocatable, and a
re-registration without a device-manager checkpoint zeroes every extended resource
(tests/plugin/apiserver_standin.py cites the kubelet source for both). What the scheduler then does with
allocatable is Kubernetes' documented behaviour ("Assign Extended Resources to a Container": a pod whose
requests do not fit any node's allocatable stays Pending), not ours to simulate.
"""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.core.address_resources import capacity_config
from tests.helpers import load
from tests.plugin.apiserver_standin import ApiServer
from tests.plugin.test_taint_remover import NODE, OTHER, OURS, PROGRAM, TOKEN, _node, once, remover_world

R = "addresses.eks-multus.io/ens6"
NATIVE = {"cpu": "2", "memory": "7869740Ki", "pods": "20", "ephemeral-storage": "20959212Ki", "hugepages-2Mi": "0"}


def _labelled(name: str, group: str | None) -> dict:
    node = _node(name, [OURS])
    if group is not None:
        node["metadata"]["labels"]["eks-multus.io/node-group"] = group
    # what the kubelet reports; the VPC CNI's security-groups-for-pods resource is someone else's extended resource
    node["status"]["capacity"] = NATIVE | {"vpc.amazonaws.com/pod-eni": "9"}
    node["status"]["allocatable"] = dict(node["status"]["capacity"])
    return node


@pytest.fixture
def world(tmp_path):
    capacity = tmp_path / "capacity" / "capacity.json"
    capacity.parent.mkdir()
    capacity.write_text(capacity_config(load("dev")))
    nodes = [_labelled(NODE, "multus-a"), _labelled(OTHER, "multus-a")]
    with remover_world(tmp_path, nodes, EKS_MULTUS_CAPACITY_FILE=str(capacity)) as (node, api, env):
        node.all_ready()
        yield node, api, env, capacity


def status(api: ApiServer, name: str = NODE) -> dict:
    return api.nodes[name]["status"]


def test_the_node_groups_addresses_become_capacity_and_then_allocatable(world):
    _, api, env, _ = world
    before = copy.deepcopy(api.nodes[NODE])
    done = once(env)
    assert done.returncode == 0, done.stderr
    (patch,) = [r for r in api.requests if r.path.endswith("/status")]
    assert patch.method == "PATCH" and patch.content_type == "application/json-patch+json" and patch.status == 200
    assert patch.body == [{"op": "add", "path": "/status/capacity/addresses.eks-multus.io~1ens6", "value": "9"}]
    assert status(api)["capacity"] == before["status"]["capacity"] | {R: "9"}
    assert R not in status(api)["allocatable"]  # until the kubelet's next status update
    api.kubelet_status_update(NODE)
    assert status(api)["allocatable"][R] == "9" and status(api)["allocatable"]["cpu"] == "2"
    assert R not in status(api, OTHER)["capacity"]  # only its own node
    assert "advertised address capacity" in done.stderr and f"{R}=9" in done.stderr


def test_every_write_passes_the_node_status_policy(world):
    _, api, env, capacity = world
    policy_check = pytest.importorskip("tests.pure.test_address_resources")
    assert once(env).returncode == 0
    capacity.write_text('{"nodeGroupLabel": "eks-multus.io/node-group", "nodeGroups": {}}\n')
    assert once(env).returncode == 0
    writes = [a for a in api.admitted if a.subresource == "status"]
    assert len(writes) == 2
    for write in writes:
        assert policy_check._by_remover(write.new, write.old) is None
        assert policy_check._by_remover(write.new, write.old, node=OTHER) is not None


def test_nothing_to_change_is_no_status_patch(world):
    _, api, env, _ = world
    assert once(env).returncode == 0
    api.requests.clear()
    assert once(env).returncode == 0
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in api.requests] == [("GET", NODE)]  # one read serves both


def test_a_resource_the_config_no_longer_lists_is_removed_and_others_are_kept(world):
    _, api, env, capacity = world
    assert once(env).returncode == 0
    api.kubelet_status_update(NODE)
    capacity.write_text('{"nodeGroupLabel": "eks-multus.io/node-group", "nodeGroups": {}}\n')
    assert once(env).returncode == 0
    assert R not in status(api)["capacity"] and status(api)["capacity"]["vpc.amazonaws.com/pod-eni"] == "9"
    api.kubelet_status_update(NODE)
    assert R not in status(api)["allocatable"]


def test_a_node_of_another_group_or_without_the_label_advertises_nothing(world):
    _, api, env, _ = world
    api.change_node(NODE, lambda n: n["metadata"]["labels"].update({"eks-multus.io/node-group": "system"}))
    assert once(env).returncode == 0
    api.change_node(NODE, lambda n: n["metadata"]["labels"].pop("eks-multus.io/node-group"))
    assert once(env).returncode == 0
    assert not [r for r in api.requests if r.path.endswith("/status")]


def test_an_unreadable_capacity_file_changes_nothing(world):
    _, api, env, capacity = world
    assert once(env).returncode == 0
    capacity.write_text("{not json")
    done = once(env)
    assert done.returncode == 0 and "cannot read" in done.stderr
    assert status(api)["capacity"][R] == "9"


def test_without_a_capacity_file_the_remover_only_manages_the_taint(world):
    _, api, env, capacity = world
    capacity.unlink()
    assert once(env).returncode == 0
    assert not [r for r in api.requests if r.path.endswith("/status")]
    assert not any(t["key"] == OURS["key"] for t in api.nodes[NODE]["spec"].get("taints", []))


def test_a_status_patch_keeps_the_spec_as_the_status_strategy_does(world):
    # the stand-in itself: PATCH .../status ignores spec changes (nodeStatusStrategy.PrepareForUpdate)
    _, api, _, _ = world
    code, _ = api.handle(
        "PATCH",
        f"/api/v1/nodes/{NODE}/status",
        {"authorization": f"Bearer {TOKEN}", "content-type": "application/json-patch+json"},
        b'[{"op": "add", "path": "/spec/unschedulable", "value": true}, {"op": "add", "path": "/status/capacity/example.com~1dongle", "value": "4"}]',
    )
    assert code == 200
    assert "unschedulable" not in api.nodes[NODE]["spec"] and status(api)["capacity"]["example.com/dongle"] == "4"


def _wait(predicate, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("checkpoint_present", [False, True])
def test_the_capacity_comes_back_after_the_kubelet_zeroes_it(world, checkpoint_present, tmp_path: Path):
    _, api, env, _ = world
    env = env | {"EKS_MULTUS_INTERVAL_SECONDS": "0.2", "EKS_MULTUS_CAPACITY_RECHECK_SECONDS": "0.5"}
    log = (tmp_path / "remover.log").open("w")
    proc = subprocess.Popen([sys.executable, str(PROGRAM)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert _wait(lambda: status(api)["capacity"].get(R) == "9")
        api.kubelet_status_update(NODE)
        patches = len([r for r in api.requests if r.path.endswith("/status")])
        api.kubelet_reregister(NODE, checkpoint_present=checkpoint_present)
        if checkpoint_present:
            assert status(api)["capacity"][R] == "9"
        else:
            assert status(api)["capacity"][R] == "0" and status(api)["capacity"]["vpc.amazonaws.com/pod-eni"] == "0"
            assert _wait(lambda: status(api)["capacity"].get(R) == "9")
            api.kubelet_status_update(NODE)
            assert status(api)["allocatable"][R] == "9"
            # the other extended resource is its owner's to restore (the VPC CNI's), not ours
            assert status(api)["capacity"]["vpc.amazonaws.com/pod-eni"] == "0"
        time.sleep(1.2)
        again = len([r for r in api.requests if r.path.endswith("/status")])
        assert again == patches + (0 if checkpoint_present else 1)  # read back on the timer, written only when wrong
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()
