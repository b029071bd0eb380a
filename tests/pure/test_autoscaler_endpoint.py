"""Cluster Autoscaler in a VPC without NAT needs an endpoint eks-multus does not create: a warning, not an error.

Source: EKS user guide, "Deploy private clusters with limited internet access"
(awsdocs/amazon-eks-user-guide latest/ug/clusters/private-clusters.adoc): Cluster Autoscaler there needs
the sts and autoscaling VPC endpoints and --aws-use-static-instance-list=true.
"""

from __future__ import annotations

import json

from components.core.advice import advise
from tests.helpers import load, ns


def _fixed(flat):
    for group in ns(flat, "nodeGroups"):
        group["maxSize"] = group["minSize"] = max(group["minSize"], 1)


def test_autoscaled_groups_without_nat_warn_about_the_autoscaling_endpoint():
    (warning,) = [w for w in advise(load("static-l3")) if w.path == "vpc.natGateways"]  # its system group scales 1..2
    assert "com.amazonaws.us-east-2.autoscaling" in warning.problem and "node group system scales" in warning.problem
    assert "--aws-use-static-instance-list=true" in warning.fix


def test_no_warning_with_nat_or_fixed_size_groups():
    assert not [w for w in advise(load("static-l3", _fixed)) if w.path == "vpc.natGateways"]
    assert not [w for w in advise(load("dev")) if w.path == "vpc.natGateways"]  # NAT gateways


def test_the_endpoint_is_named_in_the_regions_own_scheme():
    """autoscaling is one of the cn.com.amazonaws services of both China Regions (core/egress.py CHINA_PREFIXED)."""
    cfg = load("static-l3", lambda flat: flat.update(json.loads(json.dumps(flat).replace("us-east-2", "cn-north-1"))))
    (warning,) = [w for w in advise(cfg) if w.path == "vpc.natGateways"]
    assert "cn.com.amazonaws.cn-north-1.autoscaling" in warning.problem
