"""The node agent and its thin plugins, as the node runs them: real processes, a unix socket, the
HTTP EC2 stand-in (tests/conformance/ec2_standin.py, moto plus EC2's documented rules, cited in its
docstring) reached as the agent reaches EC2, and node_standin's IMDSv2 stand-in (tests/plugin/agent_rig.py)."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.plugin.agent_rig import PLUGIN, Ec2Standin, Node, chained_conf, finish, prefix_conf

pytestmark = pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2 (the agent resolves the master's MAC)")


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    s = Ec2Standin(tmp_path_factory.mktemp("ec2"))
    yield s
    s.close()


@pytest.fixture
def ec2(standin):
    """A world of this test's own: m5.large-sized ENIs (10 IPv4 slots) in a subnet with a prefix and an explicit
    CIDR reservation; the switches are reset after the test."""
    enis = standin.world(
        {"a": {"primary": "100.64.0.10", "limit": 10}, "b": {"primary": "100.64.0.11", "limit": 10}},
        prefix=["100.64.16.0/24"],
        explicit=["100.64.30.0/24"],
    )
    standin.a, standin.b = enis["a"], enis["b"]
    yield standin
    for name in ("deny", "throttle", "ip-bucket"):
        standin.switch(name, None)


@pytest.fixture
def node(tmp_path, ec2):
    n = Node(tmp_path / "node-a", ec2, ec2.a, batchWindowSeconds=0.2)
    n.start()
    yield n
    n.close()


def writes(ec2: Ec2Standin, action: str) -> list[dict]:
    return ec2.writes(ec2.a, action)


def run_all(node: Node, command: str, confs: dict[str, dict], **kw) -> dict[str, tuple[int, dict | None]]:
    procs = {cid: node.plugin(command, conf, cid, **kw) for cid, conf in confs.items()}
    return {cid: finish(p) for cid, p in procs.items()}


def test_concurrent_adds_and_dels_for_one_eni_are_one_ec2_call_each(node, ec2):
    confs = {f"ctr-{i}": chained_conf([f"100.64.30.{10 + i}"]) for i in range(9)}  # m5.large: 10 slots, 1 primary
    results = run_all(node, "ADD", confs)
    assert all(rc == 0 for rc, _ in results.values()), results
    assert results["ctr-3"][1] == confs["ctr-3"]["prevResult"]  # the chained result passes through
    assert ec2.addresses(ec2.a) == sorted(f"100.64.30.{10 + i}" for i in range(9))
    assigns = writes(ec2, "AssignPrivateIpAddresses")
    assert len(assigns) <= 2 and sum(c["addresses"] for c in assigns) == 9, assigns
    rc, out = finish(node.plugin("ADD", chained_conf(["100.64.30.99"]), "tenth"))
    assert rc == 1 and "PrivateIpAddressLimitExceeded" in out["msg"], out  # EC2's slot limit, as a CNI error
    results = run_all(node, "DEL", confs)
    assert all(rc == 0 for rc, _ in results.values()), results
    assert ec2.addresses(ec2.a) == []
    assert len(writes(ec2, "UnassignPrivateIpAddresses")) <= 3  # the tenth's clean-up, then one or two batches
    assert node.imds.credential_reads == 1  # credentials read once, signing every call


def test_del_is_idempotent_and_needs_no_ec2_call_for_an_unknown_attachment(node, ec2):
    for _ in range(2):
        rc, out = finish(node.plugin("DEL", chained_conf(["100.64.30.9"]), "never-added"))
        assert rc == 0 and out is None
    assert ec2.writes(ec2.a) == []


def test_throttling_is_retried_with_backoff_and_the_pod_still_starts(node, ec2):
    ec2.switch("throttle", "2")
    rc, out = finish(node.plugin("ADD", chained_conf(["100.64.30.20"]), "ctr-t"))
    assert rc == 0, out
    outcomes = [c["outcome"] for c in writes(ec2, "AssignPrivateIpAddresses")]
    assert outcomes == ["RequestLimitExceeded", "RequestLimitExceeded", "ok"]


def test_an_empty_token_bucket_ends_in_a_retryable_cni_error(tmp_path, ec2):
    ec2.switch("ip-bucket", "0 0")
    n = Node(tmp_path / "n", ec2, ec2.a, maxAttempts=2)
    n.start()
    try:
        rc, out = finish(n.plugin("ADD", chained_conf(["100.64.30.21"]), "ctr-x"))
    finally:
        n.close()
    assert rc == 1 and out["code"] == 11 and "throttled" in out["msg"], out


def test_an_address_moves_with_its_pod_and_a_late_del_on_the_old_node_leaves_it(tmp_path, ec2, node):
    b = Node(tmp_path / "node-b", ec2, ec2.b)
    b.start()
    try:
        assert finish(node.plugin("ADD", chained_conf(["100.64.30.30"]), "old"))[0] == 0
        assert finish(b.plugin("ADD", chained_conf(["100.64.30.30"]), "new"))[0] == 0
        assert ec2.addresses(ec2.a) == [] and ec2.addresses(ec2.b) == ["100.64.30.30"]
        assert finish(node.plugin("DEL", chained_conf(["100.64.30.30"]), "old"))[0] == 0
        assert ec2.addresses(ec2.b) == ["100.64.30.30"]
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
    assert ec2.addresses(ec2.a) == ["100.64.30.40", "100.64.30.42"]


def test_agent_restart_mid_batch_loses_nothing_and_leaks_nothing(tmp_path, ec2):
    n = Node(tmp_path / "n", ec2, ec2.a, batchWindowSeconds=3)
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
        assert ec2.writes(ec2.a) == []
        n.start()
        deadline = time.time() + 15

        def settled() -> bool:  # EC2 applied the replay and the agent recorded it (a moment later)
            records = json.loads((n.folder / "state.json").read_text())["attachments"]
            return ec2.addresses(ec2.a) == ["100.64.30.50"] and all(r["phase"] == "assigned" for r in records.values())

        while time.time() < deadline and not settled():
            time.sleep(0.1)
        assert ec2.addresses(ec2.a) == ["100.64.30.50"]  # the live pod's address is on the ENI
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
    prefixes = ec2.prefixes(ec2.a)
    assert len(prefixes) == 2 and all(p.startswith("100.64.16.") for p in prefixes)  # from the prefix reservation first
    import ipaddress

    assert all(any(ipaddress.ip_interface(a).ip in ipaddress.ip_network(p) for p in prefixes) for a in addresses)
    assert writes(ec2, "UnassignPrivateIpAddresses") == []
    assert len(writes(ec2, "AssignPrivateIpAddresses")) <= 2  # one per prefix top-up, none per pod
    again = finish(node.plugin("ADD", prefix_conf(count=1, most=3), "p-5", role=role))
    assert again == results["p-5"]  # a repeated ADD gets the same address
    assert all(rc == 0 for rc, _ in run_all(node, "DEL", confs, role=role).values())
    assert json.loads((node.folder / "state.json").read_text())["attachments"] == {}


def test_prefix_mode_result_has_the_version_field_for_old_cni_versions(tmp_path, node):
    role = tmp_path / "eks-multus-eni-prefix"
    role.symlink_to(PLUGIN)
    rc, out = finish(node.plugin("ADD", prefix_conf(cni_version="0.3.1"), "p-old", role=role))
    assert rc == 0 and out["ips"][0]["version"] == "4" and out["cniVersion"] == "0.3.1"


def test_agent_not_ready_is_a_retryable_cni_error(tmp_path, standin):
    n = Node(tmp_path / "n", standin, "eni-0never0started00")  # never started
    rc, out = finish(n.plugin("ADD", chained_conf(["100.64.30.60"]), "c"))
    n.close()
    assert rc == 1 and out["code"] == 11 and out["msg"].startswith("agent not ready"), out
    rc, out = finish(n.plugin("STATUS", {"cniVersion": "1.1.0", "name": "net"}, "c"))
    assert rc == 1 and out["code"] == 50


def test_missing_credentials_are_a_retryable_cni_error(tmp_path, ec2):
    n = Node(tmp_path / "n", ec2, ec2.a)
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
    assert ec2.addresses(ec2.a) == ["100.64.30.70"]
