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
