"""IAM documents: partitions and the trust each role needs."""

from __future__ import annotations

from components.core.iam import (
    EC2_TRUST,
    INSTANCE_TAG,
    POD_IDENTITY_TRUST,
    eni_ip_policy,
    managed_policy_arn,
    multus_eni_policy,
    multus_eni_tags,
)


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


def test_multus_eni_grant_follows_the_partition_and_names_only_the_given_subnets():
    doc = multus_eni_policy("c", "g", "cn-north-1", ["subnet-0b", "subnet-0a"], "sg-01")
    where = next(s for s in doc["Statement"] if s["Sid"] == "CreateInMultusSubnetsWithMultusGroup")
    assert where["Resource"] == [
        "arn:aws-cn:ec2:cn-north-1:*:subnet/subnet-0a",
        "arn:aws-cn:ec2:cn-north-1:*:subnet/subnet-0b",
        "arn:aws-cn:ec2:cn-north-1:*:security-group/sg-01",
    ]
    assert all(not str(s["Resource"]).startswith("arn:aws:") for s in doc["Statement"])
    # The tag keys a create may carry are exactly the boot step's (the stack's own tags included).
    tagged = multus_eni_policy("c", "g", "cn-north-1", ["subnet-0a"], "sg-01", {"team": "ran"})
    create = next(s for s in tagged["Statement"] if s["Sid"] == "CreateTaggedMultusEnis")
    keys = create["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]
    assert keys == sorted([*multus_eni_tags("c", "g", {"team": "ran"}), INSTANCE_TAG]) and "team" in keys
