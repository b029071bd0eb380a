"""Every planned CNI config through the real reference plugins, inside User-Mode Linux."""

from __future__ import annotations

import sys

import pytest

from tests.conformance.harness import jobs_for, missing_tools, run_in_uml
from tests.conftest import IN_CI

pytestmark = pytest.mark.vm  # ordered first (tests/conftest.py); one file, so one xdist worker and one VM boot

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
        f"\nconformance: {passed}/{len(entries)} networks ok in {result['wallSeconds']} s, {result['cpuSeconds']} s CPU"
        " (build/conformance/report.json)\n"
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
    [("ec2Refused", 101), ("throttleExhausted", 11), ("agentDown", 11)],
)
def test_failed_add_is_a_cni_error_and_leaves_nothing_behind(report, case, code):
    result = report[("dev", "default/ipvlan-conf-1")]["eniIp"]["scenarios"][case]
    assert result["failed"] and result["code"] == code and result["msg"]
    assert result["nothingOnEni"] and result["noState"] and result["linkGone"]


def test_throttling_is_retried_with_a_bounded_number_of_attempts(report):
    scenarios = report[("dev", "default/ipvlan-conf-1")]["eniIp"]["scenarios"]
    assert scenarios["throttledThenOk"] == {"ok": True, "assignAttempts": 3, "assigned": True}
    assert scenarios["throttleExhausted"]["assignAttempts"] == 3  # the VM agents' maxAttempts (vm_runner.AGENT_ATTEMPTS)


def test_with_imds_down_a_warm_agent_still_assigns_and_releases(report):
    """The agent reads credentials once per expiry and each master's ENI once, so an IMDS outage does not stop pods."""
    assert report[("dev", "default/ipvlan-conf-1")]["eniIp"]["scenarios"]["imdsDownWarm"] == {
        "ok": True,
        "assigned": True,
        "released": True,
    }


def test_an_agent_killed_mid_batch_loses_nothing_and_leaks_nothing(report):
    """Killed while EC2 throttles its batch (assigns, then unassigns), the restarted agent finishes every record.

    The failed ADDs' pods still exist, so their addresses are assigned on restart; the runtime's DELs then
    release them; an interrupted release is completed; a pod assigned before the crash keeps its address.
    """
    result = report[("dev", "default/ipvlan-conf-1")]["eniIp"]["scenarios"]["restartMidBatch"]
    assert result["assign"] == {
        "inFlightAtKill": True,
        "addsFailed": True,
        "recordedAtCrash": True,
        "resumed": True,
        "onEniAfterRestart": True,
        "keptUntouched": True,
    }
    assert result["unassign"] == {
        "inFlightAtKill": True,
        "delsFailed": True,
        "recordedAtCrash": True,
        "resumed": True,
        "goneFromEni": True,
        "keptUntouched": True,
        "retriedDelsOk": True,
    }
    assert result["nothingLeft"]


def test_a_lost_del_is_released_by_the_agent_once_the_pod_is_gone_and_the_grace_passed(report):
    """No DEL: the netns gone and no CNI cache entry releases the address after graceSeconds (6 s in the VM)."""
    result = report[("dev", "default/ipvlan-conf-1")]["eniIp"]["scenarios"]["lostDel"]
    assert result["added"]
    assert result["keptWithinGrace"], "released before the grace had passed"
    assert result["releasedAfterGrace"] and result["notInState"]
    assert result["secondsAfterAssign"] >= 6  # seen released this long after the agent recorded the assign
    assert result["keptWhileCached"], "a pod whose CNI cache entry exists is not gone"
    assert result["releasedOnceCacheGone"]
    assert result["liveKept"], "a pod whose netns exists keeps its address"
    assert result["nothingLeft"]


def test_the_boot_step_creates_each_eni_in_its_subnet_as_ec2_records_it(report):
    """Every node's ENIs, from the stand-in: its multus subnet, the multus SG, tags, device index 1..N, DOT, card 0."""
    for key, e in report.items():
        boot = e["boot"]
        assert boot["rc"] == 0 and boot["status"]["ready"] is True, (key, boot["log"])
        assert sorted(boot["ec2"]) == [str(i) for i in range(1, len(boot["resolved"]) + 1)], key
        for index, eni in boot["ec2"].items():
            assert eni["inItsSubnet"] and eni["securityGroups"], (key, index)
            assert eni["noManage"] and eni["clusterOwned"] and eni["nodeGroupTag"], (key, index)
            assert eni["deleteOnTermination"] and eni["networkCard"] == 0, (key, index)
        assert [i["eni"] for i in boot["status"]["interfaces"]] == [boot["ec2"][str(i)]["eni"] for i in range(1, len(boot["ec2"]) + 1)]


def test_networkd_is_kept_off_every_multus_eni_and_nodeadm_is_told(report):
    for key, e in report.items():
        for name, text in e["boot"]["networkd"].items():
            assert text and "[Match]\nPermanentMACAddress=" in text and "Unmanaged=yes" in text, (key, name)
            assert "DHCP" not in text and "Gateway" not in text and "Route" not in text, (key, name)
        assert set(e["boot"]["nodeadmCache"].values()) == {"cni"}, key


def test_a_reboot_reuses_the_attached_enis_and_creates_nothing(report):
    for key, e in report.items():
        second = e["boot"]["second"]
        assert second["rc"] == 0 and second["status"]["ready"] is True, key
        assert second["calls"] and all(c.startswith("Describe") for c in second["calls"]), (key, second["calls"])


def test_a_refused_create_leaves_nothing_in_ec2_and_says_why(report):
    refused = report[("dev", "default/ipvlan-conf-1")]["boot"]["refusedCreate"]
    assert refused["rc"] == 1 and refused["creates"] == 1
    assert refused["status"]["ready"] is False and "UnauthorizedOperation" in refused["status"]["reason"]
    assert refused["leftInEc2"] == [] and refused["attached"] == []
    assert refused["console"], "the reason goes to stdout, which the unit sends to the console"
