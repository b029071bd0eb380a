"""An existing VPC and/or cluster: only the multus side is created, wired to what exists."""

from __future__ import annotations

import base64

from plan.mocks import digest
from tests.components.plan_index import of_type, one
from tests.helpers import planned, planned_with

VPC_ID = "vpc-0a1b2c3d4e5f60718"
LT = "aws:ec2/launchTemplate:LaunchTemplate"


def test_existing_cluster_creates_no_vpc_no_gateways_and_no_control_plane():
    byo = planned("byo-cluster")
    types = {r.type for r in byo.registrations}
    for absent in (
        "aws:ec2/vpc:Vpc",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "eks:index:Cluster",
    ):
        assert absent not in types, absent
    # Only the multus side: the secondary CIDR, multus subnets and their route table, reservations, the ENI SG.
    subnets = of_type(byo, "aws:ec2/subnet:Subnet")
    assert sorted(s.inputs["cidrBlock"] for s in subnets) == ["100.64.0.0/20", "100.64.16.0/20"]
    assert {s.inputs["vpcId"] for s in subnets} == {VPC_ID}
    assoc = one(byo, "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation", "eks-multus-vpc-secondary-cidr")
    assert (assoc.inputs["vpcId"], assoc.inputs["cidrBlock"]) == (VPC_ID, "100.64.0.0/19")
    assert all(assoc.urn in s.dependencies for s in subnets)


def test_existing_cluster_nodes_join_with_what_eks_reports():
    byo = planned("byo-cluster")
    lt = one(byo, LT, "eks-multus-multus-a-lt")
    primary = lt.inputs["networkInterfaces"][0]
    assert primary["subnetId"] == "subnet-0aaa1111bbbb22223"
    # the cluster security group of the existing cluster, as the aws.eks.getCluster lookup reports it
    assert primary["securityGroups"] == [f"sg-{digest('platform-prod/cluster')}"]
    text = base64.b64decode(lt.inputs["userData"]).decode()
    assert "name: platform-prod" in text
    assert "cidr: 10.100.0.0/16" in text  # the existing cluster's service CIDR, not the model default
    assert byo.outputs["clusterEndpoint"] in text
    entry = one(byo, "aws:eks/accessEntry:AccessEntry", "eks-multus-multus-a-access")
    assert entry.inputs["clusterName"] == "platform-prod" and entry.inputs["type"] == "EC2_LINUX"


def test_existing_cluster_kubernetes_layer_uses_the_given_kubeconfig_as_a_secret():
    byo = planned("byo-cluster")
    provider = one(byo, "pulumi:providers:kubernetes", "eks-multus-cluster-k8s")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert byo.outputs["kubeconfig"] == "[secret]"
    nads = of_type(byo, "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition")
    assert len(nads) == 2 and all(n.provider.startswith(provider.urn) for n in nads)


def test_existing_vpc_gets_a_new_cluster_in_its_private_subnets():
    byo = planned("byo-vpc")
    cluster = one(byo, "eks:index:Cluster", "eks-multus-cluster-eks")
    assert cluster.inputs["vpcId"] == "vpc-11112222"
    assert cluster.inputs["privateSubnetIds"] == ["subnet-33334444", "subnet-55556666"]  # two zones, as EKS needs
    assert "publicSubnetIds" not in cluster.inputs  # none given: no public load balancer subnets
    # secondaryCidrAssociated: true -> no second association
    assert not of_type(byo, "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation")
    assert byo.outputs["vpcId"] == "vpc-11112222"
    assert byo.outputs["privateSubnetIds"] == {"us-west-2a": "subnet-33334444", "us-west-2b": "subnet-55556666"}


def test_existing_cluster_nodes_keep_the_cni_policy_unless_told_otherwise():
    def cni_policies(result) -> set[str]:
        return {
            a.name
            for a in of_type(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["policyArn"].endswith("/AmazonEKS_CNI_Policy")
        }

    byo = planned("byo-cluster")
    # the existing cluster's aws-node uses the node identity by default: without the policy our nodes get no pod IPs
    assert cni_policies(byo) == {"eks-multus-multus-a-AmazonEKS_CNI_Policy", "eks-multus-multus-b-AmazonEKS_CNI_Policy"}
    assert not of_type(byo, "aws:eks/podIdentityAssociation:PodIdentityAssociation")

    def own_identity(flat):
        flat["eks-multus:cluster"]["existing"]["vpcCniUsesNodeRole"] = False

    assert cni_policies(planned_with("byo-cluster", own_identity)) == set()
