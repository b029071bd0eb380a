"""Typed, immutable stack config.

The model checks shapes (types, known keys, literal choices, IP syntax); the
rules that relate one part of the config to another live in `validate.py`.
Keys are camelCase in YAML and snake_case in Python.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator
from pydantic.alias_generators import to_camel

from .awsrules import LOG_RETENTION_DAYS

CniVersion = Literal["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
IpvlanMode = Literal["l2", "l3", "l3s"]
NatGateways = Literal["none", "single", "perAz"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
LogRetentionDays = Literal[LOG_RETENTION_DAYS]  # Literal[(a, b)] is Literal[a, b]


class Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        loc_by_alias=True,
    )


class ExistingCluster(Model):
    """A running EKS cluster to add multus node groups and the Kubernetes layer to."""

    kubeconfig: str
    """Its kubeconfig, set as a secret (`pulumi config set --secret --path cluster.existing.kubeconfig`)."""
    vpc_cni_uses_node_role: bool = True
    """The cluster's VPC CNI takes its AWS permissions from the node role (EKS's default), so the
    node groups keep AmazonEKS_CNI_Policy. Set false when aws-node has its own role (IRSA or Pod Identity)."""


class ClusterConfig(Model):
    name: str | None = None
    """EKS cluster name; defaults to `eks-multus-<stack>`."""
    kubernetes_version: str = "1.35"
    service_cidr: IPv4Network = IPv4Network("172.20.0.0/16")
    vpc_cni_version: str = "v1.22.3-eksbuild.1"
    """Valid for Kubernetes 1.30 to 1.36; at least v1.22.3 (amazon-vpc-cni-k8s #3544)."""
    pod_identity_agent_version: str = "v1.3.10-eksbuild.3"
    """EKS Pod Identity agent add-on; the VPC CNI gets its own role through it, not the node role."""
    endpoint_public_access: bool = True
    endpoint_private_access: bool = True
    public_access_cidrs: tuple[IPv4Network, ...] = ()
    log_retention_days: LogRetentionDays = 90
    """CloudWatch retention of the control-plane logs (api, audit, authenticator)."""
    existing: ExistingCluster | None = None


class ExistingVpc(Model):
    """A VPC to build the multus side in, instead of creating one."""

    id: str
    private_subnet_ids: dict[str, str] = Field(min_length=1)
    """Availability zone -> subnet for the nodes' primary ENIs (and a new cluster's control plane)."""
    public_subnet_ids: dict[str, str] = Field(default_factory=dict)
    """Availability zone -> subnet for a new cluster's public load balancers (optional)."""
    secondary_cidr_associated: bool = False
    """The secondary CIDR is already associated with the VPC; do not associate it again."""


class VpcConfig(Model):
    cidr: IPv4Network | None = None
    """CIDR of the VPC to create; leave out with `existing`."""
    availability_zones: tuple[str, ...] = Field(min_length=1)
    nat_gateways: NatGateways = "single"
    secondary_cidr: IPv4Network = IPv4Network("100.64.0.0/19")
    existing: ExistingVpc | None = None


class MultusSubnet(Model):
    name: str
    availability_zone: str
    cidr: IPv4Network
    interface_name: str | None = None
    """Alternative interface name given on nodes; defaults to `name`."""

    @property
    def ifname(self) -> str:
        return self.interface_name or self.name


class SecurityGroupRule(Model):
    protocol: str = "-1"
    """tcp, udp, icmp, icmpv6, -1 (or all) for every protocol, or an IP protocol number 0-255."""
    from_port: int = 0
    """First port (tcp, udp), or the ICMP type (-1 = every type)."""
    to_port: int = 0
    """Last port (tcp, udp), or the ICMP code (-1 = every code)."""
    cidr_blocks: tuple[IPv4Network, ...] = Field(min_length=1)
    description: str = ""

    @field_validator("protocol", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        # YAML reads `protocol: 6` as a number; EC2 takes protocol numbers as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class MultusSecurityGroupConfig(Model):
    ingress: tuple[SecurityGroupRule, ...] = ()
    """Rules added to the default one (all traffic from the multus subnets)."""
    replace_default: bool = False
    """True: `ingress` is the whole list; the default multus-subnet rule is left out."""
    egress: tuple[SecurityGroupRule, ...] | None = None
    """None means: all traffic to anywhere. A list (even empty) is the whole egress."""


class Taint(Model):
    key: str
    value: str = ""
    effect: TaintEffect


class NodeGroup(Model):
    name: str
    instance_type: str
    availability_zone: str
    min_size: int = Field(ge=0)
    max_size: int = Field(ge=1)
    desired_size: int = Field(ge=0)
    multus_interfaces: tuple[str, ...]
    """Multus subnets, device index 1, 2, ... in order; `[]` makes a plain system node group (no boot
    step, no startup taint, no ENI permissions, no `eks-multus.io/multus` label) for CoreDNS and the like."""
    labels: dict[str, str] = Field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    root_volume_size: int = Field(default=20, ge=20, le=16384)
    metadata_hop_limit: int = Field(default=1, ge=1, le=64)
    ami_release_version: str | None = None
    """Pin the EKS AL2023 AMI release (amazon-eks-ami tag, e.g. v20260930) instead of following `recommended`."""
    ami_id: str | None = None
    """Pin an AMI id (ami-...) instead of the EKS AL2023 SSM parameter."""

    @property
    def is_multus(self) -> bool:
        """Whether the nodes carry multus ENIs (False for a system node group)."""
        return bool(self.multus_interfaces)


class Route(Model):
    dst: IPv4Network
    gw: IPv4Address | None = None


class HostLocalIpam(Model):
    type: Literal["host-local"]
    subnet: IPv4Network
    range_start: IPv4Address | None = None
    range_end: IPv4Address | None = None
    gateway: IPv4Address | None = None
    routes: tuple[Route, ...] = ()


class WhereaboutsIpam(Model):
    type: Literal["whereabouts"]
    range: IPv4Network
    range_start: IPv4Address | None = None
    range_end: IPv4Address | None = None
    gateway: IPv4Address | None = None
    exclude: tuple[IPv4Network, ...] = ()
    routes: tuple[Route, ...] = ()


class StaticAddress(Model):
    address: IPv4Interface
    """CIDR notation with host bits, e.g. 100.64.30.10/19."""
    gateway: IPv4Address | None = None

    @field_validator("address", mode="before")
    @classmethod
    def _needs_prefix(cls, value: object) -> object:
        # IPv4Interface reads a bare address as /32, which is never the pod's subnet.
        if isinstance(value, str) and "/" not in value:
            raise ValueError(f"`{value}` is not an address in CIDR notation; write it as address/prefix, e.g. 100.64.30.10/19")
        return value


class StaticIpam(Model):
    type: Literal["static"]
    addresses: tuple[StaticAddress, ...] = Field(min_length=1)
    routes: tuple[Route, ...] = ()


ENI_PREFIX_IPAM = "eks-multus-eni-prefix"
PREFIX_ADDRESSES = 16
"""Addresses in one /28 IPv4 prefix delegated to an ENI (EC2 user guide, "Assign prefixes to network interfaces")."""


class EniPrefixIpam(Model):
    """Prefix mode: each node's ENI holds /28 prefixes and pods get addresses out of them (no EC2 call per pod).

    For networks that need no address stable across nodes: a pod that moves gets a new address."""

    type: Literal["eks-multus-eni-prefix"]
    subnet: IPv4Network
    """The multus subnet the master's ENI lives in (the pod's on-link range)."""
    reservation: IPv4Network
    """Prefix-type subnet CIDR reservation inside `subnet`: EC2 takes the nodes' prefixes from it first."""
    prefix_count: int = Field(default=1, ge=1, le=64)
    """/28 prefixes each node's ENI gets at boot (16 pod addresses each)."""
    max_prefix_count: int | None = Field(default=None, ge=1, le=64)
    """Prefixes an ENI may grow to when its free addresses run low; defaults to prefixCount."""
    gateway: IPv4Address | None = None
    routes: tuple[Route, ...] = ()

    @property
    def most_prefixes(self) -> int:
        return max(self.prefix_count, self.max_prefix_count or self.prefix_count)


Ipam = Annotated[
    Annotated[HostLocalIpam, Tag("host-local")]
    | Annotated[WhereaboutsIpam, Tag("whereabouts")]
    | Annotated[StaticIpam, Tag("static")]
    | Annotated[EniPrefixIpam, Tag(ENI_PREFIX_IPAM)],
    Discriminator("type"),
]


class NetworkBase(Model):
    name: str
    namespace: str = "default"
    cni_version: CniVersion = "0.3.1"


class IpvlanNetwork(NetworkBase):
    type: Literal["ipvlan"]
    master: str
    mode: IpvlanMode = "l2"
    mtu: int | None = Field(default=None, ge=68, le=9001)
    ipam: Ipam
    allow_host_local_on_multiple_nodes: bool = False
    eni_ip_assignment: bool = True
    """Chain eks-multus-eni-ip so EC2 routes the pod's address to its node's ENI."""
    address_request: Literal["require", "warn"] = "require"
    """A routable network's pods must ask for their address as an extended resource (address_resources.py):
    `require` refuses a pod that does not, `warn` admits it with a warning."""


class HostDeviceNetwork(NetworkBase):
    type: Literal["host-device"]
    device: str | None = None
    resource_name: str | None = None
    """SR-IOV device plugin resource, e.g. intel.com/aws_ena_vf."""
    ipam: Ipam | None = None


Network = Annotated[
    Annotated[IpvlanNetwork, Tag("ipvlan")] | Annotated[HostDeviceNetwork, Tag("host-device")],
    Discriminator("type"),
]

SUPPORTED_NETWORK_TYPES = ("ipvlan", "host-device")
SUPPORTED_IPAM_TYPES = ("host-local", "whereabouts", "static", ENI_PREFIX_IPAM)


class MultusConfig(Model):
    image: str = "eks"
    """`eks` (AWS build, regional ECR), `upstream` (pinned ghcr thick image) or a full reference."""
    cpu: str = "100m"
    memory: str = "256Mi"
    log_level: Literal["debug", "verbose", "error", "panic"] = "verbose"


AGENT_PORT = 61690
"""The node agent's loopback TCP port (eks-multus-eni-agent, and the eks-multus-eni-ip relay's default): outside
Linux's default ephemeral range (net.ipv4.ip_local_port_range 32768-60999, kernel ip-sysctl docs), so no outgoing
connection can hold it, and clear of the VPC CNI's 61678 (metrics) and 61679 (introspection), its cni-metrics-helper's
61681, its network policy agent's 8162/8163, and the kubelet's and kube-proxy's 10248-10256."""
EPHEMERAL_PORTS = (32768, 60999)


class EniAgentConfig(Model):
    """The node agent (eks-multus-eni-agent) that owns the multus ENIs' EC2 calls."""

    port: int = Field(default=AGENT_PORT, ge=1, le=65535)
    """Loopback TCP port the agent listens on and the plugins connect to (127.0.0.1 only)."""

    @field_validator("port")
    @classmethod
    def _outside_ephemeral_range(cls, port: int) -> int:
        low, high = EPHEMERAL_PORTS
        if low <= port <= high:
            raise ValueError(
                f"{port} is in Linux's ephemeral port range {low}-{high}, where an outgoing connection can hold it "
                f"before the agent starts; pick a port outside it (default {AGENT_PORT})"
            )
        return port


class WhereaboutsConfig(Model):
    reconciler_schedule: str = "30 4 * * *"


class SriovResource(Model):
    name: str
    vendors: tuple[str, ...] = ("1d0f",)
    devices: tuple[str, ...] = ("ec20",)
    drivers: tuple[str, ...] = ("ena",)
    pci_addresses: tuple[str, ...] | None = None
    """None means: the PCI addresses of the multus ENIs no ipvlan network uses."""


class SriovConfig(Model):
    enabled: bool = False
    resource_prefix: str = "intel.com"
    resources: tuple[SriovResource, ...] = (SriovResource(name="aws_ena_vf"),)


class StackConfig(Model):
    """The whole `eks-multus:` namespace plus the AWS region."""

    stack: str = "dev"
    region: str
    cluster: ClusterConfig = ClusterConfig()
    vpc: VpcConfig
    multus_subnets: tuple[MultusSubnet, ...] = Field(min_length=1)
    multus_security_group: MultusSecurityGroupConfig = MultusSecurityGroupConfig()
    node_groups: tuple[NodeGroup, ...] = Field(min_length=1)
    networks: tuple[Network, ...] = ()
    multus: MultusConfig = MultusConfig()
    whereabouts: WhereaboutsConfig = WhereaboutsConfig()
    sriov: SriovConfig = SriovConfig()
    eni_agent: EniAgentConfig = EniAgentConfig()
    tags: dict[str, str] = Field(default_factory=dict)
    existing_namespaces: tuple[str, ...] = ()
    """Namespaces of networks that exist already: NADs go into them, eks-multus neither creates nor deletes them."""

    @property
    def cluster_name(self) -> str:
        return self.cluster.name or f"eks-multus-{self.stack}"

    def subnet(self, name: str) -> MultusSubnet | None:
        return next((s for s in self.multus_subnets if s.name == name), None)


# Keys of the `eks-multus:` namespace, for unknown-key suggestions at the top level.
TOP_LEVEL_KEYS = tuple(field.alias or name for name, field in StackConfig.model_fields.items() if name not in ("stack", "region"))
