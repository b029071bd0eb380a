"""Issue 12 under mocks: control-plane zones and NAT, namespaces, the multus security group."""

from __future__ import annotations

from plan.mocks import PlanMocks
from plan.runner import run_program
from tests.components.plan_index import of_type, one
from tests.helpers import ROOT, ns, planned, planned_with

NAMESPACE = "kubernetes:core/v1:Namespace"
NAD = "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition"
SG = "aws:ec2/securityGroup:SecurityGroup"
NAT = "aws:ec2/natGateway:NatGateway"


def test_the_control_plane_gets_two_zones_and_the_node_zone_the_nat():
    dev = planned("dev")
    cluster = one(dev, "eks:index:Cluster", "eks-multus-cluster-eks")
    private = {z: one(dev, "aws:ec2/subnet:Subnet", f"eks-multus-vpc-private-{z}").id for z in ("ap-northeast-2a", "ap-northeast-2c")}
    assert cluster.inputs["privateSubnetIds"] == [private["ap-northeast-2a"], private["ap-northeast-2c"]]
    nats = of_type(dev, NAT)
    assert [n.name for n in nats] == ["eks-multus-vpc-nat-ap-northeast-2a"]  # where the node runs
    rt_c = one(dev, "aws:ec2/routeTable:RouteTable", "eks-multus-vpc-private-ap-northeast-2c")
    assert rt_c.inputs["routes"][0]["natGatewayId"] == nats[0].id  # 2c has no node: it shares 2a's gateway


def test_per_az_nat_only_in_zones_with_nodes():
    def per_az(flat):
        ns(flat, "vpc")["natGateways"] = "perAz"

    result = planned_with("dev", per_az)
    assert [n.name for n in of_type(result, NAT)] == ["eks-multus-vpc-nat-ap-northeast-2a"]
    assert len(of_type(planned("prod"), NAT)) == 2  # prod has nodes in both zones


def test_namespaces_a_network_uses_are_created_first():
    result = planned("static-l3")
    spaces = of_type(result, NAMESPACE)
    assert [n.inputs["metadata"]["name"] for n in spaces] == ["telco"]
    for nad in of_type(result, NAD):
        assert nad.inputs["metadata"]["namespace"] == "telco" and spaces[0].urn in nad.dependencies
    assert not of_type(planned("dev"), NAMESPACE)  # `default` exists in every cluster


def test_the_library_example_creates_its_ran_namespace():
    result = run_program(
        {"aws:region": "eu-central-1"},
        "lib",
        main=ROOT / "examples" / "library" / "__main__.py",
        project="eks-multus-library",
        mocks=PlanMocks("eu-central-1"),
    )
    (space,) = of_type(result, NAMESPACE)
    assert space.inputs["metadata"]["name"] == "ran"
    assert all(space.urn in nad.dependencies for nad in of_type(result, NAD))


def test_existing_namespaces_are_left_to_their_owner():
    def existing(flat):
        flat["eks-multus:existingNamespaces"] = ["telco"]

    result = planned_with("static-l3", existing)
    assert not of_type(result, NAMESPACE)
    assert len(of_type(result, NAD)) == 2


def test_nads_of_look_alike_namespace_and_name_pairs_both_plan():
    """`a-b/c` and `a/b-c` used to get one resource name; now namespace and name stay apart."""

    def look_alike(flat):
        base = ns(flat, "networks")[0]
        first = {**base, "namespace": "team-a", "name": "net"}
        second = {
            **base,
            "namespace": "team",
            "name": "a-net",
            "ipam": {**base["ipam"], "rangeStart": "100.64.29.10", "rangeEnd": "100.64.29.20"},
        }
        flat["eks-multus:networks"] = [first, second]

    result = planned_with("dev", look_alike)
    assert sorted(n.name for n in of_type(result, NAD)) == [
        "eks-multus-networks-networkattachmentdefinition-team-a/net",
        "eks-multus-networks-networkattachmentdefinition-team/a-net",
    ]
    assert sorted(n.inputs["metadata"]["name"] for n in of_type(result, NAMESPACE)) == ["team", "team-a"]


def _sg(result):
    return one(result, SG, "eks-multus-vpc-multus-eni")


def test_user_ingress_adds_to_the_default_rule_and_egress_replaces_the_default():
    default = {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["100.64.0.0/19"], "description": "multus subnets"}
    sg = _sg(planned("dev"))
    assert sg.inputs["ingress"] == [default]
    # the default egress reaches only the multus subnets and what the networks address or route to (issue 16)
    assert sg.inputs["egress"] == [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["100.64.0.0/19"], "description": "multus networks"}
    ]

    def rules(flat):
        flat["eks-multus:multusSecurityGroup"] = {
            "ingress": [{"protocol": "icmpv6", "fromPort": -1, "toPort": -1, "cidrBlocks": ["10.99.0.0/16"]}],
            "egress": [{"protocol": 6, "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8"], "description": "https"}],
        }

    sg = _sg(planned_with("dev", rules))
    # icmpv6 goes to the provider as its number; 6 as tcp (pulumi-aws SecurityGroupIngressArgs.protocol)
    assert sg.inputs["ingress"] == [default, {"protocol": "58", "fromPort": -1, "toPort": -1, "cidrBlocks": ["10.99.0.0/16"]}]
    assert sg.inputs["egress"] == [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8"], "description": "https"}
    ]


def test_replace_default_leaves_only_the_listed_ingress():
    def replace(flat):
        flat["eks-multus:multusSecurityGroup"] = {
            "replaceDefault": True,
            "ingress": [{"protocol": "all", "cidrBlocks": ["100.64.0.0/24"]}],
            "egress": [],
        }

    sg = _sg(planned_with("dev", replace))
    assert sg.inputs["ingress"] == [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["100.64.0.0/24"]}]
    assert sg.inputs["egress"] == []  # an empty list: no egress at all


def test_an_unused_existing_namespace_is_a_warning():
    from components.core.advice import advise
    from tests.helpers import load

    def typo(flat):
        flat["eks-multus:existingNamespaces"] = ["telko"]

    (warning,) = [w for w in advise(load("static-l3", typo)) if w.path.startswith("existingNamespaces")]
    assert warning.render() == (
        "eks-multus:existingNamespaces[0]: no network uses namespace `telko`, so listing it changes nothing; "
        "use one of the networks' namespaces (telco) or remove it"
    )
    assert not [w for w in advise(load("static-l3")) if w.path.startswith("existingNamespaces")]
