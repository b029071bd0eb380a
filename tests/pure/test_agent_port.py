"""The node agent's loopback port: one key (`eniAgent.port`), the same default in the agent and the relay,
validated before anything is registered, and carried to both ends when it is not the default."""

from __future__ import annotations

import json
import re

import pytest

from components.core.agent_manifests import eni_agent_objects
from components.core.cni import nad_config
from components.core.model import AGENT_PORT
from tests.helpers import ROOT, errors_of, load

ASSETS = ROOT / "components" / "core" / "assets"


def _port(value):
    def mutate(flat):
        flat["eks-multus:eniAgent"] = {"port": value}

    return mutate


def test_the_agent_and_the_relay_default_to_the_model_s_port():
    relay = (ASSETS / "eks-multus-eni-ip").read_text()
    agent = (ASSETS / "eks-multus-eni-agent").read_text()
    assert re.search(r"^DEFAULT_PORT=(\d+)$", relay, re.M).group(1) == str(AGENT_PORT)
    assert re.search(r'^    "port": (\d+),$', agent, re.M).group(1) == str(AGENT_PORT)
    assert not 32768 <= AGENT_PORT <= 60999  # Linux's default net.ipv4.ip_local_port_range


def test_the_default_port_changes_nothing_rendered():
    cfg = load("prefix")
    assert cfg.eni_agent.port == AGENT_PORT
    assert "agentPort" not in json.dumps([nad_config(n) for n in cfg.networks])
    assert "port" not in json.loads(eni_agent_objects(cfg)[0]["data"]["agent.json"])


def test_another_port_reaches_the_agent_config_and_every_relay_config():
    cfg = load("prefix", _port(9440))
    assert json.loads(eni_agent_objects(cfg)[0]["data"]["agent.json"])["port"] == 9440
    confs = [nad_config(n, cfg.eni_agent.port) for n in cfg.networks]
    prefix = [c for c in confs if c.get("ipam", {}).get("type") == "eks-multus-eni-prefix"]
    chained = [p for c in confs for p in c.get("plugins", []) if p["type"] == "eks-multus-eni-ip"]
    assert prefix and all(c["ipam"]["agentPort"] == 9440 for c in prefix)
    assert all(p["agentPort"] == 9440 for p in chained)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (40000, "ephemeral port range 32768-60999"),
        (0, "greater than or equal to 1"),
        (70000, "less than or equal to 65535"),
        ("x", "integer"),
    ],
)
def test_a_bad_port_is_refused_naming_the_key(value, words):
    errors = errors_of("dev", _port(value))
    assert any("eniAgent.port" in e and words in e for e in errors), errors
