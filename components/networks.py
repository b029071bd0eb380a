"""NetworkAttachments: one NetworkAttachmentDefinition per configured network."""

from __future__ import annotations

import pulumi

from .core.manifests import created_namespaces, nad_object, namespace_object
from .core.model import StackConfig
from .kube import register


class NetworkAttachments(pulumi.ComponentResource):
    """NADs, and the namespaces they live in; each NAD waits for the CRD, its IPAM and its namespace."""

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
        # A NAD in a namespace nobody created is refused (404); existingNamespaces are left to their owner.
        namespaces = {ns: register(name, namespace_object(ns), pulumi.ResourceOptions(parent=self)) for ns in created_namespaces(cfg)}
        for net in cfg.networks:
            own = namespaces.get(net.namespace)
            opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[own])) if own is not None else child
            register(name, nad_object(net), opts)
        self.register_outputs({})
