"""Rules that relate one part of the stack config to another.

Each check yields `ConfigIssue`s and never stops at the first; `validate`
returns them all. Only rules decidable from the config itself live here, so
a bad stack is refused before any resource is registered.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import cache
from importlib import resources
from ipaddress import IPv4Address, IPv4Network

from pydantic.alias_generators import to_camel

from .address_resources import address_resource_issues
from .addresses import eni_address_issues
from .egress import no_nat_issues
from .errors import ConfigIssue
from .images import ECR_ACCOUNTS, check_image_reference
from .ipplan import RFC1918, plan_vpc_subnets, ranges_overlap, secondary_cidr_problem
from .kubeconfig import kubeconfig_server
from .limits import instance_limits, known_instance_types
from .model import (
    EniPrefixIpam,
    HostDeviceNetwork,
    HostLocalIpam,
    Ipam,
    IpvlanNetwork,
    StackConfig,
    StaticIpam,
    WhereaboutsIpam,
)
from .prefixes import eni_prefix_issues
from .quantity import parse_quantity
from .readiness import NOT_READY_TAINT_KEY
from .rollout import AUTOSCALER_PREFIX, autoscaler_tags
from .sgrules import security_group_issues
from .topology import (
    IpamPlan,
    attachments,
    interface_name_of,
    ipam_plan,
    ipvlan_masters,
    pci_address,
    providers,
    touches_aws_reserved,
    whole_eni_candidates,
)
from .versions import eks_version, eks_versions, plan_date

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
KERNEL_STYLE_NAME = re.compile(r"^(eth|ens|enp|eno|enx)\d")
AL2_NAME = re.compile(r"^eth\d+$")
EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
ADDON_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-eksbuild\.\d+$")
K8S_VERSION = re.compile(r"^1\.(\d+)$")
AMI_RELEASE = re.compile(r"^v20\d{6}$")
AMI_ID = re.compile(r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$")
LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
SRIOV_RESOURCE = re.compile(r"^[A-Za-z0-9_]+$")
RESOURCE_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
PCI_ADDRESS = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
PCI_ID = re.compile(r"^[0-9a-f]{4}$")

MIN_KUBERNETES_MINOR = 30  # AL2023 is the only EKS AMI family from 1.33; nodeadm from 1.30 on.
MIN_VPC_CNI = (1, 22, 3)  # earlier releases never decrease the unmanaged-ENI count (amazon-vpc-cni-k8s #3544).
MIN_MULTUS_MEMORY = 200 * 1024**2
MAX_IFNAME = 15


def validate(cfg: StackConfig) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for check in (
        _cluster,
        _vpc,
        _multus_subnets,
        _node_groups,
        _node_labels,
        _node_taints,
        _networks,
        _ipam_overlaps,
        _sriov,
        _multus,
        _whereabouts,
    ):
        issues.extend(check(cfg))
    # Versions and support dates, AMI pins, a VPC without NAT (issue 12 items 6, 7, 9).
    for check in (_kubernetes_offered, _node_images, _without_nat):
        issues.extend(check(cfg))
    for check in (_control_plane_zones, security_group_issues, eni_address_issues, _existing_namespaces):
        issues.extend(check(cfg))
    for check in (_zone_letters, _endpoint_access, _tags, _ipvlan_mode_per_master, _host_device_takes_ipvlan_master):
        issues.extend(check(cfg))
    issues.extend(_tag_limits(cfg))
    # Prefix mode (issue 14 item 2).
    issues.extend(eni_prefix_issues(cfg))
    # Routable addresses as scheduling resources (issue 14 item 3).
    issues.extend(address_resource_issues(cfg))
    return issues


def _cluster(cfg: StackConfig) -> Iterator[ConfigIssue]:
    c = cfg.cluster
    if c.name is not None and not EKS_CLUSTER_NAME.match(c.name):
        yield ConfigIssue(
            "cluster.name",
            f"`{c.name}` is not a valid EKS cluster name",
            "use letters, digits, - and _, starting with a letter or digit, at most 100 characters",
        )
    m = K8S_VERSION.match(c.kubernetes_version)
    if not m:
        yield ConfigIssue(
            "cluster.kubernetesVersion",
            f"`{c.kubernetes_version}` is not a Kubernetes minor version",
            'write it quoted as "1.<minor>", e.g. "1.35"',
        )
    elif int(m.group(1)) < MIN_KUBERNETES_MINOR:
        yield ConfigIssue(
            "cluster.kubernetesVersion",
            f"{c.kubernetes_version} is older than the AL2023 node bootstrap supports",
            f'use "1.{MIN_KUBERNETES_MINOR}" or later',
        )
    if not ADDON_VERSION.match(c.pod_identity_agent_version):
        yield ConfigIssue(
            "cluster.podIdentityAgentVersion",
            f"`{c.pod_identity_agent_version}` is not an EKS add-on version",
            "write it as vMAJOR.MINOR.PATCH-eksbuild.N, e.g. v1.3.10-eksbuild.3",
        )
    v = ADDON_VERSION.match(c.vpc_cni_version)
    if not v:
        yield ConfigIssue(
            "cluster.vpcCniVersion",
            f"`{c.vpc_cni_version}` is not an EKS add-on version",
            "write it as vMAJOR.MINOR.PATCH-eksbuild.N, e.g. v1.22.3-eksbuild.1",
        )
    elif tuple(int(x) for x in v.groups()) < MIN_VPC_CNI:
        yield ConfigIssue(
            "cluster.vpcCniVersion",
            f"{c.vpc_cni_version} counts unmanaged (no_manage) ENIs up but never down "
            "(amazon-vpc-cni-k8s #3544, fixed in v1.22.3; before v1.19.0 it also rewrote their security groups)",
            "use v1.22.3-eksbuild.1 or later",
        )
    svc = c.service_cidr
    if not any(svc.subnet_of(b) for b in RFC1918) or not 12 <= svc.prefixlen <= 24:
        yield ConfigIssue(
            "cluster.serviceCidr",
            f"{svc} is not accepted by EKS for services",
            "use a /12 to /24 block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
        )
    for other, key in ((cfg.vpc.cidr, "vpc.cidr"), (cfg.vpc.secondary_cidr, "vpc.secondaryCidr")):
        if other is not None and svc.overlaps(other):
            yield ConfigIssue(
                "cluster.serviceCidr", f"{svc} overlaps {key} {other}", "pick a service range outside the VPC, e.g. 172.20.0.0/16"
            )


def _vpc(cfg: StackConfig) -> Iterator[ConfigIssue]:
    vpc = cfg.vpc
    yield from _existing(cfg)
    if vpc.cidr is not None:
        if not 16 <= vpc.cidr.prefixlen <= 28:
            yield ConfigIssue(
                "vpc.cidr",
                f"/{vpc.cidr.prefixlen} is outside what AWS accepts for a VPC (/16 to /28)",
                "use a /16 to /28 block, e.g. 10.20.0.0/16",
            )
        else:
            try:
                plan_vpc_subnets(vpc.cidr, vpc.availability_zones)
            except ValueError as exc:
                yield ConfigIssue("vpc.cidr", str(exc), "use a larger VPC CIDR or fewer availability zones")
    for i, az in enumerate(vpc.availability_zones):
        if not (az.startswith(cfg.region) and len(az) > len(cfg.region)):
            yield ConfigIssue(
                f"vpc.availabilityZones[{i}]", f"`{az}` is not a zone of region {cfg.region}", f"use a zone such as {cfg.region}a"
            )
    for az, n in Counter(vpc.availability_zones).items():
        if n > 1:
            yield ConfigIssue("vpc.availabilityZones", f"`{az}` is listed {n} times", "list each zone once")
    problem = secondary_cidr_problem(vpc.cidr, vpc.secondary_cidr)
    if problem:
        yield ConfigIssue("vpc.secondaryCidr", f"{vpc.secondary_cidr} {problem}", "use a block in 100.64.0.0/10 such as 100.64.0.0/19")


# Cluster keys that only mean something for a cluster eks-multus creates.
CREATED_CLUSTER_KEYS = (
    "kubernetes_version",  # nodes follow the version the existing cluster reports (aws.eks.getCluster)
    "vpc_cni_version",
    "pod_identity_agent_version",
    "endpoint_public_access",
    "endpoint_private_access",
    "public_access_cidrs",
    "service_cidr",
    "log_retention_days",
)


def _existing(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """Bring-your-own VPC and cluster: complete, and not mixed with keys for created ones."""
    vpc, cluster = cfg.vpc, cfg.cluster
    existing = vpc.existing
    if existing is None and vpc.cidr is None:
        yield ConfigIssue(
            "vpc.cidr",
            "is required unless vpc.existing names a VPC to use",
            "set vpc.cidr (e.g. 10.20.0.0/16), or vpc.existing.id and vpc.existing.privateSubnetIds",
        )
    if existing is not None:
        if vpc.cidr is not None:
            yield ConfigIssue(
                "vpc.existing", "conflicts with vpc.cidr: an existing VPC keeps its own CIDR", "remove vpc.cidr, or remove vpc.existing"
            )
        if "nat_gateways" in vpc.model_fields_set:
            yield ConfigIssue("vpc.natGateways", "an existing VPC keeps its own NAT gateways and routes", "remove vpc.natGateways")
        if not VPC_ID.match(existing.id):
            yield ConfigIssue("vpc.existing.id", f"`{existing.id}` is not a VPC id", "use the id shown by AWS, e.g. vpc-0123456789abcdef0")
        for key, subnets in (("privateSubnetIds", existing.private_subnet_ids), ("publicSubnetIds", existing.public_subnet_ids)):
            for az, subnet in subnets.items():
                if az not in vpc.availability_zones:
                    yield ConfigIssue(
                        f"vpc.existing.{key}.{az}",
                        f"`{az}` is not in vpc.availabilityZones",
                        f"add it to vpc.availabilityZones or use one of: {', '.join(vpc.availability_zones)}",
                    )
                if not SUBNET_ID.match(subnet):
                    yield ConfigIssue(
                        f"vpc.existing.{key}.{az}",
                        f"`{subnet}` is not a subnet id",
                        "use the id shown by AWS, e.g. subnet-0123456789abcdef0",
                    )
        missing = [az for az in vpc.availability_zones if az not in existing.private_subnet_ids]
        if missing:
            yield ConfigIssue(
                "vpc.existing.privateSubnetIds",
                f"has no subnet for {', '.join(missing)}, where node groups may run",
                "map every zone of vpc.availabilityZones to a private subnet of the VPC",
            )
        ids = [*existing.private_subnet_ids.values(), *existing.public_subnet_ids.values()]
        for subnet, n in Counter(ids).items():
            if n > 1:
                yield ConfigIssue(
                    "vpc.existing", f"subnet `{subnet}` is listed {n} times", "give each zone its own private and public subnet"
                )
    if cluster.existing is not None:
        if existing is None:
            yield ConfigIssue(
                "cluster.existing",
                "an existing cluster already runs in a VPC, and eks-multus cannot move it to a new one",
                "set vpc.existing to the cluster's VPC and its private subnets",
            )
        if cluster.name is None:
            yield ConfigIssue("cluster.name", "is required with cluster.existing", "set it to the existing cluster's name")
        for field in CREATED_CLUSTER_KEYS:
            if field in cluster.model_fields_set:
                key = to_camel(field)
                yield ConfigIssue(
                    f"cluster.{key}",
                    "applies only to a cluster eks-multus creates; an existing cluster keeps (and reports) its own",
                    f"remove cluster.{key}",
                )
        if kubeconfig_server(cluster.existing.kubeconfig) is None:
            yield ConfigIssue(
                "cluster.existing.kubeconfig",
                "is not a kubeconfig with a cluster server",
                "paste the output of `aws eks update-kubeconfig --dry-run --name <cluster>` (as a secret)",
            )


def _multus_subnets(cfg: StackConfig) -> Iterator[ConfigIssue]:
    seen_names: dict[str, int] = {}
    seen_ifnames: dict[str, int] = {}
    for i, s in enumerate(cfg.multus_subnets):
        p = f"multusSubnets[{i}]"
        if not DNS1123_LABEL.match(s.name):
            yield ConfigIssue(f"{p}.name", f"`{s.name}` is not a valid name", "use lower-case letters, digits and -, e.g. multus-a")
        if s.name in seen_names:
            yield ConfigIssue(
                f"{p}.name", f"`{s.name}` is already used by multusSubnets[{seen_names[s.name]}]", "give each multus subnet its own name"
            )
        seen_names.setdefault(s.name, i)
        key = f"{p}.interfaceName" if s.interface_name else f"{p}.name"
        ifname = s.ifname
        if len(ifname) > MAX_IFNAME or not IFNAME.match(ifname):
            yield ConfigIssue(
                key,
                f"`{ifname}` cannot be a Linux interface name (at most {MAX_IFNAME} characters, no / or spaces)",
                f"set multusSubnets[{i}].interfaceName to a short name such as multus-a",
            )
        elif KERNEL_STYLE_NAME.match(ifname):
            yield ConfigIssue(
                key,
                f"`{ifname}` looks like a kernel interface name and could clash with one",
                "pick a name that does not start with eth, ens, enp, eno or enx",
            )
        if ifname in seen_ifnames:
            yield ConfigIssue(
                key,
                f"interface name `{ifname}` is already used by multusSubnets[{seen_ifnames[ifname]}]",
                "give each multus subnet its own interface name",
            )
        seen_ifnames.setdefault(ifname, i)
        if not s.cidr.subnet_of(cfg.vpc.secondary_cidr):
            yield ConfigIssue(
                f"{p}.cidr", f"{s.cidr} is outside the secondary CIDR {cfg.vpc.secondary_cidr}", f"carve it from {cfg.vpc.secondary_cidr}"
            )
        if not 16 <= s.cidr.prefixlen <= 28:
            yield ConfigIssue(
                f"{p}.cidr", f"/{s.cidr.prefixlen} is outside what AWS accepts for a subnet (/16 to /28)", "use a /16 to /28 block"
            )
        if s.availability_zone not in cfg.vpc.availability_zones:
            yield ConfigIssue(
                f"{p}.availabilityZone",
                f"`{s.availability_zone}` is not a zone the VPC uses",
                f"use one of: {', '.join(cfg.vpc.availability_zones)}",
            )
        for j in range(i):
            other = cfg.multus_subnets[j]
            if s.cidr.overlaps(other.cidr):
                yield ConfigIssue(
                    f"{p}.cidr",
                    f"{s.cidr} overlaps multusSubnets[{j}] ({other.name}, {other.cidr})",
                    "give each multus subnet its own block",
                )


def _node_groups(cfg: StackConfig) -> Iterator[ConfigIssue]:
    seen: dict[str, int] = {}
    for i, g in enumerate(cfg.node_groups):
        p = f"nodeGroups[{i}]"
        if not DNS1123_LABEL.match(g.name) or len(g.name) > 40:
            yield ConfigIssue(f"{p}.name", f"`{g.name}` is not a valid node group name", "use at most 40 lower-case letters, digits and -")
        if g.name in seen:
            yield ConfigIssue(f"{p}.name", f"`{g.name}` is already used by nodeGroups[{seen[g.name]}]", "give each node group its own name")
        seen.setdefault(g.name, i)
        if g.availability_zone not in cfg.vpc.availability_zones:
            yield ConfigIssue(
                f"{p}.availabilityZone",
                f"`{g.availability_zone}` is not a zone the VPC uses",
                f"use one of: {', '.join(cfg.vpc.availability_zones)}",
            )
        if not g.min_size <= g.desired_size <= g.max_size:
            yield ConfigIssue(
                f"{p}.desiredSize",
                f"minSize {g.min_size} <= desiredSize {g.desired_size} <= maxSize {g.max_size} does not hold",
                "keep desiredSize between minSize and maxSize",
            )
        limits = instance_limits(g.instance_type)
        if limits is None:
            close = difflib.get_close_matches(g.instance_type, known_instance_types(), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "use an EC2 instance type such as m5.large"
            yield ConfigIssue(f"{p}.instanceType", f"`{g.instance_type}` is not a known EC2 instance type", hint)
        elif 1 + len(g.multus_interfaces) > limits.max_enis:
            yield ConfigIssue(
                f"{p}.multusInterfaces",
                f"{g.instance_type} takes {limits.max_enis} ENIs, but the primary ENI plus {len(g.multus_interfaces)} multus interfaces need {1 + len(g.multus_interfaces)}",
                f"use at most {limits.max_enis - 1} multus interfaces or a larger instance type",
            )
        for j, name in enumerate(g.multus_interfaces):
            subnet = cfg.subnet(name)
            key = f"{p}.multusInterfaces[{j}]"
            if subnet is None:
                names = [s.name for s in cfg.multus_subnets]
                close = difflib.get_close_matches(name, names, n=1)
                yield ConfigIssue(
                    key,
                    f"no multus subnet is named `{name}`",
                    f"did you mean `{close[0]}`?" if close else f"use one of: {', '.join(names)}",
                )
            elif subnet.availability_zone != g.availability_zone:
                yield ConfigIssue(
                    key,
                    f"multus subnet `{name}` is in {subnet.availability_zone}, but the node group runs in {g.availability_zone}",
                    "attach only subnets of the node group's zone (one node group per zone)",
                )
        for name, n in Counter(g.multus_interfaces).items():
            if n > 1:
                yield ConfigIssue(f"{p}.multusInterfaces", f"`{name}` is listed {n} times", "attach each multus subnet once per node")
        for key, value in g.labels.items():
            if not LABEL_NAME.match(key) or not LABEL_VALUE.match(value):
                yield ConfigIssue(
                    f"{p}.labels.{key}",
                    "is not a valid Kubernetes label",
                    "use a name/value of letters, digits, - _ . (at most 63 characters)",
                )


def _networks(cfg: StackConfig) -> Iterator[ConfigIssue]:
    seen: dict[tuple[str, str], int] = {}
    pool_names = {f"{cfg.sriov.resource_prefix}/{r.name}" for r in cfg.sriov.resources}
    for i, net in enumerate(cfg.networks):
        p = f"networks[{i}]"
        if len(net.name) > 63 or not DNS1123_LABEL.match(net.name):
            yield ConfigIssue(
                f"{p}.name", f"`{net.name}` is not a DNS-1123 label", "use at most 63 lower-case letters, digits and -, e.g. ipvlan-conf-1"
            )
        if len(net.namespace) > 63 or not DNS1123_LABEL.match(net.namespace):
            yield ConfigIssue(f"{p}.namespace", f"`{net.namespace}` is not a valid namespace", "use a DNS-1123 label such as default")
        ident = (net.namespace, net.name)
        if ident in seen:
            yield ConfigIssue(
                f"{p}.name",
                f"{net.namespace}/{net.name} is already defined by networks[{seen[ident]}]",
                "give each network its own namespace/name",
            )
        seen.setdefault(ident, i)

        ifname = interface_name_of(net)
        ifkey = f"{p}.master" if isinstance(net, IpvlanNetwork) else f"{p}.device"
        if isinstance(net, HostDeviceNetwork):
            yield from _host_device(cfg, net, p, pool_names)
        if ifname is not None:
            if len(ifname) > MAX_IFNAME or not IFNAME.match(ifname):
                yield ConfigIssue(
                    ifkey,
                    f"`{ifname}` cannot be a Linux interface name (at most {MAX_IFNAME} characters)",
                    "use a multus subnet's interface name, e.g. multus-a",
                )
                continue
            slots = providers(cfg, ifname)
            if not slots:
                valid = sorted({n for a in attachments(cfg) for n in a.names})
                problem = f"no node group provides an interface named `{ifname}`"
                if AL2_NAME.match(ifname):
                    problem += " (AL2023, the node OS, names device index i ens<5+i>; eth<i> is AL2's naming)"
                yield ConfigIssue(ifkey, problem, f"use one of: {', '.join(valid)}")
                continue
        else:
            slots = ()

        if net.ipam is None:
            continue
        yield from _ipam(cfg, net, net.ipam, p, slots)


def _host_device(cfg: StackConfig, net: HostDeviceNetwork, p: str, pool_names: set[str]) -> Iterator[ConfigIssue]:
    if (net.device is None) == (net.resource_name is None):
        yield ConfigIssue(
            f"{p}.device",
            "host-device needs exactly one of `device` and `resourceName`",
            "name the interface to move (device) or an SR-IOV resource (resourceName)",
        )
    if net.resource_name is not None:
        if not cfg.sriov.enabled:
            yield ConfigIssue(
                f"{p}.resourceName", "names an SR-IOV resource but sriov.enabled is false", "set eks-multus:sriov.enabled to true"
            )
        elif net.resource_name not in pool_names:
            yield ConfigIssue(
                f"{p}.resourceName", f"no SR-IOV pool defines `{net.resource_name}`", f"use one of: {', '.join(sorted(pool_names))}"
            )


_SUBNET_KEY = {"host-local": "subnet", "whereabouts": "range", "static": "addresses"}


def _ipam(cfg: StackConfig, net: IpvlanNetwork | HostDeviceNetwork, ipam: Ipam, p: str, slots) -> Iterator[ConfigIssue]:
    if isinstance(ipam, EniPrefixIpam):
        return  # prefix mode has its own rules (prefixes.eni_prefix_issues)
    q = f"{p}.ipam"
    plan = ipam_plan(ipam)
    subnet = plan.subnet
    if isinstance(ipam, StaticIpam):
        yield from _static_addresses(ipam, plan, q)
    else:
        yield from _address_range(ipam, plan, q)

    ifname = interface_name_of(net)
    subnets = {a.subnet.name: a.subnet for a in slots}
    for s in subnets.values():
        if subnet != s.cidr:
            yield ConfigIssue(
                f"{q}.{_SUBNET_KEY[ipam.type]}",
                f"{subnet} is not the multus subnet {s.name} ({s.cidr}) that `{ifname}` is attached to",
                f"use {s.cidr} so the pod's on-link range matches the ENI's subnet",
            )
    if len(subnets) > 1:
        yield ConfigIssue(
            f"{p}.master" if isinstance(net, IpvlanNetwork) else f"{p}.device",
            f"`{ifname}` reaches different multus subnets on different nodes ({', '.join(sorted(subnets))}), and one range cannot fit them all",
            "use the multus subnet's interface name (one network per subnet)",
        )
    if plan.node_local and slots:
        nodes = sum(a.node_group.max_size for a in slots)
        allowed = isinstance(net, IpvlanNetwork) and net.allow_host_local_on_multiple_nodes
        if nodes > 1 and not allowed:
            yield ConfigIssue(
                f"{q}.type",
                f"{ipam.type} hands out the same addresses on every node, and `{ifname}` is on up to {nodes} nodes",
                "use whereabouts for cluster-wide allocation, or set allowHostLocalOnMultipleNodes: true on the network if each node gets its own NAD range",
            )


def _address_range(ipam: HostLocalIpam | WhereaboutsIpam, plan: IpamPlan, q: str) -> Iterator[ConfigIssue]:
    subnet = plan.subnet
    start_key, end_key = f"{q}.rangeStart", f"{q}.rangeEnd"
    for key, addr in ((start_key, ipam.range_start), (end_key, ipam.range_end)):
        if addr is not None and addr not in subnet:
            yield ConfigIssue(key, f"{addr} is outside subnet {subnet}", f"pick an address in {subnet}")
            return
    first, last = plan.ranges[0]
    if first > last:
        yield ConfigIssue(end_key, f"range {first}-{last} is reversed", f"make rangeEnd at least {first}")
        return
    # Check the range as written: for whereabouts the plan already starts past AWS's first four.
    written_first = ipam.range_start if ipam.range_start is not None else first
    reserved = touches_aws_reserved(subnet, written_first, last)
    if reserved:
        at_end = reserved[0] == subnet.broadcast_address
        yield ConfigIssue(
            end_key if at_end else start_key,
            f"range {written_first}-{last} includes {', '.join(map(str, reserved))}, which AWS reserves in every subnet",
            f"end the range at {subnet.broadcast_address - 1} or earlier"
            if at_end
            else f"start the range at {subnet.network_address + 4} or later",
        )
    gw_key = f"{q}.gateway"
    if plan.gateway not in subnet:
        yield ConfigIssue(gw_key, f"{plan.gateway} is outside subnet {subnet}", f"use the VPC router {subnet.network_address + 1}")
    elif first <= plan.gateway <= last:
        yield ConfigIssue(
            gw_key,
            f"{plan.gateway} lies inside the range {first}-{last}, so a pod could be given it",
            "move the gateway or the range apart",
        )
    if isinstance(ipam, WhereaboutsIpam):
        for j, ex in enumerate(ipam.exclude):
            if not ex.subnet_of(subnet):
                yield ConfigIssue(f"{q}.exclude[{j}]", f"{ex} is outside range {subnet}", f"exclude only blocks of {subnet}")


def _static_addresses(ipam: StaticIpam, plan: IpamPlan, q: str) -> Iterator[ConfigIssue]:
    subnet = plan.subnet
    if len({e.address.network for e in ipam.addresses}) > 1:
        yield ConfigIssue(f"{q}.addresses", "addresses are in different subnets", "give addresses of the one multus subnet")
        return
    for j, (addr, _) in enumerate(plan.ranges):
        if touches_aws_reserved(subnet, addr, addr) or addr == plan.gateway:
            yield ConfigIssue(
                f"{q}.addresses[{j}].address",
                f"{addr} is reserved by AWS or is the gateway",
                f"use an address from {subnet.network_address + 4} on",
            )
    if plan.gateway is not None and plan.gateway not in subnet:
        yield ConfigIssue(
            f"{q}.addresses[0].gateway", f"{plan.gateway} is outside subnet {subnet}", f"use the VPC router {subnet.network_address + 1}"
        )


def _ipam_overlaps(cfg: StackConfig) -> Iterator[ConfigIssue]:
    by_subnet: dict[IPv4Network, list[tuple[int, tuple[IPv4Address, IPv4Address]]]] = defaultdict(list)
    for i, net in enumerate(cfg.networks):
        if net.ipam is None:
            continue
        plan = ipam_plan(net.ipam)
        for r in plan.ranges:
            by_subnet[plan.subnet].append((i, r))
    for subnet, entries in by_subnet.items():
        for a in range(len(entries)):
            for b in range(a):
                (i, ra), (j, rb) = entries[a], entries[b]
                if i != j and ranges_overlap(ra, rb):
                    yield ConfigIssue(
                        f"networks[{i}].ipam",
                        f"range {ra[0]}-{ra[1]} overlaps networks[{j}] ({cfg.networks[j].name}, {rb[0]}-{rb[1]}) on subnet {subnet}",
                        "give each network on a subnet its own range",
                    )


def _sriov(cfg: StackConfig) -> Iterator[ConfigIssue]:
    s = cfg.sriov
    if not RESOURCE_PREFIX.match(s.resource_prefix):
        yield ConfigIssue(
            "sriov.resourcePrefix", f"`{s.resource_prefix}` is not a valid resource prefix", "use a DNS-style name such as intel.com"
        )
    names: Counter[str] = Counter(r.name for r in s.resources)
    ipvlan_pci = {a.pci_address for a in ipvlan_masters(cfg)}
    for i, r in enumerate(s.resources):
        p = f"sriov.resources[{i}]"
        if not SRIOV_RESOURCE.match(r.name):
            yield ConfigIssue(
                f"{p}.name", f"`{r.name}` is not a valid SR-IOV resource name", "use letters, digits and _ only, e.g. aws_ena_vf"
            )
        if names[r.name] > 1:
            yield ConfigIssue(f"{p}.name", f"`{r.name}` is defined {names[r.name]} times", "give each pool its own name")
        for key, values, pattern, example in (("vendors", r.vendors, PCI_ID, "1d0f"), ("devices", r.devices, PCI_ID, "ec20")):
            for j, v in enumerate(values):
                if not pattern.match(v):
                    yield ConfigIssue(f"{p}.{key}[{j}]", f"`{v}` is not a 4-digit lower-case hex PCI id", f"write it like {example}")
        for j, v in enumerate(r.pci_addresses or ()):
            if not PCI_ADDRESS.match(v):
                yield ConfigIssue(f"{p}.pciAddresses[{j}]", f"`{v}` is not a PCI address", "write it like 0000:00:07.0")
            elif s.enabled and v in ipvlan_pci:
                yield ConfigIssue(
                    f"{p}.pciAddresses[{j}]",
                    f"{v} is the ENI an ipvlan network uses as master; the device plugin would hand it to a pod",
                    "pool only multus ENIs no ipvlan network uses",
                )
            elif v == pci_address(0):
                yield ConfigIssue(
                    f"{p}.pciAddresses[{j}]",
                    f"{v} is the primary ENI, which the VPC CNI manages",
                    "pool only multus ENIs (device index 1 and up)",
                )
        if s.enabled and r.pci_addresses is None:
            if not whole_eni_candidates(cfg):
                yield ConfigIssue(
                    f"{p}.pciAddresses",
                    "every multus ENI is used by an ipvlan network, so the pool would be empty",
                    "add a multus interface for SR-IOV to the node groups, or list pciAddresses",
                )


def _multus(cfg: StackConfig) -> Iterator[ConfigIssue]:
    m = cfg.multus
    if m.image == "eks" and cfg.region not in ECR_ACCOUNTS:
        yield ConfigIssue(
            "multus.image",
            f"no EKS Multus image registry is known for region {cfg.region}",
            "set multus.image to upstream or a full image reference",
        )
    elif m.image not in ("eks", "upstream"):
        problem = check_image_reference(m.image)
        if problem:
            yield ConfigIssue("multus.image", problem, "use eks, upstream, or a reference pinned to a tag or digest")
    memory = parse_quantity(m.memory)
    if memory is None:
        yield ConfigIssue("multus.memory", f"`{m.memory}` is not a Kubernetes quantity", "write it like 256Mi")
    elif memory < MIN_MULTUS_MEMORY:
        yield ConfigIssue(
            "multus.memory",
            f"{m.memory} is below 200Mi; the Multus daemon is OOM-killed under bursts of pod creation",
            "use at least 200Mi (256Mi is the default)",
        )
    if parse_quantity(m.cpu) is None:
        yield ConfigIssue("multus.cpu", f"`{m.cpu}` is not a Kubernetes quantity", "write it like 100m")


def _whereabouts(cfg: StackConfig) -> Iterator[ConfigIssue]:
    if len(cfg.whereabouts.reconciler_schedule.split()) != 5:
        yield ConfigIssue(
            "whereabouts.reconcilerSchedule",
            f"`{cfg.whereabouts.reconciler_schedule}` is not a 5-field cron expression",
            'write it like "30 4 * * *"',
        )


def _kubernetes_offered(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """A created cluster's version must be one EKS creates on the plan date (see versions.plan_date)."""
    yield from kubernetes_offered_on(cfg, plan_date())


def kubernetes_offered_on(cfg: StackConfig, on: dt.date) -> Iterator[ConfigIssue]:
    c = cfg.cluster
    if c.existing is not None or not K8S_VERSION.match(c.kubernetes_version):
        return  # an existing cluster reports its own version; a malformed one is refused in _cluster
    known = eks_versions()
    offered = [v for v, row in known.items() if row.phase(on) in ("standard", "extended")]
    info = eks_version(c.kubernetes_version)
    hint = f"use one of {', '.join(offered)} (data/eks-versions.json lists what EKS offers)"
    if info is None:
        yield ConfigIssue("cluster.kubernetesVersion", f"EKS does not offer Kubernetes {c.kubernetes_version}", hint)
    elif info.phase(on) == "ended":
        yield ConfigIssue(
            "cluster.kubernetesVersion",
            f"EKS extended support for {c.kubernetes_version} ended on {info.end_of_extended_text}; EKS no longer creates such clusters",
            hint,
        )
    elif info.phase(on) == "unreleased":
        yield ConfigIssue("cluster.kubernetesVersion", f"EKS does not offer Kubernetes {c.kubernetes_version} yet", hint)


def _node_images(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """AMI pins: one kind at a time, in the shapes AWS uses."""
    for i, g in enumerate(cfg.node_groups):
        p = f"nodeGroups[{i}]"
        if g.ami_release_version is not None and g.ami_id is not None:
            yield ConfigIssue(
                f"{p}.amiId", "conflicts with amiReleaseVersion: pin one or the other", f"remove {p}.amiId or {p}.amiReleaseVersion"
            )
        if g.ami_release_version is not None and not AMI_RELEASE.match(g.ami_release_version):
            yield ConfigIssue(
                f"{p}.amiReleaseVersion",
                f"`{g.ami_release_version}` is not an EKS AMI release",
                "write the amazon-eks-ami release tag, e.g. v20260930",
            )
        if g.ami_id is not None and not AMI_ID.match(g.ami_id):
            yield ConfigIssue(f"{p}.amiId", f"`{g.ami_id}` is not an AMI id", "use the id shown by EC2, e.g. ami-0123456789abcdef0")


def _without_nat(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """A created VPC without NAT: only what the VPC endpoints reach (see egress.py)."""
    yield from no_nat_issues(cfg)


# --- node labels and taints, as the kubelet parses them --------------------------------

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
KUBELET_LABELS = (
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "beta.kubernetes.io/os",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "kubernetes.io/arch",
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
)
"""Labels in kubernetes.io/k8s.io a kubelet may set on itself (k8s.io/kubelet pkg/apis/well_known_labels.go kubeletLabels)."""
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
"""...and the namespaces it may use, with their subdomains (kubeletLabelNamespaces)."""
OWN_LABEL_NAMESPACES = ("eks-multus.io",)
"""eks-multus sets these itself (eks-multus.io/multus, eks-multus.io/node-group, subnet.eks-multus.io/<subnet>)."""


def _in_namespace(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def qualified_name_problem(key: str) -> str | None:
    """Why `key` is not a Kubernetes qualified name (apimachinery validation.IsQualifiedName), or None."""
    parts = key.split("/")
    if len(parts) > 2:
        return "has more than one /"
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            return "has an empty prefix before /"
        if len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix):
            return f"prefix `{prefix}` is not a DNS subdomain (lower-case letters, digits, - and ., at most 253 characters)"
    if not name:
        return "has an empty name"
    if len(name) > 63:
        return f"name `{name}` is longer than 63 characters"
    if not QUALIFIED_NAME_PART.match(name):
        return f"name `{name}` must be letters, digits, - _ and ., starting and ending with a letter or digit"
    return None


def label_value_problem(value: str) -> str | None:
    """Why `value` is not a label value (apimachinery validation.IsValidLabelValue), or None."""
    if len(value) > 63:
        return "is longer than 63 characters"
    if value and not QUALIFIED_NAME_PART.match(value):
        return "must be empty or letters, digits, - _ and ., starting and ending with a letter or digit"
    return None


def _label_namespace(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


def _node_labels(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """The kubelet exits on --node-labels in kubernetes.io/k8s.io outside its allowed set
    (cmd/kubelet/app/options/options.go ValidateKubeletFlags: "unknown 'kubernetes.io' or 'k8s.io' labels
    specified with --node-labels"); our own namespaces are set by eks-multus."""
    for i, g in enumerate(cfg.node_groups):
        for key in g.labels:
            path = f"nodeGroups[{i}].labels.{key}"
            namespace = _label_namespace(key)
            kubernetes = _in_namespace(namespace, "kubernetes.io") or _in_namespace(namespace, "k8s.io")
            allowed = key in KUBELET_LABELS or any(_in_namespace(namespace, d) for d in KUBELET_LABEL_NAMESPACES)
            if _in_namespace(namespace, "node-restriction.kubernetes.io"):
                yield ConfigIssue(
                    path,
                    "node-restriction.kubernetes.io is reserved for labels only an administrator may set: "
                    "the NodeRestriction admission plugin refuses it from a kubelet, and the kubelet refuses to start with it",
                    "set it with `kubectl label node` after the node joins, or use your own prefix such as example.com/",
                )
            elif kubernetes and not allowed:
                yield ConfigIssue(
                    path,
                    "the kubelet refuses to start with a kubernetes.io or k8s.io label outside its allowed set",
                    f"use a prefix of your own (e.g. example.com/), {' or '.join(p + '/' for p in KUBELET_LABEL_NAMESPACES)}, "
                    f"or one of: {', '.join(KUBELET_LABELS)}",
                )
            elif any(_in_namespace(namespace, d) for d in OWN_LABEL_NAMESPACES):
                yield ConfigIssue(
                    path,
                    "eks-multus.io and subnet.eks-multus.io labels are set by eks-multus (multus, node-group, subnets)",
                    "use a prefix of your own, e.g. example.com/",
                )


def _node_taints(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """What the kubelet's --register-with-taints parser accepts (k8s.io/kubernetes pkg/util/taints parseTaint:
    qualified-name key, label-value value, NoSchedule|PreferNoSchedule|NoExecute), unique by key and effect as
    the API server requires (pkg/apis/core/validation validateNodeTaints), minus the readiness gate's key."""
    for i, g in enumerate(cfg.node_groups):
        seen: dict[tuple[str, str], int] = {}
        for j, taint in enumerate(g.taints):
            p = f"nodeGroups[{i}].taints[{j}]"
            problem = qualified_name_problem(taint.key)
            if problem:
                yield ConfigIssue(
                    f"{p}.key", f"`{taint.key}` is not a valid taint key: it {problem}", "write it like example.com/dedicated"
                )
            elif taint.key == NOT_READY_TAINT_KEY:
                yield ConfigIssue(
                    f"{p}.key",
                    f"{NOT_READY_TAINT_KEY} is the readiness gate's startup taint: eks-multus adds it to every multus node and lifts it",
                    "remove this taint, or use a key of your own",
                )
            problem = label_value_problem(taint.value)
            if problem:
                yield ConfigIssue(f"{p}.value", f"`{taint.value}` is not a valid taint value: it {problem}", "write it like true or gpu-a")
            ident = (taint.key, taint.effect)
            if ident in seen:
                yield ConfigIssue(
                    p,
                    f"{taint.key}:{taint.effect} is already set by taints[{seen[ident]}]; taints must be unique by key and effect",
                    "keep one of them",
                )
            seen.setdefault(ident, j)


MIN_CONTROL_PLANE_ZONES = 2
"""EKS CreateCluster needs subnets in at least two availability zones (EKS user guide, network-reqs)."""


def _control_plane_zones(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """A cluster eks-multus creates spans two zones; node groups and multus subnets may use one."""
    if cfg.cluster.existing is not None:
        return
    zones = set(cfg.vpc.availability_zones)
    if len(zones) >= MIN_CONTROL_PLANE_ZONES:
        return
    problem = (
        f"lists {len(zones)} availability zone, but EKS creates a cluster only with subnets in at least "
        f"{MIN_CONTROL_PLANE_ZONES} zones (CreateCluster answers InvalidParameterException)"
    )
    if cfg.vpc.existing is not None:
        fix = (
            "add a second zone and map it to a private subnet of the VPC in vpc.existing.privateSubnetIds; "
            "node groups and multus subnets may stay in one zone"
        )
    else:
        fix = f"add a second zone of {cfg.region} for the control plane; node groups and multus subnets may stay in one zone"
    yield ConfigIssue("vpc.availabilityZones", problem, fix)


def _existing_namespaces(cfg: StackConfig) -> Iterator[ConfigIssue]:
    seen: dict[str, int] = {}
    for i, name in enumerate(cfg.existing_namespaces):
        key = f"existingNamespaces[{i}]"
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            yield ConfigIssue(key, f"`{name}` is not a valid namespace", "use a DNS-1123 label such as telco")
        if name in seen:
            yield ConfigIssue(key, f"`{name}` is already listed at existingNamespaces[{seen[name]}]", "list each namespace once")
        seen.setdefault(name, i)


@cache
def zone_letters() -> dict[str, str]:
    """Region -> the letters its Availability Zones carry (`data/availability-zones.json`, with its sources)."""
    doc = json.loads(resources.files(__package__).joinpath("data/availability-zones.json").read_text())
    return doc["regions"]


def _zone_letters(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """A zone the region does not have (`ap-northeast-2e`); regions missing from the data file are not checked."""
    letters = zone_letters().get(cfg.region)
    if letters is None:
        return
    for i, az in enumerate(cfg.vpc.availability_zones):
        suffix = az[len(cfg.region) :] if az.startswith(cfg.region) else None
        if suffix is not None and suffix not in letters:
            zones = ", ".join(f"{cfg.region}{c}" for c in letters)
            yield ConfigIssue(f"vpc.availabilityZones[{i}]", f"`{az}` is not a zone of {cfg.region}", f"use one of: {zones}")


def _endpoint_access(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """EKS refuses a cluster endpoint that is neither public nor private (CreateCluster/UpdateClusterConfig)."""
    c = cfg.cluster
    if c.existing is None and not c.endpoint_public_access and not c.endpoint_private_access:
        yield ConfigIssue(
            "cluster.endpointPrivateAccess",
            "is false and so is endpointPublicAccess; EKS refuses a cluster whose API server has no endpoint at all",
            "set endpointPrivateAccess: true (nodes then reach the API inside the VPC), or keep endpointPublicAccess: true",
        )


# Tags eks-multus sets itself on the resources it names; a user value would be replaced.
OWN_TAGS = ("Name",)


def _tags(cfg: StackConfig) -> Iterator[ConfigIssue]:
    for key in cfg.tags:
        if key.lower().startswith("aws:"):
            yield ConfigIssue(
                f"tags.{key}",
                "starts with `aws:`, which AWS reserves for its own tags and refuses in a request",
                "rename the tag without the aws: prefix",
            )
        elif key in OWN_TAGS:
            yield ConfigIssue(
                f"tags.{key}",
                f"eks-multus sets `{key}` on every resource it names (`<cluster>-<part>`), so this value would be replaced",
                f"remove `{key}` from tags (use another key, e.g. `Project`)",
            )


# AWS tag limits (EC2 user guide, "Tag your Amazon EC2 resources", tag restrictions; the same rules in the
# EKS, IAM and EC2 Auto Scaling API references' Tag type): at most 50 user tags per resource, keys of
# 1-128 and values of at most 256 Unicode characters, `aws:` reserved as a prefix of keys and values.
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
OWN_TAGS_PER_RESOURCE = 5
"""The most tags eks-multus itself puts on one resource: the multus ENIs the boot step creates carry
`Name`, `kubernetes.io/cluster/<name>`, `node.k8s.amazonaws.com/no_manage`, `eks-multus.io/node-group`
and `eks-multus.io/instance` besides the stack's tags (core/iam.py multus_eni_tags plus INSTANCE_TAG);
a tag too many there fails CreateNetworkInterface on the node, after the deployment succeeded."""
ASG_OWN_TAGS = 3
"""`Name`, `kubernetes.io/cluster/<name>` and `eks-multus.io/node-group` on each Auto Scaling group, before
Cluster Autoscaler's."""


def _tag_limits(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """Tags AWS would refuse: too long, a reserved value, or more than 50 on one resource."""
    for key, value in cfg.tags.items():
        if len(key) > MAX_TAG_KEY:
            yield ConfigIssue(
                f"tags.{key}", f"is {len(key)} characters long; AWS takes tag keys of at most {MAX_TAG_KEY}", "shorten the key"
            )
        if len(value) > MAX_TAG_VALUE:
            yield ConfigIssue(
                f"tags.{key}", f"has a {len(value)}-character value; AWS takes tag values of at most {MAX_TAG_VALUE}", "shorten the value"
            )
        if value.lower().startswith("aws:"):
            yield ConfigIssue(
                f"tags.{key}", "has a value starting with `aws:`, which AWS reserves for its own tags", "drop the aws: prefix"
            )
    room = MAX_TAGS - OWN_TAGS_PER_RESOURCE
    if len(cfg.tags) > room:
        yield ConfigIssue(
            "tags",
            f"has {len(cfg.tags)} tags; eks-multus adds up to {OWN_TAGS_PER_RESOURCE} of its own to a resource and AWS takes "
            f"at most {MAX_TAGS} per resource",
            f"keep at most {room} tags",
        )
    for i, group in enumerate(cfg.node_groups):
        scaler = autoscaler_tags(cfg, group)
        label_prefix, taint_prefix = f"{AUTOSCALER_PREFIX}/node-template/label/", f"{AUTOSCALER_PREFIX}/node-template/taint/"
        taint_index = {t.key: j for j, t in enumerate(group.taints)}
        for tag in scaler:
            if len(tag) <= MAX_TAG_KEY:
                continue
            path = f"nodeGroups[{i}]"
            if tag.startswith(label_prefix) and tag[len(label_prefix) :] in group.labels:
                path = f"nodeGroups[{i}].labels.{tag[len(label_prefix) :]}"
            elif tag.startswith(taint_prefix) and tag[len(taint_prefix) :] in taint_index:
                path = f"nodeGroups[{i}].taints[{taint_index[tag[len(taint_prefix) :]]}].key"
            yield ConfigIssue(
                path,
                f"makes the Cluster Autoscaler tag `{tag}` ({len(tag)} characters) on the Auto Scaling group, "
                f"and AWS takes tag keys of at most {MAX_TAG_KEY}",
                "shorten the key, or give the group minSize == maxSize (no autoscaler tags)",
            )
        total = len(cfg.tags) + ASG_OWN_TAGS + len(scaler)
        if len(cfg.tags) <= room and total > MAX_TAGS:
            yield ConfigIssue(
                f"nodeGroups[{i}]",
                f"gets {total} tags on its Auto Scaling group ({len(cfg.tags)} from tags, {ASG_OWN_TAGS} of eks-multus, "
                f"{len(scaler)} for Cluster Autoscaler: one per node label and taint); AWS takes at most {MAX_TAGS}",
                "use fewer labels, taints or tags",
            )


def _slots(cfg: StackConfig, ifname: str) -> set[tuple[str, int]]:
    """The (node group, device index) ENIs a node reaches under `ifname`."""
    return {(a.node_group.name, a.device_index) for a in providers(cfg, ifname)}


def _ipvlan_mode_per_master(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """Two ipvlan networks on one ENI must share its mode.

    Linux keeps the mode on the ipvlan port, one per parent device
    (drivers/net/ipvlan/ipvlan_main.c: `struct ipvl_port` holds `mode`, and
    `ipvlan_link_new` calls `ipvlan_set_port_mode` for every new link), so the
    last pod's network would switch the mode of every pod on that ENI.
    """
    first: dict[tuple[str, int], int] = {}
    for i, net in enumerate(cfg.networks):
        if not isinstance(net, IpvlanNetwork):
            continue
        clash = None
        for slot in sorted(_slots(cfg, net.master)):
            j = first.setdefault(slot, i)
            other = cfg.networks[j]
            if j != i and isinstance(other, IpvlanNetwork) and other.mode != net.mode and clash is None:
                clash = (j, other, slot)
        if clash is not None:
            j, other, (group, index) = clash
            yield ConfigIssue(
                f"networks[{i}].mode",
                f"{net.mode} differs from networks[{j}] ({other.name}, {other.mode}) on the same ENI (device {index} of node group {group});"
                " Linux keeps one ipvlan mode per parent interface, so the last pod would switch the other network's pods",
                f"use mode {other.mode} here too, or put this network on another multus interface",
            )


def _host_device_takes_ipvlan_master(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """host-device moves the whole interface into the pod: never one an ipvlan network uses."""
    masters: dict[tuple[str, int], int] = {}
    for j, net in enumerate(cfg.networks):
        if isinstance(net, IpvlanNetwork):
            for slot in _slots(cfg, net.master):
                masters.setdefault(slot, j)
    for i, net in enumerate(cfg.networks):
        if not isinstance(net, HostDeviceNetwork) or net.device is None:
            continue
        shared = sorted(masters[s] for s in _slots(cfg, net.device) if s in masters)
        if shared:
            j = shared[0]
            yield ConfigIssue(
                f"networks[{i}].device",
                f"`{net.device}` is the master of ipvlan network networks[{j}] ({cfg.networks[j].name}); host-device moves the"
                " interface into the first pod, and every ipvlan pod on it loses its network",
                "give host-device a multus interface of its own (a subnet no ipvlan network uses)",
            )
