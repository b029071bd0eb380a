"""The AWS layer under mocks: what we ask AWS for, input by input."""

from __future__ import annotations

import base64
import json
from ipaddress import IPv4Address, IPv4Network

import yaml

from tests.components.plan_index import by_urn, of_type, one
from tests.helpers import ns, planned, planned_with

LT = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
NO_MANAGE = "node.k8s.amazonaws.com/no_manage"


def test_vpc_has_dns_and_the_secondary_cidr():
    dev = planned("dev")
    vpc = one(dev, "aws:ec2/vpc:Vpc", "eks-multus-vpc-vpc")
    assert vpc.inputs["cidrBlock"] == "10.20.0.0/16"
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True
    assoc = one(dev, "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation", "eks-multus-vpc-secondary-cidr")
    assert assoc.inputs["cidrBlock"] == "100.64.0.0/19"
    assert vpc.urn in assoc.dependencies


def test_multus_subnets_wait_for_the_association_and_skip_cni_discovery():
    prod = planned("prod")
    assoc = one(prod, "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation", "eks-multus-vpc-secondary-cidr")
    multus = [r for r in of_type(prod, SUBNET) if "eks-multus.io/multus-subnet" in r.inputs.get("tags", {})]
    assert sorted(r.inputs["cidrBlock"] for r in multus) == ["100.64.0.0/21", "100.64.16.0/22", "100.64.20.0/22", "100.64.8.0/21"]
    for r in multus:
        assert assoc.urn in r.dependencies
        assert "kubernetes.io/role/cni" not in r.inputs["tags"]
    # the multus route table has local routes only
    rt = one(prod, "aws:ec2/routeTable:RouteTable", "eks-multus-vpc-multus")
    assert not rt.inputs.get("routes")


def test_primary_subnets_per_az_with_load_balancer_tags():
    prod = planned("prod")
    for zone in ("ap-northeast-2a", "ap-northeast-2c"):
        private = one(prod, SUBNET, f"eks-multus-vpc-private-{zone}")
        public = one(prod, SUBNET, f"eks-multus-vpc-public-{zone}")
        assert private.inputs["availabilityZone"] == zone == public.inputs["availabilityZone"]
        assert private.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert public.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert IPv4Network(private.inputs["cidrBlock"]).subnet_of(IPv4Network("10.30.0.0/16"))


def test_nat_gateways_follow_the_setting():
    assert len(of_type(planned("dev"), "aws:ec2/natGateway:NatGateway")) == 1  # single
    assert len(of_type(planned("prod"), "aws:ec2/natGateway:NatGateway")) == 2  # perAz
    rts = [r for r in of_type(planned("prod"), "aws:ec2/routeTable:RouteTable") if "private" in r.name]
    assert len(rts) == 2 and all(r.inputs["routes"][0]["cidrBlock"] == "0.0.0.0/0" for r in rts)


def test_reservations_cover_the_seed_range_exactly():
    dev = planned("dev")
    blocks = [IPv4Network(r.inputs["cidrBlock"]) for r in of_type(dev, "aws:ec2/subnetCidrReservation:SubnetCidrReservation")]
    assert all(r.inputs["reservationType"] == "explicit" for r in of_type(dev, "aws:ec2/subnetCidrReservation:SubnetCidrReservation"))
    covered = sorted(int(a) for b in blocks for a in b)
    assert covered == list(range(int(IPv4Address("100.64.30.10")), int(IPv4Address("100.64.30.100")) + 1))
    assert all(b.subnet_of(IPv4Network("100.64.0.0/19")) for b in blocks)


def test_whereabouts_ranges_are_reserved_in_their_subnets():
    prod = planned("prod")
    reservations = of_type(prod, "aws:ec2/subnetCidrReservation:SubnetCidrReservation")
    ipvlan_a = [IPv4Network(r.inputs["cidrBlock"]) for r in reservations if "default/ipvlan-a " in r.inputs["description"]]
    assert sum(b.num_addresses for b in ipvlan_a) == int(IPv4Address("100.64.7.254")) - int(IPv4Address("100.64.1.0")) + 1
    subnets = {r.urn: r for r in of_type(prod, SUBNET)}
    urns = by_urn(prod)
    for r in reservations:
        subnet_deps = [d for d in r.dependencies if d in subnets]
        assert len(subnet_deps) == 1
        assert IPv4Network(r.inputs["cidrBlock"]).subnet_of(IPv4Network(urns[subnet_deps[0]].inputs["cidrBlock"]))


def _boot_config(lt) -> dict:
    """The boot step's config, as the launch template's user data carries it."""
    text = base64.b64decode(lt.inputs["userData"]).decode()
    cloud = yaml.safe_load(text.split("#cloud-config\n", 1)[1].split("\n--==", 1)[0])
    (entry,) = [f for f in cloud["write_files"] if f["path"] == "/etc/eks-multus/interfaces.json"]
    return json.loads(entry["content"])


def test_dev_launch_template_declares_only_the_primary_interface():
    dev = planned("dev")
    lt = one(dev, LT, "eks-multus-multus-a-lt")
    (nic,) = lt.inputs["networkInterfaces"]
    private = one(dev, SUBNET, "eks-multus-vpc-private-ap-northeast-2a")
    multus = one(dev, SUBNET, "eks-multus-vpc-multus-100.64.0.0/19")
    sg = one(dev, "aws:ec2/securityGroup:SecurityGroup", "eks-multus-vpc-multus-eni")
    cluster = one(dev, "eks:index:Cluster", "eks-multus-cluster-eks")
    assert nic["deviceIndex"] == 0 and nic["subnetId"] == private.id and nic["deleteOnTermination"] == "true"
    assert cluster.urn in lt.dependencies  # device 0 carries the cluster's node security group
    # The multus subnet and security group reach the node through the user data (rendered once they exist).
    assert multus.urn in lt.dependencies and sg.urn in lt.dependencies
    conf = _boot_config(lt)
    assert conf["interfaces"] == [{"deviceIndex": 1, "name": "multus-a", "subnet": "multus-a", "subnetId": multus.id}]
    assert conf["securityGroupId"] == sg.id


def test_launch_template_security_and_tags():
    lt = one(planned("dev"), LT, "eks-multus-multus-a-lt")
    assert lt.inputs["metadataOptions"]["httpTokens"] == "required"
    assert lt.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1  # pods cannot reach IMDS through the node
    ebs = lt.inputs["blockDeviceMappings"][0]["ebs"]
    assert ebs["encrypted"] == "true" and ebs["volumeType"] == "gp3"
    specs = {s["resourceType"]: s["tags"] for s in lt.inputs["tagSpecifications"]}
    # The template's only interface is the primary, which the VPC CNI manages: no no_manage tag on it.
    assert NO_MANAGE not in specs["network-interface"] and NO_MANAGE not in specs["instance"]
    assert specs["instance"]["kubernetes.io/cluster/eks-multus-dev"] == "owned"
    assert lt.inputs["instanceType"] == "m5.large"
    assert lt.inputs["imageId"].startswith("ami-")


def test_launch_template_user_data_is_the_rendered_bootstrap():
    lt = one(planned("dev"), LT, "eks-multus-multus-a-lt")
    text = base64.b64decode(lt.inputs["userData"]).decode()
    assert "kind: NodeConfig" in text and "name: eks-multus-dev" in text
    assert "maxPods: 20" in text
    assert "--register-with-taints=eks-multus.io/network-not-ready=true:NoSchedule" in text
    assert "mock.eks.amazonaws.com" in text  # the endpoint comes from the cluster's kubeconfig
    assert len(text.encode()) <= 16384


def test_prod_nodes_attach_their_zones_multus_subnets_in_order():
    prod = planned("prod")
    subnets = {r.id: r for r in of_type(prod, SUBNET)}
    for group, zone, names in (
        ("multus-a", "ap-northeast-2a", ["multus-a", "direct-a"]),
        ("multus-c", "ap-northeast-2c", ["multus-c", "direct-c"]),
    ):
        lt = one(prod, LT, f"eks-multus-{group}-lt")
        assert [n["deviceIndex"] for n in lt.inputs["networkInterfaces"]] == [0]
        interfaces = _boot_config(lt)["interfaces"]
        assert [i["deviceIndex"] for i in interfaces] == [1, 2]
        assert [subnets[i["subnetId"]].inputs["tags"]["eks-multus.io/multus-subnet"] for i in interfaces] == names
        assert {subnets[i["subnetId"]].inputs["availabilityZone"] for i in interfaces} == {zone}


def test_asg_per_zone_with_refresh_and_ownership_tag():
    prod = planned("prod")
    for group in ("multus-a", "multus-c"):
        asg = one(prod, "aws:autoscaling/group:Group", f"eks-multus-{group}-asg")
        assert (asg.inputs["minSize"], asg.inputs["maxSize"], asg.inputs["desiredCapacity"]) == (3, 3, 3)
        assert len(asg.inputs["vpcZoneIdentifiers"]) == 1
        assert asg.inputs["instanceRefresh"]["strategy"] == "Rolling"
        tags = {t["key"]: t["value"] for t in asg.inputs["tags"]}
        assert tags["kubernetes.io/cluster/eks-multus-prod"] == "owned"


def test_node_role_policies_and_one_access_entry_per_group():
    prod = planned("prod")
    node_roles = [r for r in of_type(prod, "aws:iam/role:Role") if "MultusNodeGroup" in r.parent]
    attachments = of_type(prod, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    node_policies = {a.inputs["policyArn"].rsplit("/", 1)[1] for a in attachments if "MultusNodeGroup" in a.parent}
    # No AmazonEKS_CNI_Policy: the VPC CNI has its own role, so the only ENI write access is the tag-scoped eni-ip grant.
    assert node_policies == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"}
    entries = of_type(prod, "aws:eks/accessEntry:AccessEntry")
    assert len(entries) == len(node_roles) == 2
    assert {e.inputs["type"] for e in entries} == {"EC2_LINUX"}
    assert {e.inputs["principalArn"] for e in entries} == {f"arn:aws:iam::123456789012:role/{r.name}" for r in node_roles}
    assert {e.inputs["clusterName"] for e in entries} == {"eks-multus-prod"}


def test_vpc_cni_gets_its_own_role_through_pod_identity_before_nodes_join():
    prod = planned("prod")
    role = one(prod, "aws:iam/role:Role", "eks-multus-cluster-vpc-cni")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"} and sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    policy = one(prod, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "eks-multus-cluster-vpc-cni")
    assert policy.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy" and role.urn in policy.dependencies
    agent = one(prod, "aws:eks/addon:Addon", "eks-multus-cluster-pod-identity-agent")
    assert (agent.inputs["addonName"], agent.inputs["addonVersion"]) == ("eks-pod-identity-agent", "v1.3.10-eksbuild.3")
    association = one(prod, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "eks-multus-cluster-vpc-cni")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("kube-system", "aws-node")
    assert association.inputs["clusterName"] == "eks-multus-prod"
    assert agent.urn in association.dependencies and policy.urn in association.dependencies
    # aws-node pods get their identity when they are created, i.e. when a node joins: nodes wait for it.
    for group in ("multus-a", "multus-c"):
        component = next(r for r in prod.registrations if r.type == "eks-multus:index:MultusNodeGroup" and r.name == f"eks-multus-{group}")
        assert association.urn in component.dependencies and agent.urn in component.dependencies
    assert association.parent.endswith("eks-multus:index:MultusCluster::eks-multus-cluster")


def test_eni_ip_grant_is_scoped_to_the_tags_the_boot_step_puts_on_multus_enis():
    prod = planned("prod")
    for group in ("multus-a", "multus-c"):
        policy = one(prod, "aws:iam/rolePolicy:RolePolicy", f"eks-multus-{group}-eni-ip")
        role = one(prod, "aws:iam/role:Role", f"eks-multus-{group}-role")
        assert role.urn in policy.dependencies and policy.parent.endswith(f"eks-multus:index:MultusNodeGroup::eks-multus-{group}")
        doc = json.loads(policy.inputs["policy"])
        write = next(s for s in doc["Statement"] if "ec2:AssignPrivateIpAddresses" in s["Action"])
        assert sorted(write["Action"]) == ["ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        assert write["Resource"] == "arn:aws:ec2:ap-northeast-2:*:network-interface/*"
        # Every condition must be satisfied by the tags the boot step creates its ENIs with.
        eni_tags = _boot_config(one(prod, LT, f"eks-multus-{group}-lt"))["tags"]
        conditions = write["Condition"]["StringEquals"]
        assert conditions == {
            f"ec2:ResourceTag/{NO_MANAGE}": "true",
            "ec2:ResourceTag/kubernetes.io/cluster/eks-multus-prod": "owned",
        }
        assert all(eni_tags[key.removeprefix("ec2:ResourceTag/")] == value for key, value in conditions.items())
        others = [s for s in doc["Statement"] if s is not write]
        assert [s["Action"] for s in others] == ["ec2:DescribeNetworkInterfaces"]


def test_multus_eni_grant_names_the_groups_own_subnets_and_security_group():
    prod = planned("prod")
    sg = one(prod, "aws:ec2/securityGroup:SecurityGroup", "eks-multus-vpc-multus-eni")
    for group in ("multus-a", "multus-c"):
        policy = one(prod, "aws:iam/rolePolicy:RolePolicy", f"eks-multus-{group}-multus-enis")
        role = one(prod, "aws:iam/role:Role", f"eks-multus-{group}-role")
        assert role.urn in policy.dependencies and sg.urn in policy.dependencies
        doc = json.loads(policy.inputs["policy"])
        where = next(s for s in doc["Statement"] if s["Sid"] == "CreateInMultusSubnetsWithMultusGroup")
        subnet_ids = [i["subnetId"] for i in _boot_config(one(prod, LT, f"eks-multus-{group}-lt"))["interfaces"]]
        assert sorted(where["Resource"]) == sorted(
            [*(f"arn:aws:ec2:ap-northeast-2:*:subnet/{s}" for s in subnet_ids), f"arn:aws:ec2:ap-northeast-2:*:security-group/{sg.id}"]
        )
        tags = next(s for s in doc["Statement"] if s["Sid"] == "CreateTaggedMultusEnis")["Condition"]["StringEquals"]
        assert tags["aws:RequestTag/eks-multus.io/node-group"] == group
        # No instance before its grant: the launch template waits for the policy.
        assert policy.urn in one(prod, LT, f"eks-multus-{group}-lt").dependencies


def test_no_eni_ip_grant_when_every_network_opts_out():
    def mutate(flat):
        ns(flat, "networks")[0]["eniIpAssignment"] = False

    names = {r.name for r in of_type(planned_with("dev", mutate), "aws:iam/rolePolicy:RolePolicy")}
    assert names == {"eks-multus-multus-a-multus-enis"}  # the boot step still creates and attaches the ENIs
    assert {r.name for r in of_type(planned("dev"), "aws:iam/rolePolicy:RolePolicy")} == names | {"eks-multus-multus-a-eni-ip"}


def test_cluster_control_plane_settings():
    cluster = one(planned("prod"), "eks:index:Cluster", "eks-multus-cluster-eks")
    i = cluster.inputs
    assert i["skipDefaultNodeGroup"] is True
    assert i["authenticationMode"] == "API"
    assert i["name"] == "eks-multus-prod" and i["version"] == "1.35"
    assert i["vpcCniOptions"]["addonVersion"] == "v1.22.3-eksbuild.1"
    assert i["kubernetesServiceIpAddressRange"] == "172.20.0.0/16"
    assert len(i["privateSubnetIds"]) == 2 and len(i["publicSubnetIds"]) == 2


def test_kubeconfig_is_secret_everywhere():
    dev = planned("dev")
    provider = one(dev, "pulumi:providers:kubernetes", "eks-multus-cluster-k8s")
    assert provider.inputs["kubeconfig"] == "[secret]"
    assert dev.outputs["kubeconfig"] == "[secret]"


def test_multus_security_group_defaults_to_multus_subnets():
    sg = one(planned("prod"), "aws:ec2/securityGroup:SecurityGroup", "eks-multus-vpc-multus-eni")
    assert sorted(sg.inputs["ingress"][0]["cidrBlocks"]) == ["100.64.0.0/21", "100.64.16.0/22", "100.64.20.0/22", "100.64.8.0/21"]
