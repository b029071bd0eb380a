"""Multus: the thick-plugin daemon with the VPC CNI as its master CNI."""

import pulumi

from .args import MultusArgs
from .arguments import MULTUS_RULES, sections_model
from .core.manifests import multus_objects
from .kube import register_all


class Multus(pulumi.ComponentResource):
    """NAD CRD, RBAC, daemon config and the `kube-multus-ds` DaemonSet, on the cluster of the
    `kubernetes` provider given in the resource options."""

    def __init__(self, name: str, args: MultusArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:Multus", name, None, opts)
        cfg = sections_model("Multus", name, args, ("region", "multus"), MULTUS_RULES)
        resources = register_all(name, multus_objects(cfg), pulumi.ResourceOptions(parent=self))
        self.crd: pulumi.CustomResource = resources[0]
        """The NetworkAttachmentDefinition CRD, for resources that must wait for it."""
        self.register_outputs({})
