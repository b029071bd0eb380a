"""Prefix mode (ipam type eks-multus-eni-prefix): model, validation, NAD config, reservation, capacity.

Slot arithmetic follows the EC2 user guide ("Assign prefixes to network interfaces": each /28
prefix takes one of the ENI's IPv4 slots) and limits.py's per-type table (m5.large: 3 ENIs,
10 IPv4 addresses each).
"""

from __future__ import annotations

import json

import pytest

from components.core.cni import nad_config, uses_eni_ip, uses_eni_prefix
from components.core.prefixes import capacity, capacity_text, suggest_reservation
from tests.helpers import errors_of, load, ns, planned


def _ipam(**changes):
    def mutate(flat):
        ns(flat, "networks")[0]["ipam"].update(changes)

    return mutate


def test_the_prefix_stack_loads_and_its_nad_needs_no_per_pod_assignment():
    cfg = load("prefix")
    conf = nad_config(cfg.networks[0])
    assert "plugins" not in conf  # the addresses are the ENI's already: no eks-multus-eni-ip in the chain
    assert conf["ipam"] == {
        "type": "eks-multus-eni-prefix",
        "subnet": "100.64.0.0/20",
        "gateway": "100.64.0.1",
        "prefixCount": 3,
        "maxPrefixCount": 9,
    }
    assert [p["type"] for p in nad_config(cfg.networks[1])["plugins"]] == ["ipvlan", "eks-multus-eni-ip"]
    assert uses_eni_prefix(cfg) and uses_eni_ip(cfg)


def test_the_prefix_network_plans_with_a_prefix_type_reservation():
    regs = planned("prefix").registrations
    kind = "aws:ec2/subnetCidrReservation:SubnetCidrReservation"
    reservations = {r.inputs["cidrBlock"]: r.inputs["reservationType"] for r in regs if r.type == kind}
    assert reservations == {"100.64.4.0/22": "prefix", "100.64.16.64/26": "explicit"}


def test_dev_seed_network_stays_per_pod_host_local():
    cfg = load("dev")
    assert not uses_eni_prefix(cfg)
    assert nad_config(cfg.networks[0])["plugins"][0]["ipam"]["type"] == "host-local"


def test_capacity_per_eni_is_prefixes_times_16_against_one_per_slot():
    rows = {e.interface: e for node in capacity(load("prefix")) for e in node.enis}
    assert rows["bulk"].networks == (("default/bulk", "prefix", 144),)  # 9 prefixes x 16 on m5.large
    assert rows["stable"].networks == (("default/stable", "per-pod", 9),)  # 10 slots, one the primary's
    text = capacity_text(load("prefix"))
    assert "workers (m5.large): maxPods 11, ENIs 3 of 3" in text and "routable addresses per node 144" in text


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [
        (_ipam(reservation="100.64.32.0/24"), "networks[0].ipam.reservation", "not inside subnet"),
        (_ipam(reservation="100.64.4.0/29"), "networks[0].ipam.reservation", "smaller than one /28"),
        (_ipam(reservation="100.64.0.0/22"), "networks[0].ipam.reservation", "AWS reserves"),
        (_ipam(reservation="100.64.4.0/24"), "networks[0].ipam.reservation", "need 36"),
        (_ipam(maxPrefixCount=10), "networks[0].ipam.maxPrefixCount", "m5.large has 10 IPv4 slots"),
        (_ipam(maxPrefixCount=2), "networks[0].ipam.maxPrefixCount", "below prefixCount 3"),
        (_ipam(subnet="100.64.16.0/20"), "networks[0].ipam.subnet", "not the multus subnet bulk"),
        (_ipam(gateway="100.64.4.1"), "networks[0].ipam.gateway", "inside the prefix reservation"),
        (_ipam(prefixCount=0), "networks[0].ipam.prefixCount", "greater than or equal to 1"),
        (_ipam(prefixCount=1, maxPrefixCount=None, reservtion="x"), "networks[0].ipam.reservtion", "reservation"),
    ],
)
def test_bad_prefix_config_is_refused_with_its_key(mutate, key, words):
    errors = errors_of("prefix", mutate)
    hits = [e for e in errors if e.startswith(f"eks-multus:{key}") and words in e]
    assert hits, errors


def test_the_suggested_reservation_fits_and_is_offered_in_the_error():
    errors = errors_of("prefix", _ipam(reservation="100.64.4.0/24"))
    assert any("use 100.64.8.0/22" in e for e in errors), errors
    assert str(suggest_reservation(load("prefix"), 0)) == "100.64.8.0/22"


def test_two_prefix_networks_on_one_subnet_are_refused():
    def mutate(flat):
        second = json.loads(json.dumps(ns(flat, "networks")[0]))
        second["name"] = "bulk-2"
        second["ipam"]["reservation"] = "100.64.8.0/22"
        ns(flat, "networks").append(second)

    errors = errors_of("prefix", mutate)
    assert any(e.startswith("eks-multus:networks[2].ipam.type") and "one prefix-mode network per multus subnet" in e for e in errors), (
        errors
    )


def test_prefix_mode_on_host_device_is_refused():
    def mutate(flat):
        ns(flat, "networks").append(
            {
                "name": "whole",
                "type": "host-device",
                "device": "ens7",
                "ipam": {"type": "eks-multus-eni-prefix", "subnet": "100.64.16.0/24", "reservation": "100.64.16.128/28"},
            }
        )

    errors = errors_of("prefix", mutate)
    assert any(e.startswith("eks-multus:networks[2].ipam.type") and "host-device" in e for e in errors), errors
