"""ReadinessGate: the taint remover that lets pods onto a multus node only once its networks are ready."""

from __future__ import annotations

import pulumi

from .core.agent_manifests import eni_agent_objects
from .core.manifests import taint_remover_objects
from .core.model import StackConfig
from .kube import register, register_all

_POLICY_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


class ReadinessGate(pulumi.ComponentResource):
    """Admission policies first, then the remover's program, RBAC and DaemonSet (which wait for them)."""

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("eks-multus:index:ReadinessGate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        objects = taint_remover_objects(cfg) + eni_agent_objects(cfg)  # the node agent rides along (issue 14)
        policies = [register(name, o, child) for o in objects if o["kind"] in _POLICY_KINDS]
        # The remover may patch nodes only once the policies that narrow it are in place.
        after = pulumi.ResourceOptions(parent=self, depends_on=policies)
        register_all(name, [o for o in objects if o["kind"] not in _POLICY_KINDS], after)
        self.register_outputs({})
