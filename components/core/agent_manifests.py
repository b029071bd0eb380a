"""The node agent (eks-multus-eni-agent) as a host-network DaemonSet with resources of its own.

Why not the boot step's user data: EC2 caps user data at 16,384 bytes, and with a 3 KB cluster
CA the user data of prod already holds the boot program (5,116 bytes gzip+base64) and the plugin
(the bash relay, 1,536); the agent is 12,432 more, 24,308 in all (measured by
tests/pure/test_agent_delivery.py). Even the three programs in one gzip stream are 17,672 bytes. So the agent ships in a ConfigMap and
runs in a pod on every multus node, outside the Multus pod's CPU and memory budget.

The agent runs on the host's system Python 3.9 (the AL2023 RPM its checks target; it makes its
EC2 calls itself, signed in-process, so it needs no AWS CLI) and must reach the host's netns paths, CNI cache and its state in /var/lib/eks-multus, so the container copies
the program onto the host and runs it with `chroot /host`, as Multus thick runs delegates
(REFERENCE.md section 14). hostNetwork gives it IMDS at hop limit 1, the host's links for
`ip link`, and the host's 127.0.0.1, where the relay connects. It tolerates every taint, so it runs before the startup taint is lifted; until it
listens, the plugin answers "agent not ready" with CNI code 11 and the runtime retries.
"""

from __future__ import annotations

import json

from . import images
from .cni import uses_eni_ip
from .hardening import pod_security_context, privileged
from .manifests import _meta, node_daemonset
from .model import AGENT_PORT, EniPrefixIpam, IpvlanNetwork, StackConfig
from .userdata import asset

AGENT = "eks-multus-eni-agent"
HOST_DIR = "/run/eks-multus/agent"
"""Where the container puts the program on the host (tmpfs: a reboot takes it away, the pod brings it back)."""
AGENT_CPU = "500m"
"""Room for a burst: the CNI logic and the signed EC2 calls cost about 1 ms of CPU each (make bench runs the
agent under this limit); the start-up (imports, first TLS handshake) is the largest single cost."""
AGENT_MEMORY = "128Mi"
"""make bench measures the agent's peak at 17 MiB with 50 pods at once; TLS and a large state file add a few."""

AGENT_WAIVERS = {
    "CKV_K8S_8": "no health endpoint: the plugin's CNI STATUS asks the agent over 127.0.0.1 and reports it",
    "CKV_K8S_9": "no health endpoint: pods that need the agent retry (CNI code 11) until it listens",
    "CKV_K8S_16": "privileged: chroots into the host to run on its Python 3.9 and see its netns paths, as Multus thick runs delegates",
    "CKV_K8S_19": "hostNetwork: the instance metadata service at hop limit 1, the host's links for the ENI MAC lookup, and the host's 127.0.0.1 where the plugins connect",
    "CKV_K8S_20": "privileged (chroot into the host): escalation is moot with the host's root mounted",
    "CKV_K8S_23": "runs as root: writes root-owned host state (/run/eks-multus, /var/lib/eks-multus) and its socket",
    "CKV_K8S_28": "privileged (chroot into the host): its capabilities are the host root's",
    "CKV_K8S_37": "privileged (chroot into the host): its capabilities are the host root's",
    "CKV_K8S_40": "runs as root: writes root-owned host state and reads which user owns each loopback peer (/proc/net/tcp)",
    "CKV2_K8S_6": "hostNetwork: NetworkPolicy does not apply to host-network pods",
}


def agent_config(cfg: StackConfig) -> str:
    """Prefixes to assign when the agent starts, per interface name; a node skips names it lacks."""
    counts: dict[str, int] = {}
    for net in cfg.networks:
        if isinstance(net, IpvlanNetwork) and isinstance(net.ipam, EniPrefixIpam):
            counts[net.master] = counts.get(net.master, 0) + net.ipam.prefix_count
    doc: dict = {"interfaces": [{"name": name, "prefixCount": n} for name, n in sorted(counts.items())]}
    if cfg.eni_agent.port != AGENT_PORT:  # the agent's own default is the same
        doc["port"] = cfg.eni_agent.port
    return json.dumps(doc, sort_keys=True) + "\n"


def eni_agent_objects(cfg: StackConfig) -> list[dict]:
    if not uses_eni_ip(cfg) or not any(g.multus_interfaces for g in cfg.node_groups):
        return []
    program = asset(AGENT).decode()
    conf = agent_config(cfg)
    labels = {"tier": "node", "app": AGENT}
    start = (
        f"mkdir -p /host{HOST_DIR} && cp /program/{AGENT} /host{HOST_DIR}/{AGENT} && cp /program/agent.json /host{HOST_DIR}/agent.json "
        f"&& exec chroot /host env EKS_MULTUS_AGENT_CONFIG={HOST_DIR}/agent.json /usr/bin/python3 {HOST_DIR}/{AGENT}"
    )
    container = {
        "name": "agent",
        "image": images.TAINT_REMOVER_PYTHON,
        "command": ["/bin/sh", "-c", start],
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi"},
            "limits": {"cpu": AGENT_CPU, "memory": AGENT_MEMORY},
        },
        # chroot into the host, as Multus thick does; with the host's root mounted a
        # narrower context would not contain it any better.
        "securityContext": {**privileged(), "readOnlyRootFilesystem": True},
        "volumeMounts": [
            {"name": "program", "mountPath": "/program", "readOnly": True},
            {"name": "host", "mountPath": "/host", "mountPropagation": "HostToContainer"},
        ],
    }
    volumes = [
        {
            "name": "program",
            "configMap": {
                "name": AGENT,
                "items": [{"key": AGENT, "path": AGENT}, {"key": "agent.json", "path": "agent.json"}],
            },
        },
        {"name": "host", "hostPath": {"path": "/", "type": "Directory"}},
    ]
    daemonset = node_daemonset(
        AGENT,
        labels,
        program + conf,
        container,
        volumes,
        service_account=None,
        grace_seconds=10,
        security_context=pod_security_context(),
        waivers=AGENT_WAIVERS,
    )
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(AGENT, labels=labels), "data": {AGENT: program, "agent.json": conf}},
        daemonset,
    ]
