"""Every validation rule refuses its bad config and names the key (and the fix)."""

from __future__ import annotations

import pytest

from components.core.errors import ConfigError
from tests.helpers import errors_of, load, ns


def _parent(flat: dict, key: str, path: list):
    """The container of the last path element under `eks-multus:<key>` (created if absent)."""
    target = flat.setdefault(f"eks-multus:{key}", {})
    for part in path[:-1]:
        target = target[part]
    return target


def _set(key: str, path: list, value):
    def mutate(flat):
        _parent(flat, key, path)[path[-1]] = value

    return mutate


def _del(key: str, path: list):
    def mutate(flat):
        del _parent(flat, key, path)[path[-1]]

    return mutate


def _append(key: str, item):
    def mutate(flat):
        flat[f"eks-multus:{key}"].append(item)

    return mutate


def _dev_network(**changes):
    net = {
        "name": "ipvlan-conf-2",
        "namespace": "default",
        "cniVersion": "0.3.0",
        "type": "ipvlan",
        "mode": "l2",
        "master": "ens6",
        "ipam": {"type": "host-local", "subnet": "100.64.0.0/19", "rangeStart": "100.64.31.10", "rangeEnd": "100.64.31.20"},
    }
    net.update(changes)
    return net


# (case id, stack, mutation, expected key path, expected words in the message)
CASES = [
    # shapes: syntax, unknown keys, types
    ("bad-ip", "dev", _set("networks", [0, "ipam", "rangeEnd"], "100.64.30.300"), "networks[0].ipam.rangeEnd", "not an IPv4 address"),
    ("bad-cidr", "dev", _set("vpc", ["cidr"], "10.20.0.0/33"), "vpc.cidr", "not an IPv4 network"),
    ("host-bits", "dev", _set("vpc", ["secondaryCidr"], "100.64.1.0/19"), "vpc.secondaryCidr", "use the network address: 100.64.0.0/19"),
    (
        "unknown-key",
        "dev",
        _set("networks", [0, "ipam", "rangestart"], "100.64.30.10"),
        "networks[0].ipam.rangestart",
        "did you mean `rangeStart`",
    ),
    ("unknown-top-key", "dev", lambda f: f.update({"eks-multus:nodeGroup": []}), "eks-multus:nodeGroup", "did you mean `nodeGroups`"),
    ("unknown-network-key", "dev", _set("networks", [0, "masterr"], "ens6"), "networks[0].masterr", "did you mean `master`"),
    ("wrong-type-int", "dev", _set("nodeGroups", [0, "maxSize"], "many"), "nodeGroups[0].maxSize", "whole number"),
    ("float-version", "dev", _set("cluster", ["kubernetesVersion"], 1.3), "cluster.kubernetesVersion", "quote it"),
    ("missing-key", "dev", _del("vpc", ["cidr"]), "vpc.cidr", "required"),
    ("missing-region", "dev", lambda f: f.pop("aws:region"), "aws:region", "not set"),
    ("bool-type", "dev", _set("sriov", ["enabled"], "sometimes"), "sriov.enabled", "true or false"),
    # cluster
    ("old-vpc-cni", "dev", _set("cluster", ["vpcCniVersion"], "v1.18.5-eksbuild.1"), "cluster.vpcCniVersion", "v1.22.3"),
    ("vpc-cni-3544", "dev", _set("cluster", ["vpcCniVersion"], "v1.22.2-eksbuild.1"), "cluster.vpcCniVersion", "#3544"),
    ("k8s-not-offered", "dev", _set("cluster", ["kubernetesVersion"], "1.99"), "cluster.kubernetesVersion", "EKS does not offer"),
    ("old-k8s", "dev", _set("cluster", ["kubernetesVersion"], "1.27"), "cluster.kubernetesVersion", "older"),
    ("service-overlap", "dev", _set("cluster", ["serviceCidr"], "10.20.0.0/16"), "cluster.serviceCidr", "overlaps vpc.cidr"),
    # VPC and secondary CIDR
    ("secondary-overlaps", "dev", _set("vpc", ["secondaryCidr"], "10.20.0.0/19"), "vpc.secondaryCidr", "overlaps the VPC CIDR"),
    ("secondary-other-rfc1918", "dev", _set("vpc", ["secondaryCidr"], "192.168.0.0/19"), "vpc.secondaryCidr", "only accepts"),
    ("secondary-too-big", "dev", _set("vpc", ["secondaryCidr"], "100.64.0.0/12"), "vpc.secondaryCidr", "/16 to /28"),
    ("secondary-link-local", "dev", _set("vpc", ["secondaryCidr"], "169.254.0.0/19"), "vpc.secondaryCidr", "never accepts"),
    ("az-of-other-region", "dev", _set("vpc", ["availabilityZones"], ["us-east-1a"]), "vpc.availabilityZones[0]", "not a zone of region"),
    ("bad-nat", "dev", _set("vpc", ["natGateways"], "many"), "vpc.natGateways", "none, single, perAz"),
    # multus subnets
    (
        "subnet-outside-secondary",
        "dev",
        _set("multusSubnets", [0, "cidr"], "100.65.0.0/19"),
        "multusSubnets[0].cidr",
        "outside the secondary CIDR",
    ),
    ("subnet-overlap", "prod", _set("multusSubnets", [1, "cidr"], "100.64.4.0/22"), "multusSubnets[1].cidr", "overlaps multusSubnets[0]"),
    (
        "subnet-unused-az",
        "dev",
        _set("multusSubnets", [0, "availabilityZone"], "ap-northeast-2b"),
        "multusSubnets[0].availabilityZone",
        "not a zone the VPC uses",
    ),
    (
        "subnet-long-ifname",
        "dev",
        _set("multusSubnets", [0, "interfaceName"], "multus-subnet-long-name"),
        "multusSubnets[0].interfaceName",
        "15 characters",
    ),
    (
        "subnet-kernel-ifname",
        "dev",
        _set("multusSubnets", [0, "interfaceName"], "eth1"),
        "multusSubnets[0].interfaceName",
        "kernel interface name",
    ),
    # node groups
    ("unknown-instance", "dev", _set("nodeGroups", [0, "instanceType"], "m5.larg"), "nodeGroups[0].instanceType", "did you mean m5.large"),
    (
        "too-many-enis",
        "prod",
        _set("nodeGroups", [0, "instanceType"], "t3.micro"),
        "nodeGroups[0].multusInterfaces",
        "t3.micro takes 2 ENIs",
    ),
    (
        "subnet-other-az",
        "prod",
        _set("nodeGroups", [0, "multusInterfaces"], ["multus-a", "direct-c"]),
        "nodeGroups[0].multusInterfaces[1]",
        "is in ap-northeast-2c",
    ),
    (
        "unknown-subnet",
        "dev",
        _set("nodeGroups", [0, "multusInterfaces"], ["multus-b"]),
        "nodeGroups[0].multusInterfaces[0]",
        "did you mean `multus-a`",
    ),
    ("sizes", "dev", _set("nodeGroups", [0, "desiredSize"], 2), "nodeGroups[0].desiredSize", "between minSize and maxSize"),
    ("dup-node-group", "prod", _set("nodeGroups", [1, "name"], "multus-a"), "nodeGroups[1].name", "already used"),
    # networks
    ("nad-name", "dev", _set("networks", [0, "name"], "IPvlan_1"), "networks[0].name", "DNS-1123"),
    ("nad-namespace", "dev", _set("networks", [0, "namespace"], "Default"), "networks[0].namespace", "not a valid namespace"),
    ("dup-network", "dev", _append("networks", _dev_network(name="ipvlan-conf-1")), "networks[1].name", "already defined"),
    ("macvlan", "dev", _set("networks", [0, "type"], "macvlan"), "networks[0].type", "VPC drops frames"),
    ("sriov-cni", "dev", _set("networks", [0, "type"], "sriov"), "networks[0].type", "no physical function"),
    ("unsupported-cni", "dev", _set("networks", [0, "type"], "bridge"), "networks[0].type", "not supported"),
    ("ipvlan-mode", "dev", _set("networks", [0, "mode"], "l4"), "networks[0].mode", "l2, l3, l3s"),
    ("cni-version", "dev", _set("networks", [0, "cniVersion"], "0.2.0"), "networks[0].cniVersion", "0.3.0"),
    ("long-master", "dev", _set("networks", [0, "master"], "multus-subnet-long"), "networks[0].master", "15 characters"),
    ("master-not-provided", "dev", _set("networks", [0, "master"], "ens7"), "networks[0].master", "no node group provides"),
    # IPAM
    (
        "range-outside",
        "dev",
        _set("networks", [0, "ipam", "rangeEnd"], "100.64.40.1"),
        "networks[0].ipam.rangeEnd",
        "outside subnet 100.64.0.0/19",
    ),
    ("range-reversed", "dev", _set("networks", [0, "ipam", "rangeStart"], "100.64.30.200"), "networks[0].ipam.rangeEnd", "reversed"),
    ("range-aws-reserved", "dev", _set("networks", [0, "ipam", "rangeStart"], "100.64.0.2"), "networks[0].ipam.rangeStart", "AWS reserves"),
    ("range-default-start", "dev", _del("networks", [0, "ipam", "rangeStart"]), "networks[0].ipam.rangeStart", "AWS reserves"),
    ("gateway-outside", "dev", _set("networks", [0, "ipam", "gateway"], "10.0.0.1"), "networks[0].ipam.gateway", "outside subnet"),
    ("gateway-in-range", "dev", _set("networks", [0, "ipam", "gateway"], "100.64.30.50"), "networks[0].ipam.gateway", "inside the range"),
    (
        "ranges-overlap",
        "dev",
        _append(
            "networks",
            _dev_network(ipam={"type": "host-local", "subnet": "100.64.0.0/19", "rangeStart": "100.64.30.90", "rangeEnd": "100.64.30.120"}),
        ),
        "networks[1].ipam",
        "overlaps networks[0]",
    ),
    (
        "ipam-subnet-not-eni-subnet",
        "prod",
        _set("networks", [0, "ipam", "range"], "100.64.0.0/19"),
        "networks[0].ipam.range",
        "not the multus subnet multus-a",
    ),
    ("range-not-in-master-subnet", "prod", _set("networks", [0, "master"], "multus-c"), "networks[0].ipam.range", "multus subnet multus-c"),
    ("master-spans-azs", "prod", _set("networks", [0, "master"], "ens6"), "networks[0].master", "different multus subnets"),
    ("host-local-multi-node", "dev", _set("nodeGroups", [0, "maxSize"], 3), "networks[0].ipam.type", "same addresses on every node"),
    (
        "whereabouts-start-outside",
        "prod",
        _set("networks", [0, "ipam", "rangeStart"], "100.64.9.0"),
        "networks[0].ipam.rangeStart",
        "outside subnet",
    ),
    (
        "whereabouts-exclude-outside",
        "prod",
        _set("networks", [0, "ipam", "exclude"], ["100.64.8.0/24"]),
        "networks[0].ipam.exclude[0]",
        "outside range",
    ),
    ("unknown-ipam", "dev", _set("networks", [0, "ipam", "type"], "dhcp"), "networks[0].ipam.type", "not supported"),
    (
        "static-no-cidr",
        "dev",
        _set("networks", [0, "ipam"], {"type": "static", "addresses": [{"address": "100.64.30.10"}]}),
        "networks[0].ipam.addresses[0].address",
        "CIDR",
    ),
    # SR-IOV
    (
        "sriov-resource-name",
        "prod",
        _set("sriov", ["resources", 0, "name"], "aws-ena-vf"),
        "sriov.resources[0].name",
        "letters, digits and _",
    ),
    (
        "sriov-unknown-resource",
        "prod",
        _set("networks", [2, "resourceName"], "intel.com/other"),
        "networks[2].resourceName",
        "no SR-IOV pool defines",
    ),
    ("sriov-disabled", "prod", _set("sriov", ["enabled"], False), "networks[2].resourceName", "sriov.enabled is false"),
    ("sriov-vendor", "prod", _set("sriov", ["resources", 0, "vendors"], ["AWS"]), "sriov.resources[0].vendors[0]", "hex PCI id"),
    (
        "sriov-pool-grabs-master",
        "prod",
        _set("sriov", ["resources", 0, "pciAddresses"], ["0000:00:06.0"]),
        "sriov.resources[0].pciAddresses[0]",
        "ipvlan network uses as master",
    ),
    ("host-device-no-selector", "prod", _del("networks", [2, "resourceName"]), "networks[2].device", "exactly one"),
    # Multus
    ("multus-memory", "dev", _set("multus", ["memory"], "50Mi"), "multus.memory", "OOM"),
    ("multus-floating-image", "dev", _set("multus", ["image"], "ghcr.io/k8snetworkplumbingwg/multus-cni:latest"), "multus.image", "floats"),
    ("multus-untagged-image", "dev", _set("multus", ["image"], "ghcr.io/k8snetworkplumbingwg/multus-cni"), "multus.image", "no tag"),
]


CASES += [
    (
        "whereabouts-start-reserved",
        "prod",
        _set("networks", [0, "ipam", "rangeStart"], "100.64.0.2"),
        "networks[0].ipam.rangeStart",
        "AWS reserves",
    ),
    (
        "whereabouts-end-broadcast",
        "prod",
        _set("networks", [0, "ipam", "rangeEnd"], "100.64.7.255"),
        "networks[0].ipam.rangeEnd",
        "AWS reserves",
    ),
    (
        "static-other-subnets",
        "dev",
        _set("networks", [0, "ipam"], {"type": "static", "addresses": [{"address": "100.64.30.10/19"}, {"address": "100.64.30.11/24"}]}),
        "networks[0].ipam.addresses",
        "different subnets",
    ),
    (
        "static-reserved",
        "dev",
        _set("networks", [0, "ipam"], {"type": "static", "addresses": [{"address": "100.64.0.1/19"}]}),
        "networks[0].ipam.addresses[0].address",
        "reserved by AWS",
    ),
    (
        "eni-ip-on-host-device",
        "prod",
        _set("networks", [2, "eniIpAssignment"], True),
        "networks[2].eniIpAssignment",
        "host-device moves the whole ENI",
    ),
    ("eni-ip-not-bool", "dev", _set("networks", [0, "eniIpAssignment"], "sometimes"), "networks[0].eniIpAssignment", "true or false"),
]


def _byo_vpc(**changes):
    """dev with vpc.existing instead of vpc.cidr (then `changes` applied on vpc)."""

    def mutate(flat):
        vpc = flat["eks-multus:vpc"]
        del vpc["cidr"], vpc["natGateways"]
        vpc["existing"] = {
            "id": "vpc-0a1b2c3d4e5f60718",
            "privateSubnetIds": {"ap-northeast-2a": "subnet-0aaa1111bbbb22223", "ap-northeast-2c": "subnet-0ccc3333dddd44445"},
        }
        for key, value in changes.items():
            if value is None:
                vpc.pop(key, None)
            else:
                vpc[key] = value

    return mutate


def _byo_cluster(**cluster_changes):
    kubeconfig = (
        "clusters:\n  - cluster:\n      server: https://X.gr7.ap-northeast-2.eks.amazonaws.com\n      certificate-authority-data: QQ==\n"
    )

    def mutate(flat):
        _byo_vpc()(flat)
        cluster = flat.setdefault("eks-multus:cluster", {})
        # An existing cluster reports its own version, so dev's kubernetesVersion goes.
        cluster.update({"name": "platform", "kubernetesVersion": None, "existing": {"kubeconfig": kubeconfig}}, **cluster_changes)
        for key in [k for k, v in cluster.items() if v is None]:
            del cluster[key]

    return mutate


CASES += [
    ("vpc-neither-cidr-nor-existing", "dev", _del("vpc", ["cidr"]), "vpc.cidr", "required unless vpc.existing"),
    (
        "vpc-both-cidr-and-existing",
        "dev",
        _set("vpc", ["existing"], {"id": "vpc-0a1b2c3d4e5f60718", "privateSubnetIds": {"ap-northeast-2a": "subnet-0aaa1111bbbb22223"}}),
        "vpc.existing",
        "conflicts with vpc.cidr",
    ),
    ("vpc-existing-with-nat", "dev", _byo_vpc(natGateways="single"), "vpc.natGateways", "keeps its own NAT"),
    (
        "vpc-existing-bad-id",
        "dev",
        _byo_vpc(existing={"id": "vpc-xyz", "privateSubnetIds": {"ap-northeast-2a": "subnet-0aaa1111bbbb22223"}}),
        "vpc.existing.id",
        "not a VPC id",
    ),
    (
        "vpc-existing-zone-without-subnet",
        "prod",
        _byo_vpc(existing={"id": "vpc-0a1b2c3d4e5f60718", "privateSubnetIds": {"ap-northeast-2a": "subnet-0aaa1111bbbb22223"}}),
        "vpc.existing.privateSubnetIds",
        "no subnet for ap-northeast-2c",
    ),
    (
        "vpc-existing-subnet-in-unused-zone",
        "dev",
        _byo_vpc(
            existing={
                "id": "vpc-0a1b2c3d4e5f60718",
                "privateSubnetIds": {"ap-northeast-2a": "subnet-0aaa1111bbbb22223", "ap-northeast-2b": "subnet-0aaa1111bbbb22224"},
            }
        ),
        "vpc.existing.privateSubnetIds.ap-northeast-2b",
        "not in vpc.availabilityZones",
    ),
    (
        "vpc-existing-bad-subnet-id",
        "dev",
        _byo_vpc(existing={"id": "vpc-0a1b2c3d4e5f60718", "privateSubnetIds": {"ap-northeast-2a": "sn-1"}}),
        "vpc.existing.privateSubnetIds.ap-northeast-2a",
        "not a subnet id",
    ),
    (
        "cluster-existing-needs-existing-vpc",
        "dev",
        _set("cluster", ["existing"], {"kubeconfig": "clusters: [{cluster: {server: 'https://x'}}]"}),
        "cluster.existing",
        "cannot move it to a new one",
    ),
    ("cluster-existing-needs-name", "dev", _byo_cluster(name=None), "cluster.name", "required with cluster.existing"),
    (
        "cluster-existing-with-cni-version",
        "dev",
        _byo_cluster(vpcCniVersion="v1.20.4-eksbuild.2"),
        "cluster.vpcCniVersion",
        "only to a cluster eks-multus creates",
    ),
    (
        "cluster-existing-with-service-cidr",
        "dev",
        _byo_cluster(serviceCidr="172.20.0.0/16"),
        "cluster.serviceCidr",
        "keeps (and reports) its own",
    ),
    (
        "cluster-existing-bad-kubeconfig",
        "dev",
        _byo_cluster(existing={"kubeconfig": "hello"}),
        "cluster.existing.kubeconfig",
        "not a kubeconfig",
    ),
]


# --- issue 12: control-plane zones, ENI addresses, security group rules, namespaces ---------


def _sg(**sg):
    def mutate(flat):
        flat["eks-multus:multusSecurityGroup"] = sg

    return mutate


def _rule(**changes):
    rule = {"protocol": "tcp", "fromPort": 8080, "toPort": 8081, "cidrBlocks": ["10.20.0.0/16"]}
    rule.update(changes)
    return rule


CASES += [
    # EKS network requirements: a created cluster's subnets span two zones
    (
        "one-zone-created-cluster",
        "dev",
        _set("vpc", ["availabilityZones"], ["ap-northeast-2a"]),
        "vpc.availabilityZones",
        "at least 2 zones",
    ),
    (
        "one-zone-existing-vpc-created-cluster",
        "dev",
        _byo_vpc(
            availabilityZones=["ap-northeast-2a"],
            existing={"id": "vpc-0a1b2c3d4e5f60718", "privateSubnetIds": {"ap-northeast-2a": "subnet-0aaa1111bbbb22223"}},
        ),
        "vpc.availabilityZones",
        "vpc.existing.privateSubnetIds",
    ),
    # ENIs need unreserved addresses (explicit reservations are never given to an ENI)
    (
        "whereabouts-range-over-the-whole-subnet",
        "byo-cluster",
        _del("networks", [0, "ipam", "rangeStart"]),
        "networks[0].ipam.range",
        "its ENIs need 3",
    ),
    (
        "host-local-range-leaves-too-few",
        "static-l3",
        lambda f: ns(f, "networks")[1]["ipam"].update(rangeStart="100.64.1.4", rangeEnd="100.64.1.254"),
        "networks[1].ipam.rangeStart",
        "leave 0 of multus subnet media's 251 usable addresses unreserved, but its ENIs need 2",
    ),
    (
        "existing-cluster-version",
        "dev",
        _byo_cluster(kubernetesVersion="1.33"),
        "cluster.kubernetesVersion",
        "only to a cluster eks-multus creates",
    ),
    # security group rules, as EC2's IpPermission and the provider take them
    (
        "sg-protocol-name",
        "dev",
        _sg(ingress=[_rule(protocol="sctp")]),
        "multusSecurityGroup.ingress[0].protocol",
        "not a protocol EC2 accepts",
    ),
    ("sg-protocol-number", "dev", _sg(ingress=[_rule(protocol=256)]), "multusSecurityGroup.ingress[0].protocol", "0-255"),
    ("sg-port-range", "dev", _sg(ingress=[_rule(fromPort=0, toPort=70000)]), "multusSecurityGroup.ingress[0].toPort", "not a port"),
    ("sg-port-reversed", "dev", _sg(egress=[_rule(fromPort=9000, toPort=80)]), "multusSecurityGroup.egress[0].toPort", "reversed"),
    (
        "sg-all-with-ports",
        "dev",
        _sg(ingress=[_rule(protocol="-1", fromPort=22, toPort=22)]),
        "multusSecurityGroup.ingress[0].fromPort",
        "every port",
    ),
    (
        "sg-gre-with-ports",
        "dev",
        _sg(ingress=[_rule(protocol=47, fromPort=0, toPort=10)]),
        "multusSecurityGroup.ingress[0].toPort",
        "protocol 47",
    ),
    (
        "sg-icmp-type",
        "dev",
        _sg(ingress=[_rule(protocol="icmp", fromPort=300, toPort=0)]),
        "multusSecurityGroup.ingress[0].fromPort",
        "ICMP type",
    ),
    (
        "sg-icmp-all-types-one-code",
        "dev",
        _sg(ingress=[_rule(protocol="icmp", fromPort=-1, toPort=4)]),
        "multusSecurityGroup.ingress[0].toPort",
        "needs every code",
    ),
    (
        "sg-duplicates-default",
        "dev",
        _sg(ingress=[_rule(protocol="all", fromPort=0, toPort=0, cidrBlocks=["100.64.0.0/19"])]),
        "multusSecurityGroup.ingress[0]",
        "the default multus-subnet rule already does",
    ),
    (
        "sg-duplicate-egress",
        "dev",
        _sg(egress=[_rule(protocol="6"), _rule()]),
        "multusSecurityGroup.egress[1]",
        "egress[0] already does",
    ),
    ("sg-description", "dev", _sg(ingress=[_rule(description="naïve")]), "multusSecurityGroup.ingress[0].description", "255 letters"),
    ("sg-unknown-key", "dev", _sg(ingres=[_rule()]), "multusSecurityGroup.ingres", "did you mean `ingress`"),
    # namespaces that exist already
    (
        "existing-namespace-name",
        "dev",
        lambda f: f.update({"eks-multus:existingNamespaces": ["Telco"]}),
        "existingNamespaces[0]",
        "not a valid namespace",
    ),
    (
        "existing-namespace-twice",
        "dev",
        lambda f: f.update({"eks-multus:existingNamespaces": ["telco", "telco"]}),
        "existingNamespaces[1]",
        "already listed",
    ),
]


def test_existing_vpc_and_cluster_are_accepted_when_complete():
    cfg = load("dev", _byo_cluster())
    assert cfg.vpc.existing.id == "vpc-0a1b2c3d4e5f60718" and cfg.vpc.cidr is None
    assert cfg.cluster_name == "platform"


@pytest.mark.parametrize("stack,mutate,path,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_refuses_with_key(stack, mutate, path, words):
    errors = errors_of(stack, mutate)
    key = path if ":" in path else f"eks-multus:{path}"
    matching = [e for e in errors if e.startswith(f"{key}:")]
    assert matching, f"no error for {key}; got {errors}"
    assert any(words in e for e in matching), f"{words!r} not in {matching}"
    assert all("; " in e for e in matching if "unknown key" not in e), f"every error says what would be valid: {matching}"


def test_all_errors_are_reported_together():
    def many(flat):
        ns(flat, "networks")[0]["ipam"]["rangeEnd"] = "100.64.40.1"
        ns(flat, "nodeGroups")[0]["instanceType"] = "m5.larg"
        ns(flat, "vpc")["secondaryCidr"] = "10.20.0.0/19"

    errors = errors_of("dev", many)
    assert len(errors) >= 3
    assert any(e.startswith("eks-multus:networks[0].ipam.rangeEnd:") for e in errors)
    assert any(e.startswith("eks-multus:nodeGroups[0].instanceType:") for e in errors)
    assert any(e.startswith("eks-multus:vpc.secondaryCidr:") for e in errors)


def test_shape_and_rule_errors_render_as_one_message():
    with pytest.raises(ConfigError) as info:
        load("dev", _set("networks", [0, "ipam", "rangeEnd"], "100.64.40.1"))
    text = str(info.value)
    assert text.startswith("stack config has 1 error:")
    assert "eks-multus:networks[0].ipam.rangeEnd: 100.64.40.1 is outside subnet 100.64.0.0/19" in text


def test_opt_in_allows_host_local_on_several_nodes():
    def mutate(flat):
        ns(flat, "nodeGroups")[0]["maxSize"] = 3
        ns(flat, "networks")[0]["allowHostLocalOnMultipleNodes"] = True

    assert load("dev", mutate).node_groups[0].max_size == 3


def test_reference_stacks_are_valid():
    assert load("dev").networks[0].name == "ipvlan-conf-1"
    assert len(load("prod").node_groups) == 2


@pytest.mark.parametrize(
    "changes,path,words",
    [
        ({"amiReleaseVersion": "20260930"}, "nodeGroups[0].amiReleaseVersion", "e.g. v20260930"),
        ({"amiId": "ami-xyz"}, "nodeGroups[0].amiId", "not an AMI id"),
        ({"amiId": "ami-0123456789abcdef0", "amiReleaseVersion": "v20260930"}, "nodeGroups[0].amiId", "pin one or the other"),
    ],
)
def test_ami_pins_are_checked(changes, path, words):
    errors = errors_of("dev", lambda f: ns(f, "nodeGroups")[0].update(changes))
    assert any(e.startswith(f"eks-multus:{path}:") and words in e for e in errors), errors


def test_security_group_rules_that_ec2_accepts_load():
    rules = [
        _rule(protocol="udp", fromPort=4789, toPort=4789),
        _rule(protocol="icmp", fromPort=-1, toPort=-1),
        _rule(protocol="icmp", fromPort=3, toPort=4),  # type 3 code 4: fragmentation needed
        _rule(protocol="icmpv6", fromPort=128, toPort=-1),
        _rule(protocol=47, fromPort=0, toPort=0),
        _rule(protocol="all", fromPort=0, toPort=0, cidrBlocks=["10.99.0.0/16"]),
    ]
    cfg = load("dev", _sg(ingress=rules, egress=[_rule(protocol="-1", fromPort=0, toPort=0, cidrBlocks=["10.0.0.0/8"])]))
    assert [r.protocol for r in cfg.multus_security_group.ingress] == ["udp", "icmp", "icmp", "icmpv6", "47", "all"]


def test_node_groups_and_multus_subnets_may_stay_in_one_zone():
    cfg = load("dev")
    assert cfg.vpc.availability_zones == ("ap-northeast-2a", "ap-northeast-2c")
    assert {g.availability_zone for g in cfg.node_groups} == {s.availability_zone for s in cfg.multus_subnets} == {"ap-northeast-2a"}


def test_an_existing_cluster_may_sit_in_an_existing_vpc_of_one_zone():
    """EKS's two-zone rule is about creating a control plane; node groups of an existing one may use one zone."""

    def one_zone(flat):
        _byo_cluster()(flat)
        vpc = flat["eks-multus:vpc"]
        vpc["availabilityZones"] = ["ap-northeast-2a"]
        vpc["existing"]["privateSubnetIds"] = {"ap-northeast-2a": "subnet-0aaa1111bbbb22223"}

    assert load("dev", one_zone).vpc.availability_zones == ("ap-northeast-2a",)


def _two_ipvlan_on_ens6(mode: str):
    """dev plus a second ipvlan network on the same ENI (ens6 = multus-a), in `mode`."""
    return _append(
        "networks",
        _dev_network(
            mode=mode,
            master="multus-a",
            ipam={"type": "host-local", "subnet": "100.64.0.0/19", "rangeStart": "100.64.31.10", "rangeEnd": "100.64.31.20"},
        ),
    )


def _host_device_on(device: str):
    return _append("networks", {"name": "direct", "type": "host-device", "device": device})


def _both(*mutations):
    def mutate(flat):
        for m in mutations:
            m(flat)

    return mutate


# issue 13: configs that planned but break on a real node, and config-handling slips
ISSUE13_CASES = [
    # 1. one ipvlan mode per parent interface (kernel: per-port mode, the last link's wins)
    ("ipvlan-mode-per-master", "dev", _two_ipvlan_on_ens6("l3"), "networks[1].mode", "Linux keeps one ipvlan mode per parent interface"),
    # 2. host-device on an ipvlan master, and on a device nobody provides
    ("host-device-on-ipvlan-master", "dev", _host_device_on("ens6"), "networks[1].device", "master of ipvlan network networks[0]"),
    ("host-device-not-provided", "dev", _host_device_on("ens9"), "networks[1].device", "no node group provides"),
    # 3. AL2023 has no eth1; the hint lists only names that exist there
    ("eth1-on-al2023", "dev", _set("networks", [0, "master"], "eth1"), "networks[0].master", "AL2's naming); use one of: ens6, multus-a"),
    # 4. zone letters per region (data/availability-zones.json)
    (
        "zone-not-in-region",
        "dev",
        _set("vpc", ["availabilityZones"], ["ap-northeast-2a", "ap-northeast-2e"]),
        "vpc.availabilityZones[1]",
        "use one of: ap-northeast-2a, ap-northeast-2b, ap-northeast-2c, ap-northeast-2d",
    ),
    # 5. EKS refuses an endpoint that is neither public nor private
    (
        "no-endpoint",
        "dev",
        _both(_set("cluster", ["endpointPublicAccess"], False), _set("cluster", ["endpointPrivateAccess"], False)),
        "cluster.endpointPrivateAccess",
        "EKS refuses",
    ),
    # 6. tags
    ("tag-aws-prefix", "dev", _set("tags", ["aws:team"], "x"), "eks-multus:tags.aws:team", "AWS reserves"),
    ("tag-aws-prefix-upper", "dev", _set("tags", ["AWS:team"], "x"), "eks-multus:tags.AWS:team", "AWS reserves"),
    ("tag-name-replaced", "dev", _set("tags", ["Name"], "mine"), "tags.Name", "would be replaced"),
    (
        "tag-number",
        "dev",
        _set("tags", ["cost"], 123),
        "tags.cost",
        "pulumi config set --type string --path 'eks-multus:tags.cost' 123",
    ),
    # 8. near-miss namespaces are refused; real provider namespaces and far ones pass (test below)
    ("namespace-typo", "dev", lambda f: f.update({"eks-multu:sriov": {"enabled": True}}), "eks-multu:sriov", "did you mean `eks-multus:`"),
    ("namespace-no-dash", "dev", lambda f: f.update({"eksmultus:networks": []}), "eksmultus:networks", "did you mean `eks-multus:`"),
    ("namespace-aws-typo", "dev", lambda f: f.update({"asw:profile": "x"}), "asw:profile", "did you mean `aws:`"),
    # 10. a misspelled region gets one line, at the key written
    ("region-typo", "dev", lambda f: f.update({"aws:regoin": f.pop("aws:region")}), "aws:regoin", "did you mean `aws:region`"),
    # 12. null is reported as null
    ("null-required", "dev", _set("multusSubnets", [0, "cidr"], None), "multusSubnets[0].cidr", "is null; give it a value"),
    ("null-optional", "dev", _set("nodeGroups", [0, "labels"], None), "nodeGroups[0].labels", "remove the key to use its default"),
    # 13. strict types: no text for numbers or booleans
    ("int-as-text", "dev", _set("nodeGroups", [0, "minSize"], "1"), "nodeGroups[0].minSize", "got text `1`"),
    ("bool-as-yes", "dev", _set("sriov", ["enabled"], "yes"), "sriov.enabled", "got `yes`"),
    ("bool-as-number", "dev", _set("networks", [0, "eniIpAssignment"], 1), "networks[0].eniIpAssignment", "true or false"),
    ("int-as-float", "dev", _set("nodeGroups", [0, "rootVolumeSize"], 30.5), "nodeGroups[0].rootVolumeSize", "whole number"),
    # 14. snake_case is not the documented spelling
    ("snake-case", "dev", _set("nodeGroups", [0, "min_size"], 1), "nodeGroups[0].min_size", "did you mean `minSize`"),
    ("snake-case-top", "dev", lambda f: f.update({"eks-multus:node_groups": []}), "eks-multus:node_groups", "did you mean `nodeGroups`"),
]


@pytest.mark.parametrize("stack,mutate,path,words", [c[1:] for c in ISSUE13_CASES], ids=[c[0] for c in ISSUE13_CASES])
def test_issue13_rule_refuses_with_key(stack, mutate, path, words):
    test_rule_refuses_with_key(stack, mutate, path, words)


def test_same_mode_on_one_master_is_fine():
    assert len(load("dev", _two_ipvlan_on_ens6("l2")).networks) == 2


def test_host_device_on_a_free_multus_interface_is_fine():
    # prod's direct-a/direct-c ENIs carry no ipvlan network
    def mutate(flat):
        ns(flat, "networks")[2] = {"name": "direct", "type": "host-device", "device": "direct-a"}

    assert load("prod", mutate).networks[2].device == "direct-a"


def test_provider_and_far_namespaces_pass():
    def mutate(flat):
        flat.update({"aws:profile": "ops", "kubernetes:context": "x", "pulumi:tags": {"a": "b"}, "acme:owner": "me", "eks:x": "y"})

    assert load("dev", mutate).region == "ap-northeast-2"


def test_misspelled_region_is_one_line_not_two():
    errors = errors_of("dev", lambda f: f.update({"aws:regoin": f.pop("aws:region")}))
    assert errors == ["aws:regoin: is not an AWS provider setting, and aws:region is not set; did you mean `aws:region`?"]


def test_an_item_error_does_not_add_a_list_is_empty_line():
    errors = errors_of("dev", _set("nodeGroups", [0, "minSize"], "1"))
    assert errors == ["eks-multus:nodeGroups[0].minSize: expected a whole number, got text `1`; write an integer such as 3"]


def test_python_callers_keep_snake_case_names():
    """Models built in code (examples/library, tests) use Python names; only stack config is camelCase-only."""
    from components.core.model import NodeGroup

    group = NodeGroup(
        name="a", instance_type="m5.large", availability_zone="x", min_size=1, max_size=1, desired_size=1, multus_interfaces=("a",)
    )
    assert group.min_size == 1 and group.metadata_hop_limit == 1


def test_ip_fields_still_parse_from_text():
    cfg = load("dev")
    assert str(cfg.vpc.cidr) == "10.20.0.0/16" and str(cfg.networks[0].ipam.range_start) == "100.64.30.10"
