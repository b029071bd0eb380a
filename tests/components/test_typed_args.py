"""Components on their own, with typed args: only what they deploy, refused like stack config.

A refused input is an `ArgsError`: a `pulumi.InputPropertiesError` (pulumi/errors.py; the
provider server turns one into the engine's InvalidArgument with a property path and reason
each, pulumi 3.272.0 provider/server.py `Construct`) that is also a `pulumi.RunError`, which
the Python language host reports without a traceback (pulumi/errors.py, RunError docstring).
"""

import base64
import textwrap

import pulumi
import pytest

from components.arguments import ArgsError
from plan.mocks import PlanMocks, digest, fake_kubeconfig
from plan.runner import ProgramError, run_program
from tests.components.plan_index import of_type

HEADER = """
import pulumi
import pulumi_kubernetes as k8s
from eks_multus import Multus, NetworkAttachments, SriovDevicePlugin, Whereabouts

provider = k8s.Provider("k8s", kubeconfig="{}")
on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})
"""


def _run(tmp_path, body: str):
    main = tmp_path / "__main__.py"
    main.write_text(HEADER + textwrap.dedent(body))
    return run_program({"aws:region": "eu-central-1"}, "t", main=main, project="t", mocks=PlanMocks("eu-central-1"))


def test_multus_and_nads_need_only_what_they_deploy(tmp_path):
    result = _run(
        tmp_path,
        """
        multus = Multus("m", {"region": "eu-central-1", "multus": {"image": "upstream"}}, opts=on_cluster)
        NetworkAttachments(
            "n",
            {"networks": [{"name": "a", "namespace": "ran", "type": "ipvlan", "master": "ens6",
                           "ipam": {"type": "host-local", "subnet": "100.64.0.0/24"}}]},
            after=[multus],
            opts=on_cluster,
        )
        """,
    )
    types = {r.type for r in result.registrations}
    assert not any(t.startswith("aws:") for t in types)
    (ds,) = [d for d in of_type(result, "kubernetes:apps/v1:DaemonSet")]
    assert "ghcr.io/k8snetworkplumbingwg/multus-cni" in ds.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
    (nad,) = of_type(result, "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition")
    assert nad.inputs["metadata"] == {
        "name": "a",
        "namespace": "ran",
        **{k: v for k, v in nad.inputs["metadata"].items() if k not in ("name", "namespace")},
    }
    assert [n.inputs["metadata"]["name"] for n in of_type(result, "kubernetes:core/v1:Namespace")] == ["ran"]


def test_every_bad_argument_is_named_at_once_without_a_traceback(tmp_path):
    with pytest.raises(ProgramError) as err:
        _run(
            tmp_path,
            'Multus("m", {"region": "eu-central-1", "multus": {"memory": "100Mi", "cpu": "lots", "logLevel": "x"}}, opts=on_cluster)',
        )
    text = str(err.value)
    # Shapes first, then the rules, as for stack config; Python args are spelled in snake_case.
    assert text == "Multus 'm': 1 invalid argument:\n  - multus.logLevel: unknown key; did you mean `log_level`?"
    with pytest.raises(ProgramError) as err:
        _run(tmp_path, 'Multus("m", {"region": "eu-central-1", "multus": {"memory": "100Mi", "cpu": "lots"}}, opts=on_cluster)')
    assert "multus.memory: 100Mi is below 200Mi" in str(err.value)
    assert "multus.cpu: `lots` is not a Kubernetes quantity" in str(err.value)


def test_network_rules_run_on_the_nodes_when_given(tmp_path):
    body = """
        NetworkAttachments("n", {
            "networks": [{"name": "a", "type": "ipvlan", "master": "nope", "mode": "l9",
                          "ipam": {"type": "host-local", "subnet": "100.64.0.0/24"}}],
            "multus_subnets": [{"name": "a", "availability_zone": "eu-central-1a", "cidr": "100.64.0.0/24"}],
            "node_groups": [{"name": "g", "instance_type": "c5.xlarge", "availability_zone": "eu-central-1a",
                             "min_size": 1, "max_size": 1, "desired_size": 1, "multus_interfaces": ["a"]}],
        }, opts=on_cluster)
    """
    with pytest.raises(ProgramError) as err:
        _run(tmp_path, body)
    assert "networks[0].mode: `l9` is not allowed; use one of: l2, l3, l3s" in str(err.value)
    with pytest.raises(ProgramError) as err:
        _run(tmp_path, body.replace('"mode": "l9",', ""))
    assert "networks[0].master: no node group provides an interface named `nope`" in str(err.value)


def test_config_values_must_be_plain(tmp_path):
    with pytest.raises(ProgramError) as err:
        _run(tmp_path, 'Multus("m", {"region": pulumi.Output.from_input("eu-central-1")}, opts=on_cluster)')
    assert "region: is an Output or awaitable" in str(err.value)


def test_args_error_carries_property_paths():
    from components.core.errors import ConfigIssue

    exc = ArgsError("Multus", "m", [ConfigIssue("multus.cpu", "bad", "fix it")])
    assert isinstance(exc, pulumi.InputPropertiesError) and isinstance(exc, pulumi.RunError)
    assert exc.errors == [{"property_path": "multus.cpu", "reason": "bad; fix it"}]


NODE_PROGRAM = """
import pulumi
import pulumi_eks as eks
from eks_multus import MultusNodeGroup, MultusVpc

config = {
    "region": "eu-central-1",
    "cluster": {"name": "theirs"},
    "vpc": {"cidr": "10.60.0.0/16", "availability_zones": ["eu-central-1a", "eu-central-1b"]},
    "multus_subnets": [{"name": "a", "availability_zone": "eu-central-1a", "cidr": "100.64.0.0/24"}],
    "node_groups": [{"name": "g", "instance_type": "c5.xlarge", "availability_zone": "eu-central-1a",
                     "min_size": 1, "max_size": 1, "desired_size": 1, "multus_interfaces": ["a"]}],
}
vpc = MultusVpc("v", {"config": config})
theirs = eks.Cluster("theirs", name="theirs", vpc_id=vpc.vpc_id, skip_default_node_group=True,
                     private_subnet_ids=[vpc.private_subnet_ids[z] for z in ("eu-central-1a", "eu-central-1b")])
MultusNodeGroup("n", {"config": config, "node_group": NODE_GROUP, "node_subnet_id": vpc.private_subnet_ids["eu-central-1a"],
                      "multus_subnet_ids": vpc.multus_subnet_ids, "multus_security_group_id": vpc.multus_security_group_id,
                      "eks_cluster": theirs, "service_cidr": "172.20.0.0/16"})
"""
# serviceCidr is given: the plan mocks answer pulumi-eks's scalar outputs (kubeconfigJson,
# nodeSecurityGroupId), not its `eksCluster` resource reference, where the default comes from.


def test_node_group_joins_a_pulumi_eks_cluster_it_did_not_create(tmp_path):
    main = tmp_path / "__main__.py"
    main.write_text(NODE_PROGRAM.replace("NODE_GROUP", '"g"'))
    result = run_program({"aws:region": "eu-central-1"}, "t", main=main, project="t", mocks=PlanMocks("eu-central-1"))
    (group,) = [r for r in result.registrations if r.type == "eks-multus:index:MultusNodeGroup"]
    (cluster,) = [r for r in result.registrations if r.type == "eks:index:Cluster"]
    # Ordered after the cluster without a depends_on from the caller (the component sets its own).
    assert cluster.urn in group.dependencies
    (lt,) = [r for r in result.registrations if r.type == "aws:ec2/launchTemplate:LaunchTemplate"]
    assert lt.inputs["name"] == "theirs-g"
    # Its values come from the cluster: the node security group, and the endpoint and CA of its kubeconfig.
    assert lt.inputs["networkInterfaces"][0]["securityGroups"] == [f"sg-{digest('theirs', 'node')}"]
    kubeconfig = fake_kubeconfig("theirs")["clusters"][0]["cluster"]
    user_data = base64.b64decode(lt.inputs["userData"]).decode()
    assert kubeconfig["server"] in user_data and kubeconfig["certificate-authority-data"] in user_data


def test_node_group_names_a_group_of_the_config(tmp_path):
    main = tmp_path / "__main__.py"
    main.write_text(NODE_PROGRAM.replace("NODE_GROUP", '"nope"'))
    with pytest.raises(ProgramError) as err:
        run_program({"aws:region": "eu-central-1"}, "t", main=main, project="t", mocks=PlanMocks("eu-central-1"))
    assert "nodeGroup: `nope` is not in config.nodeGroups; use one of: g" in str(err.value)
    main.write_text(NODE_PROGRAM.replace("NODE_GROUP", '"g"').replace('"eks_cluster": theirs', '"endpoint": "https://x"'))
    with pytest.raises(ProgramError) as err:
        run_program({"aws:region": "eu-central-1"}, "t", main=main, project="t", mocks=PlanMocks("eu-central-1"))
    assert "certificateAuthority: is required but missing" in str(err.value)


def test_an_argument_the_component_does_not_take_is_refused(tmp_path):
    with pytest.raises(ProgramError) as err:
        _run(tmp_path, 'Multus("m", {"region": "eu-central-1", "mutlus": {}}, opts=on_cluster)')
    assert "mutlus: unknown argument; did you mean `multus`?" in str(err.value)
    main = tmp_path / "__main__.py"
    main.write_text(
        NODE_PROGRAM.replace("NODE_GROUP", '"g"').replace('"multus_subnet_ids": vpc.multus_subnet_ids', '"multus_subnet_ids": {}')
    )
    with pytest.raises(ProgramError) as err:
        run_program({"aws:region": "eu-central-1"}, "t", main=main, project="t", mocks=PlanMocks("eu-central-1"))
    assert "multusSubnetIds: has no id for a" in str(err.value)
