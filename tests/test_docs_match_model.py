"""The documentation matches the model: every key the loader accepts, with its default and range.

The keys are walked from the pydantic models (tests/model_schema.py). Pulumi.yaml
cannot describe nested keys with `properties` (pulumi/pulumi
sdk/go/common/workspace/project.json: `configTypeDeclaration` has
`additionalProperties: false`), so each top-level key's description lists its
keys as `path (spec)` separated by `; `, where spec starts with `required`,
`default X` (the model's default) or `default: <what happens>` (computed), then
the range `min..max` and `one of a | b` where the model has them. The README's
config reference has one row per key: `| full.path | default | range / choices | what |`.
"""

from __future__ import annotations

import re

from tests.helpers import ROOT
from tests.model_schema import Key, top_level
from tests.pulumi_cli import load_project

PROJECT = load_project(ROOT / "Pulumi.yaml")
README = (ROOT / "README.md").read_text()
ENTRY = re.compile(r"^(?P<path>\S+) \((?P<spec>.*)\)$")
ROW = re.compile(r"^\| `(?P<path>[^`]+)` \| (?P<default>[^|]*) \| (?P<range>(?:[^|]|\\\|)*) \| (?P<what>.*) \|$")


def _entries(description: str) -> dict[str, str]:
    if " Keys - " not in description:
        return {}
    listed = description.split(" Keys - ", 1)[1].rstrip(".")
    out = {}
    for part in listed.split("; "):
        m = ENTRY.match(part)
        assert m, f"cannot read the entry {part!r}: write `path (spec)`"
        out[m["path"]] = m["spec"]
    return out


def _relative(key: Key) -> str:
    return key.path[3:] if key.path.startswith("[].") else key.path


def _full(top: str, key: Key) -> str:
    if key.path.startswith("["):
        return f"{top}{key.path}"
    return f"{top}.{key.path}"


def _spec_problems(key: Key, spec: str) -> list[str]:
    problems = []
    if key.required and not spec.startswith("required"):
        problems.append("is required in the model: start the spec with `required`")
    elif key.default is not None and not spec.startswith(f"default {key.default}"):
        problems.append(f"model default is {key.default}: start the spec with `default {key.default}`")
    elif not key.required and key.default is None and not spec.startswith("default: "):
        problems.append("model default is computed: start the spec with `default: <what happens>`")
    if key.bounds and key.bounds not in spec:
        problems.append(f"model range is {key.bounds}: add it")
    if key.choices and f"one of {' | '.join(key.choices)}" not in spec:
        problems.append(f"model choices are {' | '.join(key.choices)}: add `one of {' | '.join(key.choices)}`")
    return problems


def test_pulumi_yaml_describes_every_key_with_its_default_and_range():
    problems = []
    for top, keys in top_level().items():
        entry = PROJECT["config"].get(top)
        if entry is None:
            problems.append(f"Pulumi.yaml config: no entry for `{top}`")
            continue
        head = keys[0]
        if head.required and "default" in entry:
            problems.append(f"Pulumi.yaml config.{top}: has a default, but the model requires it")
        if not head.required and entry.get("default") is None:
            problems.append(f"Pulumi.yaml config.{top}: needs `default: {head.default}` (the CLI requires keys without one)")
        listed = _entries(entry.get("description", ""))
        for key in keys[1:]:
            spec = listed.pop(_relative(key), None)
            if spec is None:
                problems.append(f"Pulumi.yaml config.{top} description: no entry for `{_relative(key)}`")
                continue
            problems += [f"Pulumi.yaml config.{top} description, `{_relative(key)}`: {p}" for p in _spec_problems(key, spec)]
        problems += [f"Pulumi.yaml config.{top} description: `{path}` is not a key of the model" for path in listed]
    assert not problems, "\n".join(problems)


def test_readme_config_reference_has_a_row_per_key():
    rows = {m["path"]: m for line in README.splitlines() if (m := ROW.match(line))}
    problems = []
    for top, keys in top_level().items():
        head = keys[0]
        intro = f"**`eks-multus:{top}`** ({'required' if head.required else f'optional, default `{head.default}`'})"
        if intro not in README:
            problems.append(f"README config reference: no `{intro}` paragraph")
        for key in keys[1:]:
            path = _full(top, key)
            row = rows.get(path)
            if row is None:
                problems.append(f"README config reference: no row for `{path}`")
                continue
            default, rng = row["default"].strip(), row["range"]
            if key.required and default != "required":
                problems.append(f"README `{path}`: default column must say required")
            elif key.default is not None and default != f"`{key.default}`":
                problems.append(f"README `{path}`: default column must be `{key.default}`")
            elif not key.required and key.default is None and default in ("", "required"):
                problems.append(f"README `{path}`: default column must say what happens without it")
            if key.bounds and key.bounds not in rng:
                problems.append(f"README `{path}`: range column must have {key.bounds}")
            for choice in key.choices:
                if f"`{choice}`" not in rng:
                    problems.append(f"README `{path}`: range column must list `{choice}`")
    known = {_full(top, k) for top, keys in top_level().items() for k in keys[1:]}
    problems += [f"README config reference: `{p}` is not a key of the model" for p in rows if p not in known and "." in p]
    assert not problems, "\n".join(problems)


def test_the_walk_sees_nested_and_per_type_keys():
    """The comparison is only as good as the walk: it must reach IPAM sub-keys per type and host-device's ipam."""
    paths = {_full(top, k) for top, keys in top_level().items() for k in keys}
    for path in (
        "networks[].ipam.whereabouts.exclude",
        "networks[].ipam.static.addresses[].address",
        "networks[].host-device.ipam",
        "networks[].cniVersion",
        "networks[].ipvlan.mode",
        "multus.logLevel",
        "networks[].ipvlan.mtu",
        "nodeGroups[].rootVolumeSize",
        "nodeGroups[].metadataHopLimit",
        "cluster.existing.vpcCniUsesNodeRole",
    ):
        assert path in paths, path
    hop = next(k for k in top_level()["nodeGroups"] if k.path == "[].metadataHopLimit")
    assert (hop.default, hop.bounds) == ("1", "1..64")
