"""The component package's schema, inferred offline by the SDK's own analyzer.

The SDK's component provider (what `component_provider_host` and our `serve` run) serves exactly this schema to `pulumi package add` and every
generated SDK (pulumi 3.272.0 sdk/python/lib/pulumi/provider/experimental/component.py:
`ComponentProvider.__init__` runs `Analyzer.analyze` and `generate_schema`). An input
without a description, a type the analyzer cannot map (it raises), or one it maps to
`pulumi.json#/Any` would reach every language's users; the schema is also written to
build/plan/schema.json (as `make schema` does) so a PR's API change shows in the plan diff.
"""

import json

import yaml

from components import package
from components.args import StackArgs
from components.core.model import StackConfig
from tests.helpers import ROOT

SCHEMA_OUT = ROOT / "build" / "plan" / "schema.json"  # where `make schema` puts it, in the plan-diff tree


def _schema() -> dict:
    spec = package.schema()
    SCHEMA_OUT.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_OUT.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    return spec


def _properties(spec: dict):
    """(where, property) for every input, output and type property, items and map values included."""
    for token, res in spec["resources"].items():
        for kind in ("inputProperties", "properties"):
            for name, prop in res.get(kind, {}).items():
                yield f"{token}.{kind}.{name}", prop
    for token, typ in spec["types"].items():
        for name, prop in typ.get("properties", {}).items():
            yield f"{token}.{name}", prop


def _typed(prop: dict) -> bool:
    if "$ref" in prop:
        return "Any" not in prop["$ref"]
    if prop.get("type") == "array":
        return _typed(prop["items"])
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return _typed(prop["additionalProperties"])
    return prop.get("type") in ("string", "integer", "number", "boolean")


def test_every_component_is_in_the_schema():
    spec = _schema()
    assert spec["name"] == "eks-multus"
    expected = {f"eks-multus:index:{c.__name__}" for c in package.COMPONENTS}
    assert set(spec["resources"]) == expected
    for token, res in spec["resources"].items():
        assert res["isComponent"] is True, token
        assert res.get("description"), token


def test_every_input_and_output_is_typed_and_described():
    spec = _schema()
    props = list(_properties(spec))
    assert len(props) > 120  # every config key of the stack model, and the outputs
    untyped = [where for where, prop in props if not _typed(prop)]
    undescribed = [where for where, prop in props if not prop.get("description")]
    assert untyped == []
    assert undescribed == []
    assert "pulumi.json#/Any" not in json.dumps(spec)


def test_components_have_outputs():
    spec = _schema()
    res = spec["resources"]
    assert set(res["eks-multus:index:MultusVpc"]["properties"]) >= {"vpcId", "privateSubnetIds", "multusSubnetIds", "multusSecurityGroupId"}
    assert set(res["eks-multus:index:MultusCluster"]["properties"]) >= {"endpoint", "kubeconfig", "certificateAuthority", "provider"}
    # A provider output refers to pulumi-kubernetes' own schema, so SDKs type it as that provider.
    assert res["eks-multus:index:MultusCluster"]["properties"]["provider"]["$ref"].startswith("/kubernetes/v4.34.2/schema.json#")


def test_stack_args_name_every_config_key():
    """StackArgs mirrors the stack model: the same keys, so the same rules check both."""
    spec = _schema()
    stack_type = spec["resources"]["eks-multus:index:MultusPlatform"]["inputProperties"]["config"]["$ref"].rsplit("/", 1)[-1]
    keys = set(spec["types"][stack_type]["properties"])
    assert keys == {f.alias or n for n, f in StackConfig.model_fields.items()}
    assert set(StackArgs.__annotations__) == set(StackConfig.model_fields)
    for model_name, section in (("vpc", "VpcArgs"), ("cluster", "ClusterArgs"), ("node_groups", "NodeGroupArgs")):
        model = _model_of(model_name)
        props = set(spec["types"][f"eks-multus:index:{section}"]["properties"])
        assert props == {f.alias or n for n, f in model.model_fields.items()}, section
    # IpamArgs flattens the IPAM types: every type and every field of each type must be there.
    from components.args import IpamType
    from components.core.loader import _TAGGED
    from components.core.model import SUPPORTED_IPAM_TYPES

    ipam = set(spec["types"]["eks-multus:index:IpamArgs"]["properties"])
    assert {t.value for t in IpamType} == set(SUPPORTED_IPAM_TYPES)
    for tag in SUPPORTED_IPAM_TYPES:
        fields = {f.alias or n for n, f in _TAGGED[tag].model_fields.items()}
        assert fields <= ipam, (tag, fields - ipam)


def _model_of(field: str):
    from components.core import model

    return {"vpc": model.VpcConfig, "cluster": model.ClusterConfig, "node_groups": model.NodeGroup}[field]


def test_plugin_files():
    plugin = yaml.safe_load((ROOT / "components" / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"
    assert plugin["requiredPulumiVersion"] == yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["requiredPulumiVersion"]
    main = (ROOT / "components" / "__main__.py").read_text()
    assert "serve(sys.argv[1:])" in main
    pins = (ROOT / "components" / "requirements.txt").read_text()
    assert pins == (ROOT / "requirements.txt").read_text().replace(
        "# Runtime dependencies of the Pulumi program and the component library (exact pins).",
        "# Runtime dependencies of the component package (exact pins, as the root requirements.txt).",
    )


def test_readme_api_table_lists_every_component_input_and_output():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use it from your own program", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().strip("`"): line for line in section.splitlines() if line.startswith("| `")}
    spec = _schema()
    for token, res in spec["resources"].items():
        name = token.rsplit(":", 1)[-1]
        assert name in rows, name
        args, outputs = rows[name].split("|")[2], rows[name].split("|")[3]
        for key in res["inputProperties"]:
            assert f"`{key}`" in args, (name, key)
            assert (f"**`{key}`**" in args) == (key in res.get("requiredInputs", [])), (name, key)
        for key in res.get("properties", {}):
            assert f"`{key}`" in outputs, (name, key)


def test_type_checkers_see_every_lazy_export():
    import ast

    import components

    tree = ast.parse((ROOT / "components" / "__init__.py").read_text())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    names = {a.asname or a.name for imp in guarded.body for a in imp.names}  # type: ignore[attr-defined]
    assert names == set(components.__all__)
    for name in components.__all__:
        assert getattr(components, name) is not None


def test_the_plugin_entry_point_starts_the_provider_host(tmp_path):
    """As the CLI runs a Python plugin: the folder as a script, then engine address args (host.py).

    Without an engine address the host's argument parser stops it; it gets there only after
    importing every component and inferring the schema (`ComponentProvider.__init__`).
    """
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "components")], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "the following arguments are required: engine" in proc.stderr
    assert "Traceback" not in proc.stderr


PROVIDER_PROGRAM = """
import pulumi
from components.package import EksMultusProvider, COMPONENTS, NAME, VERSION

provider = EksMultusProvider(COMPONENTS, NAME, None, VERSION)
try:
    provider.construct("m", "eks-multus:index:Multus", {"region": "eu-central-1", "multus": {"memory": "100Mi", "cpu": "lots", "logLevel": "debug"}})
except Exception as exc:
    pulumi.export("type", type(exc).__name__)
    pulumi.export("run_error", isinstance(exc, pulumi.RunError))
    pulumi.export("errors", exc.errors)
"""


def test_refused_args_reach_the_engine_as_bad_inputs(tmp_path):
    """Hosted, the SDK's provider maps schema names to Python names (`logLevel` -> `log_level`, its enum
    checked by the SDK itself), and a refusal leaves construct as a plain InputPropertiesError, which provider/server.py `Construct`
    turns into InvalidArgument with the property paths (a RunError would be let through first)."""
    from plan.mocks import PlanMocks
    from plan.runner import run_program

    main = tmp_path / "__main__.py"
    main.write_text(PROVIDER_PROGRAM)
    result = run_program({"aws:region": "eu-central-1"}, "t", main=main, project="t", mocks=PlanMocks("eu-central-1"))
    assert result.outputs["type"] == "InputPropertiesError"
    assert result.outputs["run_error"] is False
    assert result.outputs["errors"] == [
        {"property_path": "multus.cpu", "reason": "`lots` is not a Kubernetes quantity; write it like 100m"},
        {
            "property_path": "multus.memory",
            "reason": (
                "100Mi is below 200Mi; the Multus daemon is OOM-killed under bursts of pod creation; use at least 200Mi (256Mi is the default)"
            ),
        },
    ]


HOSTED_NADS = """
import pulumi
import pulumi_kubernetes as k8s
from components.package import EksMultusProvider, COMPONENTS, NAME, VERSION

provider = EksMultusProvider(COMPONENTS, NAME, None, VERSION)
cluster = k8s.Provider("k8s", kubeconfig="{}")
provider.construct(
    "n",
    "eks-multus:index:NetworkAttachments",
    {"existingNamespaces": ["ran"], "networks": [{"name": "a", "namespace": "ran", "type": "ipvlan", "master": "ens6",
     "cniVersion": "1.0.0", "ipam": {"type": "host-local", "subnet": "100.64.0.0/24", "rangeStart": "100.64.0.10"}}]},
    pulumi.ResourceOptions(providers={"kubernetes": cluster}),
)
"""


def test_hosted_inputs_in_schema_spelling_build_the_same_objects(tmp_path):
    """Another language's SDK sends camelCase inputs; the SDK maps them to the TypedDicts' Python names,
    nested types included (component.py `map_input_properties`), so the component sees what Python passes."""
    import json as _json

    from plan.mocks import PlanMocks
    from plan.runner import run_program

    main = tmp_path / "__main__.py"
    main.write_text(HOSTED_NADS)
    result = run_program({"aws:region": "eu-central-1"}, "t", main=main, project="t", mocks=PlanMocks("eu-central-1"))
    (nad,) = [r for r in result.registrations if r.type == "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition"]
    conf = _json.loads(nad.inputs["spec"]["config"])
    assert conf["cniVersion"] == "1.0.0"
    assert conf["plugins"][0]["ipam"]["rangeStart"] == "100.64.0.10"
    assert not [r for r in result.registrations if r.type == "kubernetes:core/v1:Namespace"]  # ran exists already
