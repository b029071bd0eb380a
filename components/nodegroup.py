"""MultusNodeGroup: a self-managed node group whose instances carry multus ENIs."""

import base64
import json

import pulumi
import pulumi_aws as aws

from .args import MultusNodeGroupArgs
from .arguments import ArgsError, config_of, require
from .core.cni import uses_eni_ip
from .core.errors import ConfigIssue
from .core.iam import CNI_POLICY, EC2_TRUST, NODE_POLICIES, eni_ip_policy, managed_policy_arn, multus_eni_policy
from .core.kubeconfig import endpoint_and_ca
from .core.model import NodeGroup, StackConfig
from .core.rollout import ami_parameter, autoscaler_tags, is_autoscaled, refresh_preferences
from .core.userdata import ClusterInfo, MultusNetworkIds, render_user_data


class MultusNodeGroup(pulumi.ComponentResource):
    """Launch template with the primary interface only, and an ASG in one AZ.

    An Auto Scaling group creates every launch-template interface in the
    instance's subnet, ignoring the subnets the template names (EC2 user guide,
    Elastic network interfaces; EC2 Auto Scaling guide, launch templates). So
    the node's boot step creates each multus ENI in its multus subnet, tagged
    no_manage at creation, and attaches it at its device index; the user data
    carries the subnet and security group ids, and the node role may do exactly
    that (core.iam.multus_eni_policy).
    """

    role_arn: pulumi.Output[str]
    """ARN of the nodes' IAM role."""
    role_name: pulumi.Output[str]
    """Name of the nodes' IAM role."""
    asg_name: pulumi.Output[str]
    """Name of the Auto Scaling group."""
    launch_template_id: pulumi.Output[str]
    """Id of the launch template."""

    def __init__(self, name: str, args: MultusNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        cfg = config_of("MultusNodeGroup", name, args, MultusNodeGroupArgs)
        require("MultusNodeGroup", name, args, "node_group", "node_subnet_id", "multus_subnet_ids", "multus_security_group_id")
        group = next((g for g in cfg.node_groups if g.name == args["node_group"]), None)
        if group is None:
            names = ", ".join(g.name for g in cfg.node_groups)
            raise ArgsError(
                "MultusNodeGroup",
                name,
                [ConfigIssue("nodeGroup", f"`{args['node_group']}` is not in config.nodeGroups", f"use one of: {names}")],
            )
        missing = [s for s in group.multus_interfaces if s not in args["multus_subnet_ids"]]
        if missing:
            issue = ConfigIssue(
                "multusSubnetIds", f"has no id for {', '.join(missing)}", "map every subnet the group's multusInterfaces name"
            )
            raise ArgsError("MultusNodeGroup", name, [issue])
        cluster = _cluster_inputs(name, args)
        # The nodes wait for the cluster and what they need at join time, without the caller's help.
        after = [*cluster.pop("after"), *(args.get("_after") or [])]
        if after:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=after))
        super().__init__("eks-multus:index:MultusNodeGroup", name, None, opts)
        self._build(
            name,
            cfg,
            group,
            cluster_name=cfg.cluster_name,
            node_subnet_id=args["node_subnet_id"],
            multus_subnet_ids=args["multus_subnet_ids"],
            multus_security_group_id=args["multus_security_group_id"],
            attach_cni_policy=bool(args.get("attach_cni_policy", False)),
            kubernetes_version=args.get("kubernetes_version"),
            **cluster,
        )

    def _build(
        self,
        name: str,
        cfg: StackConfig,
        group: NodeGroup,
        cluster_name: str,
        endpoint: pulumi.Input[str],
        certificate_authority: pulumi.Input[str],
        service_cidr: pulumi.Input[str],
        node_subnet_id: pulumi.Input[str],
        node_security_group_ids: list[pulumi.Input[str]],
        multus_subnet_ids: dict[str, pulumi.Input[str]],
        multus_security_group_id: pulumi.Input[str],
        attach_cni_policy: bool = False,
        kubernetes_version: pulumi.Input[str] | None = None,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        full_name = f"{cluster_name}-{group.name}"
        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(EC2_TRUST), tags=dict(cfg.tags) or None, opts=child)
        # The VPC CNI's permissions, only when it runs with the node's identity (an existing cluster's default).
        for policy in (*NODE_POLICIES, CNI_POLICY) if attach_cni_policy else NODE_POLICIES:
            aws.iam.RolePolicyAttachment(f"{name}-{policy}", role=role.name, policy_arn=managed_policy_arn(policy, cfg.region), opts=child)
        if uses_eni_ip(cfg) and group.is_multus:
            aws.iam.RolePolicy(
                f"{name}-eni-ip",
                role=role.name,
                policy=json.dumps(eni_ip_policy(cluster_name, cfg.region), sort_keys=True),
                opts=child,
            )
        multus_subnets = [multus_subnet_ids[name] for name in group.multus_interfaces]
        grants: list[pulumi.Resource] = []
        if group.multus_interfaces:
            multus_grant = aws.iam.RolePolicy(
                f"{name}-multus-enis",
                role=role.name,
                policy=pulumi.Output.all(multus_security_group_id, *multus_subnets).apply(
                    lambda ids: json.dumps(
                        multus_eni_policy(cluster_name, group.name, cfg.region, list(ids[1:]), ids[0], dict(cfg.tags)), sort_keys=True
                    )
                ),
                opts=child,
            )
            grants.append(multus_grant)
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=child)
        access = aws.eks.AccessEntry(f"{name}-access", cluster_name=cluster_name, principal_arn=role.arn, type="EC2_LINUX", opts=child)

        image_id = self._image_id(cfg, group, kubernetes_version)
        # The ids are Outputs: the user data is rendered once they are known.
        user_data = pulumi.Output.all(endpoint, certificate_authority, service_cidr, multus_security_group_id, *multus_subnets).apply(
            lambda args: base64.b64encode(
                render_user_data(
                    cfg,
                    group,
                    ClusterInfo(cluster_name, *args[:3]),
                    MultusNetworkIds(args[3], dict(zip(group.multus_interfaces, args[4:], strict=True))),
                ).encode()
            ).decode()
        )
        # The primary interface only: the multus ENIs are the boot step's (see the class docstring).
        interfaces = [
            {
                "device_index": 0,
                "subnet_id": node_subnet_id,
                "security_groups": node_security_group_ids,
                "associate_public_ip_address": "false",
                "delete_on_termination": "true",
            }
        ]
        base_tags = {**cfg.tags, "Name": full_name, f"kubernetes.io/cluster/{cluster_name}": "owned"}
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            name=full_name,
            description=f"eks-multus node group {group.name}",
            image_id=image_id,
            instance_type=group.instance_type,
            iam_instance_profile={"arn": profile.arn},
            user_data=user_data,
            update_default_version=True,
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": group.metadata_hop_limit,
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {
                        "volume_size": group.root_volume_size,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            network_interfaces=interfaces,
            tag_specifications=[
                {"resource_type": "instance", "tags": base_tags},
                {"resource_type": "volume", "tags": base_tags},
                {"resource_type": "network-interface", "tags": base_tags},
            ],
            tags=dict(cfg.tags) or None,
            # A node's boot step needs its grant the moment it starts: no template (so no instance) before it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        asg = aws.autoscaling.Group(
            f"{name}-asg",
            name=full_name,
            min_size=group.min_size,
            max_size=group.max_size,
            desired_capacity=group.desired_size,
            vpc_zone_identifiers=[node_subnet_id],
            launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
            # Launch before terminate: a group of one keeps its node until the replacement is in service.
            instance_refresh={"strategy": "Rolling", "preferences": refresh_preferences()},
            tags=[
                *(
                    {"key": k, "value": v, "propagate_at_launch": True}
                    for k, v in sorted({**base_tags, "eks-multus.io/node-group": group.name}.items())
                ),
                # Read from the group by Cluster Autoscaler; the instances need not carry them.
                *({"key": k, "value": v, "propagate_at_launch": False} for k, v in autoscaler_tags(cfg, group).items()),
            ],
            # Nodes join only once EKS knows their role; an autoscaler's desired capacity is not reverted.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[access],
                ignore_changes=["desired_capacity"] if is_autoscaled(group) else None,
            ),
        )
        self.role_arn = role.arn
        self.role_name = role.name
        self.asg_name = asg.name
        self.launch_template_id = launch_template.id
        self.register_outputs({"roleArn": self.role_arn, "asgName": self.asg_name, "launchTemplateId": self.launch_template_id})

    def _image_id(self, cfg: StackConfig, group: NodeGroup, kubernetes_version: pulumi.Input[str] | None) -> pulumi.Input[str]:
        """The pinned AMI id, or the one the (release-pinned or recommended) SSM parameter holds.

        The parameter follows the control plane's version (an existing cluster reports its own).
        """
        if group.ami_id is not None:
            return group.ami_id
        version = pulumi.Output.from_input(kubernetes_version if kubernetes_version is not None else cfg.cluster.kubernetes_version)
        parameter = version.apply(lambda v: ami_parameter(v, group))
        return aws.ssm.get_parameter_output(name=parameter, opts=pulumi.InvokeOutputOptions(parent=self)).value


def _cluster_inputs(name: str, args: MultusNodeGroupArgs) -> dict:
    """Endpoint, CA, service range and node security groups: from a pulumi-eks Cluster, or given."""
    eks_cluster = args.get("eks_cluster")
    if eks_cluster is not None:
        # Endpoint and CA as MultusCluster reads them from a cluster it creates (its kubeconfig).
        parsed = eks_cluster.kubeconfig_json.apply(endpoint_and_ca)
        service_cidr = args.get("service_cidr")
        if service_cidr is None:
            service_cidr = eks_cluster.eks_cluster.apply(lambda c: c.kubernetes_network_config.service_ipv4_cidr)
        return {
            "endpoint": parsed.apply(lambda p: p[0]),
            "certificate_authority": parsed.apply(lambda p: p[1]),
            "service_cidr": service_cidr,
            "node_security_group_ids": [eks_cluster.node_security_group_id],
            "after": [eks_cluster],
        }
    require("MultusNodeGroup", name, args, "endpoint", "certificate_authority", "service_cidr", "node_security_group_ids")
    return {
        "endpoint": args["endpoint"],
        "certificate_authority": args["certificate_authority"],
        "service_cidr": args["service_cidr"],
        "node_security_group_ids": list(args["node_security_group_ids"]),
        "after": [],
    }
