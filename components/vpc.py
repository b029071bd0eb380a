"""MultusVpc: the VPC, its secondary CIDR, the multus subnets and their reservations."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from .core.awsrules import multus_egress_cidrs
from .core.ipplan import merge_ranges, plan_vpc_subnets
from .core.model import HostLocalIpam, StackConfig, StaticIpam, WhereaboutsIpam
from .core.topology import ipam_plan

MULTUS_SUBNET_TAG = "eks-multus.io/multus-subnet"


def _egress_cidrs(cfg: StackConfig) -> list[str]:
    """The multus security group's egress: the multus subnets and what the networks reach."""
    pod_networks, route_dsts = [], []
    for net in cfg.networks:
        ipam = net.ipam
        if isinstance(ipam, HostLocalIpam):
            pod_networks.append(ipam.subnet)
        elif isinstance(ipam, WhereaboutsIpam):
            pod_networks.append(ipam.range)
        elif isinstance(ipam, StaticIpam):
            pod_networks.extend(a.address.network for a in ipam.addresses)
        route_dsts.extend(r.dst for r in (ipam.routes if ipam is not None else ()))
    return multus_egress_cidrs([s.cidr for s in cfg.multus_subnets], pod_networks, route_dsts)


class MultusVpc(pulumi.ComponentResource):
    """Primary-CIDR subnets for nodes and load balancers, plus the multus side.

    Multus subnets live in the secondary CIDR, have their own route table
    (local routes only) and are never tagged for VPC CNI subnet discovery.
    Every IPAM range is reserved (explicit subnet CIDR reservation) so AWS
    never gives those addresses to an ENI.
    """

    vpc_id: pulumi.Output[str]
    private_subnet_ids: dict[str, pulumi.Output[str]]
    public_subnet_ids: dict[str, pulumi.Output[str]]
    multus_subnet_ids: dict[str, pulumi.Output[str]]
    multus_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:MultusVpc", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def tags(label: str, extra: dict[str, str] | None = None) -> dict[str, str]:
            return {**cfg.tags, "Name": f"{cfg.cluster_name}-{label}", **(extra or {})}

        existing = cfg.vpc.existing
        if existing is not None:
            vpc_id: pulumi.Input[str] = existing.id
            self.private_subnet_ids = dict(existing.private_subnet_ids)
            self.public_subnet_ids = dict(existing.public_subnet_ids)
        else:
            vpc_id = self._create_vpc(name, cfg, tags, child)

        if existing is not None and existing.secondary_cidr_associated:
            after_secondary = child
        else:
            secondary = aws.ec2.VpcIpv4CidrBlockAssociation(
                f"{name}-secondary-cidr", vpc_id=vpc_id, cidr_block=str(cfg.vpc.secondary_cidr), opts=child
            )
            after_secondary = pulumi.ResourceOptions(parent=self, depends_on=[secondary])
        multus_rt = aws.ec2.RouteTable(f"{name}-multus", vpc_id=vpc_id, tags=tags("multus"), opts=child)
        self.multus_subnet_ids = {}
        subnet_by_cidr = {}
        for s in cfg.multus_subnets:
            subnet = aws.ec2.Subnet(
                f"{name}-{s.name}",
                vpc_id=vpc_id,
                cidr_block=str(s.cidr),
                availability_zone=s.availability_zone,
                tags=tags(s.name, {MULTUS_SUBNET_TAG: s.name}),
                opts=after_secondary,
            )
            aws.ec2.RouteTableAssociation(f"{name}-{s.name}", subnet_id=subnet.id, route_table_id=multus_rt.id, opts=child)
            self.multus_subnet_ids[s.name] = subnet.id
            subnet_by_cidr[s.cidr] = subnet

        for net in cfg.networks:
            if net.ipam is None:
                continue
            plan = ipam_plan(net.ipam)  # validation guarantees its subnet is a multus subnet
            subnet = subnet_by_cidr[plan.subnet]
            for i, block in enumerate(merge_ranges(list(plan.ranges))):
                aws.ec2.SubnetCidrReservation(
                    f"{name}-{net.namespace}-{net.name}-{i}",
                    subnet_id=subnet.id,
                    cidr_block=str(block),
                    reservation_type="explicit",
                    description=f"eks-multus {net.namespace}/{net.name} pod addresses",
                    opts=child,
                )

        multus_cidrs = [str(s.cidr) for s in cfg.multus_subnets]
        if cfg.multus_security_group.ingress is None:
            ingress = [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": multus_cidrs, "description": "multus subnets"}]
        else:
            ingress = [
                {
                    "protocol": r.protocol,
                    "from_port": r.from_port,
                    "to_port": r.to_port,
                    "cidr_blocks": [str(c) for c in r.cidr_blocks],
                    "description": r.description,
                }
                for r in cfg.multus_security_group.ingress
            ]
        sg = aws.ec2.SecurityGroup(
            f"{name}-multus-eni",
            vpc_id=vpc_id,
            description="eks-multus: multus ENIs",
            ingress=ingress,
            egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": _egress_cidrs(cfg), "description": "multus networks"}],
            tags=tags("multus-eni"),
            opts=child,
        )
        self.vpc_id = pulumi.Output.from_input(vpc_id)
        self.multus_security_group_id = sg.id
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
                "multusSubnetIds": self.multus_subnet_ids,
                "multusSecurityGroupId": self.multus_security_group_id,
            }
        )

    def _create_vpc(
        self, name: str, cfg: StackConfig, tags: Callable[..., dict[str, str]], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """VPC, gateways, and per-AZ public and private subnets; sets the subnet id maps."""
        assert cfg.vpc.cidr is not None  # validated
        cluster_tag = {f"kubernetes.io/cluster/{cfg.cluster_name}": "shared"}
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(cfg.vpc.cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags("vpc"),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags("igw"), opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags=tags("public"),
            opts=child,
        )

        self.private_subnet_ids, self.public_subnet_ids = {}, {}
        nat_ids: dict[str, pulumi.Output[str]] = {}
        for az in plan_vpc_subnets(cfg.vpc.cidr, cfg.vpc.availability_zones):
            zone = az.availability_zone
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=str(az.public),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tags(f"public-{zone}", {**cluster_tag, "kubernetes.io/role/elb": "1"}),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_rt.id, opts=child)
            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=str(az.private),
                availability_zone=zone,
                tags=tags(f"private-{zone}", {**cluster_tag, "kubernetes.io/role/internal-elb": "1"}),
                opts=child,
            )
            self.public_subnet_ids[zone] = public.id
            self.private_subnet_ids[zone] = private.id
            first_zone = zone == cfg.vpc.availability_zones[0]
            if cfg.vpc.nat_gateways == "perAz" or (cfg.vpc.nat_gateways == "single" and first_zone):
                eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags=tags(f"nat-{zone}"), opts=child)
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags=tags(f"nat-{zone}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
                nat_ids[zone] = nat.id

        for zone, subnet_id in self.private_subnet_ids.items():
            nat_id = nat_ids.get(zone) or next(iter(nat_ids.values()), None)
            routes = [{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat_id}] if nat_id is not None else []
            rt = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id, routes=routes, tags=tags(f"private-{zone}"), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=subnet_id, route_table_id=rt.id, opts=child)
        return vpc.id
