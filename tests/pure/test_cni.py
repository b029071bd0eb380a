"""CNI config shapes generated from the model."""

from __future__ import annotations

import json

from components.core.cni import ENI_IP_PLUGIN, nad_config, plugin_config, to_spec_config
from components.core.manifests import nad_object
from tests.helpers import load, ns

SEED = {
    "cniVersion": "0.3.0",
    "type": "ipvlan",
    "master": "ens6",
    "mode": "l2",
    "ipam": {
        "type": "host-local",
        "subnet": "100.64.0.0/19",
        "rangeStart": "100.64.30.10",
        "rangeEnd": "100.64.30.100",
        "gateway": "100.64.0.1",
    },
}


def test_dev_network_is_the_seed_config_chained_with_eni_ip_assignment():
    conf = nad_config(load("dev").networks[0])
    assert set(conf) == {"cniVersion", "name", "plugins"}
    assert (conf["cniVersion"], conf["name"]) == ("0.3.0", "ipvlan-conf-1")
    first, second = conf["plugins"]
    assert {k: v for k, v in first.items() if k != "name"} == SEED
    assert first["name"] == "ipvlan-conf-1"
    assert second == {"type": ENI_IP_PLUGIN, "master": "ens6"}


def test_opting_out_gives_the_single_plugin_config():
    def mutate(flat):
        ns(flat, "networks")[0]["eniIpAssignment"] = False

    net = load("dev", mutate).networks[0]
    assert nad_config(net) == plugin_config(net)
    assert {k: v for k, v in nad_config(net).items() if k != "name"} == SEED


def test_every_ipvlan_network_of_prod_is_chained_and_host_device_is_not():
    for net in load("prod").networks:
        conf = nad_config(net)
        if net.type == "ipvlan":
            assert [p["type"] for p in conf["plugins"]] == ["ipvlan", ENI_IP_PLUGIN]
            assert conf["plugins"][1]["master"] == net.master
        else:
            assert "plugins" not in conf and conf["type"] == "host-device"


def test_spec_config_round_trips_and_is_deterministic():
    net = load("dev").networks[0]
    text = to_spec_config(nad_config(net))
    assert json.loads(text) == nad_config(net)
    assert text == to_spec_config(nad_config(load("dev").networks[0]))


def test_whereabouts_excludes_aws_reserved_and_gateway():
    conf = plugin_config(load("prod").networks[0])
    ipam = conf["ipam"]
    assert ipam["type"] == "whereabouts"
    assert ipam["range"] == "100.64.0.0/21"
    assert (ipam["range_start"], ipam["range_end"]) == ("100.64.1.0", "100.64.7.254")
    assert ipam["gateway"] == "100.64.0.1"
    assert ipam["exclude"] == ["100.64.0.0/30", "100.64.7.255/32"]


def test_host_device_with_sriov_resource_carries_annotation_and_no_device():
    net = load("prod").networks[2]
    obj = nad_object(net)
    assert obj["metadata"]["annotations"] == {"k8s.v1.cni.cncf.io/resourceName": "intel.com/aws_ena_vf"}
    conf = json.loads(obj["spec"]["config"])
    assert conf == {"cniVersion": "1.0.0", "name": "ena-direct", "type": "host-device"}


def test_static_ipam_and_mtu_and_routes():
    def mutate(flat):
        ns(flat, "networks")[0].update(
            mtu=1500,
            ipam={
                "type": "static",
                "addresses": [{"address": "100.64.30.10/19", "gateway": "100.64.0.1"}],
                "routes": [{"dst": "100.64.128.0/17", "gw": "100.64.0.1"}],
            },
        )

    conf = plugin_config(load("dev", mutate).networks[0])
    assert conf["mtu"] == 1500
    assert conf["ipam"] == {
        "type": "static",
        "addresses": [{"address": "100.64.30.10/19", "gateway": "100.64.0.1"}],
        "routes": [{"dst": "100.64.128.0/17", "gw": "100.64.0.1"}],
    }


def test_host_local_gateway_defaults_to_the_vpc_router():
    def mutate(flat):
        del ns(flat, "networks")[0]["ipam"]["gateway"]

    assert plugin_config(load("dev", mutate).networks[0])["ipam"]["gateway"] == "100.64.0.1"
