"""Project files: Pulumi.yaml schema covers every key, dependencies are pinned."""

from __future__ import annotations

import re

import yaml

from components.core.model import TOP_LEVEL_KEYS, StackConfig
from tests.helpers import ROOT

TYPES = {"object", "array", "string", "integer", "boolean"}


def test_pulumi_yaml_layout():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "eks-multus"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert project["stackConfigDir"] == "stacks"


def test_every_config_key_has_a_typed_described_schema_entry():
    schema = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert set(schema) == set(TOP_LEVEL_KEYS)
    for key, entry in schema.items():
        assert entry["type"] in TYPES, key
        assert len(entry["description"]) > 20, key
        if entry["type"] == "array":
            assert "items" in entry, key
        field = next(f for n, f in StackConfig.model_fields.items() if (f.alias or n) == key)
        is_list = "tuple" in str(field.annotation)
        assert (entry["type"] == "array") == is_list, key


def test_requirements_are_exact_pins():
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-scan.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line or line.startswith("-r"):
                continue
            assert re.fullmatch(r"[A-Za-z0-9_.\[\]-]+==[0-9][0-9A-Za-z.]*", line), f"{name}: {line}"


def test_pure_core_never_imports_pulumi():
    for path in (ROOT / "components" / "core").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+pulumi", text, re.M), path.name


def test_examples_are_projects_of_their_own_on_the_shared_virtualenv():
    for name, project in (("workload", "eks-multus-workload"), ("library", "eks-multus-library")):
        doc = yaml.safe_load((ROOT / "examples" / name / "Pulumi.yaml").read_text())
        assert doc["name"] == project and doc["runtime"]["name"] == "python"
        assert (ROOT / "examples" / name / doc["runtime"]["options"]["virtualenv"]).resolve() == (ROOT / ".venv").resolve()
        for key, entry in (doc.get("config") or {}).items():
            assert entry["type"] in TYPES and entry["description"], key
        assert (ROOT / "examples" / name / "__main__.py").exists()


def test_no_floating_image_tags_in_examples():
    text = (ROOT / "examples" / "workload" / "Pulumi.yaml").read_text() + (ROOT / "examples" / "workload" / "__main__.py").read_text()
    images = re.findall(r"[a-z0-9./-]+/[a-z0-9.-]+:[A-Za-z0-9._-]+", text)
    assert images, "no image reference found: the check would pass on nothing"
    for image in images:
        assert not image.endswith(":latest"), image
        assert re.search(r":v?\d", image), image
