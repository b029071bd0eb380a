"""SriovDevicePlugin: advertises whole multus ENIs as an extended resource."""

import pulumi

from .args import SriovDevicePluginArgs
from .arguments import SRIOV_RULES, sections_model
from .core.manifests import sriov_objects
from .kube import register_all


class SriovDevicePlugin(pulumi.ComponentResource):
    """`sriovdp-config` and the device plugin DaemonSet, on multus nodes only, on the cluster of the
    `kubernetes` provider given in the resource options."""

    def __init__(self, name: str, args: SriovDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:SriovDevicePlugin", name, None, opts)
        cfg = sections_model("SriovDevicePlugin", name, args, ("sriov", "multus_subnets", "node_groups", "networks"), SRIOV_RULES)
        register_all(name, sriov_objects(cfg), pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
