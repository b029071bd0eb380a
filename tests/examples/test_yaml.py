"""examples/yaml: a Pulumi YAML program using the component package.

The offline plan cannot run YAML (no Pulumi CLI or YAML language host here), so this
checks the program against the schema the package serves: every eks-multus resource
names a component of the schema, and every property it sets, at any depth, is an input
the schema has there. Pulumi YAML looks properties up by their schema names (camelCase),
pulumi-yaml pkg/pulumiyaml/analyser.go (unknown property errors at `pulumi preview`).
"""

from typing import Any

import yaml

from components import package
from components.arguments import MULTUS_RULES, NAMESPACE_RULES, WHEREABOUTS_RULES, sections_model
from tests.helpers import ROOT

PROGRAM = ROOT / "examples" / "yaml" / "Pulumi.yaml"


def _unknown(value: Any, prop: dict, types: dict, path: str) -> list[str]:
    if "$ref" in prop and prop["$ref"].startswith("#/types/"):
        typ = types[prop["$ref"].removeprefix("#/types/")]
        if "enum" in typ:
            allowed = {e["value"] for e in typ["enum"]}
            return [] if value in allowed else [f"{path}: {value!r} is not one of {sorted(allowed)}"]
        return _unknown_in(value, typ.get("properties", {}), types, path)
    if prop.get("type") == "array":
        return [m for i, v in enumerate(value) for m in _unknown(v, prop["items"], types, f"{path}[{i}]")]
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return [m for k, v in value.items() for m in _unknown(v, prop["additionalProperties"], types, f"{path}.{k}")]
    return []


def _unknown_in(values: dict, props: dict, types: dict, path: str) -> list[str]:
    problems = []
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        if key not in props:
            problems.append(f"{where}: not an input of the schema")
        else:
            problems.extend(_unknown(value, props[key], types, where))
    return problems


def test_the_yaml_program_names_only_inputs_the_schema_has():
    program = yaml.safe_load(PROGRAM.read_text())
    assert program["runtime"] == "yaml"
    assert program["packages"]["eks-multus"] == "../../components"
    spec = package.schema()
    ours = {n: r for n, r in program["resources"].items() if r["type"].startswith("eks-multus:")}
    assert len(ours) == 3
    problems = []
    for name, res in ours.items():
        component = spec["resources"].get(res["type"])
        assert component is not None, res["type"]
        required = set(component.get("requiredInputs", []))
        missing = required - set(res.get("properties", {}))
        problems += [f"{name}.{m}: required input missing" for m in sorted(missing)]
        problems += _unknown_in(res.get("properties", {}), component["inputProperties"], spec["types"], name)
    assert problems == []


def test_a_misspelt_input_would_be_found():
    spec = package.schema()
    inputs = spec["resources"]["eks-multus:index:NetworkAttachments"]["inputProperties"]
    bad = {"networks": [{"name": "a", "type": "ipvlan", "mastr": "x", "ipam": {"type": "static", "range_start": "x"}}]}
    assert _unknown_in(bad, inputs, spec["types"], "n") == [
        "n.networks[0].mastr: not an input of the schema",
        "n.networks[0].ipam.range_start: not an input of the schema",
    ]
    assert _unknown_in({"networks": [{"type": "macvlan"}]}, inputs, spec["types"], "n")[0].startswith("n.networks[0].type: 'macvlan'")


def test_the_yaml_programs_values_pass_the_components_own_rules():
    """What the YAML program sets, in Python's spelling, is accepted as the component accepts it."""
    from pydantic.alias_generators import to_snake

    def snake(value: Any) -> Any:
        if isinstance(value, dict):
            return {to_snake(k): snake(v) for k, v in value.items()}
        if isinstance(value, list):
            return [snake(v) for v in value]
        return value

    program = yaml.safe_load(PROGRAM.read_text())
    nets = snake(program["resources"]["networks"]["properties"])
    model = sections_model("NetworkAttachments", "networks", nets, ("networks", "existing_namespaces"), NAMESPACE_RULES)
    assert [n.name for n in model.networks] == ["fronthaul", "oam"]
    multus = snake(program["resources"]["multus"]["properties"])
    multus["region"] = program["config"]["region"]["default"]
    sections_model("Multus", "multus", multus, ("region", "multus"), MULTUS_RULES)
    whereabouts = snake(program["resources"]["whereabouts"]["properties"])
    sections_model("Whereabouts", "whereabouts", whereabouts, ("whereabouts",), WHEREABOUTS_RULES)
