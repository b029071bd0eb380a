"""An existing VPC and/or cluster: only the multus side is created, wired to what exists."""

from __future__ import annotations

import base64

import pytest

from components.core.userdata import node_labels
from plan.mocks import PlanMocks, digest, subnets_in_config
from plan.render import kubernetes_objects
from plan.runner import ProgramError, run_program
from tests.components.plan_index import of_type, one
from tests.helpers import load, planned, planned_with, stack_flat

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


class _ClusterReports(PlanMocks):
    """getCluster answers as EKS would for another cluster; records what gets created."""

    def __init__(self, region: str, **reported) -> None:
        super().__init__(region, subnets=subnets_in_config(stack_flat("byo-cluster")))
        self.reported = reported
        self.created: list[str] = []

    def new_resource(self, args):
        self.created.append(args.typ)
        return super().new_resource(args)

    def call(self, args):
        out = super().call(args)
        if args.token == "aws:eks/getCluster:getCluster":
            out.update(self.reported)
        return out


def test_existing_cluster_nodes_follow_the_version_eks_reports():
    byo = planned("byo-cluster")
    lt = one(byo, LT, "eks-multus-multus-a-lt")
    # the mocks' getCluster says 1.34; the config default is not used for an existing cluster
    parameter = "/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/x86_64/standard/recommended/image_id"
    assert lt.inputs["imageId"] == f"ami-{digest(parameter)}"


def test_existing_cluster_without_api_authentication_stops_before_any_node():
    mocks = _ClusterReports(
        "eu-west-1", accessConfigs=[{"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}]
    )
    with pytest.raises(ProgramError) as err:
        run_program(stack_flat("byo-cluster"), "byo-cluster", mocks=mocks)
    assert "cluster platform-prod uses authentication mode CONFIG_MAP" in str(err.value)
    assert "authenticationMode=API_AND_CONFIG_MAP" in str(err.value)
    assert "aws:ec2/subnet:Subnet" in mocks.created  # the recorder works: the multus side was registered
    for never in (
        "aws:eks/accessEntry:AccessEntry",
        "aws:iam/role:Role",
        LT,
        "aws:autoscaling/group:Group",
        "pulumi:providers:kubernetes",
        "kubernetes:apps/v1:DaemonSet",
    ):
        assert never not in mocks.created, never


def test_existing_cluster_too_old_for_the_node_bootstrap_is_refused():
    mocks = _ClusterReports("eu-west-1", version="1.29")
    with pytest.raises(ProgramError, match=r"runs Kubernetes 1\.29, and its nodes follow it"):
        run_program(stack_flat("byo-cluster"), "byo-cluster", mocks=mocks)
    assert LT not in mocks.created


def test_multus_whereabouts_and_sriov_run_only_on_multus_nodes():
    """Other nodes of an existing cluster keep their CNI config: nothing of ours is scheduled there."""
    for stack in ("byo-cluster", "prod"):
        daemonsets = [o for o in kubernetes_objects(planned(stack)) if o["kind"] == "DaemonSet"]
        assert daemonsets
        for ds in daemonsets:
            assert ds["spec"]["template"]["spec"]["nodeSelector"] == {"eks-multus.io/multus": "true"}, ds["metadata"]["name"]
    # the label the selector needs is the one every multus node group registers with
    assert node_labels(load("byo-cluster").node_groups[0])["eks-multus.io/multus"] == "true"


def test_an_existing_subnet_in_another_zone_than_config_says_stops_the_deployment():
    """Only EC2 knows a subnet's zone; a node there could not attach its multus ENIs (or EKS would refuse)."""
    flat = stack_flat("byo-vpc")
    subnets = subnets_in_config(flat)
    subnets["subnet-55556666"] = {"availabilityZone": "us-west-2a", "vpcId": "vpc-11112222"}  # mapped to 2b in config
    mocks = PlanMocks("us-west-2", subnets=subnets)
    with pytest.raises(ProgramError) as err:
        run_program(flat, "byo-vpc", mocks=mocks)
    assert (
        "eks-multus:vpc.existing.privateSubnetIds.us-west-2b: subnet-55556666 is in us-west-2a of vpc-11112222, "
        "not in us-west-2b of vpc-11112222"
    ) in str(err.value)
