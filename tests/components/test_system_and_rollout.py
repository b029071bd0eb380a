"""Node groups under mocks: a system node group, and how node groups roll and scale."""

from __future__ import annotations

import base64

from tests.components.plan_index import of_type, one
from tests.helpers import planned

LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"


def test_system_group_has_no_eni_permissions_and_no_boot_step():
    plan = planned("static-l3")
    policies = [r.name for r in of_type(plan, "aws:iam/rolePolicy:RolePolicy")]
    assert "eks-multus-edge-eni-ip" in policies and "eks-multus-system-eni-ip" not in policies
    lt = one(plan, LT, "eks-multus-system-lt")
    assert len(lt.inputs["networkInterfaces"]) == 1  # the primary ENI only
    user_data = base64.b64decode(lt.inputs["userData"]).decode()
    assert "text/cloud-config" not in user_data and "eks-multus.io/multus=true" not in user_data
    assert "eks-multus.io/multus=true" in base64.b64decode(one(plan, LT, "eks-multus-edge-lt").inputs["userData"]).decode()
