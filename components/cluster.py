"""MultusCluster: the EKS control plane (pulumi-eks), with the VPC CNI kept primary."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from .args import MultusClusterArgs
from .arguments import config_of, require
from .core.awsrules import CONTROL_PLANE_LOG_TYPES, control_plane_log_group
from .core.existing import existing_cluster_problems
from .core.iam import CNI_POLICY, POD_IDENTITY_TRUST, managed_policy_arn
from .core.kubeconfig import endpoint_and_ca
from .core.model import StackConfig


def public_access_cidrs(cfg: StackConfig) -> list[str] | None:
    """The public endpoint's allowed sources, always stated: EKS's default for none is 0.0.0.0/0
    (EKS API VpcConfigRequest publicAccessCidrs); pulumi-eks refuses them without public access."""
    if not cfg.cluster.endpoint_public_access:
        return None
    return [str(x) for x in cfg.cluster.public_access_cidrs] or ["0.0.0.0/0"]


class MultusCluster(pulumi.ComponentResource):
    """No default node group (ours carry multus ENIs), API authentication, pinned VPC CNI.

    With `cluster.existing`, nothing is created: the cluster is looked up by
    name (endpoint, CA, service CIDR, the cluster security group the nodes
    join) and the Kubernetes provider uses the kubeconfig from config.
    """

    cluster_name: str
    """The EKS cluster's name."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig of the cluster (secret)."""
    endpoint: pulumi.Output[str]
    """The API server's URL."""
    certificate_authority: pulumi.Output[str]
    """The cluster CA, base64 PEM, as EKS reports it."""
    service_cidr: pulumi.Output[str]
    """The Kubernetes service range."""
    kubernetes_version: pulumi.Output[str]
    """The control plane's version, which the nodes' AMI follows (an existing cluster's own, from EKS)."""
    nodes_need_cni_policy: bool
    """Whether the VPC CNI takes its permissions from the node role."""
    node_security_group_id: pulumi.Output[str]
    """Security group the nodes join."""
    cluster_security_group_id: pulumi.Output[str]
    """EKS's cluster security group."""
    provider: k8s.Provider
    """Kubernetes provider for the cluster (server-side apply)."""

    def __init__(self, name: str, args: MultusClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:MultusCluster", name, None, opts)
        cfg = config_of("MultusCluster", name, args, MultusClusterArgs)
        c = cfg.cluster
        self.cluster_name = cfg.cluster_name
        self.node_dependencies: list[pulumi.Resource] = []
        """What must exist before nodes join (their aws-node pods pick up their identity at creation)."""
        if c.existing is not None:
            self._use_existing(cfg)
        else:
            require("MultusCluster", name, args, "vpc_id", "private_subnet_ids")
            subnets = (args["private_subnet_ids"], args.get("public_subnet_ids") or [])
            self._create(name, cfg, args["vpc_id"], subnets)
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

    def node_group_args(self) -> dict:
        """The cluster's part of `MultusNodeGroupArgs`: its values, and what nodes must wait for."""
        return {
            "endpoint": self.endpoint,
            "certificate_authority": self.certificate_authority,
            "service_cidr": self.service_cidr,
            "node_security_group_ids": [self.node_security_group_id],
            "kubernetes_version": self.kubernetes_version,
            "attach_cni_policy": self.nodes_need_cni_policy,
            "_after": [self, *self.node_dependencies],
        }

    def _use_existing(self, cfg: StackConfig) -> None:
        assert cfg.cluster.existing is not None  # validated
        found = aws.eks.get_cluster_output(name=cfg.cluster_name, opts=pulumi.InvokeOutputOptions(parent=self))
        # Known only once EKS answers: a cluster nodes cannot join stops the deployment here, before the
        # provider (and so every Kubernetes object and node group after it) is registered.
        modes = found.access_configs.apply(lambda configs: [c.authentication_mode for c in configs or []])
        checked = pulumi.Output.all(found.name, found.version, modes).apply(_check_existing)
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(checked, cfg.cluster.existing.kubeconfig).apply(lambda a: a[1]))
        self.kubernetes_version = checked
        self.nodes_need_cni_policy = cfg.cluster.existing.vpc_cni_uses_node_role
        self.endpoint = pulumi.Output.all(checked, found.endpoint).apply(lambda a: a[1])
        self.certificate_authority = found.certificate_authorities.apply(lambda cas: cas[0].data)
        self.service_cidr = found.kubernetes_network_configs.apply(lambda nets: nets[0].service_ipv4_cidr)
        self.cluster_security_group_id = found.vpc_config.apply(lambda v: v.cluster_security_group_id)
        # EKS puts the control plane and managed nodes in the cluster security group; ours join it too.
        self.node_security_group_id = self.cluster_security_group_id

    def _create(self, name: str, cfg: StackConfig, vpc_id: pulumi.Input[str], subnets: tuple[list, list]) -> None:
        """The control plane in the given private (and optional public) subnets."""
        private_subnet_ids, public_subnet_ids = subnets
        c = cfg.cluster
        logs = self._control_plane_logs(name, cfg)
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
            public_access_cidrs=public_access_cidrs(cfg),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            vpc_cni_options=eks.VpcCniOptionsArgs(addon_version=c.vpc_cni_version),
            tags=dict(cfg.tags) or None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        parsed = cluster.kubeconfig_json.apply(endpoint_and_ca)
        self.endpoint = parsed.apply(lambda p: p[0])
        self.certificate_authority = parsed.apply(lambda p: p[1])
        self.service_cidr = pulumi.Output.from_input(str(c.service_cidr))
        self.kubernetes_version = pulumi.Output.from_input(c.kubernetes_version)
        self.node_security_group_id = cluster.node_security_group_id
        self.cluster_security_group_id = cluster.cluster_security_group_id
        self._vpc_cni_identity(name, cfg, cluster)

    def _control_plane_logs(self, name: str, cfg: StackConfig) -> aws.cloudwatch.LogGroup:
        """The group EKS writes control-plane logs to, made first so it has a retention.

        EKS would otherwise create it on first write, keeping logs forever (EKS user
        guide, control-plane-logs); pulumi-eks 4.4.0 only passes the log types through.
        """
        return aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=control_plane_log_group(cfg.cluster_name),
            retention_in_days=cfg.cluster.log_retention_days,
            tags=dict(cfg.tags) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _vpc_cni_identity(self, name: str, cfg: StackConfig, cluster: eks.Cluster) -> None:
        """The VPC CNI's own role through EKS Pod Identity, so the node role holds no ENI write access.

        Without it the node role needs AmazonEKS_CNI_Policy, which allows assigning
        addresses on every ENI in the account and makes the ENI-IP plugin's
        tag-scoped grant moot.
        """
        after_cluster = pulumi.ResourceOptions(parent=self, depends_on=[cluster])
        agent = aws.eks.Addon(
            f"{name}-pod-identity-agent",
            cluster_name=cfg.cluster_name,
            addon_name="eks-pod-identity-agent",
            addon_version=cfg.cluster.pod_identity_agent_version,
            resolve_conflicts_on_create="OVERWRITE",
            # As pulumi-eks does for the vpc-cni add-on it manages (nodejs/eks/addons/cni-addon.ts): without a
            # value a version bump may fail on a changed field (EKS API UpdateAddon, resolveConflicts None).
            resolve_conflicts_on_update="OVERWRITE",
            tags=dict(cfg.tags) or None,
            opts=after_cluster,
        )
        role = aws.iam.Role(
            f"{name}-vpc-cni",
            assume_role_policy=json.dumps(POD_IDENTITY_TRUST),
            tags=dict(cfg.tags) or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-vpc-cni",
            role=role.name,
            policy_arn=managed_policy_arn(CNI_POLICY, cfg.region),
            opts=pulumi.ResourceOptions(parent=self),
        )
        association = aws.eks.PodIdentityAssociation(
            f"{name}-vpc-cni",
            cluster_name=cfg.cluster_name,
            namespace="kube-system",
            service_account="aws-node",
            role_arn=role.arn,
            tags=dict(cfg.tags) or None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster, agent, attachment]),
        )
        self.nodes_need_cni_policy = False
        self.node_dependencies = [agent, association]


def _check_existing(args: list) -> str:
    """The existing cluster's version, or a deployment error saying why nodes cannot join it."""
    name, version, modes = args
    problems = existing_cluster_problems(name, version, modes)
    if problems:
        raise pulumi.RunError("; ".join(problems))
    return version
