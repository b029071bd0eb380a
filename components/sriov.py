"""SriovDevicePlugin: advertises whole multus ENIs as an extended resource."""

from __future__ import annotations

import pulumi

from .core.manifests import sriov_objects
from .core.model import StackConfig
from .kube import register_all


class SriovDevicePlugin(pulumi.ComponentResource):
    """`sriovdp-config` and the device plugin DaemonSet, on multus nodes only."""

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:SriovDevicePlugin", name, None, opts)
        register_all(name, sriov_objects(cfg), pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
