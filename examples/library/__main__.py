"""eks-multus as a library: the config built in code, the components composed by hand.

No `eks-multus:` stack config is read. The config is a typed `StackArgs` dict and each
component takes its typed args, checked by the same rules as stack config, so a program
can put its own resources between them - here a second security-group rule for a
monitoring range, and a NAD with the network's own namespace.

It imports the installed distribution (`pip install <repo>`, import name `eks_multus`);
`python -m plan --main examples/library` plans it from a checkout.
"""

import pulumi
import pulumi_aws as aws
from eks_multus import (
    Multus,
    MultusCluster,
    MultusNodeGroup,
    MultusVpc,
    NetworkAttachments,
    Whereabouts,
)
from eks_multus.args import StackArgs

region = aws.config.region or "eu-central-1"
zone = f"{region}a"
control_plane_zones = [zone, f"{region}b"]  # EKS needs two; the nodes use the first

config: StackArgs = {
    "stack": pulumi.get_stack(),
    "region": region,
    "cluster": {"name": f"multus-lib-{pulumi.get_stack()}", "kubernetes_version": "1.35"},
    "vpc": {"cidr": "10.60.0.0/16", "availability_zones": control_plane_zones, "nat_gateways": "single"},  # type: ignore[typeddict-item]
    "multus_subnets": [
        {"name": "fronthaul", "availability_zone": zone, "cidr": "100.64.0.0/20"},
        {"name": "oam", "availability_zone": zone, "cidr": "100.64.16.0/24"},
    ],
    "node_groups": [
        {
            "name": "cnf",
            "instance_type": "c5.2xlarge",
            "availability_zone": zone,
            "min_size": 2,
            "max_size": 4,
            "desired_size": 2,
            "multus_interfaces": ["fronthaul", "oam"],
            "labels": {"workload": "cnf"},
        },
    ],
    "networks": [
        {
            "name": "fronthaul",
            "namespace": "ran",
            "type": "ipvlan",  # type: ignore[typeddict-item]
            "master": "fronthaul",
            "cni_version": "1.0.0",
            # From .1.0 on: .4-.255 stay unreserved for the multus ENIs' own addresses.
            "ipam": {"type": "whereabouts", "range": "100.64.0.0/20", "range_start": "100.64.1.0"},  # type: ignore[typeddict-item]
        },
        {
            "name": "oam",
            "namespace": "ran",
            "type": "ipvlan",  # type: ignore[typeddict-item]
            "master": "oam",
            "cni_version": "1.0.0",
            "ipam": {"type": "whereabouts", "range": "100.64.16.0/24", "range_start": "100.64.16.10", "range_end": "100.64.16.50"},  # type: ignore[typeddict-item]
            "eni_ip_assignment": True,
        },
    ],
    "tags": {"team": "ran"},
}

vpc = MultusVpc("lib-vpc", {"config": config})
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
    {
        "config": config,
        "vpc_id": vpc.vpc_id,
        "private_subnet_ids": [vpc.private_subnet_ids[z] for z in control_plane_zones],
        "public_subnet_ids": [vpc.public_subnet_ids[z] for z in control_plane_zones],
    },
)
# The cluster's values and the node prerequisites come with it: no depends_on by hand.
nodes = MultusNodeGroup(
    "lib-cnf",
    {
        "config": config,
        "node_group": "cnf",
        "node_subnet_id": vpc.private_subnet_ids[zone],
        "multus_subnet_ids": vpc.multus_subnet_ids,
        "multus_security_group_id": vpc.multus_security_group_id,
        **cluster.node_group_args(),  # type: ignore[typeddict-item]
    },
)
# Only what they deploy, plus the cluster's Kubernetes provider.
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})
multus = Multus("lib-multus", {"region": region}, opts=on_cluster)
whereabouts = Whereabouts("lib-whereabouts", {}, opts=on_cluster)
NetworkAttachments(
    "lib-networks",
    {"networks": config["networks"], "multus_subnets": config["multus_subnets"], "node_groups": config["node_groups"]},
    after=[multus, whereabouts],
    opts=on_cluster,
)

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("nodeRoleArn", nodes.role_arn)
pulumi.export("kubeconfig", cluster.kubeconfig)
