"""eks-multus as a library: the model built in code, the components composed by hand.

No `eks-multus:` stack config is read. The same validation runs (`validated`),
then each component gets explicit arguments, so a program can put its own
resources between them - here a second security-group rule for a monitoring
range, and a NAD with the network's own namespace.

This example imports the library from this checkout; a project of your own
would vendor or install it instead.
"""

from __future__ import annotations

import sys
from ipaddress import IPv4Network
from pathlib import Path

import pulumi
import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from components import MultusCluster, MultusNodeGroup, MultusVpc, NetworkAttachments, validated
from components.core.model import (
    ClusterConfig,
    IpvlanNetwork,
    MultusSubnet,
    NodeGroup,
    StackConfig,
    VpcConfig,
    WhereaboutsIpam,
)
from components.multus import Multus
from components.whereabouts import Whereabouts

region = aws.config.region or "eu-central-1"
zone = f"{region}a"
control_plane_zones = (zone, f"{region}b")  # EKS needs two; the nodes use the first

cfg = validated(
    StackConfig(
        stack=pulumi.get_stack(),
        region=region,
        cluster=ClusterConfig(name=f"multus-lib-{pulumi.get_stack()}", kubernetes_version="1.35"),
        vpc=VpcConfig(cidr=IPv4Network("10.60.0.0/16"), availability_zones=control_plane_zones, nat_gateways="single"),
        multus_subnets=(
            MultusSubnet(name="fronthaul", availability_zone=zone, cidr=IPv4Network("100.64.0.0/20")),
            MultusSubnet(name="oam", availability_zone=zone, cidr=IPv4Network("100.64.16.0/24")),
        ),
        node_groups=(
            NodeGroup(
                name="cnf",
                instance_type="c5.2xlarge",
                availability_zone=zone,
                min_size=2,
                max_size=4,
                desired_size=2,
                multus_interfaces=("fronthaul", "oam"),
                labels={"workload": "cnf"},
            ),
        ),
        networks=(
            IpvlanNetwork(
                name="fronthaul",
                namespace="ran",
                type="ipvlan",
                master="fronthaul",
                cni_version="1.0.0",
                # From .1.0 on: .4-.255 stay unreserved for the multus ENIs' own addresses.
                ipam=WhereaboutsIpam(type="whereabouts", range=IPv4Network("100.64.0.0/20"), range_start="100.64.1.0"),
            ),
            IpvlanNetwork(
                name="oam",
                namespace="ran",
                type="ipvlan",
                master="oam",
                cni_version="1.0.0",
                ipam=WhereaboutsIpam(
                    type="whereabouts",
                    range=IPv4Network("100.64.16.0/24"),
                    range_start="100.64.16.10",
                    range_end="100.64.16.50",
                ),
                eni_ip_assignment=True,
            ),
        ),
        tags={"team": "ran"},
    )
)

vpc = MultusVpc("lib-vpc", cfg)
# Something of our own in the middle: let the monitoring range reach the multus ENIs.
aws.vpc.SecurityGroupIngressRule(
    "lib-monitoring",
    security_group_id=vpc.multus_security_group_id,
    cidr_ipv4="10.99.0.0/16",
    ip_protocol="-1",
    description="monitoring",
)
cluster = MultusCluster(
    "lib-cluster",
    cfg,
    vpc_id=vpc.vpc_id,
    private_subnet_ids=[vpc.private_subnet_ids[z] for z in control_plane_zones],
    public_subnet_ids=[vpc.public_subnet_ids[z] for z in control_plane_zones],
)
group = cfg.node_groups[0]
nodes = MultusNodeGroup(
    "lib-cnf",
    cfg,
    group,
    cluster_name=cfg.cluster_name,
    endpoint=cluster.endpoint,
    certificate_authority=cluster.certificate_authority,
    service_cidr=cluster.service_cidr,
    node_subnet_id=vpc.private_subnet_ids[zone],
    node_security_group_ids=[cluster.node_security_group_id],
    multus_subnet_ids=vpc.multus_subnet_ids,
    multus_security_group_id=vpc.multus_security_group_id,
    attach_cni_policy=cluster.nodes_need_cni_policy,
    opts=pulumi.ResourceOptions(depends_on=[cluster, *cluster.node_dependencies]),
)
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
multus = Multus("lib-multus", cfg, opts=on_cluster)
whereabouts = Whereabouts("lib-whereabouts", cfg, opts=on_cluster)
NetworkAttachments("lib-networks", cfg, after=[multus, whereabouts], opts=on_cluster)

pulumi.export("clusterName", cfg.cluster_name)
pulumi.export("nodeRoleArn", nodes.role_arn)
pulumi.export("kubeconfig", cluster.kubeconfig)
