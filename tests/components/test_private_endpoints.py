"""`vpc.natGateways: none` on a created VPC: the endpoints a private node needs, and what cannot work.

Source for the list: EKS user guide, "Deploy private clusters with limited internet access"
(awsdocs/amazon-eks-user-guide latest/ug/clusters/private-clusters.adoc): ec2 (the EKS optimized
AMI sets the node name through EC2), ecr.api, ecr.dkr and s3 for image pulls, sts for IRSA,
eks-auth for Pod Identity, eks; private DNS names on; the cluster's private endpoint enabled.
"""

from __future__ import annotations

import json

import pytest

from components.core.egress import reaches_without_nat
from tests.components.plan_index import of_type, one
from tests.helpers import errors_of, load, ns, planned, planned_with

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def test_no_nat_vpc_gets_the_endpoints_a_private_node_needs():
    plan = planned("static-l3")  # natGateways: none
    assert not of_type(plan, "aws:ec2/natGateway:NatGateway")
    endpoints = {r.inputs["serviceName"]: r for r in of_type(plan, ENDPOINT)}
    interface = {f"com.amazonaws.us-east-2.{s}" for s in ("ec2", "ecr.api", "ecr.dkr", "sts", "eks", "eks-auth")}
    assert set(endpoints) == interface | {"com.amazonaws.us-east-2.s3"}
    private = one(plan, "aws:ec2/subnet:Subnet", "eks-multus-vpc-private-us-east-2b")
    private_rt = one(plan, "aws:ec2/routeTable:RouteTable", "eks-multus-vpc-private-us-east-2b")
    sg = one(plan, "aws:ec2/securityGroup:SecurityGroup", "eks-multus-endpoints-sg")
    assert sg.inputs["ingress"] == [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.40.0.0/20"], "description": "VPC"}
    ]
    for service in interface:
        e = endpoints[service]
        assert e.inputs["vpcEndpointType"] == "Interface" and e.inputs["privateDnsEnabled"] is True
        assert private.urn in e.dependencies and sg.urn in e.dependencies
        # one subnet in each zone of the VPC: an interface endpoint takes at most one subnet per zone
        # (AWS PrivateLink guide, "Access an AWS service using an interface VPC endpoint")
        assert len(e.inputs["subnetIds"]) == len(load("static-l3").vpc.availability_zones) == 2
    s3 = endpoints["com.amazonaws.us-east-2.s3"]
    assert s3.inputs["vpcEndpointType"] == "Gateway" and private_rt.urn in s3.dependencies
    assert not private_rt.inputs.get("routes")  # no default route: only the endpoints lead out


def test_nodes_launch_after_the_endpoints():
    plan = planned("static-l3")
    endpoints = {r.urn for r in of_type(plan, ENDPOINT)}
    for asg in of_type(plan, "aws:autoscaling/group:Group"):
        chain = _ancestors_dependencies(plan, asg)
        assert endpoints <= chain, asg.name


def _ancestors_dependencies(plan, res) -> set[str]:
    """Dependencies of a resource and of its parents (a component's depends_on applies to its children)."""
    by_urn = {r.urn: r for r in plan.registrations}
    out: set[str] = set()
    current = res
    while current is not None:
        for dep in current.dependencies:
            out.add(dep)
            dep_res = by_urn.get(dep)
            if dep_res is not None and not dep_res.custom:  # a component: all its children
                out.update(r.urn for r in plan.registrations if r.parent == dep)
        current = by_urn.get(current.parent)
    return out


def test_nat_stacks_get_no_endpoints():
    assert not of_type(planned("dev"), ENDPOINT)
    assert not of_type(planned("prod"), ENDPOINT)


@pytest.mark.parametrize(
    "image,reachable",
    [
        ("602401143452.dkr.ecr.us-east-2.amazonaws.com/eks/multus-cni:v4.1.4-eksbuild.3_thick", True),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/multus:v4.3.0", False),  # another region's ECR
        ("ghcr.io/k8snetworkplumbingwg/multus-cni:v4.3.0-thick", False),
        ("public.ecr.aws/eks/aws-load-balancer-controller:v2.13.0", False),  # ECR Public has no VPC endpoint
    ],
)
def test_which_registries_the_endpoints_reach(image, reachable):
    assert reaches_without_nat(image, "us-east-2") is reachable


def test_ghcr_images_without_nat_are_refused_with_their_keys():
    def ghcr(flat):
        ns(flat, "multus")["image"] = "upstream"
        ns(flat, "networks")[1]["ipam"] = {"type": "whereabouts", "range": "100.64.1.0/24", "rangeStart": "100.64.1.10"}
        flat["eks-multus:sriov"] = {"enabled": True, "resources": [{"name": "aws_ena_vf", "pciAddresses": ["0000:00:08.0"]}]}

    errors = errors_of("static-l3", ghcr)
    multus = [e for e in errors if e.startswith("eks-multus:multus.image:")]
    assert multus and "ghcr.io" in multus[0] and "natGateways: none" in multus[0] and "set multus.image to eks" in multus[0]
    assert any(e.startswith("eks-multus:networks[1].ipam.type:") and "whereabouts" in e for e in errors), errors
    assert any(e.startswith("eks-multus:sriov.enabled:") and "sriov-network-device-plugin" in e for e in errors), errors


def test_no_nat_needs_the_private_cluster_endpoint():
    errors = errors_of("static-l3", lambda f: f.setdefault("eks-multus:cluster", {}).update(endpointPrivateAccess=False))
    assert any(e.startswith("eks-multus:cluster.endpointPrivateAccess:") for e in errors), errors


def test_with_nat_ghcr_is_fine():
    from tests.helpers import load

    def nat(flat):
        ns(flat, "vpc")["natGateways"] = "single"
        ns(flat, "multus")["image"] = "upstream"

    assert load("static-l3", nat).multus.image == "upstream"


def test_china_regions_name_interface_services_with_their_own_prefix():
    """In cn-north-1 the interface services are `cn.com.amazonaws.cn-north-1.<service>` (an EC2 refusal,
    InvalidServiceName, otherwise); eks-auth and the S3 gateway keep `com.amazonaws` (the list in
    aws/aws-cdk packages/aws-cdk-lib/aws-ec2/lib/vpc-endpoint.ts getDefaultEndpointPrefix, cited in core/egress.py)."""

    def to_china(flat):
        moved = json.loads(json.dumps(flat).replace("us-east-2", "cn-north-1"))
        flat.clear()
        flat.update(moved)

    plan = planned_with("static-l3", to_china)
    names = {r.inputs["serviceName"] for r in of_type(plan, ENDPOINT)}
    assert names == {
        *(f"cn.com.amazonaws.cn-north-1.{s}" for s in ("ec2", "ecr.api", "ecr.dkr", "sts", "eks")),
        "com.amazonaws.cn-north-1.eks-auth",
        "com.amazonaws.cn-north-1.s3",
    }
