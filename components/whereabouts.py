"""Whereabouts: cluster-wide IPAM, so no two nodes hand out the same address."""

import pulumi

from .args import WhereaboutsArgs
from .arguments import WHEREABOUTS_RULES, sections_model
from .core.manifests import whereabouts_objects
from .kube import register_all


class Whereabouts(pulumi.ComponentResource):
    """Its three CRDs, RBAC, the per-node DaemonSet and the one-replica reconciler, on the cluster of the
    `kubernetes` provider given in the resource options."""

    def __init__(self, name: str, args: WhereaboutsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:Whereabouts", name, None, opts)
        cfg = sections_model("Whereabouts", name, args, ("whereabouts",), WHEREABOUTS_RULES)
        register_all(name, whereabouts_objects(cfg), pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
