"""CNI config shapes generated from the model."""

from __future__ import annotations

import json

from components.core.cni import nad_config, to_spec_config
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


def test_dev_network_is_the_seed_config_plus_its_name():
    conf = nad_config(load("dev").networks[0])
    assert {k: v for k, v in conf.items() if k != "name"} == SEED
    assert conf["name"] == "ipvlan-conf-1"


def test_spec_config_round_trips_and_is_deterministic():
    net = load("dev").networks[0]
    text = to_spec_config(nad_config(net))
    assert json.loads(text) == nad_config(net)
    assert text == to_spec_config(nad_config(load("dev").networks[0]))


def test_whereabouts_excludes_aws_reserved_and_gateway():
    conf = nad_config(load("prod").networks[0])
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

    conf = nad_config(load("dev", mutate).networks[0])
    assert conf["mtu"] == 1500
    assert conf["ipam"] == {
        "type": "static",
        "addresses": [{"address": "100.64.30.10/19", "gateway": "100.64.0.1"}],
        "routes": [{"dst": "100.64.128.0/17", "gw": "100.64.0.1"}],
    }


def test_host_local_gateway_defaults_to_the_vpc_router():
    def mutate(flat):
        del ns(flat, "networks")[0]["ipam"]["gateway"]

    assert nad_config(load("dev", mutate).networks[0])["ipam"]["gateway"] == "100.64.0.1"
