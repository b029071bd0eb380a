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
