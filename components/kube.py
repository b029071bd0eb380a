"""Register plain Kubernetes object dicts as typed pulumi_kubernetes resources."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

_TYPED: dict[tuple[str, str], Any] = {
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): k8s.apiextensions.v1.CustomResourceDefinition,
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): k8s.admissionregistration.v1.ValidatingAdmissionPolicy,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}

# Top-level fields of each kind, with the Python argument name they map to.
_FIELDS = {
    "metadata": "metadata",
    "spec": "spec",
    "data": "data",
    "rules": "rules",
    "roleRef": "role_ref",
    "subjects": "subjects",
}


def resource_name(prefix: str, obj: dict[str, Any]) -> str:
    """`<prefix>-<kind>-<namespace>/<name>`: one name per object (a `/` cannot be in either part)."""
    meta = obj["metadata"]
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{prefix}-{obj['kind'].lower()}-{ns}{meta['name']}"


def _earlier_name(prefix: str, obj: dict[str, Any]) -> str:
    """The name before namespace and name were kept apart (`a-b`/`c` and `a`/`b-c` collided)."""
    meta = obj["metadata"]
    ns = f"{meta['namespace']}-" if meta.get("namespace") else ""
    return f"{prefix}-{obj['kind'].lower()}-{ns}{meta['name']}"


def register(prefix: str, obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """One Kubernetes object, typed where pulumi_kubernetes has a class for it."""
    cls = _TYPED.get((obj["apiVersion"], obj["kind"]))
    kwargs = {arg: obj[key] for key, arg in _FIELDS.items() if key in obj}
    name = resource_name(prefix, obj)
    earlier = _earlier_name(prefix, obj)
    if earlier != name:
        # Without an alias a rename is a create of an object that exists (refused, or with
        # upsertExistingObjects adopted) and then a delete of that same object (pulumi-kubernetes
        # Provider schema, upsertExistingObjects).
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=earlier)]))
    if cls is None:
        return k8s.apiextensions.CustomResource(name, api_version=obj["apiVersion"], kind=obj["kind"], opts=opts, **kwargs)
    return cls(name, opts=opts, **kwargs)


def register_all(prefix: str, objects: list[dict[str, Any]], opts: pulumi.ResourceOptions) -> list[pulumi.CustomResource]:
    """CRDs first; everything else waits for them so custom objects never race their type."""
    crds = [register(prefix, o, opts) for o in objects if o["kind"] == "CustomResourceDefinition"]
    after = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=crds)) if crds else opts
    rest = [register(prefix, o, after) for o in objects if o["kind"] != "CustomResourceDefinition"]
    return crds + rest
