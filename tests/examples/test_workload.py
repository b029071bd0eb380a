"""examples/workload: a second program that reads the dev plan's outputs through a StackReference."""

from __future__ import annotations

import pytest

from components.core.userdata import node_labels
from plan.mocks import PlanMocks, fake_kubeconfig
from plan.render import kubernetes_objects
from plan.runner import ProgramError, run_program
from tests.components.plan_index import of_type
from tests.helpers import ROOT, load, planned

MAIN = ROOT / "examples" / "workload" / "__main__.py"
REF = "organization/eks-multus/dev"


def _run(**config: str):
    """The workload against the dev platform's real (planned) outputs."""
    outputs = dict(planned("dev").outputs)
    outputs["kubeconfig"] = str(fake_kubeconfig("eks-multus-dev"))  # the plan masks secrets; any text will do here
    flat = {"eks-multus-workload:platformStack": REF, **{f"eks-multus-workload:{k}": v for k, v in config.items()}}
    mocks = PlanMocks("ap-northeast-2", stack_references={REF: outputs})
    return run_program(flat, "dev", main=MAIN, project="eks-multus-workload", mocks=mocks)


def test_the_seed_pod_joins_the_seed_network_on_nodes_that_carry_its_subnet():
    result = _run()
    (pod,) = of_type(result, "kubernetes:core/v1:Pod")
    meta, spec = pod.inputs["metadata"], pod.inputs["spec"]
    assert meta["name"] == "sampleapp-1" and meta["namespace"] == "default"
    assert meta["annotations"] == {"k8s.v1.cni.cncf.io/networks": "default/ipvlan-conf-1"}
    assert spec["nodeSelector"] == {"subnet.eks-multus.io/multus-a": "true"}
    # ...which is a label the dev node group really puts on its nodes
    assert spec["nodeSelector"].items() <= node_labels(load("dev").node_groups[0]).items()
    assert spec["containers"][0]["image"] == "nicolaka/netshoot:v0.13"
    assert result.outputs["pod"] == "default/sampleapp-1"


def test_the_pod_goes_through_a_provider_built_from_the_platform_kubeconfig():
    result = _run()
    (provider,) = of_type(result, "pulumi:providers:kubernetes")
    (pod,) = of_type(result, "kubernetes:core/v1:Pod")
    assert pod.provider.startswith(provider.urn)
    assert provider.inputs["kubeconfig"] == "[secret]"  # the platform's secret output stays secret


def test_another_network_of_the_platform_is_a_config_change():
    # prod's outputs: the workload follows the network's namespace, annotation and node selector
    outputs = dict(planned("prod").outputs, kubeconfig="k")
    mocks = PlanMocks("ap-northeast-2", stack_references={"o/eks-multus/prod": outputs})
    flat = {"eks-multus-workload:platformStack": "o/eks-multus/prod", "eks-multus-workload:network": "default/ipvlan-c"}
    result = run_program(flat, "prod", main=MAIN, project="eks-multus-workload", mocks=mocks)
    (pod,) = of_type(result, "kubernetes:core/v1:Pod")
    assert pod.inputs["spec"]["nodeSelector"] == {"subnet.eks-multus.io/multus-c": "true"}


def test_a_network_the_platform_lacks_is_a_clear_error():
    with pytest.raises(ProgramError) as err:
        _run(network="default/nope")
    assert "eks-multus-workload:network: `default/nope` is not a network" in str(err.value)
    assert "default/ipvlan-conf-1" in str(err.value)


def test_the_pod_tolerates_the_taints_of_the_nodes_that_carry_its_network():
    # static-l3's edge nodes carry the `edge=true:NoSchedule` taint; the platform's outputs say so per network
    outputs = dict(planned("static-l3").outputs, kubeconfig="k")
    assert outputs["networks"]["telco/media"]["tolerations"] == [
        {"key": "edge", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]
    mocks = PlanMocks("us-east-2", stack_references={"o/eks-multus/static-l3": outputs})
    flat = {"eks-multus-workload:platformStack": "o/eks-multus/static-l3", "eks-multus-workload:network": "telco/media"}
    result = run_program(flat, "static-l3", main=MAIN, project="eks-multus-workload", mocks=mocks)
    (pod,) = of_type(result, "kubernetes:core/v1:Pod")
    assert pod.inputs["spec"]["tolerations"] == outputs["networks"]["telco/media"]["tolerations"]
    assert pod.inputs["spec"]["nodeSelector"] == {"subnet.eks-multus.io/media": "true"}
    assert pod.inputs["metadata"]["namespace"] == "telco"


@pytest.mark.parametrize(
    ("stack", "network", "resource"),
    [("prod", "default/ipvlan-c", "addresses.eks-multus.io/multus-c"), ("dev", None, "addresses.eks-multus.io/ens6")],
)
def test_the_pod_asks_for_its_address_and_passes_the_platforms_policy(stack, network, resource):
    """The workload's pod against the very policy the platform's plan registers (CEL as in tests/pure)."""
    policy_check = pytest.importorskip("tests.pure.test_address_resources")  # its admit(): tests/cel.py with a pod request
    outputs = dict(planned(stack).outputs, kubeconfig="k")
    ref = f"o/eks-multus/{stack}"
    flat = {"eks-multus-workload:platformStack": ref, **({"eks-multus-workload:network": network} if network else {})}
    result = run_program(
        flat, stack, main=MAIN, project="eks-multus-workload", mocks=PlanMocks("ap-northeast-2", stack_references={ref: outputs})
    )
    (pod,) = of_type(result, "kubernetes:core/v1:Pod")
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": pod.inputs["metadata"], "spec": pod.inputs["spec"]}
    assert obj["spec"]["containers"][0]["resources"]["limits"][resource] == "1"
    (policy,) = [
        o
        for o in kubernetes_objects(planned(stack))
        if o["kind"] == "ValidatingAdmissionPolicy" and o["metadata"]["name"].startswith("eks-multus-address-requests")
    ]
    assert policy_check.admit(policy, obj) is None
    del obj["spec"]["containers"][0]["resources"]["limits"][resource]
    assert resource in policy_check.admit(policy, obj)
