"""The one mock layer under `make plan` and the tests.

pulumi-eks components are remote and opaque under mocks, so their outputs
are fabricated here; invokes the program makes are answered; the monitor
records each registration's parent, dependencies and wire inputs. All fake
ids and values derive from the resource's type and name, so the same program
gives the same plan byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

ACCOUNT = "123456789012"
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_REF = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_VALUE = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": "vpc-cidr-assoc",
    "aws:ec2/subnetCidrReservation:SubnetCidrReservation": "scr",
}


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


def fake_kubeconfig(cluster_name: str) -> dict[str, Any]:
    server = f"https://{digest(cluster_name, length=32).upper()}.gr7.mock.eks.amazonaws.com"
    ca = base64.b64encode(f"mock CA of {cluster_name}".encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubernetes", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
                    }
                },
            }
        ],
    }


class PlanMocks(pulumi.runtime.Mocks):
    """Deterministic stand-ins for the cloud: ids, ARNs, eks.Cluster outputs, invokes."""

    def __init__(
        self,
        region: str = "us-east-1",
        stack_references: dict[str, dict[str, Any]] | None = None,
        subnets: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.region = region
        self.stack_references = stack_references or {}
        """Outputs of other stacks, by `org/project/stack`, for programs that read them."""
        self.subnets = subnets or {}
        """Existing subnets by id: `availabilityZone` and `vpcId`, as EC2 reports them."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        prefix = _ID_PREFIX.get(typ, typ.rsplit(":", 1)[-1].lower())
        rid = f"{prefix}-{digest(typ, name)}"
        out = dict(inputs)
        if typ == "pulumi:pulumi:StackReference":
            ref = inputs.get("name") or name
            if ref not in self.stack_references:
                raise ValueError(f"no outputs mocked for stack {ref}")
            outputs = self.stack_references[ref]
            secret = sorted(k for k in ("kubeconfig",) if k in outputs)
            return ref, {"name": ref, "outputs": outputs, "secretOutputNames": secret}
        if typ == "eks:index:Cluster":
            cluster_name = inputs.get("name") or name
            kubeconfig = fake_kubeconfig(cluster_name)
            out.update(
                kubeconfig=kubeconfig,
                kubeconfigJson=json.dumps(kubeconfig),
                clusterSecurityGroupId=f"sg-{digest(name, 'cluster')}",
                nodeSecurityGroupId=f"sg-{digest(name, 'node')}",
                oidcProviderArn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.{self.region}.amazonaws.com/id/{digest(name, length=32).upper()}",
                oidcIssuer=f"oidc.eks.{self.region}.amazonaws.com/id/{digest(name, length=32).upper()}",
            )
            return f"{cluster_name}", out
        if typ == "pulumi:index:Stash":
            # The engine's built-in Stash keeps the first input it saw as `output`.
            out["output"] = inputs.get("input")
            return rid, out
        if typ == "aws:iam/role:Role":
            out.update(name=name, arn=f"arn:aws:iam::{ACCOUNT}:role/{name}")
            return name, out
        if typ == "aws:iam/instanceProfile:InstanceProfile":
            out.update(name=name, arn=f"arn:aws:iam::{ACCOUNT}:instance-profile/{name}")
            return name, out
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            out.update(latestVersion=1, defaultVersion=1, arn=f"arn:aws:ec2:{self.region}:{ACCOUNT}:launch-template/{rid}")
        if typ == "aws:autoscaling/group:Group":
            out.setdefault("name", name)
            return out["name"], out
        if typ.startswith("aws:") and "arn" not in out:
            service = typ.split(":")[1].split("/")[0]
            out["arn"] = f"arn:aws:{service}:{self.region}:{ACCOUNT}:{prefix}/{rid}"
        return rid, out

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:  # a bare dict: the monitor iterates a tuple's failures
        token, a = args.token, args.args
        if token == "aws:ssm/getParameter:getParameter":
            value = f"ami-{digest(a.get('name', ''))}"
            return {
                "name": a.get("name"),
                "type": "String",
                "value": value,
                "insecureValue": value,
                "version": 1,
                "arn": f"arn:aws:ssm:{self.region}::parameter{a.get('name')}",
            }
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{s}" for s in "abcd"]
            return {"names": names, "zoneIds": [f"{self.region[:3]}-az{i}" for i in range(1, 5)], "id": self.region}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:eks/getCluster:getCluster":
            # An existing cluster (cluster.existing): what EKS reports about it.
            name = a.get("name", "")
            return {
                "id": name,
                "name": name,
                "arn": f"arn:aws:eks:{self.region}:{ACCOUNT}:cluster/{name}",
                "endpoint": f"https://{digest(name)[:16].upper()}.gr7.{self.region}.eks.amazonaws.com",
                "certificateAuthorities": [{"data": "RVhJU1RJTkctQ0xVU1RFUi1DQQ=="}],
                "kubernetesNetworkConfigs": [
                    {"serviceIpv4Cidr": "10.100.0.0/16", "serviceIpv6Cidr": "", "ipFamily": "ipv4", "elasticLoadBalancings": []}
                ],
                "vpcConfig": {
                    "clusterSecurityGroupId": f"sg-{digest(name + '/cluster')[:17]}",
                    "securityGroupIds": [],
                    "subnetIds": [],
                    "vpcId": "",
                    "endpointPrivateAccess": True,
                    "endpointPublicAccess": True,
                    "publicAccessCidrs": [],
                },
                # Not the config default, so a test can tell which version the nodes follow.
                "version": "1.34",
                "status": "ACTIVE",
                "accessConfigs": [{"authenticationMode": "API_AND_CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": False}],
            }
        if token == "aws:ec2/getSubnet:getSubnet":
            sid = a.get("id", "")
            if sid not in self.subnets:
                raise ValueError(f"InvalidSubnetID.NotFound: the subnet ID '{sid}' does not exist")
            return {"id": sid, **self.subnets[sid]}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/plan", "userId": "PLAN", "id": ACCOUNT}
        return {}


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str]
    provider: str = ""
    id: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    """The resource options that decide what an update does (see `update_options`)."""


class PlanMonitor(MockMonitor):
    """MockMonitor that also keeps what the engine would have been told."""

    def __init__(self, mocks: PlanMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        deps = set(request.dependencies)
        for prop in request.propertyDependencies.values():
            deps.update(prop.urns)
        record = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=bool(request.custom),
            inputs=wire_to_plain(json_format.MessageToDict(request.object)),
            dependencies=sorted(deps),
            provider=request.provider,
            id=response.id,
            options=update_options(request),
        )
        with self._lock:
            self.registrations.append(record)
        return response


def update_options(request: Any) -> dict[str, Any]:
    """What the engine is told, besides inputs, that decides between update, replace and delete.

    Field names of `RegisterResourceRequest` in pulumi/pulumi proto/pulumi/resource.proto,
    filled by the Python SDK in sdk/python/lib/pulumi/runtime/resource.py: `protect` and
    `retainOnDelete` are optional (unset is the engine default, false), `deleteBeforeReplace`
    counts only with `deleteBeforeReplaceDefined`, aliases arrive as specs (`aliases`) or
    URNs (`aliasURNs`), `replace_with` as URNs, `replacement_trigger` as a value.
    """
    aliases = [json_format.MessageToDict(a) for a in request.aliases] + [{"urn": u} for u in request.aliasURNs]
    trigger = json_format.MessageToDict(request.replacement_trigger) if request.HasField("replacement_trigger") else None
    return {
        "aliases": aliases,
        "deleteBeforeReplace": bool(request.deleteBeforeReplace) if request.deleteBeforeReplaceDefined else None,
        "deletedWith": request.deletedWith,
        "ignoreChanges": list(request.ignoreChanges),
        "protect": request.protect if request.HasField("protect") else None,
        "replaceOnChanges": list(request.replaceOnChanges),
        "replaceWith": sorted(request.replace_with),
        "replacementTrigger": wire_to_plain(trigger),
        "retainOnDelete": request.retainOnDelete if request.HasField("retainOnDelete") else None,
    }


def wire_to_plain(value: Any) -> Any:
    """Wire values as a reader wants them: secrets masked, references as URNs, 1.0 as 1."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET:
            return "[secret]"
        if sig == _RESOURCE_REF:
            return value.get("urn")
        if sig == _OUTPUT_VALUE:
            if value.get("secret"):
                return "[secret]"
            return wire_to_plain(value["value"]) if "value" in value else "[unknown]"
        return {k: wire_to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_to_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN:
        return "[unknown]"
    return value


def subnets_in_config(flat_config: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The subnets a stack's `vpc.existing` names, where it says they are (the plan's stand-in for EC2)."""
    existing = (flat_config.get("eks-multus:vpc") or {}).get("existing") or {}
    out = {}
    for key in ("privateSubnetIds", "publicSubnetIds"):
        for zone, sid in (existing.get(key) or {}).items():
            out[sid] = {"availabilityZone": zone, "vpcId": existing.get("id", "")}
    return out
