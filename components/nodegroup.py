"""MultusNodeGroup: a self-managed node group whose instances carry multus ENIs."""

from __future__ import annotations

import base64
import json

import pulumi
import pulumi_aws as aws

from .core.cni import uses_eni_ip
from .core.iam import CNI_POLICY, EC2_TRUST, NODE_POLICIES, eni_ip_policy, managed_policy_arn, multus_eni_policy
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
    role_name: pulumi.Output[str]
    asg_name: pulumi.Output[str]
    launch_template_id: pulumi.Output[str]

    def __init__(
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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("eks-multus:index:MultusNodeGroup", name, None, opts)
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
