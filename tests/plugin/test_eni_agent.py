"""The node agent and its thin plugins, as the node runs them: real processes, a unix socket, the
EC2 CLI stand-in (tests/plugin/ec2_cli_standin.py, whose docstring cites the EC2 behaviour) and an
IMDSv2 stand-in (tests/plugin/agent_rig.py)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.plugin.agent_rig import PLUGIN, Node, chained_conf, ec2_state, eni, finish, prefix_conf, read_ec2

pytestmark = pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2 (the agent resolves the master's MAC)")
ENI_A, ENI_B = "eni-0aaaaaaaaaaaaaaa1", "eni-0bbbbbbbbbbbbbbb2"


@pytest.fixture
def ec2(tmp_path):
    path = tmp_path / "ec2.json"
    ec2_state(
        path,
        {ENI_A: eni("100.64.0.10", limit=10), ENI_B: eni("100.64.0.11", limit=10)},
        subnets={"100.64.0.0/19": {"prefix": ["100.64.16.0/24"], "explicit": ["100.64.30.0/24"]}},
    )
    return path


@pytest.fixture
def node(tmp_path, ec2):
    n = Node(tmp_path / "node-a", ec2, ENI_A, batchWindowSeconds=0.2)
    n.start()
    yield n
    n.close()


def writes(ec2: Path, op: str) -> list[list]:
    return [c for c in read_ec2(ec2)["calls"] if c[0] == op]


def run_all(node: Node, command: str, confs: dict[str, dict], **kw) -> dict[str, tuple[int, dict | None]]:
    procs = {cid: node.plugin(command, conf, cid, **kw) for cid, conf in confs.items()}
    return {cid: finish(p) for cid, p in procs.items()}


def test_concurrent_adds_and_dels_for_one_eni_are_one_ec2_call_each(node, ec2):
    confs = {f"ctr-{i}": chained_conf([f"100.64.30.{10 + i}"]) for i in range(9)}  # m5.large: 10 slots, 1 primary
    results = run_all(node, "ADD", confs)
    assert all(rc == 0 for rc, _ in results.values()), results
    assert results["ctr-3"][1] == confs["ctr-3"]["prevResult"]  # the chained result passes through
    assert sorted(read_ec2(ec2)["enis"][ENI_A]["addresses"]) == sorted(f"100.64.30.{10 + i}" for i in range(9))
    assigns = writes(ec2, "assign-private-ip-addresses")
    assert len(assigns) <= 2 and sum(c[2] for c in assigns) == 9, assigns
    rc, out = finish(node.plugin("ADD", chained_conf(["100.64.30.99"]), "tenth"))
    assert rc == 1 and "PrivateIpAddressLimitExceeded" in out["msg"], out  # EC2's slot limit, as a CNI error
    results = run_all(node, "DEL", confs)
    assert all(rc == 0 for rc, _ in results.values()), results
    assert read_ec2(ec2)["enis"][ENI_A]["addresses"] == []
    assert len(writes(ec2, "unassign-private-ip-addresses")) <= 3  # the tenth's clean-up, then one or two batches
    assert node.imds.credential_reads == 1  # credentials read once, handed to every CLI call


def test_del_is_idempotent_and_needs_no_ec2_call_for_an_unknown_attachment(node, ec2):
    for _ in range(2):
        rc, out = finish(node.plugin("DEL", chained_conf(["100.64.30.9"]), "never-added"))
        assert rc == 0 and out is None
    assert read_ec2(ec2)["calls"] == []


def test_throttling_is_retried_with_backoff_and_the_pod_still_starts(node, ec2):
    state = read_ec2(ec2)
    state["throttleNext"] = 2
    ec2.write_text(json.dumps(state))
    rc, out = finish(node.plugin("ADD", chained_conf(["100.64.30.20"]), "ctr-t"))
    assert rc == 0, out
    outcomes = [c[3] for c in writes(ec2, "assign-private-ip-addresses")]
    assert outcomes == ["RequestLimitExceeded", "RequestLimitExceeded", "ok"]


def test_an_empty_token_bucket_ends_in_a_retryable_cni_error(tmp_path):
    path = tmp_path / "ec2.json"
    ec2_state(path, {ENI_A: eni("100.64.0.10")}, bucket={"size": 0, "rate": 0})
    n = Node(tmp_path / "n", path, ENI_A, maxAttempts=2)
    n.start()
    try:
        rc, out = finish(n.plugin("ADD", chained_conf(["100.64.30.21"]), "ctr-x"))
    finally:
        n.close()
    assert rc == 1 and out["code"] == 11 and "throttled" in out["msg"], out


def test_an_address_moves_with_its_pod_and_a_late_del_on_the_old_node_leaves_it(tmp_path, ec2, node):
    b = Node(tmp_path / "node-b", ec2, ENI_B)
    b.start()
    try:
        assert finish(node.plugin("ADD", chained_conf(["100.64.30.30"]), "old"))[0] == 0
        assert finish(b.plugin("ADD", chained_conf(["100.64.30.30"]), "new"))[0] == 0
        enis = read_ec2(ec2)["enis"]
        assert enis[ENI_A]["addresses"] == [] and enis[ENI_B]["addresses"] == ["100.64.30.30"]
        assert finish(node.plugin("DEL", chained_conf(["100.64.30.30"]), "old"))[0] == 0
        assert read_ec2(ec2)["enis"][ENI_B]["addresses"] == ["100.64.30.30"]
    finally:
        b.close()


def test_a_lost_del_is_reconciled_from_netns_and_cni_cache(tmp_path, node, ec2):
    live, gone = tmp_path / "netns-live", tmp_path / "netns-gone"
    live.touch()
    gone.touch()
    assert finish(node.plugin("ADD", chained_conf(["100.64.30.40"]), "c-live", netns=str(live)))[0] == 0
    assert finish(node.plugin("ADD", chained_conf(["100.64.30.41"]), "c-gone", netns=str(gone)))[0] == 0
    assert finish(node.plugin("ADD", chained_conf(["100.64.30.42"]), "c-cached", netns=str(tmp_path / "x")))[0] == 0
    # libcni's cache name: <network>-<containerID>-<ifname> (containernetworking/cni libcni/api.go)
    (node.cache / "multus-cni-network-c-cached-eth0").write_text("{}")
    gone.unlink()  # the runtime tore the sandbox down; its DEL never reached the plugin
    assert node.ask({"op": "reconcile"}) == {"ok": True, "released": 1}
    assert sorted(read_ec2(ec2)["enis"][ENI_A]["addresses"]) == ["100.64.30.40", "100.64.30.42"]


def test_agent_restart_mid_batch_loses_nothing_and_leaks_nothing(tmp_path, ec2):
    n = Node(tmp_path / "n", ec2, ENI_A, batchWindowSeconds=3)
    n.start()
    try:
        live = tmp_path / "netns-live"
        live.touch()
        pending = [
            n.plugin("ADD", chained_conf(["100.64.30.50"]), "c-live", netns=str(live)),
            n.plugin("ADD", chained_conf(["100.64.30.51"]), "c-gone", netns=str(tmp_path / "no-netns")),
        ]
        deadline = time.time() + 5
        while time.time() < deadline:  # both recorded as assigning, the batch not yet sent
            records = json.loads((n.folder / "state.json").read_text())["attachments"] if (n.folder / "state.json").exists() else {}
            if len(records) == 2:
                break
            time.sleep(0.02)
        n.stop()
        for proc in pending:
            rc, out = finish(proc)
            assert rc == 1 and out["code"] == 11, out  # the runtime retries
        assert read_ec2(ec2)["calls"] == []
        n.start()
        deadline = time.time() + 15

        def settled() -> bool:  # EC2 applied the replay and the agent recorded it (a moment later)
            records = json.loads((n.folder / "state.json").read_text())["attachments"]
            on_eni = read_ec2(ec2)["enis"][ENI_A]["addresses"]
            return on_eni == ["100.64.30.50"] and all(r["phase"] == "assigned" for r in records.values())

        while time.time() < deadline and not settled():
            time.sleep(0.1)
        assert read_ec2(ec2)["enis"][ENI_A]["addresses"] == ["100.64.30.50"]  # the live pod's address is on the ENI
        records = json.loads((n.folder / "state.json").read_text())["attachments"]
        assert list(records) == ["c-live/net1"] and records["c-live/net1"]["phase"] == "assigned"
    finally:
        n.close()


def test_prefix_mode_hands_out_addresses_from_the_nodes_prefixes_without_ec2_calls_per_pod(tmp_path, node, ec2):
    role = tmp_path / "eks-multus-eni-prefix"
    role.symlink_to(PLUGIN)
    confs = {f"p-{i}": prefix_conf(count=1, most=3) for i in range(20)}
    results = run_all(node, "ADD", confs, role=role)
    assert all(rc == 0 for rc, _ in results.values()), results
    addresses = [out["ips"][0]["address"] for _, out in results.values()]
    assert len(set(addresses)) == 20 and all(a.endswith("/19") for a in addresses)
    assert results["p-0"][1]["ips"][0]["gateway"] == "100.64.0.1"
    prefixes = read_ec2(ec2)["enis"][ENI_A]["prefixes"]
    assert len(prefixes) == 2 and all(p.startswith("100.64.16.") for p in prefixes)  # from the prefix reservation first
    import ipaddress

    assert all(any(ipaddress.ip_interface(a).ip in ipaddress.ip_network(p) for p in prefixes) for a in addresses)
    assert writes(ec2, "unassign-private-ip-addresses") == []
    assert sum(1 for c in writes(ec2, "assign-private-ip-addresses")) <= 2  # one per prefix top-up, none per pod
    again = finish(node.plugin("ADD", prefix_conf(count=1, most=3), "p-5", role=role))
    assert again == results["p-5"]  # a repeated ADD gets the same address
    assert all(rc == 0 for rc, _ in run_all(node, "DEL", confs, role=role).values())
    assert json.loads((node.folder / "state.json").read_text())["attachments"] == {}


def test_prefix_mode_result_has_the_version_field_for_old_cni_versions(tmp_path, node):
    role = tmp_path / "eks-multus-eni-prefix"
    role.symlink_to(PLUGIN)
    rc, out = finish(node.plugin("ADD", prefix_conf(cni_version="0.3.1"), "p-old", role=role))
    assert rc == 0 and out["ips"][0]["version"] == "4" and out["cniVersion"] == "0.3.1"


def test_agent_not_ready_is_a_retryable_cni_error(tmp_path):
    n = Node(tmp_path / "n", tmp_path / "ec2.json", ENI_A)  # never started
    rc, out = finish(n.plugin("ADD", chained_conf(["100.64.30.60"]), "c"))
    n.close()
    assert rc == 1 and out["code"] == 11 and out["msg"].startswith("agent not ready"), out
    rc, out = finish(n.plugin("STATUS", {"cniVersion": "1.1.0", "name": "net"}, "c"))
    assert rc == 1 and out["code"] == 50


def test_missing_credentials_are_a_retryable_cni_error(tmp_path, ec2):
    n = Node(tmp_path / "n", ec2, ENI_A)
    n.imds.credentials = False
    n.start()
    try:
        rc, out = finish(n.plugin("ADD", chained_conf(["100.64.30.61"]), "c"))
        assert rc == 1 and out["code"] == 11 and out["msg"] == "credentials not yet available", out
        assert finish(n.plugin("STATUS", {"cniVersion": "1.1.0", "name": "net"}, "c"))[0] == 1
        n.imds.credentials = True
        assert finish(n.plugin("ADD", chained_conf(["100.64.30.61"]), "c"))[0] == 0
        assert finish(n.plugin("STATUS", {"cniVersion": "1.1.0", "name": "net"}, "c"))[0] == 0
    finally:
        n.close()


def test_check_and_gc(node, ec2):
    assert finish(node.plugin("ADD", chained_conf(["100.64.30.70"]), "keep"))[0] == 0
    assert finish(node.plugin("ADD", chained_conf(["100.64.30.71"]), "drop"))[0] == 0
    assert finish(node.plugin("CHECK", chained_conf(["100.64.30.70"]), "keep"))[0] == 0
    rc, out = finish(node.plugin("CHECK", chained_conf(["100.64.30.99"]), "keep"))
    assert rc == 1 and out["code"] == 102
    gc = {
        "cniVersion": "1.1.0",
        "name": "net",
        "type": "eks-multus-eni-ip",
        "cni.dev/valid-attachments": [{"containerID": "keep", "ifname": "net1"}],
    }
    assert finish(node.plugin("GC", gc, ""))[0] == 0
    assert read_ec2(ec2)["enis"][ENI_A]["addresses"] == ["100.64.30.70"]
