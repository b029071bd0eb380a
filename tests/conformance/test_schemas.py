"""Every planned manifest against the Kubernetes OpenAPI schemas (strict); NADs against the NAD CRD."""

from __future__ import annotations

import json

import jsonschema
import kubernetes_validate
import pytest

from components.core.manifests import NAD_CRD
from plan.render import kubernetes_objects, manifest_filename
from tests.helpers import load, planned

STACKS = ("dev", "prod", "static-l3")


def _version(stack: str) -> str:
    return f"{load(stack).cluster.kubernetes_version}.0"


@pytest.mark.parametrize("stack", STACKS)
def test_manifests_pass_strict_schema(stack):
    checked = 0
    for obj in kubernetes_objects(planned(stack)):
        if obj["kind"] == "NetworkAttachmentDefinition":
            continue
        try:
            kubernetes_validate.validate(obj, _version(stack), strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{manifest_filename(obj)}: {'.'.join(map(str, exc.path))}: {exc.message}")
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("stack", STACKS)
def test_nads_pass_the_crd_schema_and_hold_cni_json(stack):
    schema = NAD_CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    nads = [o for o in kubernetes_objects(planned(stack)) if o["kind"] == "NetworkAttachmentDefinition"]
    assert nads
    for nad in nads:
        jsonschema.validate(nad, schema)
        conf = json.loads(nad["spec"]["config"])
        assert conf["name"] == nad["metadata"]["name"]
        assert conf["cniVersion"] in ("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")


def test_strict_mode_catches_an_unknown_field():
    obj = next(o for o in kubernetes_objects(planned("dev")) if o["kind"] == "DaemonSet")
    broken = json.loads(json.dumps(obj))
    broken["spec"]["template"]["spec"]["containers"][0]["memoryLimit"] = "1Gi"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, _version("dev"), strict=True)
