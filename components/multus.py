"""Multus: the thick-plugin daemon with the VPC CNI as its master CNI."""

from __future__ import annotations

import pulumi

from .core.manifests import multus_objects
from .core.model import StackConfig
from .kube import register_all


class Multus(pulumi.ComponentResource):
    """NAD CRD, RBAC, daemon config and the `kube-multus-ds` DaemonSet."""

    crd: pulumi.CustomResource

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:Multus", name, None, opts)
        resources = register_all(name, multus_objects(cfg), pulumi.ResourceOptions(parent=self))
        self.crd = resources[0]
        self.register_outputs({})
