"""Typed arguments of the eks-multus components.

Each component takes one of the `*Args` TypedDicts at the bottom of this file.
The config sections mirror the stack config (`components/core/model.py`) key
for key, in Python's snake_case; the Pulumi schema and the other languages'
SDKs spell them in camelCase, as the stack file does. Every section is checked
by the same rules as stack config before anything is registered.

Written in the form `pulumi.provider.experimental.analyzer` infers a package
schema from (pulumi 3.272.0): real annotations (so no `from __future__ import
annotations` here), TypedDicts whose fields each carry a docstring, no unions
but `Optional`, choices as `str` enums. Config fields are plain values: they
decide how many resources there are, so they must be known before any is
registered. Resource ids and cluster endpoints are `pulumi.Input`s.
"""

from enum import StrEnum
from typing import NotRequired, TypedDict

import pulumi
import pulumi_eks

# --- choices ------------------------------------------------------------------


class NatGateways(StrEnum):
    """NAT gateways of a VPC eks-multus creates."""

    NONE = "none"
    """No NAT gateway: nodes reach AWS through VPC endpoints."""
    SINGLE = "single"
    """One NAT gateway, in the first zone with nodes."""
    PER_AZ = "perAz"
    """One NAT gateway in every zone with nodes."""


class TaintEffect(StrEnum):
    """What a node taint does to pods that do not tolerate it."""

    NO_SCHEDULE = "NoSchedule"
    """New pods are not scheduled onto the node."""
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    """The scheduler avoids the node where it can."""
    NO_EXECUTE = "NoExecute"
    """Running pods are evicted too."""


class NetworkType(StrEnum):
    """CNI plugin of a network (macvlan and sriov cannot work on EC2)."""

    IPVLAN = "ipvlan"
    """ipvlan on a multus ENI; the pod shares the ENI's MAC address."""
    HOST_DEVICE = "host-device"
    """Moves a whole multus ENI into the pod."""


class IpamType(StrEnum):
    """IPAM plugin of a network."""

    HOST_LOCAL = "host-local"
    """Addresses from a range, tracked on each node."""
    WHEREABOUTS = "whereabouts"
    """Addresses from a range, tracked cluster-wide (no two nodes hand out the same one)."""
    STATIC = "static"
    """Fixed addresses."""
    ENI_PREFIX = "eks-multus-eni-prefix"
    """Addresses from /28 prefixes on each node's ENI (prefix mode: no EC2 call per pod)."""


class IpvlanMode(StrEnum):
    """ipvlan mode, one per multus ENI."""

    L2 = "l2"
    """Layer 2: the pod answers ARP on the ENI's segment."""
    L3 = "l3"
    """Layer 3: routed by the node, no broadcast."""
    L3S = "l3s"
    """Layer 3 with netfilter on the node."""


class AddressRequest(StrEnum):
    """What admission does with a pod on a routable network that does not ask for its address as a resource."""

    REQUIRE = "require"
    """Refuse it, naming the resource and the quantity to add."""
    WARN = "warn"
    """Admit it with a warning (the scheduler does not count its address)."""


class MultusLogLevel(StrEnum):
    """Log level of the Multus daemon."""

    DEBUG = "debug"
    """Everything."""
    VERBOSE = "verbose"
    """Each CNI call."""
    ERROR = "error"
    """Errors only."""
    PANIC = "panic"
    """Fatal errors only."""


# --- config sections (mirror of components/core/model.py) ---------------------


class ExistingClusterArgs(TypedDict):
    """A running EKS cluster to add multus node groups and the Kubernetes layer to."""

    kubeconfig: str
    """Its kubeconfig (keep it secret)."""
    vpc_cni_uses_node_role: NotRequired[bool]
    """The cluster's VPC CNI takes its AWS permissions from the node role (EKS's default; default true)."""


class ClusterArgs(TypedDict):
    """The EKS control plane, or an existing cluster to add to."""

    name: NotRequired[str]
    """EKS cluster name (default eks-multus-<stack>)."""
    kubernetes_version: NotRequired[str]
    """Kubernetes minor version, e.g. "1.35", one EKS offers (default 1.35)."""
    service_cidr: NotRequired[str]
    """Service range, a /12 to /24 in RFC 1918 space outside the VPC (default 172.20.0.0/16)."""
    vpc_cni_version: NotRequired[str]
    """VPC CNI add-on version, v1.22.3 or later (default v1.22.3-eksbuild.1)."""
    pod_identity_agent_version: NotRequired[str]
    """EKS Pod Identity agent add-on version (default v1.3.10-eksbuild.3)."""
    endpoint_public_access: NotRequired[bool]
    """Public API endpoint (default true)."""
    endpoint_private_access: NotRequired[bool]
    """Private API endpoint in the VPC (default true)."""
    public_access_cidrs: NotRequired[list[str]]
    """CIDRs allowed to reach the public endpoint (default none, which EKS reads as 0.0.0.0/0)."""
    log_retention_days: NotRequired[int]
    """CloudWatch retention of the control-plane logs, a value CloudWatch accepts (default 90)."""
    existing: NotRequired[ExistingClusterArgs]
    """Use the running cluster named `name` instead of creating one (needs vpc.existing)."""


class ExistingVpcArgs(TypedDict):
    """A VPC to build the multus side in, instead of creating one."""

    id: str
    """VPC id."""
    private_subnet_ids: dict[str, str]
    """Availability zone -> subnet for the nodes' primary ENIs, one per vpc.availabilityZones entry."""
    public_subnet_ids: NotRequired[dict[str, str]]
    """Availability zone -> subnet for a created cluster's public load balancers (default none)."""
    secondary_cidr_associated: NotRequired[bool]
    """The secondary CIDR is already associated with the VPC (default false)."""


class VpcArgs(TypedDict):
    """The VPC: one eks-multus creates, or an existing one."""

    availability_zones: list[str]
    """Zones the VPC uses."""
    cidr: NotRequired[str]
    """Primary CIDR of the VPC to create, /16 to /28; leave out with `existing`."""
    nat_gateways: NotRequired[NatGateways]
    """NAT gateways of a created VPC (default single)."""
    secondary_cidr: NotRequired[str]
    """Secondary block in 100.64.0.0/10 the multus subnets are carved from (default 100.64.0.0/19)."""
    existing: NotRequired[ExistingVpcArgs]
    """Use this VPC instead of creating one."""


class MultusSubnetArgs(TypedDict):
    """A subnet for multus ENIs, carved from the secondary CIDR."""

    name: str
    """DNS-1123 name, referenced by nodeGroups[].multusInterfaces."""
    availability_zone: str
    """One of vpc.availabilityZones."""
    cidr: str
    """/16 to /28 inside vpc.secondaryCidr."""
    interface_name: NotRequired[str]
    """Stable name of the ENI on nodes, at most 15 characters (default the subnet's name)."""


class SecurityGroupRuleArgs(TypedDict):
    """One rule of the multus ENIs' security group."""

    cidr_blocks: list[str]
    """Source (ingress) or destination (egress) CIDRs."""
    protocol: NotRequired[str]
    """tcp, udp, icmp, icmpv6, -1 (all) or an IP protocol number 0-255 (default -1)."""
    from_port: NotRequired[int]
    """First port, or the ICMP type (default 0)."""
    to_port: NotRequired[int]
    """Last port, or the ICMP code (default 0)."""
    description: NotRequired[str]
    """Rule description."""


class MultusSecurityGroupArgs(TypedDict):
    """Security group of the multus ENIs."""

    ingress: NotRequired[list[SecurityGroupRuleArgs]]
    """Ingress rules added to the default one (all traffic from the multus subnets)."""
    replace_default: NotRequired[bool]
    """True: `ingress` is the whole list; the default rule is left out (default false)."""
    egress: NotRequired[list[SecurityGroupRuleArgs]]
    """The whole egress list (default: all traffic to the multus subnets and the networks' ranges and routes)."""


class TaintArgs(TypedDict):
    """A node taint."""

    key: str
    """Taint key."""
    effect: TaintEffect
    """Taint effect."""
    value: NotRequired[str]
    """Taint value (default empty)."""


class NodeGroupArgs(TypedDict):
    """A self-managed node group in one availability zone."""

    name: str
    """At most 40 lower-case letters, digits and -."""
    instance_type: str
    """EC2 instance type."""
    availability_zone: str
    """One of vpc.availabilityZones."""
    min_size: int
    """Minimum nodes (0 or more)."""
    max_size: int
    """Maximum nodes (1 or more)."""
    desired_size: int
    """Desired nodes, between minSize and maxSize."""
    multus_interfaces: list[str]
    """Multus subnet names, device index 1, 2, ... in this order; empty for a plain system node group."""
    labels: NotRequired[dict[str, str]]
    """Kubernetes node labels."""
    taints: NotRequired[list[TaintArgs]]
    """Node taints."""
    root_volume_size: NotRequired[int]
    """Root volume, GiB, 20 to 16384 (default 20)."""
    metadata_hop_limit: NotRequired[int]
    """IMDSv2 hop limit, 1 to 64 (default 1, which keeps pods off the node's credentials)."""
    ami_release_version: NotRequired[str]
    """Pin the EKS AL2023 AMI release (e.g. v20260930) instead of the recommended one."""
    ami_id: NotRequired[str]
    """Pin an AMI id (ami-...) instead of the EKS AL2023 SSM parameter."""


class RouteArgs(TypedDict):
    """A route added in the pod."""

    dst: str
    """Destination CIDR."""
    gw: NotRequired[str]
    """Next hop (default the network's gateway)."""


class StaticAddressArgs(TypedDict):
    """A fixed pod address."""

    address: str
    """Address with prefix, e.g. 100.64.30.10/19."""
    gateway: NotRequired[str]
    """Gateway."""


class IpamArgs(TypedDict):
    """Address management of a network, by `type`; each type takes only its own fields."""

    type: IpamType
    """IPAM plugin."""
    subnet: NotRequired[str]
    """host-local, eks-multus-eni-prefix: the multus subnet's CIDR."""
    range: NotRequired[str]
    """whereabouts: the multus subnet's CIDR."""
    range_start: NotRequired[str]
    """host-local, whereabouts: first address handed out."""
    range_end: NotRequired[str]
    """host-local, whereabouts: last address handed out."""
    gateway: NotRequired[str]
    """host-local, whereabouts, eks-multus-eni-prefix: gateway (default the VPC router, .1)."""
    exclude: NotRequired[list[str]]
    """whereabouts: CIDRs inside range never handed out."""
    addresses: NotRequired[list[StaticAddressArgs]]
    """static: the pod's addresses."""
    reservation: NotRequired[str]
    """eks-multus-eni-prefix: prefix-type subnet CIDR reservation inside subnet, where EC2 takes the prefixes from."""
    prefix_count: NotRequired[int]
    """eks-multus-eni-prefix: /28 prefixes each node's ENI gets at boot (1..64, default 1)."""
    max_prefix_count: NotRequired[int]
    """eks-multus-eni-prefix: prefixes an ENI may grow to when its free addresses run low (default prefix_count)."""
    routes: NotRequired[list[RouteArgs]]
    """Routes added in the pod."""


class NetworkArgs(TypedDict):
    """A NetworkAttachmentDefinition, by `type`; each type takes only its own fields."""

    type: NetworkType
    """CNI plugin."""
    name: str
    """DNS-1123 label, the NAD's name."""
    namespace: NotRequired[str]
    """The NAD's namespace (default default)."""
    cni_version: NotRequired[str]
    """CNI spec version of the config: 0.3.0, 0.3.1, 0.4.0, 1.0.0 or 1.1.0 (default 0.3.1)."""
    ipam: NotRequired[IpamArgs]
    """Address management (required for ipvlan; host-device keeps the interface's own without it)."""
    master: NotRequired[str]
    """ipvlan: interface on the node, a multus subnet's interfaceName or its AL2023 kernel name."""
    mode: NotRequired[IpvlanMode]
    """ipvlan: mode, one per ENI (default l2)."""
    mtu: NotRequired[int]
    """ipvlan: interface MTU, 68 to 9001 (default the master's)."""
    allow_host_local_on_multiple_nodes: NotRequired[bool]
    """ipvlan: allow host-local or static IPAM on a master several nodes carry (default false)."""
    eni_ip_assignment: NotRequired[bool]
    """ipvlan: chain eks-multus-eni-ip so EC2 routes the pod's address to its node's ENI (default true)."""
    address_request: NotRequired[AddressRequest]
    """ipvlan, routable: `require` refuses a pod that does not ask for its address as a resource, `warn` only warns (default require)."""
    device: NotRequired[str]
    """host-device: interface to move into the pod (or resourceName)."""
    resource_name: NotRequired[str]
    """host-device: SR-IOV device plugin resource, e.g. intel.com/aws_ena_vf (or device)."""


class MultusSettingsArgs(TypedDict):
    """The Multus thick daemon."""

    image: NotRequired[str]
    """eks (AWS build from the region's ECR), upstream (pinned ghcr thick image) or a pinned reference (default eks)."""
    cpu: NotRequired[str]
    """CPU request and limit (default 100m)."""
    memory: NotRequired[str]
    """Memory request and limit, at least 200Mi (default 256Mi)."""
    log_level: NotRequired[MultusLogLevel]
    """Daemon log level (default verbose)."""


class WhereaboutsSettingsArgs(TypedDict):
    """whereabouts IPAM."""

    reconciler_schedule: NotRequired[str]
    """5-field cron schedule of the IP reconciler (default "30 4 * * *")."""


class SriovResourceArgs(TypedDict):
    """A device pool of the SR-IOV device plugin."""

    name: str
    """Pool name (letters, digits, _)."""
    vendors: NotRequired[list[str]]
    """PCI vendor ids (default 1d0f)."""
    devices: NotRequired[list[str]]
    """PCI device ids (default ec20)."""
    drivers: NotRequired[list[str]]
    """Kernel drivers (default ena)."""
    pci_addresses: NotRequired[list[str]]
    """PCI addresses to pool (default the multus ENIs no ipvlan network uses)."""


class SriovSettingsArgs(TypedDict):
    """The SR-IOV network device plugin."""

    enabled: NotRequired[bool]
    """Deploy the device plugin (default false)."""
    resource_prefix: NotRequired[str]
    """Resource name prefix (default intel.com)."""
    resources: NotRequired[list[SriovResourceArgs]]
    """Device pools (default one pool, aws_ena_vf)."""


class EniAgentSettingsArgs(TypedDict):
    """The node agent (eks-multus-eni-agent) that owns the multus ENIs' EC2 calls."""

    port: NotRequired[int]
    """Loopback TCP port of the agent and its plugins, outside 32768-60999 (default 61690)."""


class StackArgs(TypedDict):
    """The whole eks-multus stack config, as the stack file's `eks-multus:` keys plus the region."""

    region: str
    """AWS region."""
    vpc: VpcArgs
    """The VPC."""
    multus_subnets: list[MultusSubnetArgs]
    """Subnets for the multus ENIs (at least one)."""
    node_groups: list[NodeGroupArgs]
    """Self-managed node groups (at least one)."""
    stack: NotRequired[str]
    """Stack name, used in default names (default dev)."""
    cluster: NotRequired[ClusterArgs]
    """The EKS control plane."""
    multus_security_group: NotRequired[MultusSecurityGroupArgs]
    """Security group of the multus ENIs."""
    networks: NotRequired[list[NetworkArgs]]
    """NetworkAttachmentDefinitions."""
    multus: NotRequired[MultusSettingsArgs]
    """The Multus daemon."""
    whereabouts: NotRequired[WhereaboutsSettingsArgs]
    """whereabouts IPAM, deployed when a network uses it."""
    sriov: NotRequired[SriovSettingsArgs]
    """The SR-IOV network device plugin."""
    eni_agent: NotRequired[EniAgentSettingsArgs]
    """The node agent behind eks-multus-eni-ip and eks-multus-eni-prefix."""
    tags: NotRequired[dict[str, str]]
    """AWS tags added to every taggable resource."""
    existing_namespaces: NotRequired[list[str]]
    """Namespaces of networks that exist already; eks-multus creates every other one a network uses."""


# --- component arguments ------------------------------------------------------


class MultusPlatformArgs(TypedDict):
    """Arguments of MultusPlatform."""

    config: StackArgs
    """The stack config; every component is composed from it."""


class MultusVpcArgs(TypedDict):
    """Arguments of MultusVpc."""

    config: StackArgs
    """The stack config: the VPC, the multus subnets and security group, and what shapes them (networks'
    ranges are reserved in their subnets, NAT gateways follow the node groups' zones)."""


class PrivateEndpointsArgs(TypedDict):
    """Arguments of PrivateEndpoints."""

    config: StackArgs
    """The stack config (region, VPC CIDR, tags)."""
    vpc_id: pulumi.Input[str]
    """VPC the endpoints go in."""
    private_subnet_ids: pulumi.Input[list[pulumi.Input[str]]]
    """Subnets of the interface endpoints (the nodes' private subnets)."""
    private_route_table_ids: pulumi.Input[list[pulumi.Input[str]]]
    """Route tables the S3 gateway endpoint is added to."""


class MultusClusterArgs(TypedDict):
    """Arguments of MultusCluster."""

    config: StackArgs
    """The stack config (cluster section, region, tags)."""
    vpc_id: NotRequired[pulumi.Input[str]]
    """VPC of a created cluster (required unless config.cluster.existing is set)."""
    private_subnet_ids: NotRequired[pulumi.Input[list[pulumi.Input[str]]]]
    """Private subnets of a created control plane, two zones at least (required unless config.cluster.existing is set)."""
    public_subnet_ids: NotRequired[pulumi.Input[list[pulumi.Input[str]]]]
    """Public subnets for a created cluster's load balancers."""


class MultusNodeGroupArgs(TypedDict):
    """Arguments of MultusNodeGroup: one node group of the config, on a cluster it need not have created.

    The cluster is a pulumi-eks `Cluster` (`eksCluster`), or its plain values (`endpoint`,
    `certificateAuthority`, `serviceCidr`, `nodeSecurityGroupIds`); config.cluster.name is its name.
    From Python, `MultusCluster.node_group_args()` gives all of them.
    """

    config: StackArgs
    """The stack config; the node group is checked against it (subnets, zones, networks)."""
    node_group: str
    """Name of the node group in config.nodeGroups to build."""
    node_subnet_id: pulumi.Input[str]
    """Private subnet of the group's zone (the nodes' primary ENIs)."""
    multus_subnet_ids: dict[str, pulumi.Input[str]]
    """Multus subnet name -> subnet id, for every subnet the group's multusInterfaces name."""
    multus_security_group_id: pulumi.Input[str]
    """Security group of the multus ENIs."""
    eks_cluster: NotRequired[pulumi_eks.Cluster]
    """A pulumi-eks cluster: its endpoint and CA (from its kubeconfig), service range and node security group,
    and the nodes wait for it."""
    endpoint: NotRequired[pulumi.Input[str]]
    """Without eksCluster: the API server's URL."""
    certificate_authority: NotRequired[pulumi.Input[str]]
    """Without eksCluster: the cluster CA, base64 PEM."""
    service_cidr: NotRequired[pulumi.Input[str]]
    """The Kubernetes service range (without eksCluster required; with it, default the cluster's own)."""
    node_security_group_ids: NotRequired[list[pulumi.Input[str]]]
    """Without eksCluster: security groups of the nodes' primary ENIs."""
    kubernetes_version: NotRequired[pulumi.Input[str]]
    """The control plane's version, which the AMI follows (default config.cluster.kubernetesVersion)."""
    attach_cni_policy: NotRequired[bool]
    """The VPC CNI takes its permissions from the node role (default false)."""
    _after: NotRequired[list[pulumi.Resource]]
    # Python only (not in the schema): what the nodes wait for, e.g. a MultusCluster's node prerequisites.


class MultusArgs(TypedDict):
    """Arguments of Multus; the Kubernetes provider comes with the resource options."""

    region: str
    """AWS region: the EKS build of Multus comes from its regional ECR registry."""
    multus: NotRequired[MultusSettingsArgs]
    """The daemon's image, resources and log level."""


class WhereaboutsArgs(TypedDict):
    """Arguments of Whereabouts; the Kubernetes provider comes with the resource options."""

    whereabouts: NotRequired[WhereaboutsSettingsArgs]
    """The reconciler's schedule."""


class SriovDevicePluginArgs(TypedDict):
    """Arguments of SriovDevicePlugin; the Kubernetes provider comes with the resource options."""

    sriov: NotRequired[SriovSettingsArgs]
    """The device pools."""
    multus_subnets: NotRequired[list[MultusSubnetArgs]]
    """The multus subnets, with node_groups and networks: a pool without pciAddresses takes the multus ENIs
    no ipvlan network uses."""
    node_groups: NotRequired[list[NodeGroupArgs]]
    """The node groups whose multus ENIs a pool without pciAddresses takes."""
    networks: NotRequired[list[NetworkArgs]]
    """The networks, whose ipvlan masters no pool may take."""


class NetworkAttachmentsArgs(TypedDict):
    """Arguments of NetworkAttachments; the Kubernetes provider comes with the resource options."""

    networks: list[NetworkArgs]
    """The NetworkAttachmentDefinitions."""
    existing_namespaces: NotRequired[list[str]]
    """Namespaces that exist already; every other one a network uses is created."""
    multus_subnets: NotRequired[list[MultusSubnetArgs]]
    """With node_groups: each network is checked against the interfaces and subnets the nodes carry."""
    node_groups: NotRequired[list[NodeGroupArgs]]
    """With multus_subnets: the node groups the networks run on."""
    sriov: NotRequired[SriovSettingsArgs]
    """The SR-IOV pools host-device networks may name."""
    eni_agent: NotRequired[EniAgentSettingsArgs]
    """The node agent's port, for the networks' eks-multus-eni-ip and eks-multus-eni-prefix configs."""


class ReadinessGateArgs(TypedDict):
    """Arguments of ReadinessGate (none: it follows the readiness contract); the Kubernetes provider comes
    with the resource options."""
