"""The Pulumi CLI's config rules (tests/pulumi_cli.py, from pulumi/pulumi's source) hold for every stack.

`pulumi preview` stops before the program runs when a project key with no
`default` is missing from the stack (pkg/workspace/config.go `mergeConfig`), so
every optional key needs its default in Pulumi.yaml, and that default must be
what the model would use anyway.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from components.core.loader import from_pulumi_values, load_config, read_stack_file
from components.core.model import StackConfig
from tests.helpers import ROOT, STACKS, TEST_STACKS, stack_flat
from tests.pulumi_cli import load_project, missing_error, missing_keys, program_config, project_errors, type_errors

PROJECT = load_project(ROOT / "Pulumi.yaml")
WORKLOAD = ROOT / "examples" / "workload"
STACK_FILES = sorted([*STACKS.glob("Pulumi.*.yaml"), *TEST_STACKS.glob("Pulumi.*.yaml")])
REQUIRED = ("aws:region", "eks-multus:vpc", "eks-multus:multusSubnets", "eks-multus:nodeGroups")


def _name(path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def test_the_projects_pass_the_clis_project_validation():
    assert project_errors(PROJECT) == []
    assert project_errors(load_project(WORKLOAD / "Pulumi.yaml")) == []
    assert project_errors(load_project(ROOT / "examples" / "library" / "Pulumi.yaml")) == []


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_every_stack_file_has_every_key_the_cli_requires(path):
    flat = read_stack_file(path)
    assert missing_keys(PROJECT, flat) == [], missing_error(missing_keys(PROJECT, flat), _name(path))
    assert type_errors(PROJECT, flat, _name(path)) == []


def test_the_workload_example_stack_against_its_own_project():
    project = load_project(WORKLOAD / "Pulumi.yaml")
    flat = read_stack_file(WORKLOAD / "Pulumi.dev.yaml")
    assert missing_keys(project, flat) == [] and type_errors(project, flat, "dev") == []


def test_only_the_models_required_keys_are_required_by_the_cli():
    required_by_model = {f.alias for n, f in StackConfig.model_fields.items() if f.is_required() and n not in ("stack", "region")}
    assert set(missing_keys(PROJECT, {"aws:region": "ap-northeast-2"})) == required_by_model


def test_a_minimal_stack_plans_with_the_clis_defaults_as_the_models():
    """Only the required keys: the CLI fills the rest from Pulumi.yaml, and the model must come out the same."""
    flat = {k: v for k, v in stack_flat("dev").items() if k in REQUIRED}
    assert missing_keys(PROJECT, flat) == []
    received = program_config(PROJECT, flat)
    assert set(received) - set(flat), "the CLI adds the project defaults"
    with_cli_defaults = load_config(from_pulumi_values(received), "dev")
    with_model_defaults = load_config(copy.deepcopy(flat), "dev")
    assert with_cli_defaults == with_model_defaults


def test_a_minimal_stack_without_a_required_key_is_stopped_by_the_cli():
    flat = {k: v for k, v in stack_flat("dev").items() if k in REQUIRED and k != "eks-multus:nodeGroups"}
    assert missing_error(missing_keys(PROJECT, flat), "dev") == "Stack 'dev' is missing configuration value 'nodeGroups'"


def test_the_rule_catches_a_key_without_default():
    """Without defaults the seed stack fails as issue 12 reports ('multusSecurityGroup', 'tags' and 'whereabouts'),
    and on existingNamespaces and eniAgent, which came later."""
    project = copy.deepcopy(PROJECT)
    for entry in project["config"].values():
        entry.pop("default", None)
    missing = missing_keys(project, read_stack_file(STACKS / "Pulumi.dev.yaml"))
    assert missing_error(missing, "dev") == (
        "Stack 'dev' is missing configuration values 'eniAgent', 'existingNamespaces', 'multusSecurityGroup', 'tags' and 'whereabouts'"
    )


def test_a_default_of_the_wrong_type_is_refused_like_the_cli():
    project = copy.deepcopy(PROJECT)
    project["config"]["tags"]["default"] = []
    assert project_errors(project) == ["The default value specified for configuration key 'tags' is not of the expected type 'object'"]


def test_the_minimum_cli_version_is_stated_where_the_cli_is_used():
    """`type: object` keys exist from CLI 3.186.0 (pulumi/pulumi#20129, CHANGELOG 3.186.0); Stash and
    replaceWith, which the multus subnets' reservation anchors use, from 3.208.0 (CHANGELOG 3.208.0)."""
    assert PROJECT["requiredPulumiVersion"] == ">=3.208.0"
    preview = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    step = next(s for s in preview["jobs"]["preview"]["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    version = tuple(int(x) for x in str(step["with"]["pulumi-version"]).split("."))
    assert version >= (3, 208, 0)
    sdk = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert ".".join(map(str, version)) == sdk, "the CLI of the pinned SDK's release"
    assert "Pulumi CLI 3.208.0 or later" in (ROOT / "README.md").read_text()
