"""NetworkAttachments: one NetworkAttachmentDefinition per configured network."""

from __future__ import annotations

import pulumi

from .core.manifests import nad_object
from .core.model import StackConfig
from .kube import register


class NetworkAttachments(pulumi.ComponentResource):
    """NADs; created only after the CRD (and the IPAM they name) exist."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        after: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("eks-multus:index:NetworkAttachments", name, None, opts)
        # Each NAD waits for the CRD and IPAM itself: a component's depends_on does not reach its children.
        child = pulumi.ResourceOptions(parent=self, depends_on=after or [])
        for net in cfg.networks:
            register(name, nad_object(net), child)
        self.register_outputs({})
