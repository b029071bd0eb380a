"""eks-multus: multi-homed pods on Amazon EKS as Pulumi components.

Installed, the package is `eks_multus` (`pip install <repo>`); in this repository it is the
`components/` folder. Every import inside it is relative, so both names work.

The components are imported lazily so that `core` (the pure config model, validation and
renderers) can be used without loading Pulumi; under TYPE_CHECKING the same names are
imported for real, so type checkers and IDEs see the classes and their typed args.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real classes, re-exported (`X as X`) for type checkers
    from .args import MultusArgs as MultusArgs
    from .args import MultusClusterArgs as MultusClusterArgs
    from .args import MultusNodeGroupArgs as MultusNodeGroupArgs
    from .args import MultusPlatformArgs as MultusPlatformArgs
    from .args import MultusVpcArgs as MultusVpcArgs
    from .args import NetworkAttachmentsArgs as NetworkAttachmentsArgs
    from .args import PrivateEndpointsArgs as PrivateEndpointsArgs
    from .args import ReadinessGateArgs as ReadinessGateArgs
    from .args import SriovDevicePluginArgs as SriovDevicePluginArgs
    from .args import StackArgs as StackArgs
    from .args import WhereaboutsArgs as WhereaboutsArgs
    from .arguments import ArgsError as ArgsError
    from .arguments import load_model as load_model
    from .cluster import MultusCluster as MultusCluster
    from .config import load_stack_config as load_stack_config
    from .config import validated as validated
    from .endpoints import PrivateEndpoints as PrivateEndpoints
    from .multus import Multus as Multus
    from .networks import NetworkAttachments as NetworkAttachments
    from .nodegroup import MultusNodeGroup as MultusNodeGroup
    from .platform import MultusPlatform as MultusPlatform
    from .readiness import ReadinessGate as ReadinessGate
    from .sriov import SriovDevicePlugin as SriovDevicePlugin
    from .vpc import MultusVpc as MultusVpc
    from .whereabouts import Whereabouts as Whereabouts

_EXPORTS = {
    "MultusVpc": ".vpc",
    "MultusCluster": ".cluster",
    "MultusNodeGroup": ".nodegroup",
    "Multus": ".multus",
    "NetworkAttachments": ".networks",
    "Whereabouts": ".whereabouts",
    "SriovDevicePlugin": ".sriov",
    "ReadinessGate": ".readiness",
    "PrivateEndpoints": ".endpoints",
    "MultusPlatform": ".platform",
    "load_stack_config": ".config",
    "validated": ".config",
    "load_model": ".arguments",
    "ArgsError": ".arguments",
    "StackArgs": ".args",
    "MultusPlatformArgs": ".args",
    "MultusVpcArgs": ".args",
    "PrivateEndpointsArgs": ".args",
    "MultusClusterArgs": ".args",
    "MultusArgs": ".args",
    "WhereaboutsArgs": ".args",
    "SriovDevicePluginArgs": ".args",
    "NetworkAttachmentsArgs": ".args",
    "ReadinessGateArgs": ".args",
    "MultusNodeGroupArgs": ".args",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
