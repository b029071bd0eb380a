"""PrivateEndpoints: the VPC endpoints nodes need when the VPC has no NAT gateway."""

import pulumi
import pulumi_aws as aws

from .args import PrivateEndpointsArgs
from .arguments import ArgsError, config_of, require
from .core.egress import GATEWAY_SERVICES, INTERFACE_SERVICES, service_name
from .core.errors import ConfigIssue


class PrivateEndpoints(pulumi.ComponentResource):
    """Interface endpoints (private DNS on) in every private subnet, and the S3 gateway on their route tables.

    The list and its reasons are in `core/egress.py` (EKS user guide, private
    clusters). Private DNS lets the AWS CLI, nodeadm and the add-ons keep their
    regional service names. The endpoints accept HTTPS from the VPC CIDR, where
    the nodes' primary ENIs live.
    """

    endpoint_ids: dict[str, pulumi.Output[str]]
    """AWS service (e.g. ecr.api, s3) -> its VPC endpoint."""

    def __init__(self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:PrivateEndpoints", name, None, opts)
        cfg = config_of("PrivateEndpoints", name, args, PrivateEndpointsArgs)
        require("PrivateEndpoints", name, args, "vpc_id", "private_subnet_ids", "private_route_table_ids")
        if cfg.vpc.cidr is None:
            issue = ConfigIssue("config.vpc.cidr", "is not set: the endpoints are for a VPC eks-multus creates", "use them with vpc.cidr")
            raise ArgsError("PrivateEndpoints", name, [issue])
        vpc_id, private_subnet_ids = args["vpc_id"], args["private_subnet_ids"]
        private_route_table_ids = args["private_route_table_ids"]
        child = pulumi.ResourceOptions(parent=self)
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=vpc_id,
            description="eks-multus: VPC endpoints, HTTPS from the VPC",
            ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": [str(cfg.vpc.cidr)], "description": "VPC"}],
            tags={**cfg.tags, "Name": f"{cfg.cluster_name}-endpoints"},
            opts=child,
        )
        self.endpoint_ids = {}
        for service in INTERFACE_SERVICES:
            endpoint = aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc_id,
                service_name=service_name(cfg.region, service),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=private_subnet_ids,
                security_group_ids=[sg.id],
                tags={**cfg.tags, "Name": f"{cfg.cluster_name}-{service}"},
                opts=child,
            )
            self.endpoint_ids[service] = endpoint.id
        for service in GATEWAY_SERVICES:
            endpoint = aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=vpc_id,
                service_name=service_name(cfg.region, service),
                vpc_endpoint_type="Gateway",
                route_table_ids=private_route_table_ids,
                tags={**cfg.tags, "Name": f"{cfg.cluster_name}-{service}"},
                opts=child,
            )
            self.endpoint_ids[service] = endpoint.id
        self.register_outputs({"endpointIds": self.endpoint_ids})
