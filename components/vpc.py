"""MultusVpc: the VPC, its secondary CIDR, the multus subnets and their reservations."""

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from .args import MultusVpcArgs
from .arguments import config_of
from .core.addresses import reservation_blocks
from .core.ipplan import plan_vpc_subnets
from .core.model import EniPrefixIpam, MultusSubnet, StackConfig
from .core.sgrules import egress_rules, ingress_rules
from .core.topology import nat_gateway_zones

MULTUS_SUBNET_TAG = "eks-multus.io/multus-subnet"


class MultusVpc(pulumi.ComponentResource):
    """Primary-CIDR subnets for nodes and load balancers, plus the multus side.

    Multus subnets live in the secondary CIDR, have their own route table
    (local routes only) and are never tagged for VPC CNI subnet discovery.
    Every IPAM range is reserved (explicit subnet CIDR reservation) so AWS
    never gives those addresses to an ENI.
    """

    vpc_id: pulumi.Output[str]
    """The VPC's id (created, or the existing one)."""
    private_subnet_ids: dict[str, pulumi.Output[str]]
    """Availability zone -> private subnet (the nodes' primary ENIs)."""
    public_subnet_ids: dict[str, pulumi.Output[str]]
    """Availability zone -> public subnet (load balancers); empty for an existing VPC without them."""
    multus_subnet_ids: dict[str, pulumi.Output[str]]
    """Multus subnet name -> subnet id."""
    multus_security_group_id: pulumi.Output[str]
    """Security group of the multus ENIs."""
    private_route_table_ids: dict[str, pulumi.Output[str]]
    """Route table of each private subnet eks-multus creates (empty for an existing VPC)."""

    def __init__(self, name: str, args: MultusVpcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:MultusVpc", name, None, opts)
        cfg = config_of("MultusVpc", name, args, MultusVpcArgs)
        child = pulumi.ResourceOptions(parent=self)

        def tags(label: str, extra: dict[str, str] | None = None) -> dict[str, str]:
            return {**cfg.tags, "Name": f"{cfg.cluster_name}-{label}", **(extra or {})}

        existing = cfg.vpc.existing
        self.private_route_table_ids = {}
        if existing is not None:
            vpc_id: pulumi.Input[str] = existing.id
            self.private_subnet_ids = {
                az: self._existing_subnet("privateSubnetIds", az, sid, existing.id) for az, sid in existing.private_subnet_ids.items()
            }
            self.public_subnet_ids = {
                az: self._existing_subnet("publicSubnetIds", az, sid, existing.id) for az, sid in existing.public_subnet_ids.items()
            }
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
        for s in cfg.multus_subnets:
            # Named by CIDR: a renamed subnet is a tag update, not a second subnet with the same CIDR
            # (InvalidSubnet.Conflict); moved to another zone, the old one goes before the new one comes.
            key = f"{name}-multus-{s.cidr}"
            previously = [pulumi.Alias(name=f"{name}-{s.name}")]  # the name before eks-multus named subnets by CIDR
            subnet = aws.ec2.Subnet(
                key,
                vpc_id=vpc_id,
                cidr_block=str(s.cidr),
                availability_zone=s.availability_zone,
                tags=tags(s.name, {MULTUS_SUBNET_TAG: s.name}),
                opts=pulumi.ResourceOptions.merge(after_secondary, pulumi.ResourceOptions(delete_before_replace=True, aliases=previously)),
            )
            # A subnet has one route table association; named like the subnet so a rename never makes a second one.
            aws.ec2.RouteTableAssociation(
                key,
                subnet_id=subnet.id,
                route_table_id=multus_rt.id,
                opts=pulumi.ResourceOptions(parent=self, aliases=previously),
            )
            self.multus_subnet_ids[s.name] = subnet.id
            self._reservations(name, cfg, s, subnet)

        sg = aws.ec2.SecurityGroup(
            f"{name}-multus-eni",
            vpc_id=vpc_id,
            description="eks-multus: multus ENIs",
            ingress=ingress_rules(cfg),
            egress=egress_rules(cfg),
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

    def _existing_subnet(self, key: str, zone: str, subnet_id: str, vpc_id: str) -> pulumi.Output[str]:
        """`subnet_id`, once EC2 confirms it is in `zone` of the VPC, as config says.

        The zone is what the config maps it to; only EC2 knows where it really is. A node in
        another zone than its multus subnets cannot attach their ENIs, and a created cluster
        whose subnets share one zone is refused by EKS, so a wrong mapping stops here.
        """
        found = aws.ec2.get_subnet_output(id=subnet_id, opts=pulumi.InvokeOutputOptions(parent=self))

        def check(args: list) -> str:
            actual_zone, actual_vpc = args
            if (actual_zone, actual_vpc) != (zone, vpc_id):
                raise pulumi.RunError(
                    f"eks-multus:vpc.existing.{key}.{zone}: {subnet_id} is in {actual_zone} of {actual_vpc}, not in {zone} of "
                    f"{vpc_id}; map each zone to a subnet of that zone in the VPC"
                )
            return subnet_id

        return pulumi.Output.all(found.availability_zone, found.vpc_id).apply(check)

    def _reservations(self, name: str, cfg: StackConfig, s: MultusSubnet, subnet: aws.ec2.Subnet) -> None:
        """Explicit reservations for every IPAM range in subnet `s`, safe to change in one update.

        Each reservation is named by its CIDR, so reordering or renaming networks leaves it
        alone. Every field of a reservation forces a new one and two may not overlap, so a
        changed range must lose its old blocks before the new ones exist. Pulumi creates new
        resources while the program runs and deletes the ones it no longer declares only at
        the end, so a per-subnet anchor (a Stash whose replacement trigger is the subnet's
        block list) is replaced, delete first, whenever the list changes; every reservation
        is `replace_with` it, so the engine deletes all of the subnet's old reservations
        before the anchor and creates the new ones after it (pulumi/pulumi
        pkg/resource/deploy/step_generator.go, findDependentCascadeReplacements).
        """
        blocks = reservation_blocks(cfg, s.cidr)
        if not blocks:
            return
        cidrs = sorted((b for _, b in blocks), key=lambda b: int(b.network_address))
        listed = [str(b) for b in cidrs]
        anchor = pulumi.Stash(
            f"{name}-reservations-{s.cidr}",
            input=listed,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, replacement_trigger=listed),
        )
        index_in_network: dict[int, int] = {}
        for i, block in blocks:
            net = cfg.networks[i]
            j = index_in_network[i] = index_in_network.get(i, -1) + 1
            aws.ec2.SubnetCidrReservation(
                f"{name}-reservation-{block}",
                subnet_id=subnet.id,
                cidr_block=str(block),
                # Prefix mode's block is where EC2 takes the nodes' /28 prefixes from (VPC guide, subnet CIDR reservations).
                reservation_type="prefix" if isinstance(net.ipam, EniPrefixIpam) else "explicit",
                description=f"eks-multus {net.namespace}/{net.name} pod addresses",
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[anchor],
                    replace_with=[anchor],
                    delete_before_replace=True,
                    # The name before reservations were named by CIDR, so upgraded stacks keep theirs.
                    aliases=[pulumi.Alias(name=f"{name}-{net.namespace}-{net.name}-{j}")],
                ),
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
        # A subnet whose CIDR changes (the carving follows the zone count) overlaps its successor: delete first.
        replace_first = pulumi.ResourceOptions(parent=self, delete_before_replace=True)
        nat_ids: dict[str, pulumi.Output[str]] = {}
        nat_zones = nat_gateway_zones(cfg)
        for az in plan_vpc_subnets(cfg.vpc.cidr, cfg.vpc.availability_zones):
            zone = az.availability_zone
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=str(az.public),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tags(f"public-{zone}", {**cluster_tag, "kubernetes.io/role/elb": "1"}),
                opts=replace_first,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_rt.id, opts=child)
            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=str(az.private),
                availability_zone=zone,
                tags=tags(f"private-{zone}", {**cluster_tag, "kubernetes.io/role/internal-elb": "1"}),
                opts=replace_first,
            )
            self.public_subnet_ids[zone] = public.id
            self.private_subnet_ids[zone] = private.id
            if zone in nat_zones:
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
            nat_id = nat_ids.get(zone) or next(iter(nat_ids.values()), None)  # a zone without nodes: the first gateway
            routes = [{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat_id}] if nat_id is not None else []
            rt = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id, routes=routes, tags=tags(f"private-{zone}"), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=subnet_id, route_table_id=rt.id, opts=child)
            self.private_route_table_ids[zone] = rt.id
        return vpc.id
