"""Every planned CNI config through the real reference plugins, inside User-Mode Linux."""

from __future__ import annotations

import ipaddress
import re
import sys

import pytest

from tests.conformance.harness import jobs_for, missing_tools, run_in_uml
from tests.conftest import IN_CI
from tests.helpers import ROOT

pytestmark = pytest.mark.vm  # ordered first (tests/conftest.py); one file, so one xdist worker and one VM boot

STACKS = ("dev", "prod", "static-l3", "prefix")
PREFIX_NETWORK = ("prefix", "default/bulk")
AGENT_SOURCE = (ROOT / "components" / "core" / "assets" / "eks-multus-eni-agent").read_text()


def agent_constant(name: str) -> int:
    """A module-level integer of the node agent (LOW_WATER, ERR_NO_ADDRESS): the test follows the agent."""
    return int(re.search(rf"^{name} = (\d+)$", AGENT_SOURCE, re.M).group(1))


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


def _prefix(report) -> dict:
    e = report[PREFIX_NETWORK]
    assert e.get("error") is None, e.get("error")
    return e["prefix"]


def test_prefix_mode_gives_each_nodes_eni_its_prefixes_from_the_reservation_at_agent_start(report):
    """Each node's agent assigns prefixCount /28 prefixes to its master ENI in one AssignPrivateIpAddresses call
    with Ipv4PrefixCount (EC2 user guide, "Assign prefixes to network interfaces": prefixes are /28 for IPv4),
    taken from the subnet's `prefix` CIDR reservation (VPC user guide, "Subnet CIDR reservations": with a
    `prefix` reservation, EC2 assigns prefixes from it). The two nodes' ENIs share the subnet; their prefixes
    do not overlap, so no address can be handed out on both nodes."""
    p = _prefix(report)
    reservation = ipaddress.ip_network(p["reservation"])
    assert p["reservation"] == "100.64.4.0/22" and p["prefixCount"] == 3  # tests/stacks/Pulumi.prefix.yaml as planned
    assert p["nodeBBoot"] == {"rc": 0, "ready": True}
    for node in ("a", "b"):
        start = p["atStart"][node]
        blocks = [ipaddress.ip_network(b) for b in start["prefixes"]]
        assert len(blocks) == p["prefixCount"] and all(b.prefixlen == 28 for b in blocks), start
        assert all(b.subnet_of(reservation) for b in blocks), start
        assert start["agentPrefixes"] == start["prefixes"], "the agent's state and EC2 agree"
        assert start["writes"] == [{"action": "AssignPrivateIpAddresses", "prefixCount": 3, "addresses": 0, "outcome": "ok"}]
    assert not set(p["atStart"]["a"]["prefixes"]) & set(p["atStart"]["b"]["prefixes"])


def test_prefix_mode_pods_get_their_own_nodes_prefix_addresses_with_no_ec2_call(report):
    """ipvlan runs eks-multus-eni-prefix as its IPAM exactly as the rendered NAD config names it; every pod's
    address lies in its own node's prefixes, none is on both nodes, pods ping, and across the pods' ADDs,
    CHECK and DELs neither the stand-in (writes, calls naming the ENIs) nor the agents' own counters saw an
    EC2 call: the addresses are never assigned one by one (no secondary addresses on the ENIs)."""
    p = _prefix(report)
    assert report[PREFIX_NETWORK]["ok"] and report[PREFIX_NETWORK]["ping"]  # the generic flow on the same network
    addresses = []
    for pod, add in p["adds"].items():
        assert add["rc"] == 0, (pod, add)
        own = [ipaddress.ip_network(b) for b in p["atStart"][add["node"]]["prefixes"]]
        assert any(ipaddress.ip_address(add["address"]) in b for b in own), (pod, add, own)
        addresses.append(add["address"])
    assert len(addresses) == 4 and len(set(addresses)) == 4
    assert p["ping"] == {"a": True, "b": True}
    window = p["podWindow"]
    assert window["standinWrites"] == [] and window["standinCallsNamingTheEnis"] == []
    assert window["agentCallsAfter"] == window["agentCallsBefore"]
    assert p["secondaryAddressesOnEnis"] == {"a": [], "b": []}


def test_prefix_mode_del_frees_the_address_is_idempotent_and_check_passes_on_a_live_pod(report):
    """CNI spec (SPEC.md, "DEL"): a repeated DEL, with the resources already gone, still succeeds; "CHECK":
    the plugin confirms a live container's network as ADD left it, and errors once it is gone. The freed
    address is handed out again to the next ADD."""
    p = _prefix(report)
    assert p["checkLive"] is True
    assert p["delTwice"] == [0, 0] and p["freedNotHeld"]
    assert p["checkAfterDel"] != 0, "CHECK cannot pass for a container whose address was released"
    assert p["reAdd"]["rc"] == 0 and p["reAdd"]["address"] == p["reAdd"]["freed"]
    assert p["nothingHeld"], "every pod's DEL released its address in the agents' state"


def test_prefix_mode_grows_by_one_prefix_at_low_water_up_to_max_then_refuses_with_the_no_address_code(report):
    """Filling node A: each time the free addresses are down to the agent's LOW_WATER, one
    AssignPrivateIpAddresses call (Ipv4PrefixCount 1) adds a prefix, never above maxPrefixCount; at 9
    prefixes the ENI holds 10 of an m5.large ENI's 10 IPv4 slots (primary + 9 prefixes; EC2 user guide:
    prefixes count against the interface's IPv4 address limit). The ADD after the last address fails with
    the agent's no-address code, makes no EC2 call, and the runtime's DEL cleans up (CNI spec, "Lifecycle")."""
    p = _prefix(report)
    low_water, most = agent_constant("LOW_WATER"), p["maxPrefixCount"]
    fill = p["fill"]
    assert most == 9 and fill["prefixesAtEnd"] == most and fill["inUseAtEnd"] == 16 * most
    assert [(g["prefixesBefore"], g["prefixesAfter"]) for g in fill["growth"]] == [(n, n + 1) for n in range(3, most)]
    for g in fill["growth"]:
        assert g["freeBefore"] <= low_water, g
        assert [(w["action"], w["prefixCount"], w["addresses"], w["outcome"]) for w in g["writes"]] == [
            ("AssignPrivateIpAddresses", 1, 0, "ok")
        ], g
    assert fill["lowestFreeWithoutGrowth"] > low_water, "a prefix was due but not added"
    no_address = agent_constant("ERR_NO_ADDRESS")
    assert fill["refusal"]["ok"] is False and fill["refusal"]["code"] == no_address
    reservation = ipaddress.ip_network(p["reservation"])
    grown = [ipaddress.ip_network(b) for b in p["afterFill"]["a"]]
    assert len(grown) == most and all(b.subnet_of(reservation) for b in grown)
    assert p["afterFill"]["b"] == p["atStart"]["b"]["prefixes"], "node B is untouched by node A's growth"
    assert not set(p["afterFill"]["a"]) & set(p["afterFill"]["b"])
    full = p["fullAdd"]
    assert full["rc"] != 0 and full["code"] == no_address and full["msg"], full
    assert full["writes"] == [] and full["cleanupDelRc"] == 0 and full["linkGone"]
