"""Stack files are read as the Pulumi CLI reads them, and what it would refuse is refused with file and line.

The CLI parses `Pulumi.<stack>.yaml` with gopkg.in/yaml.v3 (pulumi/pulumi
sdk/go/common/encoding/marshal.go `yamlMarshaler.Unmarshal`), refuses
non-string keys (sdk/go/common/workspace/project.go `SimplifyMarshalledValue`:
"expected only string keys"), puts un-namespaced keys in the project's
namespace (sdk/go/common/workspace/loaders.go `stackConfigNamespacedWithProject`)
and refuses repeated keys (yaml.v3 decode.go `decoder.mapping`: "mapping key %#v
already defined at line %d").
"""

from __future__ import annotations

import math

import pytest

from components.core.errors import ConfigError
from components.core.loader import SECRET_STAND_IN, load_config, load_stack_file, read_stack_file, read_stack_file_with_notes
from components.core.stackyaml import cli_value, resolve_plain
from tests.helpers import STACKS, TEST_STACKS

DEV = (STACKS / "Pulumi.dev.yaml").read_text()


def _errors(tmp_path, text: str, name: str = "Pulumi.t.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_stack_file(path)
    assert "Traceback" not in str(info.value)
    return [i.render() for i in info.value.issues]


# yaml.v3 resolve.go, into interface{}: YAML 1.2 booleans only, Go ParseInt(s, 0, 64) after dropping `_`.
@pytest.mark.parametrize(
    "text,value",
    [
        ("true", True),
        ("False", False),
        ("yes", "yes"),
        ("on", "on"),
        ("y", "y"),
        ("~", None),
        ("null", None),
        ("017", 15),
        ("0o17", 15),
        ("0x1f", 31),
        ("1_000", 1000),
        ("+5", 5),
        ("1.30", 1.3),
        ("1e3", 1000.0),
        ("0.3.0", "0.3.0"),
        ("2026-12-01", "2026-12-01"),
        ("1:30", "1:30"),
        ("100.64.0.0/19", "100.64.0.0/19"),
    ],
)
def test_plain_scalars_resolve_as_yaml_v3_does(text, value):
    assert resolve_plain(text) == value and type(resolve_plain(text)) is type(value)


def test_special_floats_and_go_json_whole_numbers():
    assert math.isinf(resolve_plain(".inf")) and math.isnan(resolve_plain(".NaN"))
    # Go's encoding/json writes float64(1) as `1`, so the program reads an integer.
    assert cli_value({"a": [1.0, 1.5]}) == {"a": [1, 1.5]}


def test_repeated_key_is_refused_with_both_lines(tmp_path):
    text = DEV.replace("    natGateways: single", "    natGateways: single\n    natGateways: perAz")
    (error,) = _errors(tmp_path, text)
    assert error.startswith('Pulumi.t.yaml, line 10: not valid YAML: mapping key "natGateways" already defined at line 9')


def test_repeated_top_level_key_is_refused(tmp_path):
    (error,) = _errors(tmp_path, DEV + "  eks-multus:sriov:\n    enabled: true\n")
    assert 'mapping key "eks-multus:sriov" already defined at line' in error


def test_syntax_error_names_file_and_line(tmp_path):
    (error,) = _errors(tmp_path, "config:\n  aws:region: ap-northeast-2\n  eks-multus:vpc: {cidr: 10.0.0.0/16\n", "Pulumi.x.yaml")
    assert error.startswith("Pulumi.x.yaml, line 3: not valid YAML:")


def test_non_string_key_is_a_clean_error(tmp_path):
    (error,) = _errors(tmp_path, DEV + "  5: x\n")
    assert error == (
        "config key `5` is a number, not text; the Pulumi CLI accepts only string keys; "
        "write the key as `eks-multus:<name>` (quote it if it looks like a number), e.g. `eks-multus:vpc`"
    )


def test_on_is_text_in_yaml_1_2_and_an_unknown_key_of_ours(tmp_path):
    # YAML 1.1 (PyYAML's default) would read `on` as True; yaml.v3 keeps "on", namespaced by the project.
    (error,) = _errors(tmp_path, DEV + "  on: x\n")
    assert error.startswith("eks-multus:on: unknown key;")


def test_keys_without_namespace_are_the_projects(tmp_path):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(DEV.replace("  eks-multus:sriov:", "  sriov:"))
    assert "eks-multus:sriov" in read_stack_file(path)


def test_yes_is_not_a_boolean_in_a_stack_file(tmp_path):
    errors = _errors(tmp_path, DEV.replace("    enabled: false", "    enabled: yes"))
    assert errors == ["eks-multus:sriov.enabled: expected true or false, got `yes`; write true or false"]


def test_a_number_tag_value_gets_the_type_string_hint(tmp_path):
    (error,) = _errors(tmp_path, DEV + "  eks-multus:tags:\n    cost: 123\n")
    assert "eks-multus:tags.cost: expected text, got a number `123`" in error
    assert "pulumi config set --type string --path 'eks-multus:tags.cost' 123" in error


def test_nested_secret_gets_a_stand_in_and_a_note(tmp_path):
    text = (TEST_STACKS / "Pulumi.byo-cluster.yaml").read_text()
    start = text.index("      kubeconfig: |")
    end = text.index("  eks-multus:vpc:")
    path = tmp_path / "Pulumi.byo-cluster.yaml"
    path.write_text(text[:start] + "      kubeconfig:\n        secure: v1:AAAABBBBCCCC\n" + text[end:])
    flat, notes = read_stack_file_with_notes(path)
    cfg = load_config(flat, "byo-cluster")
    assert "server: https://" in cfg.cluster.existing.kubeconfig
    assert [n.render() for n in notes] == [
        "eks-multus:cluster.existing.kubeconfig: is encrypted; the offline plan uses a stand-in; "
        "`pulumi preview` decrypts and checks the real value"
    ]


def test_secret_tag_value_is_masked(tmp_path):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(DEV + "  eks-multus:tags:\n    owner:\n      secure: v1:xyz\n")
    flat, notes = read_stack_file_with_notes(path)
    assert load_config(flat, "t").tags == {"owner": SECRET_STAND_IN}
    assert notes[0].key == "eks-multus:tags.owner"


def test_whole_object_secret_is_planned_with_its_default_not_as_a_tag_named_secure(tmp_path):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(DEV + "  eks-multus:tags:\n    secure: v1:xyz\n")
    flat, notes = read_stack_file_with_notes(path)
    assert load_config(flat, "t").tags == {}
    assert notes[0].key == "eks-multus:tags" and "uses its default" in notes[0].problem


def test_whole_object_secret_of_a_required_key_is_refused(tmp_path):
    text = DEV.replace(
        "  eks-multus:vpc:\n    cidr: 10.20.0.0/16\n"
        "    availabilityZones: [ap-northeast-2a, ap-northeast-2c]   # 2c only for the control plane: EKS needs two zones\n"
        "    natGateways: single            # none | single | perAz\n    secondaryCidr: 100.64.0.0/19\n",
        "  eks-multus:vpc:\n    secure: v1:xyz\n",
    )
    assert text != DEV  # the stand-in replaced the whole vpc object
    errors = _errors(tmp_path, text)
    assert any(e.startswith("eks-multus:vpc: is an encrypted secret") for e in errors), errors
