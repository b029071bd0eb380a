"""Nodes without a NAT gateway: the VPC endpoints they need, and the images they cannot pull.

With `vpc.natGateways: none` on a created VPC the private subnets have no route to
the internet. A node then reaches AWS only through VPC endpoints. The EKS user guide
("Deploy private clusters with limited internet access", awsdocs/amazon-eks-user-guide
latest/ug/clusters/private-clusters.adoc) lists what a node and its pods need:
ec2 (the EKS AMI names the node through EC2; our boot step and node agent call it),
ecr.api + ecr.dkr + the s3 gateway (image pulls; ECR serves layers from S3), and eks-auth
(Pod Identity, which the VPC CNI's own role uses); nodes register through the cluster's
private endpoint, so that must be on. sts (IRSA) and eks are in the same guide's table of
commonly used services, for workloads: no node program here calls them (the NodeConfig
carries the API endpoint and CA, which the guide says bypasses EKS introspection; the node's
AWS CLI uses the instance profile), so they serve the user's pods. Only ECR registries of the
VPC's own region are reachable; ghcr.io, Docker Hub and ECR Public are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import images
from .errors import ConfigIssue
from .manifests import uses_whereabouts
from .model import StackConfig, WhereaboutsIpam

INTERFACE_SERVICES = ("ec2", "ecr.api", "ecr.dkr", "sts", "eks", "eks-auth")
GATEWAY_SERVICES = ("s3",)

CHINA_PREFIXED = frozenset({"autoscaling", "ec2", "ecr.api", "ecr.dkr", "eks", "sts"})
"""Interface endpoint services named `cn.com.amazonaws.<region>.<service>` in cn-north-1 and cn-northwest-1.

AWS China names most interface endpoint services with the reverse-DNS prefix of its own domain
(amazonaws.com.cn); these are the ones of ours that aws/aws-cdk lists as such for both China Regions
(packages/aws-cdk-lib/aws-ec2/lib/vpc-endpoint.ts, InterfaceVpcEndpointAwsService
getDefaultEndpointPrefix, read from `aws ec2 describe-vpc-endpoint-services`). `eks-auth` is not in
that list, so it keeps `com.amazonaws`; the S3 gateway endpoint is `com.amazonaws.<region>.s3` in
every Region (only the S3 interface endpoint is prefixed). GovCloud uses `com.amazonaws`.
"""


def needs_endpoints(cfg: StackConfig) -> bool:
    """A VPC eks-multus creates without NAT gateways."""
    return cfg.vpc.existing is None and cfg.vpc.nat_gateways == "none"


def service_name(region: str, service: str) -> str:
    """The VPC endpoint service name of `service` (an interface service, or the s3 gateway) in `region`."""
    prefix = "cn.com.amazonaws" if region.startswith("cn-") and service in CHINA_PREFIXED else "com.amazonaws"
    return f"{prefix}.{region}.{service}"


def reaches_without_nat(image: str, region: str) -> bool:
    """Whether a pull of `image` goes to an ECR registry of `region` (the ECR endpoints' reach)."""
    registry = image.split("/", 1)[0]
    return re.fullmatch(rf"\d{{12}}\.dkr\.ecr(-fips)?\.{re.escape(region)}\.amazonaws\.com(\.cn)?", registry) is not None


def images_in_use(cfg: StackConfig) -> Iterator[tuple[str, str]]:
    """(config key that brings it in, image reference) for every image the platform runs."""
    yield "multus.image", images.multus_image(cfg.multus.image, cfg.region)
    if uses_whereabouts(cfg):
        first = next(i for i, n in enumerate(cfg.networks) if isinstance(n.ipam, WhereaboutsIpam))
        yield f"networks[{first}].ipam.type", images.WHEREABOUTS
    if cfg.sriov.enabled:
        yield "sriov.enabled", images.SRIOV_DEVICE_PLUGIN


def no_nat_issues(cfg: StackConfig) -> Iterator[ConfigIssue]:
    if not needs_endpoints(cfg):
        return
    if not cfg.cluster.endpoint_private_access and cfg.cluster.existing is None:
        yield ConfigIssue(
            "cluster.endpointPrivateAccess",
            "is false, but with vpc.natGateways: none nodes reach the cluster only through its private endpoint",
            "set cluster.endpointPrivateAccess: true, or vpc.natGateways: single",
        )
    for key, image in images_in_use(cfg):
        if not reaches_without_nat(image, cfg.region):
            registry = image.split("/", 1)[0]
            fix = "set vpc.natGateways to single or perAz"
            if key == "multus.image":
                fix = f"set multus.image to eks (the region's ECR), to an image copied into ECR in {cfg.region}, or {fix}"
            yield ConfigIssue(
                key,
                f"needs {image}, but with vpc.natGateways: none nodes reach only ECR in {cfg.region} "
                f"(through VPC endpoints), not {registry}",
                fix,
            )
