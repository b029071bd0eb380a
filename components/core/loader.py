"""Stack config -> validated `StackConfig`, or a `ConfigError` listing every issue.

Two sources give the same flat mapping of full keys (`eks-multus:vpc`,
`aws:region`) to values: a stack YAML file, and the Pulumi runtime config,
whose structured values arrive as JSON strings.
"""

from __future__ import annotations

import difflib
import json
import typing
from collections.abc import Mapping
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import FILE, NAMESPACE, ConfigError, ConfigIssue, join_path
from .model import (
    SUPPORTED_IPAM_TYPES,
    SUPPORTED_NETWORK_TYPES,
    TOP_LEVEL_KEYS,
    HostDeviceNetwork,
    HostLocalIpam,
    IpvlanNetwork,
    StackConfig,
    StaticIpam,
    WhereaboutsIpam,
)
from .validate import validate

_TAGGED: dict[str, type[BaseModel]] = {
    "ipvlan": IpvlanNetwork,
    "host-device": HostDeviceNetwork,
    "host-local": HostLocalIpam,
    "whereabouts": WhereaboutsIpam,
    "static": StaticIpam,
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
}


def read_stack_file(path: str | Path) -> dict[str, Any]:
    """Flat config mapping from a `Pulumi.<stack>.yaml` file."""
    try:
        doc = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(FILE, f"not valid YAML ({exc})", "fix the YAML syntax")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(FILE, f"cannot read the stack file ({exc.strerror})", "pass an existing file")]) from None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise ConfigError([ConfigIssue(FILE, "the file has no `config:` mapping", "put the stack settings under `config:`")])
    return config


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


def load_config(flat: Mapping[str, Any], stack: str) -> StackConfig:
    """Parse and validate; raises `ConfigError` with every issue found."""
    issues: list[ConfigIssue] = []
    raw: dict[str, Any] = {"stack": stack}
    region = flat.get("aws:region")
    if region is None:
        issues.append(ConfigIssue("aws:region", "is not set", "set the AWS region, e.g. `aws:region: ap-northeast-2`"))
    else:
        raw["region"] = region
    prefix = f"{NAMESPACE}:"
    for key, value in flat.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if name not in TOP_LEVEL_KEYS:
            issues.append(ConfigIssue(name, "unknown key", _suggest(name, TOP_LEVEL_KEYS)))
            continue
        raw[name] = value
    try:
        model = StackConfig.model_validate(raw)
    except ValidationError as exc:
        issues.extend(_issue_from_pydantic(err) for err in exc.errors())
        raise ConfigError(issues) from None
    if issues:
        raise ConfigError(issues)
    found = validate(model)
    if found:
        raise ConfigError(found)
    return model


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
    if isinstance(value, Mapping) and set(value) == {"secure"}:
        return ConfigIssue(
            path,
            "is an encrypted secret, which only the Pulumi CLI can decrypt (the offline plan reads the stack file as it is)",
            "check it with `pulumi preview`, or plan a copy of the stack file with a plaintext stand-in value",
        )
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        if (parent, loc[-1]) in REFUSED_KEYS:
            problem, fix = REFUSED_KEYS[(parent, loc[-1])]
            return ConfigIssue(path, problem, fix)
        allowed = tuple(f.alias or n for n, f in parent.model_fields.items()) if parent else ()
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
    if kind == "ip_v4_address":
        return ConfigIssue(path, f"`{value}` is not an IPv4 address", "write a dotted address such as 100.64.30.10")
    if kind == "ip_v4_network":
        try:
            loose = IPv4Network(str(value), strict=False)
        except ValueError:
            return ConfigIssue(path, f"`{value}` is not an IPv4 network", "write CIDR notation such as 100.64.0.0/19")
        return ConfigIssue(path, f"`{value}` has host bits set", f"use the network address: {loose}")
    if kind == "string_type":
        fix = "write it as text"
        if isinstance(value, float):
            fix = f'quote it: "{value}" is read by YAML as a number (1.30 becomes 1.3)'
        return ConfigIssue(path, f"expected text, got {_type_name(value)}", fix)
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
    if kind == "value_error":
        problem, _, fix = str(ctx.get("error", err["msg"])).partition("; ")
        return ConfigIssue(path, problem, fix)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return ConfigIssue(path, f"`{value}` is out of range", err["msg"].lower())
    return ConfigIssue(path, err["msg"].lower(), f"see `{loc[0]}` in Pulumi.yaml or the README for the expected form")


def _type_name(value: Any) -> str:
    return {str: "text", int: "a number", float: "a number", bool: "a boolean", list: "a list", dict: "a mapping"}.get(
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
