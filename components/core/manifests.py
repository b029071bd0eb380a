"""Kubernetes objects of the stack as plain dicts (Multus, NADs, whereabouts, SR-IOV DP).

Components register these as typed Pulumi resources; tests and the schema
checks read them directly. Every container is Guaranteed QoS (requests equal
limits, init containers included), so the kubelet never picks these
node-critical pods first under memory pressure.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from . import images
from .address_resources import CAPACITY_CONFIG, CAPACITY_KEY, OUR_RESOURCE_PATTERN, _lit
from .cni import nad_config, to_spec_config
from .hardening import pod_security_context, privileged, restricted, root_without_privilege, waive
from .model import AGENT_PORT, HostDeviceNetwork, IpvlanNetwork, StackConfig, WhereaboutsIpam
from .readiness import (
    MULTUS_CONFIG_FILE,
    NOT_READY_TAINT_EFFECT,
    NOT_READY_TAINT_KEY,
    NOT_READY_TAINT_VALUE,
    STATUS_ANNOTATION,
    STATUS_DIR,
    STATUS_FILE,
)
from .topology import whole_eni_candidates
from .userdata import LABEL_PREFIX, asset

NAMESPACE = "kube-system"
PART_OF = {"app.kubernetes.io/part-of": "eks-multus", "app.kubernetes.io/managed-by": "pulumi"}
CHECKSUM_ANNOTATION = f"{LABEL_PREFIX}/config-checksum"
NAD_RESOURCE_ANNOTATION = "k8s.v1.cni.cncf.io/resourceName"

Obj = dict[str, Any]

_NOT_FARGATE = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {
                    "matchExpressions": [
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                        {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["fargate"]},
                    ]
                }
            ]
        }
    }
}
MULTUS_NODE_SELECTOR = {f"{LABEL_PREFIX}/multus": "true"}
"""Multus, whereabouts and the SR-IOV plugin run only on nodes with multus ENIs (the label their
node groups register with), so other nodes of an existing cluster keep their CNI config as it is."""
_TOLERATE_ALL = [{"operator": "Exists", "effect": "NoSchedule"}, {"operator": "Exists", "effect": "NoExecute"}]


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def node_daemonset(
    name: str,
    labels: dict[str, str],
    config_text: str,
    container: Obj,
    volumes: list[Obj],
    *,
    service_account: str | None,
    grace_seconds: int,
    security_context: Obj,
    waivers: dict[str, str],
) -> Obj:
    """A DaemonSet on every multus node, as eks-multus runs its node programs (review finding D3).

    The same skeleton for the ENI agent and the taint remover: host network, node-critical priority,
    the multus-node selector, tolerating every taint (both must run before the startup taint is
    lifted), one container that logs its last lines as the termination message, a config checksum that
    rolls the pods when the program or its config changes, and no service-account token unless the
    program talks to the API server. The caller gives the container, volumes, pod security context and
    checkov waivers (with their reasons)."""
    spec: Obj = {"hostNetwork": True}
    if service_account is None:
        spec["automountServiceAccountToken"] = False
    else:
        spec["serviceAccountName"] = service_account
    spec |= {
        "priorityClassName": "system-node-critical",
        "nodeSelector": dict(MULTUS_NODE_SELECTOR),
        "tolerations": _TOLERATE_ALL,
        "terminationGracePeriodSeconds": grace_seconds,
        "securityContext": security_context,
        "containers": [{**container, "terminationMessagePolicy": "FallbackToLogsOnError"}],
        "volumes": volumes,
    }
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta(name, labels=labels),
        "spec": {
            "selector": {"matchLabels": {"name": name}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"name": name, **labels}, "annotations": {CHECKSUM_ANNOTATION: checksum(config_text)}},
                "spec": spec,
            },
        },
    }
    return waive(daemonset, waivers | _image_waivers(container["image"]))


def _meta(name: str, namespace: str | None = NAMESPACE, labels: dict[str, str] | None = None, **extra: Any) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = {**(labels or {}), **PART_OF}
    meta.update(extra)
    return meta


def _guaranteed(cpu: str, memory: str) -> Obj:
    both = {"cpu": cpu, "memory": memory}
    return {"requests": dict(both), "limits": dict(both)}


def _host_path(name: str, path: str, kind: str | None = None) -> Obj:
    source: Obj = {"path": path}
    if kind:
        source["type"] = kind
    return {"name": name, "hostPath": source}


def _crd(group: str, kind: str, plural: str, singular: str, schema: Obj, short_names: list[str] | None = None, version: str = "v1") -> Obj:
    names: Obj = {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": singular}
    if short_names:
        names["shortNames"] = short_names
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": _meta(f"{plural}.{group}", namespace=None),
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": names,
            "versions": [{"name": version, "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }


def _object_schema(spec: Obj, status: Obj | None = None) -> Obj:
    props: Obj = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}, "spec": spec}
    if status:
        props["status"] = status
    return {"type": "object", "properties": props}


def _service_account(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name)}


def _cluster_role(name: str, rules: list[Obj]) -> Obj:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": _meta(name, namespace=None), "rules": rules}


def _binding(name: str, role: str, account: str) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name, namespace=None),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}],
    }


# --- Multus ---------------------------------------------------------------------------

NAD_CRD = _crd(
    "k8s.cni.cncf.io",
    "NetworkAttachmentDefinition",
    "network-attachment-definitions",
    "network-attachment-definition",
    _object_schema({"type": "object", "properties": {"config": {"type": "string"}}}),
    short_names=["net-attach-def", "nad"],
)


def multus_daemon_config(cfg: StackConfig) -> Obj:
    return {
        "chrootDir": "/hostroot",
        "cniVersion": "0.3.1",
        "logLevel": cfg.multus.log_level,
        "logToStderr": True,
        "cniConfigDir": "/host/etc/cni/net.d",
        "multusAutoconfigDir": "/host/etc/cni/net.d",
        "multusConfigFile": "auto",
        "multusMasterCNI": "10-aws.conflist",
        "socketDir": "/host/run/multus/",
    }


MULTUS_RBAC: list[Obj] = [
    # What multus-daemon v4.1.4 / v4.3.0 calls, read from its source:
    # - NADs: a cluster-wide informer (list, watch; pkg/server/server.go newNetDefInformer) and a
    #   direct get when the informer is off (pkg/k8sclient/k8sclient.go GetNetAttachDef). It never
    #   creates NADs outside tests (AddNetAttachDef has no caller).
    {"apiGroups": ["k8s.cni.cncf.io"], "resources": ["network-attachment-definitions"], "verbs": ["get", "list", "watch"]},
    # - pods: an informer on this node's pods (pkg/server/server.go newPodInformer, field selector
    #   spec.nodeName) and live gets (k8sclient.go GetPod, GetPodAPILiveQuery).
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    # - the network-status annotation: network-attachment-definition-client v1.7.5/v1.7.6
    #   pkg/utils/net-attach-def.go setPodNetworkStatus does Pods().Get then Pods().UpdateStatus,
    #   i.e. `update` on the pods/status subresource.
    {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["update"]},
    # - events: a core/v1 EventSinkImpl (pkg/k8sclient/kubeconfig.go); client-go's recorder only
    #   creates or patches (tools/record/event.go recordEvent). No events.k8s.io client.
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    # ConfigMaps are not read through the API: daemon-config.json reaches the pod as a volume.
]


def _multus_probes(eks_build: bool) -> Obj:
    """Readiness: Multus has written its CNI config; liveness: its CNI socket is there.

    The daemon's /healthz is served only on its unix socket (pkg/server/server.go,
    api.MultusHealthAPIEndpoint), which an httpGet probe cannot reach, so the probes
    check files with `test` (coreutils, in the debian:stable-slim base of
    images/Dockerfile.thick). The socket is `<socketDir>/multus.sock`
    (pkg/server/api/socket.go). The AWS build's image contents are not published:
    it gets only the readiness probe, whose failure stalls a rollout instead of
    restarting the CNI daemon on every node.
    """
    probes: Obj = {
        "readinessProbe": {
            "exec": {"command": ["test", "-f", f"/host{MULTUS_CONFIG_FILE}"]},
            "periodSeconds": 10,
            "failureThreshold": 3,
            "timeoutSeconds": 5,
        }
    }
    if not eks_build:
        probes["livenessProbe"] = {
            "exec": {"command": ["test", "-S", "/host/run/multus/multus.sock"]},
            "initialDelaySeconds": 10,
            "periodSeconds": 30,
            "failureThreshold": 3,
            "timeoutSeconds": 5,
        }
    return probes


def _image_waivers(image: str) -> dict[str, str]:
    """An image pinned by tag only: the digest check and the pull-policy check that follows from it."""
    if "@sha256:" in image:
        return {}
    return {
        "CKV_K8S_43": f"{images.digest_status(image)}",
        "CKV_K8S_15": "pinned by exact tag; pulling on every start would make each restart depend on the registry",
    }


def _multus_waivers(image: str, eks_build: bool) -> dict[str, str]:
    reasons = {
        "CKV_K8S_16": "privileged: moves interfaces into pod network namespaces and runs delegate plugins chrooted into the host",
        "CKV_K8S_17": "hostPID: delegates run chrooted into the host and act on its processes (upstream thick manifest)",
        "CKV_K8S_19": "hostNetwork: the CNI server must answer before the node has pod networking",
        "CKV_K8S_20": "privileged: the API server refuses allowPrivilegeEscalation false on a privileged container",
        "CKV_K8S_22": "privileged: a container that may remount its root gains nothing from a read-only one",
        "CKV_K8S_23": "root: multus-daemon refuses to start unless uid 0 (cmd/multus-daemon/main.go)",
        "CKV_K8S_40": "root: multus-daemon refuses to start unless uid 0 (cmd/multus-daemon/main.go)",
        "CKV_K8S_28": "privileged: the runtime grants every capability and ignores a drop list",
        "CKV_K8S_37": "privileged: the runtime grants every capability and ignores a drop list",
        "CKV_K8S_38": "talks to the API server: watches pods and NADs, updates pods/status, records events",
        "CKV2_K8S_6": "hostNetwork: NetworkPolicy does not apply to host-network pods",
        **_image_waivers(image),
    }
    if eks_build:
        reasons["CKV_K8S_8"] = "AWS build: image contents unpublished, so no liveness exec that could restart the CNI on every node"
    return reasons


def multus_objects(cfg: StackConfig) -> list[Obj]:
    daemon_config = json.dumps(multus_daemon_config(cfg), indent=2) + "\n"
    labels = {"tier": "node", "app": "multus", "name": "multus"}
    image = images.multus_image(cfg.multus.image, cfg.region)
    if images.multus_is_eks_build(cfg.multus.image):
        install = ["cp", "-f", "/usr/src/multus-cni/bin/multus-shim", "/host/opt/cni/bin/multus-shim"]
    else:
        install = ["/usr/src/multus-cni/bin/install_multus", "-d", "/host/opt/cni/bin", "-t", "thick"]
    eks_build = images.multus_is_eks_build(cfg.multus.image)
    probes = _multus_probes(eks_build)
    mounts = [
        {"name": "cni", "mountPath": "/host/etc/cni/net.d"},
        {"name": "cnibin", "mountPath": "/opt/cni/bin"},
        {"name": "host-run", "mountPath": "/host/run"},
        {"name": "host-var-lib-cni-multus", "mountPath": "/var/lib/cni/multus"},
        {"name": "host-var-lib-kubelet", "mountPath": "/var/lib/kubelet", "mountPropagation": "HostToContainer"},
        {"name": "host-run-k8s-cni-cncf-io", "mountPath": "/run/k8s.cni.cncf.io"},
        {"name": "host-run-netns", "mountPath": "/run/netns", "mountPropagation": "HostToContainer"},
        {"name": "multus-daemon-config", "mountPath": "/etc/cni/net.d/multus.d", "readOnly": True},
        {"name": "hostroot", "mountPath": "/hostroot", "mountPropagation": "HostToContainer"},
    ]
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta("kube-multus-ds", labels=labels),
        "spec": {
            "selector": {"matchLabels": {"name": "multus"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": labels, "annotations": {CHECKSUM_ANNOTATION: checksum(daemon_config)}},
                "spec": {
                    "hostNetwork": True,
                    "hostPID": True,
                    "serviceAccountName": "multus",
                    # Applies to the unprivileged init container; privileged ones run Unconfined anyway.
                    "securityContext": pod_security_context(),
                    "priorityClassName": "system-node-critical",
                    "nodeSelector": dict(MULTUS_NODE_SELECTOR),
                    "tolerations": _TOLERATE_ALL,
                    "affinity": _NOT_FARGATE,
                    "terminationGracePeriodSeconds": 10,
                    "initContainers": [
                        {
                            "name": "install-multus-binary",
                            "image": image,
                            "command": install,
                            "resources": _guaranteed("10m", "50Mi"),
                            # Only copies files into the root-owned host CNI bin dir (install_multus
                            # writes a temp file there and renames it, pkg/cmdutils CopyFileAtomic).
                            "securityContext": root_without_privilege(),
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "volumeMounts": [{"name": "cnibin", "mountPath": "/host/opt/cni/bin"}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "kube-multus",
                            "image": image,
                            "command": ["/usr/src/multus-cni/bin/multus-daemon"],
                            "resources": _guaranteed(cfg.multus.cpu, cfg.multus.memory),
                            "securityContext": privileged(),
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "env": [{"name": "MULTUS_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                            **probes,
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": [
                        _host_path("cni", "/etc/cni/net.d"),
                        _host_path("cnibin", "/opt/cni/bin"),
                        _host_path("hostroot", "/"),
                        _host_path("host-run", "/run"),
                        _host_path("host-var-lib-cni-multus", "/var/lib/cni/multus"),
                        _host_path("host-var-lib-kubelet", "/var/lib/kubelet"),
                        _host_path("host-run-k8s-cni-cncf-io", "/run/k8s.cni.cncf.io"),
                        _host_path("host-run-netns", "/run/netns/"),
                        {
                            "name": "multus-daemon-config",
                            "configMap": {
                                "name": "multus-daemon-config",
                                "items": [{"key": "daemon-config.json", "path": "daemon-config.json"}],
                            },
                        },
                    ],
                },
            },
        },
    }
    waive(daemonset, _multus_waivers(image, eks_build))
    return [
        NAD_CRD,
        _service_account("multus"),
        _cluster_role("multus", MULTUS_RBAC),
        _binding("multus", "multus", "multus"),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("multus-daemon-config", labels={"tier": "node", "app": "multus"}),
            "data": {"daemon-config.json": daemon_config},
        },
        daemonset,
    ]


# --- NetworkAttachmentDefinitions -----------------------------------------------------


def nad_object(net: IpvlanNetwork | HostDeviceNetwork, agent_port: int = AGENT_PORT) -> Obj:
    annotations = {}
    if isinstance(net, HostDeviceNetwork) and net.resource_name:
        annotations[NAD_RESOURCE_ANNOTATION] = net.resource_name
    meta = _meta(net.name, namespace=net.namespace)
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": meta,
        "spec": {"config": to_spec_config(nad_config(net, agent_port))},
    }


ALWAYS_PRESENT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
"""The four namespaces every cluster starts with (kubernetes.io, Concepts, Namespaces); never created here."""


def created_namespaces(cfg: StackConfig) -> list[str]:
    """Namespaces the networks use that eks-multus creates: not a system one, not listed as existing."""
    skip = {*ALWAYS_PRESENT_NAMESPACES, *cfg.existing_namespaces}
    return sorted({n.namespace for n in cfg.networks} - skip)


def namespace_object(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name, namespace=None)}


# --- whereabouts ----------------------------------------------------------------------


def uses_whereabouts(cfg: StackConfig) -> bool:
    return any(isinstance(n.ipam, WhereaboutsIpam) for n in cfg.networks)


_ALLOCATION = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "podref": {"type": "string"}, "ifname": {"type": "string"}},
    "required": ["id", "podref"],
}

WHEREABOUTS_CRDS = [
    _crd(
        "whereabouts.cni.cncf.io",
        "IPPool",
        "ippools",
        "ippool",
        _object_schema(
            {
                "type": "object",
                "properties": {
                    "range": {"type": "string"},
                    "allocations": {"type": "object", "additionalProperties": _ALLOCATION},
                },
                "required": ["range", "allocations"],
            }
        ),
        version="v1alpha1",
    ),
    _crd(
        "whereabouts.cni.cncf.io",
        "OverlappingRangeIPReservation",
        "overlappingrangeipreservations",
        "overlappingrangeipreservation",
        _object_schema(
            {
                "type": "object",
                "properties": {"containerid": {"type": "string"}, "podref": {"type": "string"}, "ifname": {"type": "string"}},
                "required": ["podref"],
            }
        ),
        version="v1alpha1",
    ),
    _crd(
        "whereabouts.cni.cncf.io",
        "NodeSlicePool",
        "nodeslicepools",
        "nodeslicepool",
        _object_schema(
            {
                "type": "object",
                "properties": {"range": {"type": "string"}, "sliceSize": {"type": "string"}},
                "required": ["range", "sliceSize"],
            },
            status={
                "type": "object",
                "properties": {
                    "allocations": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"nodeName": {"type": "string"}, "sliceRange": {"type": "string"}}},
                    }
                },
            },
        ),
        version="v1alpha1",
    ),
]


_NO_HEALTH = "no health endpoint or file upstream"
WHEREABOUTS_DAEMON_WAIVERS = {
    "CKV_K8S_8": f"{_NO_HEALTH}: whereabouts v0.9.4 ip-control-loop serves nothing and writes no status file",
    "CKV_K8S_9": f"{_NO_HEALTH}: whereabouts v0.9.4 ip-control-loop serves nothing and writes no status file",
    "CKV_K8S_19": "hostNetwork: installs the IPAM plugin and its kubeconfig before the node has pod networking",
    "CKV_K8S_23": "root: writes the plugin binary and its kubeconfig into root-owned /opt/cni/bin and /etc/cni/net.d",
    "CKV_K8S_40": "root: writes the plugin binary and its kubeconfig into root-owned /opt/cni/bin and /etc/cni/net.d",
    "CKV_K8S_38": "talks to the API server: ip-control-loop watches pods and the token goes into the plugin's kubeconfig",
    "CKV2_K8S_6": "hostNetwork: NetworkPolicy does not apply to host-network pods",
}
WHEREABOUTS_RECONCILER_WAIVERS = {
    "CKV_K8S_8": f"{_NO_HEALTH}: whereabouts v0.9.4 cmd/reconciler serves nothing; it exits when its config watch fails",
    "CKV_K8S_9": f"{_NO_HEALTH}: whereabouts v0.9.4 cmd/reconciler serves nothing; it exits when its config watch fails",
    "CKV_K8S_38": "talks to the API server: lists pods and IP pools and frees leaked allocations",
}


def _deny_ingress(name: str, selector: dict[str, str], labels: dict[str, str]) -> Obj:
    """Refuse every inbound connection to pods that serve nothing (egress left open: the API server)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, labels=labels),
        "spec": {"podSelector": {"matchLabels": selector}, "policyTypes": ["Ingress"]},
    }


def whereabouts_objects(cfg: StackConfig) -> list[Obj]:
    labels = {"app": "whereabouts"}
    namespace_env = {"name": "WHEREABOUTS_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    schedule_config = {"cron-expression": cfg.whereabouts.reconciler_schedule}
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta("whereabouts", labels={"tier": "node", **labels}),
        "spec": {
            "selector": {"matchLabels": {"name": "whereabouts"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"tier": "node", "name": "whereabouts", **labels}},
                "spec": {
                    "hostNetwork": True,
                    "serviceAccountName": "whereabouts",
                    "securityContext": pod_security_context(),
                    "priorityClassName": "system-node-critical",
                    "nodeSelector": dict(MULTUS_NODE_SELECTOR),
                    "tolerations": _TOLERATE_ALL,
                    "affinity": _NOT_FARGATE,
                    "containers": [
                        {
                            "name": "whereabouts",
                            "image": images.WHEREABOUTS,
                            "command": [
                                "/bin/sh",
                                "-c",
                                "SLEEP=false source /install-cni.sh; /token-watcher.sh & /ip-control-loop -log-level debug",
                            ],
                            "env": [{"name": "NODENAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}, namespace_env],
                            "resources": _guaranteed("100m", "200Mi"),
                            # install-cni.sh and token-watcher.sh only write the plugin binary, its
                            # kubeconfig and conf into root-owned host dirs; ip-control-loop only
                            # talks to the API server. Root is needed for those dirs, privilege is not.
                            "securityContext": root_without_privilege(),
                            "volumeMounts": [
                                {"name": "cnibin", "mountPath": "/host/opt/cni/bin"},
                                {"name": "cni-net-dir", "mountPath": "/host/etc/cni/net.d"},
                            ],
                        }
                    ],
                    "volumes": [_host_path("cnibin", "/opt/cni/bin"), _host_path("cni-net-dir", "/etc/cni/net.d")],
                },
            },
        },
    }
    reconciler = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta("whereabouts-reconciler", labels=labels),
        "spec": {
            # The reconciler has no leader election: exactly one replica, never two during a rollout.
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"name": "whereabouts-reconciler"}},
            "template": {
                "metadata": {
                    "labels": {"name": "whereabouts-reconciler", **labels},
                    "annotations": {CHECKSUM_ANNOTATION: checksum(json.dumps(schedule_config, sort_keys=True))},
                },
                "spec": {
                    "serviceAccountName": "whereabouts",
                    "securityContext": pod_security_context(non_root=True),
                    "priorityClassName": "system-cluster-critical",
                    "affinity": _NOT_FARGATE,
                    "containers": [
                        {
                            "name": "whereabouts-reconciler",
                            "image": images.WHEREABOUTS,
                            "command": ["/ip-reconciler", "-log-level", "debug"],
                            "env": [namespace_env],
                            "resources": _guaranteed("100m", "100Mi"),
                            # It reads /cron-schedule/config, logs to stderr and talks to the API
                            # server (whereabouts v0.9.4 cmd/reconciler/main.go); it writes no file.
                            "securityContext": restricted(),
                            "volumeMounts": [{"name": "cron-schedule", "mountPath": "/cron-schedule", "readOnly": True}],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "cron-schedule",
                            "configMap": {"name": "whereabouts-config", "items": [{"key": "cron-expression", "path": "config"}]},
                        }
                    ],
                },
            },
        },
    }
    return [
        *WHEREABOUTS_CRDS,
        _service_account("whereabouts"),
        _cluster_role(
            "whereabouts-cni",
            [
                {
                    "apiGroups": ["whereabouts.cni.cncf.io"],
                    "resources": ["ippools", "overlappingrangeipreservations", "nodeslicepools"],
                    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                },
                # The IPAM plugin's pool lock is a client-go LeaseLock (pkg/storage/kubernetes/ipam.go),
                # which only gets, creates and updates its Lease (tools/leaderelection/resourcelock/leaselock.go).
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch", "get"]},
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["k8s.cni.cncf.io"], "resources": ["network-attachment-definitions"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update", "get"]},
            ],
        ),
        _binding("whereabouts", "whereabouts-cni", "whereabouts"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("whereabouts-config", labels=labels), "data": schedule_config},
        waive(daemonset, WHEREABOUTS_DAEMON_WAIVERS | _image_waivers(images.WHEREABOUTS)),
        waive(reconciler, WHEREABOUTS_RECONCILER_WAIVERS | _image_waivers(images.WHEREABOUTS)),
        _deny_ingress("whereabouts-reconciler", {"name": "whereabouts-reconciler"}, labels),
    ]


# --- SR-IOV network device plugin -----------------------------------------------------


def default_pool_pci_addresses(cfg: StackConfig) -> list[str]:
    return sorted({a.pci_address for a in whole_eni_candidates(cfg)})


def sriov_device_plugin_config(cfg: StackConfig) -> Obj:
    resources = []
    for r in cfg.sriov.resources:
        selector = {"vendors": list(r.vendors), "devices": list(r.devices), "drivers": list(r.drivers)}
        selector["pciAddresses"] = list(r.pci_addresses) if r.pci_addresses is not None else default_pool_pci_addresses(cfg)
        resources.append({"resourceName": r.name, "resourcePrefix": cfg.sriov.resource_prefix, "selectors": [selector]})
    return {"resourceList": resources}


SRIOV_WAIVERS = {
    "CKV_K8S_8": f"{_NO_HEALTH}: sriov-network-device-plugin v3.11.0 has no HTTP server; the kubelet tracks it by registration",
    "CKV_K8S_9": f"{_NO_HEALTH}: sriov-network-device-plugin v3.11.0 has no HTTP server; the kubelet tracks it by registration",
    "CKV_K8S_16": "privileged: upstream v3.11.0 runs it privileged to read and hand out host PCI devices; untested without",
    "CKV_K8S_19": "hostNetwork: discovers the host's network devices, which only the host network namespace shows",
    "CKV_K8S_20": "privileged: the API server refuses allowPrivilegeEscalation false on a privileged container",
    "CKV_K8S_22": "privileged: a container that may remount its root gains nothing from a read-only one",
    "CKV_K8S_23": "root: writes its socket into the root-owned kubelet device-plugins directory",
    "CKV_K8S_40": "root: writes its socket into the root-owned kubelet device-plugins directory",
    "CKV_K8S_28": "privileged: the runtime grants every capability and ignores a drop list",
    "CKV_K8S_37": "privileged: the runtime grants every capability and ignores a drop list",
    "CKV_K8S_31": "privileged: privileged containers always run seccomp Unconfined",
    "CKV_K8S_29": "privileged: its only container overrides any pod-level security context",
    "CKV2_K8S_6": "hostNetwork: NetworkPolicy does not apply to host-network pods",
}


def sriov_objects(cfg: StackConfig) -> list[Obj]:
    config = json.dumps(sriov_device_plugin_config(cfg), indent=2) + "\n"
    labels = {"tier": "node", "app": "sriovdp"}
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": _meta("kube-sriov-device-plugin", labels=labels),
        "spec": {
            "selector": {"matchLabels": {"name": "sriov-device-plugin"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": {"name": "sriov-device-plugin", **labels},
                    # The plugin reads its config and devices once at start; a new config must restart it.
                    "annotations": {CHECKSUM_ANNOTATION: checksum(config)},
                },
                "spec": {
                    "hostNetwork": True,
                    "serviceAccountName": "sriov-device-plugin",
                    # It talks to the kubelet's device-plugin socket only; client-go is an indirect
                    # dependency of v3.11.0 (go.mod), imported by none of its packages.
                    "automountServiceAccountToken": False,
                    "priorityClassName": "system-node-critical",
                    "nodeSelector": {f"{LABEL_PREFIX}/multus": "true"},
                    "tolerations": _TOLERATE_ALL,
                    "containers": [
                        {
                            "name": "kube-sriovdp",
                            "image": images.SRIOV_DEVICE_PLUGIN,
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["--log-dir=sriovdp", "--log-level=10"],
                            "resources": _guaranteed("250m", "200Mi"),
                            "securityContext": privileged(),
                            "volumeMounts": [
                                {"name": "devicesock", "mountPath": "/var/lib/kubelet/device-plugins"},
                                {"name": "plugins-registry", "mountPath": "/var/lib/kubelet/plugins_registry"},
                                {"name": "log", "mountPath": "/var/log"},
                                {"name": "config-volume", "mountPath": "/etc/pcidp"},
                                {"name": "device-info", "mountPath": "/var/run/k8s.cni.cncf.io/devinfo/dp"},
                            ],
                        }
                    ],
                    "volumes": [
                        _host_path("devicesock", "/var/lib/kubelet/device-plugins"),
                        _host_path("plugins-registry", "/var/lib/kubelet/plugins_registry"),
                        _host_path("log", "/var/log"),
                        {
                            "name": "config-volume",
                            "configMap": {"name": "sriovdp-config", "items": [{"key": "config.json", "path": "config.json"}]},
                        },
                        _host_path("device-info", "/var/run/k8s.cni.cncf.io/devinfo/dp", "DirectoryOrCreate"),
                    ],
                },
            },
        },
    }
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("sriovdp-config"), "data": {"config.json": config}},
        _service_account("sriov-device-plugin"),
        waive(daemonset, SRIOV_WAIVERS | _image_waivers(images.SRIOV_DEVICE_PLUGIN)),
    ]


# --- readiness gate: the taint remover ------------------------------------------------

TAINT_REMOVER = "eks-multus-taint-remover"
TAINT_REMOVER_ASSET = "eks-multus-taint-remover"
TAINT_REMOVER_USER = f"system:serviceaccount:{NAMESPACE}:{TAINT_REMOVER}"
TAINT_REMOVER_PROGRAM_DIR = "/opt/eks-multus"
CAPACITY_DIR = "/etc/eks-multus/capacity"
"""Where the taint remover reads the address capacity per node group (address_resources.py)."""
EVENT_NAMESPACE = "default"
"""Where node events go: the kubelet's own node events use `default`, and `kubectl describe node` lists a node's events from any namespace."""
NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name"
"""User-info extra of a pod-bound service-account token naming the pod's node (ServiceAccountTokenPodNodeInfo, on by default since Kubernetes 1.30)."""
NODE_SPEC_FIELDS = ("podCIDR", "podCIDRs", "providerID", "unschedulable", "configSource", "externalID")
"""Every NodeSpec field but `taints` (k8s.io/api core/v1 NodeSpec)."""


_cel = _lit  # one CEL string literal (escaping) for every policy


def _unchanged(path: str, fld: str) -> str:
    new, old = f"object.{path}.{fld}", f"oldObject.{path}.{fld}"
    return f"(has({new}) == has({old}) && (!has({new}) || {new} == {old}))"


def node_policy_expressions() -> dict[str, str]:
    """CEL of the node policy: its variables and validations (tested with a CEL evaluator in tests/pure)."""
    key, value, effect = (_cel(x) for x in (NOT_READY_TAINT_KEY, NOT_READY_TAINT_VALUE, NOT_READY_TAINT_EFFECT))
    ann, extra = _cel(STATUS_ANNOTATION), _cel(NODE_NAME_EXTRA)
    new_ann, old_ann = "object.metadata.annotations", "oldObject.metadata.annotations"
    return {
        "ownNode": f"has(request.userInfo.extra) && {extra} in request.userInfo.extra"
        f" && request.userInfo.extra[{extra}] == [object.metadata.name]",
        "oldTaints": "has(oldObject.spec.taints) ? oldObject.spec.taints : []",
        "newTaints": "has(object.spec.taints) ? object.spec.taints : []",
        "onlyOurTaint": f"variables.newTaints.filter(t, t.key != {key}) == variables.oldTaints.filter(t, t.key != {key})"
        f" && size(variables.newTaints.filter(t, t.key == {key})) <= 1"
        f" && variables.newTaints.filter(t, t.key == {key}).all(t, t.value == {value} && t.effect == {effect})",
        "onlyOurAnnotation": f"(!has({new_ann}) || {new_ann}.all(k, k == {ann} || (has({old_ann}) && k in {old_ann} && {old_ann}[k] == {new_ann}[k])))"
        f" && (!has({old_ann}) || {old_ann}.all(k, k == {ann} || (has({new_ann}) && k in {new_ann})))",
        "restUnchanged": " && ".join(
            [_unchanged("metadata", f) for f in ("labels", "finalizers", "ownerReferences")]
            + [_unchanged("spec", f) for f in NODE_SPEC_FIELDS]
        ),
    }


NODE_STATUS_FIELDS = (
    "allocatable",
    "phase",
    "conditions",
    "addresses",
    "daemonEndpoints",
    "nodeInfo",
    "images",
    "volumesInUse",
    "volumesAttached",
    "config",
)
"""NodeStatus fields but `capacity` that every supported Kubernetes (1.30 on) has (k8s.io/api core/v1 NodeStatus);
a CEL reference to a field the cluster's schema lacks would not compile."""


def node_status_policy_expressions() -> dict[str, str]:
    """CEL of the node-status policy: the remover may change only its own address resources in status.capacity.

    Nodes are the one kind whose status subresource keeps metadata changes (pkg/registry/core/node/strategy.go:
    the status strategy resets only spec), so metadata is checked too."""
    ours = _cel(OUR_RESOURCE_PATTERN)
    return {
        "newCapacity": "has(object.status.capacity) ? object.status.capacity : {}",
        "oldCapacity": "has(oldObject.status.capacity) ? oldObject.status.capacity : {}",
        "onlyOurCapacity": f"variables.newCapacity.all(k, k.matches({ours}) || (k in variables.oldCapacity && variables.oldCapacity[k] == variables.newCapacity[k]))"
        f" && variables.oldCapacity.all(k, k.matches({ours}) || k in variables.newCapacity)",
        "restUnchanged": " && ".join(
            [_unchanged("metadata", f) for f in ("labels", "annotations", "finalizers", "ownerReferences")]
            + [_unchanged("status", f) for f in NODE_STATUS_FIELDS]
        ),
    }


def event_policy_expression() -> str:
    extra = _cel(NODE_NAME_EXTRA)
    return (
        f"object.involvedObject.kind == 'Node' && has(request.userInfo.extra) && {extra} in request.userInfo.extra"
        f" && request.userInfo.extra[{extra}] == [object.involvedObject.name]"
    )


def _policy(name: str, resource: str, operation: str, variables: list[Obj], validations: list[Obj]) -> list[Obj]:
    spec: Obj = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": [operation], "resources": [resource]}]
        },
        "matchConditions": [{"name": "taint-remover-only", "expression": f"request.userInfo.username == {_cel(TAINT_REMOVER_USER)}"}],
    }
    if variables:
        spec["variables"] = variables
    spec["validations"] = validations
    return policy_with_binding(name, spec, "Deny")


def policy_with_binding(name: str, spec: Obj, action: str) -> list[Obj]:
    """A cluster-wide ValidatingAdmissionPolicy and the binding that enforces it with `action` (Deny or Warn)."""
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": _meta(name, namespace=None),
            "spec": spec,
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": _meta(name, namespace=None),
            "spec": {"policyName": name, "validationActions": [action]},
        },
    ]


def taint_remover_policies() -> list[Obj]:
    """Narrow the remover's `patch nodes` to its own node and to the one taint and annotation."""
    cel = node_policy_expressions()
    node_rules = [
        ("ownNode", "the taint remover may change only the node its pod runs on"),
        (
            "onlyOurTaint",
            f"the taint remover may add or remove only {NOT_READY_TAINT_KEY}={NOT_READY_TAINT_VALUE}:{NOT_READY_TAINT_EFFECT}",
        ),
        ("onlyOurAnnotation", f"the taint remover may change only the {STATUS_ANNOTATION} annotation"),
        ("restUnchanged", "the taint remover may not change labels, finalizers, owner references or any other node spec field"),
    ]
    nodes = _policy(
        f"{TAINT_REMOVER}-nodes",
        "nodes",
        "UPDATE",
        [{"name": n, "expression": cel[n]} for n in ("oldTaints", "newTaints")],
        [{"expression": cel[n], "message": message, "reason": "Forbidden"} for n, message in node_rules],
    )
    status_cel = node_status_policy_expressions()
    node_status = _policy(
        f"{TAINT_REMOVER}-node-status",
        "nodes/status",
        "UPDATE",
        [{"name": n, "expression": status_cel[n]} for n in ("newCapacity", "oldCapacity")],
        [
            {"expression": cel["ownNode"], "message": "the taint remover may change only the node its pod runs on", "reason": "Forbidden"},
            {
                "expression": status_cel["onlyOurCapacity"],
                "message": "the taint remover may change only the eks-multus.io address resources in status.capacity",
                "reason": "Forbidden",
            },
            {
                "expression": status_cel["restUnchanged"],
                "message": "the taint remover may not change node metadata or any status field but status.capacity",
                "reason": "Forbidden",
            },
        ],
    )
    events = _policy(
        f"{TAINT_REMOVER}-events",
        "events",
        "CREATE",
        [],
        [
            {
                "expression": event_policy_expression(),
                "message": "the taint remover may report only about its own node",
                "reason": "Forbidden",
            }
        ],
    )
    return nodes + node_status + events


def taint_remover_program() -> str:
    return asset(TAINT_REMOVER_ASSET).decode()


TAINT_REMOVER_WAIVERS = {
    "CKV_K8S_8": "no health endpoint: its outcome is the node's taint and annotation; a probe would only restart a loop that reads files",
    "CKV_K8S_9": "no health endpoint: a readiness probe on the node's network state would hold a rollout on every node whose networks are down",
    "CKV_K8S_19": "hostNetwork: checks the host's multus links in /sys/class/net, which only the host network namespace shows",
    "CKV_K8S_38": "talks to the API server: patches its own node's taint and annotation, records events",
    "CKV2_K8S_6": "hostNetwork: NetworkPolicy does not apply to host-network pods",
}
TAINT_REMOVER_EVENTS_WAIVERS = {
    "CKV_K8S_21": "events about a Node, a cluster-scoped object, belong in default (where client-go's recorder puts them)",
}


def taint_remover_objects(cfg: StackConfig) -> list[Obj]:
    """Program (ConfigMap), identity, RBAC, admission policies and the DaemonSet on multus nodes."""
    program = taint_remover_program()
    labels = {"tier": "node", "app": TAINT_REMOVER}
    taint = f"{NOT_READY_TAINT_KEY}={NOT_READY_TAINT_VALUE}:{NOT_READY_TAINT_EFFECT}"
    env = [
        {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "EKS_MULTUS_TAINT", "value": taint},
        {"name": "EKS_MULTUS_STATUS_FILE", "value": STATUS_FILE},
        {"name": "EKS_MULTUS_MULTUS_CONFIG", "value": MULTUS_CONFIG_FILE},
        {"name": "EKS_MULTUS_STATUS_ANNOTATION", "value": STATUS_ANNOTATION},
        {"name": "EKS_MULTUS_EVENT_NAMESPACE", "value": EVENT_NAMESPACE},
        {"name": "EKS_MULTUS_CAPACITY_FILE", "value": f"{CAPACITY_DIR}/{CAPACITY_KEY}"},
    ]
    cni_dir = MULTUS_CONFIG_FILE.rsplit("/", 1)[0]
    container = {
        "name": "taint-remover",
        "image": images.TAINT_REMOVER_PYTHON,
        "command": ["python3", f"{TAINT_REMOVER_PROGRAM_DIR}/{TAINT_REMOVER}"],
        "env": env,
        "resources": _guaranteed("20m", "48Mi"),
        "securityContext": restricted(),
        "volumeMounts": [
            {"name": "program", "mountPath": TAINT_REMOVER_PROGRAM_DIR, "readOnly": True},
            {"name": "status", "mountPath": STATUS_DIR, "readOnly": True},
            {"name": "cni-net-dir", "mountPath": cni_dir, "readOnly": True},
            {"name": "capacity", "mountPath": CAPACITY_DIR, "readOnly": True},
        ],
    }
    volumes = [
        {"name": "program", "configMap": {"name": TAINT_REMOVER, "items": [{"key": TAINT_REMOVER, "path": TAINT_REMOVER}]}},
        _host_path("status", STATUS_DIR, "DirectoryOrCreate"),
        _host_path("cni-net-dir", cni_dir, "DirectoryOrCreate"),
        # Made by NetworkAttachments when a network is routable; optional, so the remover runs without it.
        {"name": "capacity", "configMap": {"name": CAPACITY_CONFIG, "optional": True}},
    ]
    # The host's network namespace, so /sys/class/net lists the node's links.
    daemonset = node_daemonset(
        TAINT_REMOVER,
        labels,
        program,
        container,
        volumes,
        service_account=TAINT_REMOVER,
        grace_seconds=5,
        security_context=pod_security_context(non_root=True),
        waivers=TAINT_REMOVER_WAIVERS,
    )
    return [
        *taint_remover_policies(),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(TAINT_REMOVER, labels=labels), "data": {TAINT_REMOVER: program}},
        _service_account(TAINT_REMOVER),
        _cluster_role(
            TAINT_REMOVER,
            [
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
                {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]},
            ],
        ),
        _binding(TAINT_REMOVER, TAINT_REMOVER, TAINT_REMOVER),
        waive(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": _meta(f"{TAINT_REMOVER}-events", namespace=EVENT_NAMESPACE),
                "rules": [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}],
            },
            TAINT_REMOVER_EVENTS_WAIVERS,
        ),
        waive(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": _meta(f"{TAINT_REMOVER}-events", namespace=EVENT_NAMESPACE),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{TAINT_REMOVER}-events"},
                "subjects": [{"kind": "ServiceAccount", "name": TAINT_REMOVER, "namespace": NAMESPACE}],
            },
            TAINT_REMOVER_EVENTS_WAIVERS,
        ),
        daemonset,
    ]


def needs_readiness_gate(cfg: StackConfig) -> bool:
    """Only node groups with multus interfaces register with the startup taint (Team decision 4)."""
    return any(g.multus_interfaces for g in cfg.node_groups)
