"""CNI configs for NetworkAttachmentDefinitions, generated from the validated model.

Output is deterministic: keys in a fixed, readable order, `name` always set
(the multi-net spec wants it equal to the NAD name).
"""

from __future__ import annotations

import json
from typing import Any

from .ipplan import vpc_router, whereabouts_excludes
from .model import (
    AGENT_PORT,
    EniPrefixIpam,
    HostDeviceNetwork,
    HostLocalIpam,
    IpvlanNetwork,
    Route,
    StackConfig,
    StaticIpam,
    WhereaboutsIpam,
)

Network = IpvlanNetwork | HostDeviceNetwork


def ipam_config(ipam: HostLocalIpam | WhereaboutsIpam | StaticIpam | EniPrefixIpam) -> dict[str, Any]:
    if isinstance(ipam, EniPrefixIpam):
        out = {"type": ipam.type, "subnet": str(ipam.subnet), "gateway": str(ipam.gateway or vpc_router(ipam.subnet))}
        out["prefixCount"] = ipam.prefix_count
        out["maxPrefixCount"] = ipam.most_prefixes
    elif isinstance(ipam, HostLocalIpam):
        out: dict[str, Any] = {"type": "host-local", "subnet": str(ipam.subnet)}
        if ipam.range_start:
            out["rangeStart"] = str(ipam.range_start)
        if ipam.range_end:
            out["rangeEnd"] = str(ipam.range_end)
        out["gateway"] = str(ipam.gateway or vpc_router(ipam.subnet))
    elif isinstance(ipam, WhereaboutsIpam):
        gateway = ipam.gateway or vpc_router(ipam.range)
        out = {"type": "whereabouts", "range": str(ipam.range)}
        if ipam.range_start:
            out["range_start"] = str(ipam.range_start)
        if ipam.range_end:
            out["range_end"] = str(ipam.range_end)
        out["gateway"] = str(gateway)
        excludes = list(whereabouts_excludes(ipam.range, gateway))
        excludes += [e for e in ipam.exclude if e not in excludes]
        out["exclude"] = [str(e) for e in excludes]
    else:
        out = {"type": "static", "addresses": []}
        for entry in ipam.addresses:
            address: dict[str, str] = {"address": str(entry.address)}
            if entry.gateway:
                address["gateway"] = str(entry.gateway)
            out["addresses"].append(address)
    if ipam.routes:
        out["routes"] = [_route(r) for r in ipam.routes]
    return out


def _route(route: Route) -> dict[str, str]:
    out = {"dst": str(route.dst)}
    if route.gw:
        out["gw"] = str(route.gw)
    return out


def plugin_config(net: Network) -> dict[str, Any]:
    """The network's own plugin config (the first plugin of the NAD)."""
    out: dict[str, Any] = {"cniVersion": net.cni_version, "name": net.name, "type": net.type}
    if isinstance(net, IpvlanNetwork):
        out["master"] = net.master
        out["mode"] = net.mode
        if net.mtu is not None:
            out["mtu"] = net.mtu
        out["ipam"] = ipam_config(net.ipam)
    else:
        if net.device:
            out["device"] = net.device
        if net.ipam is not None:
            out["ipam"] = ipam_config(net.ipam)
    return out


ENI_IP_PLUGIN = "eks-multus-eni-ip"


def chains_eni_ip(net: Network) -> bool:
    """host-device hands the pod a whole ENI, and prefix mode's addresses are the ENI's already,
    so only ipvlan addresses from the other IPAM types need assigning."""
    return isinstance(net, IpvlanNetwork) and net.eni_ip_assignment and not isinstance(net.ipam, EniPrefixIpam)


def uses_eni_ip(cfg: StackConfig) -> bool:
    """Whether nodes need the plugin installed and the node role its grant."""
    return any(chains_eni_ip(n) for n in cfg.networks) or uses_eni_prefix(cfg)


def uses_eni_prefix(cfg: StackConfig) -> bool:
    """Whether some network takes pod addresses from ENI prefixes (the agent's prefix mode)."""
    return any(isinstance(n.ipam, EniPrefixIpam) for n in cfg.networks)


def eni_ip_config(net: IpvlanNetwork, agent_port: int = AGENT_PORT) -> dict[str, Any]:
    """The chained plugin that assigns the pod's address to the master's ENI (`agentPort` only when not the default)."""
    out: dict[str, Any] = {"type": ENI_IP_PLUGIN, "master": net.master}
    if agent_port != AGENT_PORT:
        out["agentPort"] = agent_port
    return out


def nad_config(net: Network, agent_port: int = AGENT_PORT) -> dict[str, Any]:
    """What goes into the NAD's `spec.config`.

    With ENI IP assignment on, a conflist whose first plugin is exactly the
    single-plugin config (name and cniVersion included, which libcni sets to
    the same values anyway).
    """
    first = plugin_config(net)
    if isinstance(net.ipam, EniPrefixIpam) and agent_port != AGENT_PORT:
        first["ipam"]["agentPort"] = agent_port  # the IPAM plugin is the same relay
    if not chains_eni_ip(net):
        return first
    return {"cniVersion": net.cni_version, "name": net.name, "plugins": [first, eni_ip_config(net, agent_port)]}


def to_json(conf: dict[str, Any]) -> str:
    return json.dumps(conf, indent=2) + "\n"


def to_spec_config(conf: dict[str, Any]) -> str:
    """Compact form for `spec.config`, readable in `kubectl get -o yaml`."""
    return json.dumps(conf, separators=(", ", ": "))
