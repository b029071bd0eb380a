"""MultusPlatform: the whole stack, from VPC to NetworkAttachmentDefinitions."""

from __future__ import annotations

import pulumi

from .cluster import MultusCluster
from .core.egress import needs_endpoints
from .core.manifests import needs_readiness_gate, uses_whereabouts
from .core.model import StackConfig
from .endpoints import PrivateEndpoints
from .multus import Multus
from .networks import NetworkAttachments
from .nodegroup import MultusNodeGroup
from .readiness import ReadinessGate
from .sriov import SriovDevicePlugin
from .vpc import MultusVpc
from .whereabouts import Whereabouts


class MultusPlatform(pulumi.ComponentResource):
    """Composes the components in dependency order from one validated config."""

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:MultusPlatform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.vpc = MultusVpc(f"{name}-vpc", cfg, opts=child)
        zones = cfg.vpc.availability_zones
        node_prerequisites: list[pulumi.Resource] = []
        if needs_endpoints(cfg):  # no NAT: nodes reach AWS only through these
            self.endpoints = PrivateEndpoints(
                f"{name}-endpoints",
                cfg,
                vpc_id=self.vpc.vpc_id,
                private_subnet_ids=[self.vpc.private_subnet_ids[z] for z in zones],
                private_route_table_ids=[self.vpc.private_route_table_ids[z] for z in zones],
                opts=child,
            )
            node_prerequisites.append(self.endpoints)
        self.cluster = MultusCluster(
            f"{name}-cluster",
            cfg,
            vpc_id=self.vpc.vpc_id,
            private_subnet_ids=[self.vpc.private_subnet_ids[z] for z in zones],
            public_subnet_ids=[self.vpc.public_subnet_ids[z] for z in zones if z in self.vpc.public_subnet_ids],
            opts=child,
        )
        self.node_groups = {
            group.name: MultusNodeGroup(
                f"{name}-{group.name}",
                cfg,
                group,
                cluster_name=cfg.cluster_name,
                endpoint=self.cluster.endpoint,
                certificate_authority=self.cluster.certificate_authority,
                service_cidr=self.cluster.service_cidr,
                node_subnet_id=self.vpc.private_subnet_ids[group.availability_zone],
                node_security_group_ids=[self.cluster.node_security_group_id],
                multus_subnet_ids=self.vpc.multus_subnet_ids,
                multus_security_group_id=self.vpc.multus_security_group_id,
                attach_cni_policy=self.cluster.nodes_need_cni_policy,
                kubernetes_version=self.cluster.kubernetes_version,  # the AMI follows the control plane
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cluster, *self.cluster.node_dependencies, *node_prerequisites]),
            )
            for group in cfg.node_groups
        }
        k8s = pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.cluster.provider})
        self.multus = Multus(f"{name}-multus", cfg, opts=k8s)
        if needs_readiness_gate(cfg):
            self.readiness = ReadinessGate(f"{name}-readiness", cfg, opts=k8s)
        ipam_deps: list[pulumi.Resource] = [self.multus]
        if uses_whereabouts(cfg):
            self.whereabouts = Whereabouts(f"{name}-whereabouts", cfg, opts=k8s)
            ipam_deps.append(self.whereabouts)
        if cfg.sriov.enabled:
            self.sriov = SriovDevicePlugin(f"{name}-sriov", cfg, opts=k8s)
        self.networks = NetworkAttachments(f"{name}-networks", cfg, after=ipam_deps, opts=k8s)
        self.register_outputs({"clusterName": cfg.cluster_name})
