"""MultusCluster: the EKS control plane (pulumi-eks), with the VPC CNI kept primary."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from .core.kubeconfig import endpoint_and_ca
from .core.model import StackConfig


class MultusCluster(pulumi.ComponentResource):
    """No default node group (ours carry multus ENIs), API authentication, pinned VPC CNI.

    With `cluster.existing`, nothing is created: the cluster is looked up by
    name (endpoint, CA, service CIDR, the cluster security group the nodes
    join) and the Kubernetes provider uses the kubeconfig from config.
    """

    cluster_name: str
    kubeconfig: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    service_cidr: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        vpc_id: pulumi.Input[str],
        private_subnet_ids: list[pulumi.Input[str]],
        public_subnet_ids: list[pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("eks-multus:index:MultusCluster", name, None, opts)
        c = cfg.cluster
        self.cluster_name = cfg.cluster_name
        if c.existing is not None:
            self._use_existing(cfg)
        else:
            self._create(name, cfg, vpc_id, (private_subnet_ids, public_subnet_ids))
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "endpoint": self.endpoint,
                "nodeSecurityGroupId": self.node_security_group_id,
            }
        )

    def _use_existing(self, cfg: StackConfig) -> None:
        assert cfg.cluster.existing is not None  # validated
        found = aws.eks.get_cluster_output(name=cfg.cluster_name, opts=pulumi.InvokeOutputOptions(parent=self))
        self.kubeconfig = pulumi.Output.secret(cfg.cluster.existing.kubeconfig)
        self.endpoint = found.endpoint
        self.certificate_authority = found.certificate_authorities.apply(lambda cas: cas[0].data)
        self.service_cidr = found.kubernetes_network_configs.apply(lambda nets: nets[0].service_ipv4_cidr)
        self.cluster_security_group_id = found.vpc_config.apply(lambda v: v.cluster_security_group_id)
        # EKS puts the control plane and managed nodes in the cluster security group; ours join it too.
        self.node_security_group_id = self.cluster_security_group_id

    def _create(self, name: str, cfg: StackConfig, vpc_id: pulumi.Input[str], subnets: tuple[list, list]) -> None:
        """The control plane in the given private (and optional public) subnets."""
        private_subnet_ids, public_subnet_ids = subnets
        c = cfg.cluster
        cluster = eks.Cluster(
            f"{name}-eks",
            name=cfg.cluster_name,
            version=c.kubernetes_version,
            vpc_id=vpc_id,
            private_subnet_ids=private_subnet_ids,
            public_subnet_ids=public_subnet_ids or None,
            skip_default_node_group=True,
            authentication_mode="API",
            kubernetes_service_ip_address_range=str(c.service_cidr),
            endpoint_public_access=c.endpoint_public_access,
            endpoint_private_access=c.endpoint_private_access,
            public_access_cidrs=[str(x) for x in c.public_access_cidrs] or None,
            vpc_cni_options=eks.VpcCniOptionsArgs(addon_version=c.vpc_cni_version),
            tags=dict(cfg.tags) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        parsed = cluster.kubeconfig_json.apply(endpoint_and_ca)
        self.endpoint = parsed.apply(lambda p: p[0])
        self.certificate_authority = parsed.apply(lambda p: p[1])
        self.service_cidr = pulumi.Output.from_input(str(c.service_cidr))
        self.node_security_group_id = cluster.node_security_group_id
        self.cluster_security_group_id = cluster.cluster_security_group_id
