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


def _registered_options(monkeypatch, stack: str, mutate=None) -> tuple[object, dict[str, list[str]]]:
    """Plan a stack and keep each resource's ignoreChanges as the engine would receive them."""
    from plan import runner
    from plan.mocks import PlanMonitor
    from tests.helpers import planned_with

    ignored: dict[str, list[str]] = {}

    class Recording(PlanMonitor):
        def RegisterResource(self, request):  # noqa: N802
            response = super().RegisterResource(request)
            ignored[response.urn] = list(request.ignoreChanges)
            return response

    monkeypatch.setattr(runner, "PlanMonitor", Recording)
    plan = planned_with(stack, mutate or (lambda flat: None))
    return plan, ignored


def test_refresh_launches_before_it_terminates():
    # EC2 Auto Scaling: MinHealthyPercentage 100 + MaxHealthyPercentage > 100 = launch before terminating;
    # max may be 100..200 and at most 100 above min (API InstanceMaintenancePolicy / RefreshPreferences).
    asg = one(planned("dev"), ASG, "eks-multus-multus-a-asg")
    assert asg.inputs["desiredCapacity"] == 1
    prefs = asg.inputs["instanceRefresh"]["preferences"]
    assert prefs["minHealthyPercentage"] == 100
    assert 100 < prefs["maxHealthyPercentage"] <= 200 and prefs["maxHealthyPercentage"] - prefs["minHealthyPercentage"] <= 100
    # with one desired instance, the maximum must leave room for a whole second instance
    assert asg.inputs["desiredCapacity"] * prefs["maxHealthyPercentage"] / 100 >= asg.inputs["desiredCapacity"] + 1


def test_nodes_start_only_after_their_access_entry():
    plan = planned("dev")
    access = one(plan, "aws:eks/accessEntry:AccessEntry", "eks-multus-multus-a-access")
    assert access.urn in one(plan, ASG, "eks-multus-multus-a-asg").dependencies


def test_recommended_ami_unless_pinned():
    from tests.helpers import ns, planned_with

    def ami_names(plan):
        lt = one(plan, LT, "eks-multus-multus-a-lt")
        return lt.inputs["imageId"]

    recommended = "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/recommended/image_id"
    released = (
        "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/"
        "amazon-eks-node-al2023-x86_64-standard-1.35-v20260930/image_id"
    )
    from plan.mocks import digest

    # the mock answers an SSM parameter with an id derived from its name, so the id tells which parameter was read
    assert ami_names(planned("dev")) == f"ami-{digest(recommended)}"
    pinned = planned_with("dev", lambda f: ns(f, "nodeGroups")[0].update(amiReleaseVersion="v20260930"))
    assert ami_names(pinned) == f"ami-{digest(released)}"
    by_id = planned_with("dev", lambda f: ns(f, "nodeGroups")[0].update(amiId="ami-0123456789abcdef0"))
    assert ami_names(by_id) == "ami-0123456789abcdef0"


def test_fixed_size_group_keeps_desired_capacity_and_has_no_autoscaler_tags(monkeypatch):
    plan, ignored = _registered_options(monkeypatch, "dev")
    asg = one(plan, ASG, "eks-multus-multus-a-asg")
    assert ignored[asg.urn] == []
    assert not [t for t in asg.inputs["tags"] if t["key"].startswith("k8s.io/cluster-autoscaler")]


def test_autoscaled_group_is_discoverable_and_its_desired_capacity_is_left_to_the_autoscaler(monkeypatch):
    plan, ignored = _registered_options(monkeypatch, "static-l3")
    asg = one(plan, ASG, "eks-multus-system-asg")  # minSize 1, maxSize 2
    assert ignored[asg.urn] == ["desiredCapacity"]
    tags = {t["key"]: (t["value"], t["propagateAtLaunch"]) for t in asg.inputs["tags"]}
    assert tags["k8s.io/cluster-autoscaler/enabled"] == ("true", False)
    assert tags["k8s.io/cluster-autoscaler/eks-multus-static-l3"] == ("owned", False)
    assert tags["k8s.io/cluster-autoscaler/node-template/label/eks-multus.io/node-group"] == ("system", False)
    edge = one(plan, ASG, "eks-multus-edge-asg")  # fixed at 1
    assert ignored[edge.urn] == []


def test_autoscaler_node_template_carries_the_group_taints():
    from components.core.rollout import autoscaler_tags
    from tests.helpers import load, ns

    def scalable(flat):
        ns(flat, "nodeGroups")[0].update(minSize=0, maxSize=3, desiredSize=1)
        for net in ns(flat, "networks"):
            net["allowHostLocalOnMultipleNodes"] = True

    cfg = load("static-l3", scalable)
    tags = autoscaler_tags(cfg, cfg.node_groups[0])
    # value:Effect, as cluster-autoscaler's aws_manager_test.go TestExtractTaintsFromAsg parses it
    assert tags["k8s.io/cluster-autoscaler/node-template/taint/edge"] == "true:NoSchedule"
    assert tags["k8s.io/cluster-autoscaler/node-template/label/subnet.eks-multus.io/signal"] == "true"
