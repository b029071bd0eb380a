"""Stack outputs a consumer needs, as scalars (StackReference-friendly)."""

from __future__ import annotations

import pulumi

from .core.address_resources import NETWORKS_ANNOTATION, address_resource
from .core.model import StackConfig
from .core.scheduling import network_tolerations
from .core.userdata import network_node_selector
from .platform import MultusPlatform


def export_outputs(cfg: StackConfig, platform: MultusPlatform) -> None:
    pulumi.export("vpcId", platform.vpc.vpc_id)
    pulumi.export("privateSubnetIds", platform.vpc.private_subnet_ids)
    pulumi.export("publicSubnetIds", platform.vpc.public_subnet_ids)
    pulumi.export("multusSubnetIds", platform.vpc.multus_subnet_ids)
    pulumi.export("multusSubnetCidrs", {s.name: str(s.cidr) for s in cfg.multus_subnets})
    pulumi.export("multusSecurityGroupId", platform.vpc.multus_security_group_id)
    pulumi.export("clusterName", cfg.cluster_name)
    pulumi.export("clusterEndpoint", platform.cluster.endpoint)
    pulumi.export("kubeconfig", platform.cluster.kubeconfig)
    pulumi.export("nodeGroupNames", sorted(platform.node_groups))
    pulumi.export("nodeGroupAsgNames", {n: g.asg_name for n, g in platform.node_groups.items()})
    pulumi.export("nodeGroupRoleArns", {n: g.role_arn for n, g in platform.node_groups.items()})
    pulumi.export(
        "networks",
        {
            f"{n.namespace}/{n.name}": {
                "namespace": n.namespace,
                "name": n.name,
                "annotation": f"{n.namespace}/{n.name}",
                "nodeSelector": network_node_selector(cfg, n),
                "tolerations": network_tolerations(cfg, n),
                # The extended resource a pod on it asks for one of per attachment (address_resources.py).
                **({"addressResource": address_resource(cfg, n)} if address_resource(cfg, n) else {}),
            }
            for n in cfg.networks
        },
    )
    pulumi.export("networksAnnotationKey", NETWORKS_ANNOTATION)
