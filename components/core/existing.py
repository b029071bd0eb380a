"""What an existing cluster must report before node groups can join it.

`aws.eks.getCluster` answers with the cluster's `version` and
`accessConfigs[0].authenticationMode` (`CONFIG_MAP`, `API` or
`API_AND_CONFIG_MAP`; pulumi-aws schema, `eks/getCluster`). Both are known only
at deploy time, so these checks run on the lookup's result, not on config.
"""

from __future__ import annotations

import re

API_MODES = ("API", "API_AND_CONFIG_MAP")
"""Authentication modes that take access entries (EKS user guide, grant access with access entries)."""
MIN_NODE_MINOR = 30
"""The AL2023 nodeadm bootstrap the launch template uses exists from Kubernetes 1.30 on."""


def existing_cluster_problems(name: str, version: str, modes: list[str]) -> list[str]:
    """Why node groups cannot join cluster `name`, one sentence each (empty when they can)."""
    problems = []
    mode = modes[0] if modes else "CONFIG_MAP"  # a cluster without an access config authenticates through aws-auth only
    if mode not in API_MODES:
        problems.append(
            f"cluster {name} uses authentication mode {mode}, but eks-multus gives its node roles EKS access entries, "
            f"which need {' or '.join(API_MODES)}; switch it with "
            f"`aws eks update-cluster-config --name {name} --access-config authenticationMode=API_AND_CONFIG_MAP` and run again"
        )
    m = re.fullmatch(r"1\.(\d+)", version)
    if m is None or int(m.group(1)) < MIN_NODE_MINOR:
        problems.append(
            f"cluster {name} runs Kubernetes {version}, and its nodes follow it; the AL2023 bootstrap needs 1.{MIN_NODE_MINOR} "
            "or later, so upgrade the cluster first"
        )
    return problems
