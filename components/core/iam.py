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
    no_manage tag and this cluster's ownership tag, which the launch template
    puts on every multus ENI. Describe calls have no resource-level scoping.
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
