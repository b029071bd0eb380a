"""IAM documents: partitions and the trust each role needs."""

from __future__ import annotations

from components.core.iam import EC2_TRUST, POD_IDENTITY_TRUST, eni_ip_policy, managed_policy_arn


def test_managed_policies_and_eni_arns_follow_the_partition():
    assert managed_policy_arn("AmazonEKS_CNI_Policy", "ap-northeast-2") == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    assert managed_policy_arn("AmazonEKS_CNI_Policy", "cn-north-1") == "arn:aws-cn:iam::aws:policy/AmazonEKS_CNI_Policy"
    assert managed_policy_arn("AmazonEKSWorkerNodePolicy", "us-gov-west-1").startswith("arn:aws-us-gov:iam::aws:policy/")
    write = eni_ip_policy("c", "cn-northwest-1")["Statement"][0]
    assert write["Resource"] == "arn:aws-cn:ec2:cn-northwest-1:*:network-interface/*"


def test_trusts():
    (pods,) = POD_IDENTITY_TRUST["Statement"]
    assert pods["Principal"] == {"Service": "pods.eks.amazonaws.com"} and pods["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    (ec2,) = EC2_TRUST["Statement"]
    assert ec2["Principal"] == {"Service": "ec2.amazonaws.com"} and ec2["Action"] == "sts:AssumeRole"
