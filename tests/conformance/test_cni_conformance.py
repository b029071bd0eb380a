"""Every planned CNI config through the real reference plugins, inside User-Mode Linux."""

from __future__ import annotations

import sys

import pytest

from tests.conformance.harness import jobs_for, missing_tools, run_in_uml
from tests.conftest import IN_CI

STACKS = ("dev", "prod", "static-l3")


@pytest.fixture(scope="module")
def report():
    missing = missing_tools()
    if missing:
        if IN_CI:
            pytest.fail(f"conformance cannot run: missing {', '.join(missing)}")
        pytest.skip(f"conformance needs {', '.join(missing)} (make system-deps, as root)")
    jobs = [job for stack in STACKS for job in jobs_for(stack)]
    result = run_in_uml(jobs)
    entries = result["entries"]
    passed = sum(e["ok"] for e in entries)
    sys.__stdout__.write(
        f"\nconformance: {passed}/{len(entries)} networks ok in {result['wallSeconds']}s (build/conformance/report.json)\n"
    )
    return {(e["stack"], e["network"]): e for e in entries}


def test_seed_network_gives_net1_the_seed_address_and_pods_ping(report):
    e = report[("dev", "default/ipvlan-conf-1")]
    assert e.get("error") is None, e.get("error")
    assert e["pods"][0]["address"] == "100.64.30.10/19"
    assert e["pods"][0]["gateway"] == "100.64.0.1"
    assert "inet 100.64.30.10/19" in e["pods"][0]["ip"]
    assert e["modeShown"] and e["ping"] and e["released"] and e["secondDel"]
    assert e["boot"]["rc"] == 0 and e["boot"]["resolved"] == {"multus-a": "ens6"}
    assert e["ok"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_network_of_the_stack_passes(report, stack):
    entries = {k: v for k, v in report.items() if k[0] == stack}
    assert entries
    for key, e in entries.items():
        assert e["ok"], f"{key}: {e.get('error') or e}"


def test_prod_names_both_multus_enis_and_moves_the_pooled_eni(report):
    ipvlan = report[("prod", "default/ipvlan-a")]
    assert ipvlan["boot"]["resolved"] == {"multus-a": "ens6", "direct-a": "ens7"}
    assert ipvlan["pods"][0]["address"].startswith("100.64.1.")
    direct = report[("prod", "default/ena-direct")]
    assert direct["movedIn"] and direct["goneFromNode"] and direct["movedBack"]


def test_check_runs_where_the_version_has_it(report):
    assert "check" not in report[("dev", "default/ipvlan-conf-1")]  # 0.3.0 has no CHECK
    assert report[("prod", "default/ipvlan-a")]["check"] is True


@pytest.mark.parametrize("stack", STACKS)
def test_every_chained_network_assigns_then_releases_on_the_nodes_eni(report, stack):
    chained = {k: v for k, v in report.items() if k[0] == stack and "eks-multus-eni-ip" in v["chain"]}
    assert chained, f"{stack}: no network runs the ENI-IP plugin"
    for key, e in chained.items():
        eni = e["eniIp"]
        pods = {p["address"].split("/")[0] for p in e["pods"]}
        assert pods <= set(eni["assignedAfterAdd"]), key
        assert eni["assigned"] and eni["passedThrough"] and eni["releasedFromEni"] and eni["stateCleared"], key
    # host-device moves the whole ENI: nothing to assign, so it is never chained.
    assert all(v["chain"] == ["host-device"] for k, v in report.items() if k[0] == stack and v["plugin"] == "host-device")


def test_seed_address_lands_on_the_multus_eni_in_ec2(report):
    eni = report[("dev", "default/ipvlan-conf-1")]["eniIp"]
    assert eni["assignedAfterAdd"] == ["100.64.30.10", "100.64.30.11"]


def test_an_address_follows_its_pod_to_another_node_and_a_late_del_leaves_it_there(report):
    move = report[("dev", "default/ipvlan-conf-1")]["eniIp"]["scenarios"]["move"]
    assert move["sameAddress"] and move["onNodeAAfterAdd"]
    assert move["onNodeBOnly"], "AllowReassignment must move the address off node A's ENI"
    assert move["keptOnNodeBAfterDelOnA"], "DEL on the old node must not release an address that moved"
    assert move["releasedAfterDelOnB"]


@pytest.mark.parametrize(
    ("case", "code"),
    [("ec2Refused", 101), ("throttleExhausted", 11), ("imdsDown", 100)],
)
def test_failed_add_is_a_cni_error_and_leaves_nothing_behind(report, case, code):
    result = report[("dev", "default/ipvlan-conf-1")]["eniIp"]["scenarios"][case]
    assert result["failed"] and result["code"] == code and result["msg"]
    assert result["nothingOnEni"] and result["noState"] and result["linkGone"]


def test_throttling_is_retried_with_a_bounded_number_of_attempts(report):
    scenarios = report[("dev", "default/ipvlan-conf-1")]["eniIp"]["scenarios"]
    assert scenarios["throttledThenOk"] == {"ok": True, "assignAttempts": 3, "assigned": True}
    assert scenarios["throttleExhausted"]["assignAttempts"] == 2  # maxAttempts: 2
