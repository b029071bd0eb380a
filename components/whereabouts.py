"""Whereabouts: cluster-wide IPAM, so no two nodes hand out the same address."""

from __future__ import annotations

import pulumi

from .core.manifests import whereabouts_objects
from .core.model import StackConfig
from .kube import register_all


class Whereabouts(pulumi.ComponentResource):
    """Its three CRDs, RBAC, the per-node DaemonSet and the one-replica reconciler."""

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:Whereabouts", name, None, opts)
        register_all(name, whereabouts_objects(cfg), pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
