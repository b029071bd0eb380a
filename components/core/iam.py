"""IAM documents the node role needs beyond the AWS-managed node policies."""

from __future__ import annotations

from typing import Any

NO_MANAGE_TAG = "node.k8s.amazonaws.com/no_manage"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly")
CNI_POLICY = "AmazonEKS_CNI_Policy"


def managed_policy_arn(name: str, region: str) -> str:
    """AWS-managed policies live in the region's partition (aws-cn, aws-us-gov have their own ARNs)."""
    return f"arn:{partition(region)}:iam::aws:policy/{name}"


def service_trust(service: str, actions: tuple[str, ...] = ("sts:AssumeRole",)) -> dict[str, Any]:
    """Trust policy letting one AWS service principal assume the role."""
    action: str | list[str] = actions[0] if len(actions) == 1 else list(actions)
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": action}]}


# EKS Pod Identity assumes roles as pods.eks.amazonaws.com and tags the session.
POD_IDENTITY_TRUST = service_trust("pods.eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession"))
EC2_TRUST = service_trust("ec2.amazonaws.com")


def eni_ip_policy(cluster_name: str, region: str) -> dict[str, Any]:
    """What eks-multus-eni-ip calls, on this cluster's multus ENIs only.

    Assign and unassign are limited to network interfaces carrying both the
    no_manage tag and this cluster's ownership tag, which the boot step puts
    on every multus ENI at creation (multus_eni_tags). Describe calls have no
    resource-level scoping.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PodAddressesOnMultusEnis",
                "Effect": "Allow",
                "Action": ["ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
                "Resource": f"arn:{partition(region)}:ec2:{region}:*:network-interface/*",
                "Condition": {
                    "StringEquals": {
                        f"ec2:ResourceTag/{NO_MANAGE_TAG}": "true",
                        f"ec2:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned",
                    }
                },
            },
            {"Sid": "ReadNetworkInterfaces", "Effect": "Allow", "Action": "ec2:DescribeNetworkInterfaces", "Resource": "*"},
        ],
    }


GROUP_TAG = "eks-multus.io/node-group"
INSTANCE_TAG = "eks-multus.io/instance"
"""Set by the boot step at creation to the id of the instance that created the ENI (orphan clean-up reads it)."""


def cluster_tag(cluster_name: str) -> str:
    return f"kubernetes.io/cluster/{cluster_name}"


def multus_eni_tags(cluster_name: str, group_name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Tags every multus ENI gets at creation (the boot step adds INSTANCE_TAG); extra = the stack's own tags."""
    return dict(
        sorted(
            {
                **(extra or {}),
                "Name": f"{cluster_name}-{group_name}-multus",
                cluster_tag(cluster_name): "owned",
                NO_MANAGE_TAG: "true",
                GROUP_TAG: group_name,
            }.items()
        )
    )


def multus_eni_policy(
    cluster_name: str,
    group_name: str,
    region: str,
    subnet_ids: list[str],
    security_group_id: str,
    extra_tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the boot step calls to create and attach its multus ENIs, and nothing wider.

    EC2 authorizes each resource of a request on its own (Service Authorization
    Reference, Amazon EC2: CreateNetworkInterface takes network-interface,
    subnet and security-group; AttachNetworkInterface takes instance and
    network-interface), so every resource type has its own statement:
    - CreateNetworkInterface: the new ENI must carry the required tags in the
      request (aws:RequestTag, and aws:TagKeys limits the keys to ours); the
      subnet and security group resources are the stack's own ARNs.
    - CreateTags only while creating an ENI (ec2:CreateAction).
    - Attach, ModifyNetworkInterfaceAttribute (delete-on-termination) and
      Delete only on ENIs tagged for this cluster and node group (ec2:ResourceTag).
    - Attach only to the calling instance (policy variable ec2:SourceInstanceARN
      in the Resource element), which must carry this cluster's tag. IAM User
      Guide, "IAM policy elements: Variables and tags": global condition keys
      can be used as variables; "AWS global condition context keys" lists
      ec2:SourceInstanceArn, present when the request is signed with an
      instance profile's role credentials (what the boot step uses).
    Describe calls cannot be scoped to resources (they take `*`).
    """
    p = partition(region)
    tags = multus_eni_tags(cluster_name, group_name, extra_tags)
    eni_arn = f"arn:{p}:ec2:{region}:*:network-interface/*"
    owned = {
        f"ec2:ResourceTag/{cluster_tag(cluster_name)}": "owned",
        f"ec2:ResourceTag/{NO_MANAGE_TAG}": "true",
        f"ec2:ResourceTag/{GROUP_TAG}": group_name,
    }
    required = {k: v for k, v in tags.items() if k in (cluster_tag(cluster_name), NO_MANAGE_TAG, GROUP_TAG)}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateTaggedMultusEnis",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": eni_arn,
                "Condition": {
                    "StringEquals": {f"aws:RequestTag/{k}": v for k, v in required.items()},
                    "StringLike": {f"aws:RequestTag/{INSTANCE_TAG}": "i-*"},
                    "ForAllValues:StringEquals": {"aws:TagKeys": sorted([*tags, INSTANCE_TAG])},
                },
            },
            {
                "Sid": "CreateInMultusSubnetsWithMultusGroup",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [
                    *(f"arn:{p}:ec2:{region}:*:subnet/{s}" for s in sorted(subnet_ids)),
                    f"arn:{p}:ec2:{region}:*:security-group/{security_group_id}",
                ],
            },
            {
                "Sid": "TagOnlyWhileCreating",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": eni_arn,
                "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"}},
            },
            {
                "Sid": "AttachModifyDeleteOwnMultusEnis",
                "Effect": "Allow",
                "Action": ["ec2:AttachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute", "ec2:DeleteNetworkInterface"],
                "Resource": eni_arn,
                "Condition": {"StringEquals": owned},
            },
            {
                "Sid": "AttachToThisInstanceOnly",
                "Effect": "Allow",
                "Action": "ec2:AttachNetworkInterface",
                "Resource": "${ec2:SourceInstanceARN}",
                "Condition": {"StringEquals": {f"ec2:ResourceTag/{cluster_tag(cluster_name)}": "owned"}},
            },
            {
                "Sid": "Describe",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances"],
                "Resource": "*",
            },
        ],
    }
