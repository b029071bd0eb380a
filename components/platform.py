"""MultusPlatform: the whole stack, from VPC to NetworkAttachmentDefinitions."""

import pulumi

from .args import MultusPlatformArgs
from .arguments import config_of, sections_of
from .cluster import MultusCluster
from .core.egress import needs_endpoints
from .core.manifests import needs_readiness_gate, uses_whereabouts
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

    cluster_name: str
    """The EKS cluster's name."""

    def __init__(self, name: str, args: MultusPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:MultusPlatform", name, None, opts)
        cfg = config_of("MultusPlatform", name, args, MultusPlatformArgs)
        self.cluster_name = cfg.cluster_name
        child = pulumi.ResourceOptions(parent=self)
        stack = {"config": cfg}  # validated once; each component gets the same model
        self.vpc: MultusVpc = MultusVpc(f"{name}-vpc", stack, opts=child)
        zones = cfg.vpc.availability_zones
        node_prerequisites: list[pulumi.Resource] = []
        if needs_endpoints(cfg):  # no NAT: nodes reach AWS only through these
            self.endpoints = PrivateEndpoints(
                f"{name}-endpoints",
                {
                    "config": cfg,
                    "vpc_id": self.vpc.vpc_id,
                    "private_subnet_ids": [self.vpc.private_subnet_ids[z] for z in zones],
                    "private_route_table_ids": [self.vpc.private_route_table_ids[z] for z in zones],
                },
                opts=child,
            )
            node_prerequisites.append(self.endpoints)
        self.cluster: MultusCluster = MultusCluster(
            f"{name}-cluster",
            {
                "config": cfg,
                "vpc_id": self.vpc.vpc_id,
                "private_subnet_ids": [self.vpc.private_subnet_ids[z] for z in zones],
                "public_subnet_ids": [self.vpc.public_subnet_ids[z] for z in zones if z in self.vpc.public_subnet_ids],
            },
            opts=child,
        )
        cluster_part = self.cluster.node_group_args()
        cluster_part["_after"] = [*cluster_part["_after"], *node_prerequisites]
        self.node_groups = {
            group.name: MultusNodeGroup(
                f"{name}-{group.name}",
                {
                    "config": cfg,
                    "node_group": group.name,
                    "node_subnet_id": self.vpc.private_subnet_ids[group.availability_zone],
                    "multus_subnet_ids": self.vpc.multus_subnet_ids,
                    "multus_security_group_id": self.vpc.multus_security_group_id,
                    **cluster_part,  # the AMI follows the control plane's version
                },
                opts=child,
            )
            for group in cfg.node_groups
        }
        k8s = pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.cluster.provider})
        # The Kubernetes components get their own sections as typed args, validated again on their own.
        self.multus: Multus = Multus(f"{name}-multus", sections_of(cfg, "region", "multus"), opts=k8s)  # type: ignore[arg-type]
        if needs_readiness_gate(cfg):
            self.readiness = ReadinessGate(f"{name}-readiness", {}, opts=k8s)
        ipam_deps: list[pulumi.Resource] = [self.multus]
        if uses_whereabouts(cfg):
            self.whereabouts = Whereabouts(f"{name}-whereabouts", sections_of(cfg, "whereabouts"), opts=k8s)  # type: ignore[arg-type]
            ipam_deps.append(self.whereabouts)
        if cfg.sriov.enabled:
            sriov = sections_of(cfg, "sriov", "multus_subnets", "node_groups", "networks")
            self.sriov = SriovDevicePlugin(f"{name}-sriov", sriov, opts=k8s)  # type: ignore[arg-type]
        nads = sections_of(cfg, "networks", "existing_namespaces", "multus_subnets", "node_groups", "sriov", "eni_agent")
        self.networks = NetworkAttachments(f"{name}-networks", nads, after=ipam_deps, opts=k8s)  # type: ignore[arg-type]
        self.register_outputs({"clusterName": cfg.cluster_name})
