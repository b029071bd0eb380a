"""Write a plan to disk (resources.json, manifests/, cni/) and draw the preview tree."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from components.core.yamltext import dump_yaml

from .mocks import Registration
from .runner import PlanResult

_K8S_TOP = ("apiVersion", "kind", "metadata")


def resource_rows(result: PlanResult) -> list[dict[str, Any]]:
    rows = [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "parent": r.parent,
            "custom": r.custom,
            "inputs": r.inputs,
            "dependencies": r.dependencies,
            "options": r.options,
        }
        for r in result.registrations
    ]
    return sorted(rows, key=lambda row: row["urn"])


def kubernetes_objects(result: PlanResult) -> list[dict[str, Any]]:
    """Every Kubernetes object as the provider would apply it, from the registered inputs."""
    objects = []
    for r in result.registrations:
        if not r.type.startswith("kubernetes:") or not r.custom:
            continue
        # The wire (a protobuf Struct) does not keep key order, so sort for stable files.
        body = {k: _sorted(r.inputs[k]) for k in _K8S_TOP if k in r.inputs}
        body.update({k: _sorted(v) for k, v in sorted(r.inputs.items()) if k not in _K8S_TOP})
        objects.append(body)
    return sorted(objects, key=manifest_filename)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def manifest_filename(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{obj['kind'].lower()}_{meta.get('namespace', '_cluster')}_{meta.get('name')}.yaml"


def cni_configs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for obj in objects:
        if obj["kind"] == "NetworkAttachmentDefinition":
            meta = obj["metadata"]
            out[f"{meta.get('namespace', 'default')}_{meta['name']}.json"] = json.loads(obj["spec"]["config"])
    return out


def write_plan(result: PlanResult, out_dir: Path) -> None:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "manifests").mkdir(parents=True)
    (out_dir / "cni").mkdir()
    (out_dir / "resources.json").write_text(json.dumps(resource_rows(result), indent=2, sort_keys=True) + "\n")
    (out_dir / "outputs.json").write_text(json.dumps(result.outputs, indent=2, sort_keys=True) + "\n")
    objects = kubernetes_objects(result)
    for obj in objects:
        text = dump_yaml(obj)
        (out_dir / "manifests" / manifest_filename(obj)).write_text(text)
    for filename, conf in cni_configs(objects).items():
        (out_dir / "cni" / filename).write_text(json.dumps(conf, indent=2) + "\n")


def provider_of(type_token: str) -> str:
    if type_token.startswith("pulumi:providers:"):
        return type_token.split(":")[2]
    return type_token.split(":", 1)[0]


def tree(result: PlanResult) -> str:
    children: dict[str, list[Registration]] = defaultdict(list)
    for r in result.registrations:
        children[r.parent].append(r)
    for siblings in children.values():
        siblings.sort(key=lambda r: r.urn)
    width = max((len(r.type) for r in result.registrations), default=20) + 12
    lines = [f"     {'Type':<{width}} Name"]

    def walk(parent: str, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            branch = "" if parent == "" else ("└─ " if last else "├─ ")
            label = f"{prefix}{branch}{r.type}"
            lines.append(f" +   {label:<{width}} {r.name}")
            walk(r.urn, prefix + ("" if parent == "" else ("   " if last else "│  ")))

    walk("", "")
    counts = Counter(provider_of(r.type) for r in result.registrations if r.type != "pulumi:pulumi:Stack")
    lines.append("")
    lines.append(f"Resources: {sum(counts.values())} to create")
    for provider, n in sorted(counts.items()):
        lines.append(f"    {provider}: {n}")
    return "\n".join(lines) + "\n"
