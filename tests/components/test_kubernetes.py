"""The Kubernetes layer under mocks: objects, fields, ordering and provider."""

from __future__ import annotations

import json

from components.core.manifests import CHECKSUM_ANNOTATION, checksum, multus_objects
from components.core.quantity import parse_quantity
from plan.render import kubernetes_objects
from tests.components.plan_index import of_type, one
from tests.helpers import load, ns, planned

DS = "kubernetes:apps/v1:DaemonSet"
NAD = "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition"
CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


def _objects(stack):
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in kubernetes_objects(planned(stack))}


def _pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def test_every_kubernetes_resource_uses_the_cluster_provider():
    for stack in ("dev", "prod"):
        result = planned(stack)
        provider = one(result, "pulumi:providers:kubernetes", "eks-multus-cluster-k8s")
        k8s = [r for r in result.registrations if r.type.startswith("kubernetes:") and r.custom]
        assert k8s and all(r.provider.startswith(provider.urn) for r in k8s)


def test_multus_daemonset_is_guaranteed_node_critical_and_not_on_fargate():
    ds = _objects("dev")[("DaemonSet", "kube-system", "kube-multus-ds")]
    spec = _pod_spec(ds)
    assert spec["priorityClassName"] == "system-node-critical"
    assert {"operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert {"operator": "Exists", "effect": "NoExecute"} in spec["tolerations"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["fargate"]} in terms["matchExpressions"]
    for c in spec["containers"] + spec["initContainers"]:
        assert c["resources"]["requests"] == c["resources"]["limits"], c["name"]
    memory = spec["containers"][0]["resources"]["limits"]["memory"]
    assert parse_quantity(memory) >= 200 * 2**20
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}


def test_multus_uses_the_regional_eks_image_and_its_copy_step():
    spec = _pod_spec(_objects("dev")[("DaemonSet", "kube-system", "kube-multus-ds")])
    image = spec["containers"][0]["image"]
    assert image == "602401143452.dkr.ecr.ap-northeast-2.amazonaws.com/eks/multus-cni:v4.1.4-eksbuild.3_thick"
    assert spec["initContainers"][0]["command"][:2] == ["cp", "-f"]


def test_multus_upstream_image_uses_install_multus():

    def upstream(flat):
        ns(flat, "multus")["image"] = "upstream"

    ds = multus_objects(load("dev", upstream))[-1]
    spec = _pod_spec(ds)
    assert spec["containers"][0]["image"] == "ghcr.io/k8snetworkplumbingwg/multus-cni:v4.3.0-thick"
    assert spec["initContainers"][0]["command"][0].endswith("install_multus")


def test_multus_daemon_config_delegates_to_aws_cni_and_rolls_pods_on_change():

    objs = _objects("dev")
    cm = objs[("ConfigMap", "kube-system", "multus-daemon-config")]
    config = json.loads(cm["data"]["daemon-config.json"])
    assert config["multusMasterCNI"] == "10-aws.conflist"
    assert config["cniVersion"] == "0.3.1"
    assert config["socketDir"] == "/host/run/multus/"
    ds = objs[("DaemonSet", "kube-system", "kube-multus-ds")]
    annotation = ds["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION]
    assert annotation == checksum(cm["data"]["daemon-config.json"])

    def verbose_off(flat):
        ns(flat, "multus")["logLevel"] = "error"

    other = multus_objects(load("dev", verbose_off))[-1]
    assert other["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION] != annotation


def test_multus_rbac_lets_it_write_network_status():
    objs = _objects("dev")
    rules = objs[("ClusterRole", None, "multus")]["rules"]
    assert any("pods/status" in r["resources"] and "update" in r["verbs"] for r in rules)
    binding = objs[("ClusterRoleBinding", None, "multus")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "multus", "namespace": "kube-system"}]


def test_nads_wait_for_the_crd_and_ipam():
    for stack in ("dev", "prod"):
        result = planned(stack)
        crd = one(result, CRD, "eks-multus-multus-customresourcedefinition-network-attachment-definitions.k8s.cni.cncf.io")
        multus_ds = one(result, DS, "eks-multus-multus-daemonset-kube-system/kube-multus-ds")
        assert crd.urn in multus_ds.dependencies
        for nad in of_type(result, NAD):
            assert crd.urn in nad.dependencies, nad.name
    prod = planned("prod")
    ippools = one(prod, CRD, "eks-multus-whereabouts-customresourcedefinition-ippools.whereabouts.cni.cncf.io")
    for nad in of_type(prod, NAD):
        assert ippools.urn in nad.dependencies, nad.name


def test_dev_nad_matches_the_seed():
    nad = _objects("dev")[("NetworkAttachmentDefinition", "default", "ipvlan-conf-1")]
    conflist = json.loads(nad["spec"]["config"])
    assert conflist["cniVersion"] == "0.3.0" and conflist["name"] == "ipvlan-conf-1"
    conf, chained = conflist["plugins"]
    assert conf["master"] == "ens6" and conf["mode"] == "l2" and conf["cniVersion"] == "0.3.0"
    assert chained == {"type": "eks-multus-eni-ip", "master": "ens6"}
    assert conf["ipam"]["rangeStart"] == "100.64.30.10" and conf["ipam"]["rangeEnd"] == "100.64.30.100"


def test_whereabouts_only_when_used_with_one_reconciler():
    dev, prod = _objects("dev"), _objects("prod")
    assert not any(k[2].startswith("whereabouts") or "whereabouts" in k[2] for k in dev)
    crds = sorted(k[2] for k in prod if k[0] == "CustomResourceDefinition" and "whereabouts" in k[2])
    assert crds == [
        "ippools.whereabouts.cni.cncf.io",
        "nodeslicepools.whereabouts.cni.cncf.io",
        "overlappingrangeipreservations.whereabouts.cni.cncf.io",
    ]
    reconciler = prod[("Deployment", "kube-system", "whereabouts-reconciler")]
    assert reconciler["spec"]["replicas"] == 1
    assert reconciler["spec"]["strategy"] == {"type": "Recreate"}
    ds = prod[("DaemonSet", "kube-system", "whereabouts")]
    assert _pod_spec(ds)["containers"][0]["image"] == "ghcr.io/k8snetworkplumbingwg/whereabouts:v0.9.4"


def test_sriov_device_plugin_pins_multus_enis_and_runs_on_multus_nodes():

    prod = _objects("prod")
    cm = prod[("ConfigMap", "kube-system", "sriovdp-config")]
    config = json.loads(cm["data"]["config.json"])
    pool = config["resourceList"][0]
    assert pool["resourceName"] == "aws_ena_vf" and pool["resourcePrefix"] == "intel.com"
    assert pool["selectors"] == [{"vendors": ["1d0f"], "devices": ["ec20"], "drivers": ["ena"], "pciAddresses": ["0000:00:07.0"]}]
    ds = prod[("DaemonSet", "kube-system", "kube-sriov-device-plugin")]
    assert _pod_spec(ds)["nodeSelector"] == {"eks-multus.io/multus": "true"}
    assert _pod_spec(ds)["containers"][0]["image"].endswith(":v3.11.0")
    assert ds["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION] == checksum(cm["data"]["config.json"])
    assert not any(k[2] == "sriovdp-config" for k in _objects("dev"))


def test_no_image_floats():
    for stack in ("dev", "prod"):
        for obj in _objects(stack).values():
            if obj["kind"] in ("DaemonSet", "Deployment"):
                spec = _pod_spec(obj)
                for c in spec.get("initContainers", []) + spec["containers"]:
                    tag = c["image"].rsplit(":", 1)[1]
                    assert tag not in ("latest", "stable", "stable-thick", "snapshot-thick"), c["image"]
