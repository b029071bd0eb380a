"""How a node group's instances are replaced and scaled: AMI choice, instance refresh, autoscaler tags.

- AMI: the SSM parameter `.../recommended/image_id` moves whenever AWS publishes an
  AMI, so every `pulumi up` after that replaces every node. A release pin names the
  dated parameter instead (same path scheme Karpenter resolves `al2023@vYYYYMMDD` with,
  aws/karpenter-provider-aws pkg/providers/amifamily/al2023.go); an AMI id is used as is.
- Instance refresh: MinHealthyPercentage 100 with MaxHealthyPercentage above 100 makes
  EC2 Auto Scaling launch a replacement before it terminates an instance (EC2 Auto
  Scaling user guide, instance maintenance policies: "Launch before terminating"; API
  RefreshPreferences: max 100..200, at most 100 above the minimum). 200 lets a group of
  one launch its replacement; a refresh may then run up to twice the desired capacity.
- Cluster Autoscaler discovers groups tagged `k8s.io/cluster-autoscaler/enabled` and
  `k8s.io/cluster-autoscaler/<cluster>`, and builds scale-from-zero node templates from
  `k8s.io/cluster-autoscaler/node-template/label/<name>` = value and
  `.../node-template/taint/<key>` = `value:Effect` (kubernetes/autoscaler
  cluster-autoscaler/cloudprovider/aws/README.md; aws_manager_test.go TestExtractTaintsFromAsg).
"""

from __future__ import annotations

from .limits import al2023_ami_parameter, architecture
from .model import NodeGroup, StackConfig
from .userdata import node_labels

MIN_HEALTHY_PERCENTAGE = 100
MAX_HEALTHY_PERCENTAGE = 200
AUTOSCALER_ENABLED_TAG = "k8s.io/cluster-autoscaler/enabled"
AUTOSCALER_PREFIX = "k8s.io/cluster-autoscaler"


def ami_parameter(kubernetes_version: str, group: NodeGroup) -> str | None:
    """SSM parameter that holds the node AMI id, or None when the group pins an AMI id."""
    if group.ami_id:
        return None
    if not group.ami_release_version:
        return al2023_ami_parameter(kubernetes_version, group.instance_type)
    arch = architecture(group.instance_type)
    name = f"amazon-eks-node-al2023-{arch}-standard-{kubernetes_version}-{group.ami_release_version}"
    return f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{arch}/standard/{name}/image_id"


def refresh_preferences() -> dict[str, int]:
    return {"min_healthy_percentage": MIN_HEALTHY_PERCENTAGE, "max_healthy_percentage": MAX_HEALTHY_PERCENTAGE}


def max_refresh_surge(group: NodeGroup) -> int:
    """Instances a refresh may launch on top of the group's capacity (desired may reach maxSize)."""
    return -(-group.max_size * (MAX_HEALTHY_PERCENTAGE - 100) // 100)


def is_autoscaled(group: NodeGroup) -> bool:
    """minSize != maxSize: an autoscaler owns desiredCapacity, so the program leaves it alone after creation."""
    return group.min_size != group.max_size


def autoscaler_tags(cfg: StackConfig, group: NodeGroup) -> dict[str, str]:
    """ASG tags Cluster Autoscaler reads (none for a fixed-size group)."""
    if not is_autoscaled(group):
        return {}
    tags = {AUTOSCALER_ENABLED_TAG: "true", f"{AUTOSCALER_PREFIX}/{cfg.cluster_name}": "owned"}
    for key, value in node_labels(group).items():
        tags[f"{AUTOSCALER_PREFIX}/node-template/label/{key}"] = value
    for taint in group.taints:
        tags[f"{AUTOSCALER_PREFIX}/node-template/taint/{taint.key}"] = f"{taint.value}:{taint.effect}"
    return dict(sorted(tags.items()))
