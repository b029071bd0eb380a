"""eks-multus: multi-homed pods on Amazon EKS as Pulumi components.

The components are imported lazily so that `components.core` (the pure
config model, validation and renderers) can be used without loading Pulumi.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MultusVpc": "components.vpc",
    "MultusCluster": "components.cluster",
    "MultusNodeGroup": "components.nodegroup",
    "Multus": "components.multus",
    "NetworkAttachments": "components.networks",
    "Whereabouts": "components.whereabouts",
    "SriovDevicePlugin": "components.sriov",
    "ReadinessGate": "components.readiness",
    "MultusPlatform": "components.platform",
    "load_stack_config": "components.config",
    "validated": "components.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
