"""Stack config -> validated `StackConfig`, or a `ConfigError` listing every issue.

Two sources give the same flat mapping of full keys (`eks-multus:vpc`,
`aws:region`) to values: a stack YAML file, and the Pulumi runtime config,
whose structured values arrive as JSON strings.
"""

from __future__ import annotations

import difflib
import json
import typing
from collections.abc import Iterator, Mapping
from ipaddress import AddressValueError, IPv4Network, NetmaskValueError
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from .errors import FILE, NAMESPACE, ConfigError, ConfigIssue, join_path
from .model import (
    ENI_PREFIX_IPAM,
    SUPPORTED_IPAM_TYPES,
    SUPPORTED_NETWORK_TYPES,
    TOP_LEVEL_KEYS,
    EniPrefixIpam,
    HostDeviceNetwork,
    HostLocalIpam,
    IpvlanNetwork,
    StackConfig,
    StaticIpam,
    WhereaboutsIpam,
)
from .stackyaml import YamlSyntaxError, cli_value, load_yaml
from .validate import validate

_TAGGED: dict[str, type[BaseModel]] = {
    "ipvlan": IpvlanNetwork,
    "host-device": HostDeviceNetwork,
    "host-local": HostLocalIpam,
    "whereabouts": WhereaboutsIpam,
    "static": StaticIpam,
    ENI_PREFIX_IPAM: EniPrefixIpam,
}

REFUSED_CNI_TYPES = {
    "macvlan": (
        "macvlan cannot work on EC2: the VPC drops frames from MAC addresses it did not assign",
        "use type ipvlan (mode l2 or l3) on the same master",
    ),
    "sriov": (
        "the sriov CNI cannot work on EC2: ENIs appear as VFs with no physical function for sriov-cni to resolve",
        "use type host-device with resourceName set to an SR-IOV device plugin resource",
    ),
}

# Keys one network type has and the other refuses, with the reason.
REFUSED_KEYS = {
    (HostDeviceNetwork, "eniIpAssignment"): (
        "host-device moves the whole ENI into the pod, whose addresses are then the ENI's own; there is nothing to assign",
        "remove eniIpAssignment from this network",
    ),
    (HostDeviceNetwork, "addressRequest"): (
        "host-device moves the whole ENI into the pod; it takes no address of an ENI the node keeps",
        "remove addressRequest from this network",
    ),
}


def read_stack_file(path: str | Path) -> dict[str, Any]:
    """Flat config mapping from a `Pulumi.<stack>.yaml` file (secrets replaced by stand-ins)."""
    return read_stack_file_with_notes(path)[0]


def read_stack_file_with_notes(path: str | Path) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """Flat config mapping of a stack file, read as the Pulumi CLI reads it, and notes for the reader.

    The CLI (pulumi/pulumi `sdk/go/common/workspace/loaders.go`, `LoadProjectStackBytes`)
    parses the file with yaml.v3 (see `stackyaml`), refuses non-string keys
    (`SimplifyMarshalledValue`: "expected only string keys"), puts keys without a
    namespace into the project's (`stackConfigNamespacedWithProject`) and parses
    the rest with `config.ParseKey` (`<namespace>:<name>`, or the old
    `<namespace>:config:<name>`). Encrypted values (`secure:`), which only the CLI
    can decrypt, become stand-ins; each gets a note.
    """
    path = Path(path)
    try:
        doc = load_yaml(path.read_text())
    except YamlSyntaxError as exc:
        where = f"{path.name}, line {exc.line}" if exc.line else path.name
        raise ConfigError([ConfigIssue(FILE, f"{where}: not valid YAML: {exc.message}", "fix the YAML there")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(FILE, f"cannot read the stack file ({exc.strerror})", "pass an existing file")]) from None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise ConfigError([ConfigIssue(FILE, "the file has no `config:` mapping", "put the stack settings under `config:`")])
    issues: list[ConfigIssue] = []
    flat: dict[str, Any] = {}
    for key, value in config.items():
        full = _cli_key(key, issues)
        if full is not None:
            flat[full] = cli_value(value)
    if issues:
        raise ConfigError(issues)
    notes = _mask_secrets(flat)
    return flat, notes


def _cli_key(key: Any, issues: list[ConfigIssue]) -> str | None:
    """The full key the CLI makes of a stack-file key, or None (with an issue) where it refuses it."""
    if not isinstance(key, str):
        shown = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
        issues.append(
            ConfigIssue(
                FILE,
                f"config key `{shown}` is {_type_name(key)}, not text; the Pulumi CLI accepts only string keys",
                f"write the key as `{NAMESPACE}:<name>` (quote it if it looks like a number), e.g. `{NAMESPACE}:vpc`",
            )
        )
        return None
    parts = key.split(":")
    if len(parts) == 1:
        return f"{NAMESPACE}:{key}"
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    issues.append(
        ConfigIssue(key, "is not a configuration key the Pulumi CLI can parse", "write it as `<namespace>:<name>`, e.g. `eks-multus:vpc`")
    )
    return None


SECRET_STAND_IN = "[secret]"
"""What the offline plan puts where the stack file holds an encrypted value."""


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def _mask_secrets(flat: dict[str, Any]) -> list[ConfigIssue]:
    """Replace every `{secure: ...}` in place by a stand-in; one note per replacement."""
    notes: list[ConfigIssue] = []
    region = flat.get("aws:region") if isinstance(flat.get("aws:region"), str) else "us-east-1"
    defaults = {f.alias or n: f for n, f in StackConfig.model_fields.items()}

    def walk(value: Any, path: str) -> Any:
        if _is_secure(value):
            stand_in = _kubeconfig_stand_in(region) if path.endswith(".kubeconfig") else SECRET_STAND_IN
            notes.append(
                ConfigIssue(path, "is encrypted; the offline plan uses a stand-in", "`pulumi preview` decrypts and checks the real value")
            )
            return stand_in
        if isinstance(value, dict):
            return {k: walk(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    for key in list(flat):
        value = flat[key]
        name = key.removeprefix(f"{NAMESPACE}:")
        if _is_secure(value) and key.startswith(f"{NAMESPACE}:"):
            field = defaults.get(name)
            if field is not None and not field.is_required():
                # A whole object set with `pulumi config set --secret`: plan with its default.
                del flat[key]
                notes.append(
                    ConfigIssue(
                        name,
                        "is encrypted as a whole; the offline plan uses its default in its place",
                        "`pulumi preview` decrypts and checks the real value",
                    )
                )
            continue  # a required key stays encrypted and is reported by the model
        flat[key] = walk(value, name if key.startswith(f"{NAMESPACE}:") else key)
    return notes


def _kubeconfig_stand_in(region: str) -> str:
    """A kubeconfig with a server, in place of an encrypted one (only its shape is checked offline)."""
    server = f"https://SECRET.gr7.{region}.eks.amazonaws.com"
    return (
        "apiVersion: v1\nkind: Config\nclusters:\n  - name: secret\n    cluster:\n"
        f"      server: {server}\n      certificate-authority-data: U0VDUkVU\n"
    )


def from_pulumi_values(values: Mapping[str, str]) -> dict[str, Any]:
    """Flat config mapping from Pulumi's runtime config (all values are strings)."""
    out: dict[str, Any] = {}
    for key, raw in values.items():
        value: Any = raw
        if isinstance(raw, str) and raw[:1] in "{[":
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw
        out[key] = value
    return out


# Config namespaces of the providers and engine this program uses; their keys pass untouched.
KNOWN_NAMESPACES = ("aws", "kubernetes", "eks", "pulumi")
# Settings of the aws provider close to `region`, for "did you mean" on a misspelled region.
_AWS_REGION_KEY = "aws:region"


def load_config(flat: Mapping[str, Any], stack: str) -> StackConfig:
    """Parse and validate; raises `ConfigError` with every issue found."""
    issues: list[ConfigIssue] = []
    raw: dict[str, Any] = {"stack": stack}
    region = flat.get(_AWS_REGION_KEY)
    if region is None:
        issues.append(_missing_region(flat))
    else:
        raw["region"] = region
    prefix = f"{NAMESPACE}:"
    for key, value in flat.items():
        if not isinstance(key, str):
            issues.append(ConfigIssue(FILE, f"config key `{key}` is {_type_name(key)}, not text", f"write it as `{NAMESPACE}:<name>`"))
            continue
        if not key.startswith(prefix):
            issues.extend(_foreign_key(key))
            continue
        name = key[len(prefix) :]
        if name not in TOP_LEVEL_KEYS:
            issues.append(ConfigIssue(name, "unknown key", _suggest(name, TOP_LEVEL_KEYS)))
            continue
        if _is_secure(value):
            issues.append(_issue_from_pydantic({"loc": (name,), "type": "secret", "input": value}))
            continue
        raw[name] = value
    try:
        # As JSON, strictly and by the documented (camelCase) names only: the CLI hands
        # structured values over as JSON, so "1" is text and `yes` is not a boolean.
        model = StackConfig.model_validate_json(json.dumps(raw), strict=True, by_alias=True, by_name=False)
    except ValidationError as exc:
        errors = exc.errors()
        issues.extend(_issue_from_pydantic(err) for err in errors if not _consequence(err, errors, region is None))
        raise ConfigError(issues) from None
    if issues:
        raise ConfigError(issues)
    found = validate(model)
    if found:
        raise ConfigError(found)
    return model


def _missing_region(flat: Mapping[str, Any]) -> ConfigIssue:
    near = [k for k in flat if isinstance(k, str) and k.startswith("aws:") and _close(k, _AWS_REGION_KEY)]
    if near:
        return ConfigIssue(near[0], "is not an AWS provider setting, and aws:region is not set", f"did you mean `{_AWS_REGION_KEY}`?")
    return ConfigIssue(_AWS_REGION_KEY, "is not set", "set the AWS region, e.g. `aws:region: ap-northeast-2`")


def _foreign_key(key: str) -> Iterator[ConfigIssue]:
    """A key of another namespace: fine, unless the namespace is a near miss of ours or a provider's."""
    namespace = key.split(":", 1)[0]
    if namespace in KNOWN_NAMESPACES:
        return
    if _close(namespace, NAMESPACE) or namespace.replace("_", "-").lower() == NAMESPACE:
        yield ConfigIssue(
            key, f"namespace `{namespace}:` is not this project's, so the key would be ignored", f"did you mean `{NAMESPACE}:`?"
        )
        return
    near = next((n for n in KNOWN_NAMESPACES if _close(namespace, n, 0.6)), None)
    if near is not None:
        yield ConfigIssue(key, f"namespace `{namespace}:` belongs to no provider of this program", f"did you mean `{near}:`?")


def _close(word: str, target: str, cutoff: float = 0.75) -> bool:
    return word != target and bool(difflib.get_close_matches(word, [target], n=1, cutoff=cutoff))


def _consequence(err: Mapping[str, Any], errors: list[Mapping[str, Any]], region_reported: bool) -> bool:
    """Errors that only repeat another one: a list "too short" because its items failed, a missing region."""
    loc = tuple(err["loc"])
    if err["type"] == "missing" and loc == ("region",):
        return region_reported
    if err["type"] == "too_short":
        return any(tuple(o["loc"])[: len(loc)] == loc and len(o["loc"]) > len(loc) for o in errors)
    return False


def load_stack_file(path: str | Path, stack: str | None = None) -> StackConfig:
    """Load `stacks/Pulumi.<stack>.yaml`; the stack name defaults to the file's."""
    name = stack or Path(path).name.removeprefix("Pulumi.").removesuffix(".yaml").removesuffix(".yml")
    return load_config(read_stack_file(path), name)


# --- pydantic errors -> ConfigIssue -------------------------------------------------


def _issue_from_pydantic(err: Mapping[str, Any]) -> ConfigIssue:
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    path = join_path(*_strip_tags(loc))
    if _is_secure(value) or value == SECRET_STAND_IN:
        return ConfigIssue(
            path,
            "is an encrypted secret, which only the Pulumi CLI can decrypt, and the offline plan has no stand-in of its type",
            "check it with `pulumi preview`, or plan a copy of the stack file with a plaintext value",
        )
    if value is None and kind not in ("missing", "extra_forbidden"):
        return ConfigIssue(
            path, "is null", "give it a value" if _required(loc) else "give it a value, or remove the key to use its default"
        )
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        if (parent, loc[-1]) in REFUSED_KEYS:
            problem, fix = REFUSED_KEYS[(parent, loc[-1])]
            return ConfigIssue(path, problem, fix)
        allowed = tuple(f.alias or n for n, f in parent.model_fields.items()) if parent else ()
        if to_camel(str(loc[-1])) in allowed and to_camel(str(loc[-1])) != loc[-1]:
            return ConfigIssue(path, "unknown key (keys are camelCase)", f"did you mean `{to_camel(str(loc[-1]))}`?")
        return ConfigIssue(path, "unknown key", _suggest(str(loc[-1]), allowed))
    if kind == "missing":
        return ConfigIssue(path, "is required but missing", f"add `{loc[-1]}`")
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        path = join_path(*_strip_tags(loc), "type")
        if tag in REFUSED_CNI_TYPES:
            problem, fix = REFUSED_CNI_TYPES[tag]
            return ConfigIssue(path, problem, fix)
        choices = SUPPORTED_IPAM_TYPES if loc and loc[-1] == "ipam" else SUPPORTED_NETWORK_TYPES
        return ConfigIssue(path, f"type `{tag}` is not supported by eks-multus", f"use one of: {', '.join(choices)}")
    if kind == "union_tag_not_found":
        choices = SUPPORTED_IPAM_TYPES if loc and loc[-1] == "ipam" else SUPPORTED_NETWORK_TYPES
        return ConfigIssue(join_path(*_strip_tags(loc), "type"), "is required but missing", f"set it to one of: {', '.join(choices)}")
    if kind == "literal_error":
        choices = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return ConfigIssue(path, f"`{value}` is not allowed", f"use one of: {choices}")
    if kind == "string_type":
        fix = "write it as text"
        if isinstance(value, (int, float)):
            # The CLI keeps a YAML number a number (a JSON number inside the object it hands
            # the program); `--type string` stores the text instead (pulumi config set --type).
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            fix = f"quote it in the stack file (\"{shown}\"), or set it with `pulumi config set --type string --path '{_config_path(loc)}' {shown}`"
            if isinstance(value, float):
                fix += " (unquoted, 1.30 is the number 1.3)"
        return ConfigIssue(path, f"expected text, got {_type_name(value)} `{value}`", fix)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return ConfigIssue(path, f"expected a whole number, got {_type_name(value)} `{value}`", "write an integer such as 3")
    if kind in ("bool_type", "bool_parsing"):
        return ConfigIssue(path, f"expected true or false, got `{value}`", "write true or false")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return ConfigIssue(path, f"expected a mapping of keys, got {_type_name(value)}", "write it as `key: value` pairs")
    if kind in ("tuple_type", "list_type"):
        return ConfigIssue(path, f"expected a list, got {_type_name(value)}", "write it as a YAML list (`[a, b]` or `- a`)")
    if kind == "too_short":
        return ConfigIssue(path, "must not be empty", f"give at least {ctx.get('min_length', 1)} item")
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError) and _ip_error(ctx["error"]):
        # JSON input: pydantic hands the text to `ipaddress` and reports its ValueError.
        kind = "ip_v4_network" if "/" in str(value) else "ip_v4_address"
    if kind == "ip_v4_address":
        return ConfigIssue(path, f"`{value}` is not an IPv4 address", "write a dotted address such as 100.64.30.10")
    if kind == "ip_v4_network":
        try:
            loose = IPv4Network(str(value), strict=False)
        except ValueError:
            return ConfigIssue(path, f"`{value}` is not an IPv4 network", "write CIDR notation such as 100.64.0.0/19")
        return ConfigIssue(path, f"`{value}` has host bits set", f"use the network address: {loose}")
    if kind == "value_error":
        problem, _, fix = str(ctx.get("error", err["msg"])).partition("; ")
        return ConfigIssue(path, problem, fix)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return ConfigIssue(path, f"`{value}` is out of range", err["msg"].lower())
    return ConfigIssue(path, err["msg"].lower(), f"see `{loc[0]}` in Pulumi.yaml or the README for the expected form")


def _config_path(loc: tuple) -> str:
    """The `pulumi config set --path` spelling of a location: eks-multus:tags.cost, eks-multus:networks[0].name."""
    return f"{NAMESPACE}:{join_path(*_strip_tags(loc))}"


def _ip_error(error: ValueError) -> bool:
    return isinstance(error, (AddressValueError, NetmaskValueError)) or str(error).endswith("has host bits set")


def _type_name(value: Any) -> str:
    return {str: "text", int: "a number", float: "a number", bool: "a boolean", list: "a list", dict: "a mapping", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _strip_tags(loc: tuple) -> tuple:
    """Drop the union tags pydantic puts in locations (`networks.0.ipvlan.ipam`)."""
    out = []
    for i, part in enumerate(loc):
        prev = loc[i - 1] if i else None
        if isinstance(part, str) and part in _TAGGED and (isinstance(prev, int) or prev == "ipam"):
            continue
        out.append(part)
    return tuple(out)


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model class a (tagged) location points into, for listing its keys."""
    cls: type[BaseModel] | None = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if part in _TAGGED and (cls is None or part not in {f.alias for f in cls.model_fields.values()}):
            cls = _TAGGED[part]
            continue
        if cls is None:
            return None
        field = next((f for n, f in cls.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        cls = _single_model(field.annotation)
    return cls


def _required(loc: tuple) -> bool:
    parent = _model_at(loc[:-1])
    field = next((f for n, f in parent.model_fields.items() if (f.alias or n) == loc[-1]), None) if parent else None
    return field is not None and field.is_required()


def _single_model(annotation: Any) -> type[BaseModel] | None:
    """The one model class inside an annotation, or None for unions of several."""
    found: list[type[BaseModel]] = []

    def walk(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            found.append(tp)
            return
        for arg in typing.get_args(tp):
            walk(arg)

    walk(annotation)
    return found[0] if len(found) == 1 else None


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    lowered = {a.lower(): a for a in allowed}
    match = lowered.get(key.lower()) or next(iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)), None)
    if match:
        return f"did you mean `{match}`?"
    return f"valid keys: {', '.join(sorted(allowed))}" if allowed else "remove it"
