"""NetworkAttachments: one NetworkAttachmentDefinition per configured network."""

import pulumi

from .args import NetworkAttachmentsArgs
from .arguments import NAMESPACE_RULES, NETWORK_RULES, sections_model
from .core.address_resources import address_resource_objects
from .core.agent_manifests import eni_agent_objects
from .core.manifests import created_namespaces, nad_object, namespace_object
from .core.model import StackConfig
from .kube import register, register_all


class NetworkAttachments(pulumi.ComponentResource):
    """NADs, and the namespaces they live in; each NAD waits for the CRD, its IPAM and its namespace, on the
    cluster of the `kubernetes` provider given in the resource options."""

    def __init__(
        self,
        name: str,
        args: NetworkAttachmentsArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        after: list[pulumi.Resource] | None = None,
    ) -> None:
        super().__init__("eks-multus:index:NetworkAttachments", name, None, opts)
        cfg = _model(name, args)
        # Each NAD waits for the CRD and IPAM itself: a component's depends_on does not reach its children.
        child = pulumi.ResourceOptions(parent=self, depends_on=after or [])
        # A NAD in a namespace nobody created is refused (404); existingNamespaces are left to their owner.
        namespaces = {ns: register(name, namespace_object(ns), pulumi.ResourceOptions(parent=self)) for ns in created_namespaces(cfg)}
        for net in cfg.networks:
            own = namespaces.get(net.namespace)
            opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[own])) if own is not None else child
            register(name, nad_object(net, cfg.eni_agent.port), opts)
        # The node agent that makes the networks' pod addresses routable (issue 14): on the nodes the
        # networks run on, so only when the node groups are given.
        register_all(name, eni_agent_objects(cfg), pulumi.ResourceOptions(parent=self))
        # Routable addresses as node resources (issue 14 item 3): the capacity the taint remover advertises
        # and the policy that makes a pod ask for its addresses.
        register_all(name, address_resource_objects(cfg), pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def _model(name: str, args: NetworkAttachmentsArgs) -> StackConfig:
    """With the node groups and subnets, every network rule runs; without, those that need only the networks."""
    sections = ("networks", "existing_namespaces", "multus_subnets", "node_groups", "sriov", "eni_agent")
    full = isinstance(args, dict) and args.get("node_groups") is not None and args.get("multus_subnets") is not None
    return sections_model("NetworkAttachments", name, args, sections, NETWORK_RULES if full else NAMESPACE_RULES)
