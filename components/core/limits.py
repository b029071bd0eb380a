"""EC2 instance networking limits (ENIs and IPv4 addresses per ENI)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class InstanceLimits:
    instance_type: str
    max_enis: int
    ipv4_per_eni: int
    hypervisor: str

    def max_pods(self, multus_enis: int) -> int:
        """kubelet maxPods when `multus_enis` ENIs are kept away from the VPC CNI.

        Same formula as the EKS AMI (enis * (ips - 1) + 2), counting only the
        ENIs the VPC CNI may use; counting the multus ENIs would let the
        scheduler place pods the VPC CNI has no addresses for.
        """
        usable = self.max_enis - multus_enis
        return max(usable, 1) * (self.ipv4_per_eni - 1) + 2


@lru_cache(maxsize=1)
def _table() -> dict[str, dict]:
    text = resources.files(__package__).joinpath("data/instance-networking-limits.json").read_text()
    return json.loads(text)["instanceTypes"]


def instance_limits(instance_type: str) -> InstanceLimits | None:
    row = _table().get(instance_type)
    if row is None:
        return None
    return InstanceLimits(instance_type, int(row["maxEnis"]), int(row["ipv4PerEni"]), str(row.get("hypervisor", "")))


def known_instance_types() -> tuple[str, ...]:
    return tuple(sorted(_table()))


_GRAVITON = re.compile(r"^[a-z]+\d+[a-z-]*g[a-z-]*\.")


def architecture(instance_type: str) -> str:
    """`arm64` for Graviton types (a1, m6g, c7gn, ...), else `x86_64`."""
    return "arm64" if instance_type.startswith("a1.") or _GRAVITON.match(instance_type) else "x86_64"


def al2023_ami_parameter(kubernetes_version: str, instance_type: str) -> str:
    """SSM parameter holding the recommended EKS AL2023 AMI for a version and type."""
    return (
        f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{architecture(instance_type)}/standard/recommended/image_id"
    )
