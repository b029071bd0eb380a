"""The contract between a node's boot step and the taint remover.

A multus node registers with the startup taint below. The boot step writes
its outcome to `STATUS_FILE` (JSON, replaced atomically):

    {"ready": bool, "reason": str, "updated": "<UTC ISO 8601>",
     "interfaces": [{"deviceIndex": int, "name": str, "kernel": str, "mac": str, "eni": str}]}

`reason` is empty when `ready` is true, else one line a person can act on.
The remover lifts the taint only when the file says ready, every listed
interface is up, and Multus has written `MULTUS_CONFIG_FILE`.
"""

from __future__ import annotations

NOT_READY_TAINT_KEY = "eks-multus.io/network-not-ready"
NOT_READY_TAINT_VALUE = "true"
NOT_READY_TAINT_EFFECT = "NoSchedule"
STATUS_DIR = "/run/eks-multus"
STATUS_FILE = f"{STATUS_DIR}/network.json"
MULTUS_CONFIG_FILE = "/etc/cni/net.d/00-multus.conf"
"""What Multus thick writes in `multusConfigFile: auto` mode (cniConfigDir on the host)."""
STATUS_ANNOTATION = "eks-multus.io/network-status"
"""Node annotation where the taint remover writes the outcome (`ready: ...` or the reason it is not)."""
