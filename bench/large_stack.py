"""A generated large stack: 3 AZs, 6 node groups, 200 whereabouts networks."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import yaml

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


def large_stack(networks: int = 200, groups: int = 6) -> dict:
    secondary = IPv4Network("100.64.0.0/16")
    blocks = list(secondary.subnets(new_prefix=19))[:groups]
    subnets, node_groups, nets = [], [], []
    for g in range(groups):
        zone = ZONES[g % len(ZONES)]
        name = f"multus-{g}"
        subnets.append({"name": name, "availabilityZone": zone, "cidr": str(blocks[g])})
        node_groups.append(
            {
                "name": f"group-{g}",
                "instanceType": "m5.2xlarge",
                "availabilityZone": zone,
                "minSize": 1,
                "maxSize": 4,
                "desiredSize": 2,
                "multusInterfaces": [name],
            }
        )
    for k in range(networks):
        g, j = k % groups, k // groups
        start = blocks[g].network_address + 64 + 32 * j
        nets.append(
            {
                "name": f"net-{k}",
                "namespace": f"team-{k % 10}",
                "cniVersion": "1.0.0",
                "type": "ipvlan",
                "mode": "l2",
                "master": f"multus-{g}",
                "ipam": {"type": "whereabouts", "range": str(blocks[g]), "rangeStart": str(start), "rangeEnd": str(start + 31)},
            }
        )
    return {
        "config": {
            "aws:region": "us-east-1",
            "eks-multus:cluster": {"name": "eks-multus-large"},
            "eks-multus:vpc": {
                "cidr": "10.50.0.0/16",
                "availabilityZones": list(ZONES),
                "natGateways": "perAz",
                "secondaryCidr": str(secondary),
            },
            "eks-multus:multusSubnets": subnets,
            "eks-multus:nodeGroups": node_groups,
            "eks-multus:networks": nets,
            "eks-multus:multus": {"image": "upstream"},
        }
    }


def write_large_stack(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(large_stack(), sort_keys=False))
    return path
