"""Routable pod addresses as a node-level extended resource, so the scheduler never overfills an ENI.

Each pod on a routable network (per-pod: eks-multus-eni-ip assigns its address to the ENI; prefix:
eks-multus-eni-prefix hands it one from the ENI's /28 prefixes) takes one address of its node's
multus ENI, and an ENI has a fixed number of them (prefixes.py). The scheduler learns that number
the way Kubernetes documents for node-level resources it cannot know ("Advertise Extended Resources
for a Node": a JSON patch of `status.capacity` through the node's `status` subresource). The kubelet
then copies capacity into allocatable (pkg/kubelet/nodestatus/setters.go, MachineInfo), and the
scheduler refuses a node where the pods' requests would exceed allocatable. So no device plugin is
needed: the scheduler does the counting; the count only has to be right, and every pod that takes
an address has to ask for one.

- **Who advertises**: the taint remover, which already runs on every multus node with a token for its
  own node. It reads the wanted capacity per node group from a ConfigMap made here and re-asserts it,
  because the kubelet zeroes every extended resource when it re-registers a node whose device-manager
  checkpoint is gone (kubelet_node_status.go, reconcileExtendedResource +
  devicemanager ShouldResetExtendedResourceCapacity).
- **How a pod asks**: `resources.limits` of one container (extended resources need a limit; requests
  default to it; docs "Assign Extended Resources to a Container"). A ValidatingAdmissionPolicy refuses
  a pod that attaches routable networks through `k8s.v1.cni.cncf.io/networks` (comma form or JSON form)
  without asking for as many addresses as it attaches, and says what to add.
- **Why not the NAD's `k8s.v1.cni.cncf.io/resourceName`**: Multus v4.1.4 then asks the kubelet's
  pod-resources gRPC socket on every ADD for device IDs (pkg/k8sclient/k8sclient.go getKubernetesDelegate;
  a failed dial fails the pod) and finds none for a resource no device plugin serves; the annotation would
  only add a failure mode. It is the input of network-resources-injector, a mutating webhook with its own
  Deployment and TLS certificates, which the policy here replaces without either.

Resource names: `addresses.eks-multus.io/<master>` for per-pod addresses on the ENI a network's master
names, `prefix-addresses.eks-multus.io/<master>` for prefix-mode addresses. Networks on one ENI share
it (they share its slots), also when they name it differently (ens6 and the subnet's interfaceName):
the first network's spelling names the pool. Both must be extended-resource names (k8s.io/kubernetes
pkg/apis/core/v1/helper/helpers.go IsExtendedResourceName): outside the kubernetes.io domain, not
prefixed `requests.`, and `requests.<name>` a qualified name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ConfigIssue
from .limits import instance_limits
from .model import PREFIX_ADDRESSES, EniPrefixIpam, HostDeviceNetwork, IpvlanNetwork, StackConfig
from .topology import providers
from .userdata import NODE_GROUP_LABEL

DOMAIN = "eks-multus.io"
PER_POD_PREFIX = f"addresses.{DOMAIN}"
PREFIX_PREFIX = f"prefix-addresses.{DOMAIN}"
OUR_RESOURCE_PATTERN = r"^([a-z0-9-]+[.])?eks-multus[.]io/"
"""Capacity keys the taint remover owns (and may remove when a network goes away)."""
NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"
CAPACITY_CONFIG = "eks-multus-address-capacity"
"""ConfigMap with the capacity per node group, mounted into the taint remover."""
CAPACITY_KEY = "capacity.json"
POLICY = "eks-multus-address-requests"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def extended_resource_name_problem(name: str) -> str | None:
    """Why `name` is not a Kubernetes extended-resource name, or None (IsExtendedResourceName)."""
    if "/" not in name or "kubernetes.io/" in name:
        return "is in the kubernetes.io domain (no prefix, or a kubernetes.io prefix)"
    if name.startswith("requests."):
        return "starts with `requests.`, which resource quotas use"
    prefix, _, rest = f"requests.{name}".partition("/")
    if "/" in rest:
        return "has more than one `/`"
    if len(prefix) > 253 or not all(_DNS1123_LABEL.match(label) for label in prefix.split(".")):
        return f"prefix `{prefix}` is not a DNS-1123 subdomain"
    if len(rest) > 63 or not _QUALIFIED_NAME.match(rest):
        return f"name `{rest}` is not a qualified name (at most 63 of A-Z a-z 0-9 - _ . starting and ending alphanumeric)"
    return None


def _routable(net: IpvlanNetwork | HostDeviceNetwork) -> bool:
    return isinstance(net, IpvlanNetwork) and (isinstance(net.ipam, EniPrefixIpam) or net.eni_ip_assignment)


def pool_names(cfg: StackConfig) -> dict[str, str]:
    """Master name -> the name of its address pool.

    Names that reach the same ENI on some node group (ens6 and the subnet's interfaceName) share one
    pool, named after the one the first network uses: the ENI's slots are counted once.
    """
    parent: dict[str, str] = {}

    def find(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    masters = [n.master for n in cfg.networks if isinstance(n, IpvlanNetwork) and _routable(n)]
    for m in masters:
        parent.setdefault(m, m)
    slots: dict[tuple[str, int], str] = {}
    for m in masters:
        for a in providers(cfg, m):
            first = slots.setdefault((a.node_group.name, a.device_index), m)
            root, other = find(first), find(m)
            if root != other:  # the earlier-used name names the pool
                keep, drop = (root, other) if masters.index(root) < masters.index(other) else (other, root)
                parent[drop] = keep
    return {m: find(m) for m in parent}


def resource_of(net: IpvlanNetwork, pool: str) -> str | None:
    """The extended resource a pod on `net` takes one of, or None when its address is not routable."""
    if isinstance(net.ipam, EniPrefixIpam):
        return f"{PREFIX_PREFIX}/{pool}"
    if net.eni_ip_assignment:
        return f"{PER_POD_PREFIX}/{pool}"
    return None


def address_resource(cfg: StackConfig, net: IpvlanNetwork | HostDeviceNetwork) -> str | None:
    if not isinstance(net, IpvlanNetwork) or not _routable(net):
        return None
    return resource_of(net, pool_names(cfg)[net.master])


@dataclass(frozen=True)
class RoutableNetwork:
    index: int
    network: IpvlanNetwork
    resource: str

    @property
    def ref(self) -> str:
        return f"{self.network.namespace}/{self.network.name}"


def routable_networks(cfg: StackConfig) -> list[RoutableNetwork]:
    pools = pool_names(cfg)
    out = []
    for i, net in enumerate(cfg.networks):
        if isinstance(net, IpvlanNetwork) and _routable(net):
            resource = resource_of(net, pools[net.master])
            if resource is not None:
                out.append(RoutableNetwork(i, net, resource))
    return out


def node_group_capacity(cfg: StackConfig) -> dict[str, dict[str, int]]:
    """Per node group, the quantity of each address resource its nodes advertise.

    Per-pod: the ENI's IPv4 slots but the primary address and the slots prefix mode may take
    (prefixes.capacity's per-pod figure); prefix: the prefixes the ENI may grow to, times 16.
    """
    out: dict[str, dict[str, int]] = {}
    routable = routable_networks(cfg)
    for group in cfg.node_groups:
        lim = instance_limits(group.instance_type)
        if lim is None:
            continue
        found: dict[str, int] = {}
        for r in routable:
            slot = next((a for a in providers(cfg, r.network.master) if a.node_group is group), None)
            if slot is None:
                continue
            on_eni = [n for n in cfg.networks if isinstance(n, IpvlanNetwork) and n.master in slot.names]
            prefixes = sum(n.ipam.most_prefixes for n in on_eni if isinstance(n.ipam, EniPrefixIpam))
            if isinstance(r.network.ipam, EniPrefixIpam):
                found[r.resource] = r.network.ipam.most_prefixes * PREFIX_ADDRESSES
            else:
                found[r.resource] = max(lim.ipv4_per_eni - 1 - prefixes, 0)
        if found:
            out[group.name] = dict(sorted(found.items()))
    return out


def capacity_config(cfg: StackConfig) -> str:
    doc = {"nodeGroupLabel": NODE_GROUP_LABEL, "nodeGroups": node_group_capacity(cfg)}
    return json.dumps(doc, sort_keys=True, indent=1) + "\n"


def address_resource_issues(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """Resource names that are not extended-resource names; one pool that would be two ENIs on one node group."""
    routable = routable_networks(cfg)
    for r in routable:
        problem = extended_resource_name_problem(r.resource)
        if problem:
            yield ConfigIssue(
                f"networks[{r.index}].master",
                f"`{r.network.master}` makes the scheduling resource `{r.resource}`, which {problem}",
                "use the multus subnet's interfaceName or the AL2023 kernel name (ens6 = device 1)",
            )
    reported: set[str] = set()
    for r in routable:
        for group in cfg.node_groups:
            slots = {
                a.device_index: o
                for o in routable
                if o.resource == r.resource
                for a in providers(cfg, o.network.master)
                if a.node_group is group
            }
            if len(slots) > 1 and r.resource not in reported:
                reported.add(r.resource)
                names = " and ".join(f"networks[{o.index}]'s `{o.network.master}` (device {d})" for d, o in sorted(slots.items()))
                yield ConfigIssue(
                    f"networks[{r.index}].master",
                    f"{names} are one ENI on another node group but two on node group {group.name}, "
                    "so the scheduler cannot count their addresses as one pool",
                    "name the ENI the same way (its multus subnet's interfaceName) in all of these networks",
                )


# --- the admission policy ---------------------------------------------------------------

_WS = "[ \\t\\r\\n]*"
_ELEMENT = "[{][^{}]*(?:[{][^{}]*[}][^{}]*)*[}]"
"""One element of the JSON form: an object, with objects one level deep inside (cni-args, bandwidth, portMappings)."""


def _lit(text: str) -> str:
    """A CEL single-quoted string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key(name: str) -> str:
    # encoding/json matches keys case-insensitively, as Multus's json.Unmarshal does.
    return f'"(?i:{name})"{_WS}:{_WS}'


def _element_is(r: RoutableNetwork) -> str:
    ns, name = r.network.namespace, r.network.name
    has_name = f"e.matches({_lit(_key('name') + chr(34) + name + chr(34))})"
    has_ns = f"e.matches({_lit(_key('namespace') + chr(34) + ns + chr(34))})"
    # Multus gives an element without a namespace, or with "", the pod's (parsePodNetworkAnnotation).
    no_ns = f"(!e.matches({_lit(_key('namespace'))}) || e.matches({_lit(_key('namespace') + chr(34) + chr(34))}))"
    # encoding/json decodes \u escapes in keys and values, which no pattern here sees through: an element
    # with a backslash counts as every routable network (fail closed; plain names need no escapes).
    escaped = f"e.contains({_lit(chr(92))})"
    return f"({escaped} || ({has_name} && ({has_ns} || ({no_ns} && request.namespace == {_lit(ns)}))))"


def policy_variables(cfg: StackConfig) -> list[dict[str, str]]:
    """CEL variables: the annotation's references in either form, and per resource what is needed and asked for."""
    ann = _lit(NETWORKS_ANNOTATION)
    out = [
        {"name": "networks", "expression": f"object.metadata.annotations[{ann}]"},
        # Multus v4.1.4 parsePodNetworkAnnotation: JSON when the value contains [, { or ".
        {
            "name": "json",
            "expression": "variables.networks.contains('[') || variables.networks.contains('{') || variables.networks.contains('\"')",
        },
        # Comma form: trimmed items `[namespace/]name[@ifname]`, the pod's namespace by default.
        {
            "name": "refs",
            "expression": "variables.json ? [] : variables.networks.split(',').map(s, s.trim().split('@')[0])"
            ".map(s, s.contains('/') ? s : request.namespace + '/' + s)",
        },
        {"name": "elements", "expression": f"variables.json ? variables.networks.findAll({_lit(_ELEMENT)}) : []"},
    ]
    for i, (resource, nets) in enumerate(_by_resource(cfg)):
        refs = "[" + ", ".join(_lit(r.ref) for r in nets) + "]"
        matches = " || ".join(_element_is(r) for r in nets)
        limit = f"c.resources.limits[{_lit(resource)}]"
        out += [
            {
                "name": f"need{i}",
                "expression": f"size(variables.refs.filter(r, r in {refs})) + size(variables.elements.filter(e, {matches}))",
            },
            {
                "name": f"have{i}",
                # Extended resources are whole numbers; a quantity written with a suffix (1k) is more than any ENI holds.
                "expression": f"object.spec.containers.map(c, has(c.resources) && has(c.resources.limits) && {_lit(resource)} in c.resources.limits"
                f" ? (string({limit}).matches('^[0-9]+$') ? int(string({limit})) : 1000000) : 0).sum()",
            },
        ]
    return out


def _by_resource(cfg: StackConfig) -> list[tuple[str, list[RoutableNetwork]]]:
    groups: dict[str, list[RoutableNetwork]] = {}
    for r in routable_networks(cfg):
        groups.setdefault(r.resource, []).append(r)
    return sorted(groups.items())


def policy_validations(cfg: StackConfig, action: str) -> list[dict[str, str]]:
    """One validation per resource whose networks include one with `addressRequest: <action>`."""
    out = []
    for i, (resource, nets) in enumerate(_by_resource(cfg)):
        mine = [r for r in nets if r.network.address_request == action]
        if not mine:
            continue
        names = ", ".join(r.ref for r in nets)
        need, have = f"variables.need{i}", f"variables.have{i}"
        if len(mine) == len(nets):
            guard = f"{need} == 0"
        else:  # only this action's networks make the pod answer to this policy
            guard = f"size(variables.refs.filter(r, r in [{', '.join(_lit(r.ref) for r in mine)}]))"
            guard += f" + size(variables.elements.filter(e, {' || '.join(_element_is(r) for r in mine)})) == 0"
        master = nets[0].network.master
        out.append(
            {
                "expression": f"{guard} || {have} >= {need}",
                "messageExpression": f"'the pod attaches ' + string({need}) + ' routable address(es) of the ENI behind `{master}` ({names}) "
                f"but its containers ask for ' + string({have}) + '; add {resource}: \"' + string({need}) + "
                f"'\" to resources.limits of one container, so it is scheduled only onto a node with a free address'",
                "message": f"a pod attaching {names} must set resources.limits {resource} to the number of those attachments",
                "reason": "Forbidden",
            }
        )
    return out


def pod_policy_objects(cfg: StackConfig) -> list[dict]:
    """A policy per action (Deny for `require`, Warn for `warn`) with its binding; none without routable networks."""
    from .manifests import policy_with_binding  # manifests imports this module's names

    out: list[dict] = []
    for action, suffix, binding_action in (("require", "", "Deny"), ("warn", "-warn", "Warn")):
        validations = policy_validations(cfg, action)
        if not validations:
            continue
        name = POLICY + suffix
        spec = {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]
            },
            "matchConditions": [
                {
                    "name": "attaches-networks",
                    "expression": f"has(object.metadata.annotations) && {_lit(NETWORKS_ANNOTATION)} in object.metadata.annotations",
                }
            ],
            "variables": policy_variables(cfg),
            "validations": validations,
        }
        out += policy_with_binding(name, spec, binding_action)
    return out


def address_resource_objects(cfg: StackConfig) -> list[dict]:
    """The capacity ConfigMap the taint remover reads, and the pod policies; nothing without routable networks."""
    from .manifests import _meta

    if not node_group_capacity(cfg):
        return []
    labels = {"tier": "node", "app": CAPACITY_CONFIG}
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(CAPACITY_CONFIG, labels=labels),
        "data": {CAPACITY_KEY: capacity_config(cfg)},
    }
    return [config, *pod_policy_objects(cfg)]
