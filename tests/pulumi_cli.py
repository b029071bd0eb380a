"""The Pulumi CLI's own config rules, re-implemented from its source for tests.

From pulumi/pulumi (read at 3.259/3.260, August 2026):
- `sdk/go/common/workspace/project.go`, `(*Project).Validate`: a project key may
  not have both `default` and `value`; an `array` needs `items`; a typed key's
  `default` must pass `ValidateConfigValue`. The JSON schema `project.json`
  (`configTypeDeclaration`, `additionalProperties: false`) allows only `type`,
  `items`, `description`, `secret`, `default` and `value` on a key, so nested
  objects cannot be described with `properties`.
- `ValidateConfigValue`: string = a string; integer = an int, a whole float, or
  text that parses as one; boolean = a bool or the text "true"/"false"; object =
  a map; array = a list whose items all pass with `items`.
- `pkg/workspace/config.go`, `mergeConfig`: for each project key in sorted
  order, one of the project's namespace that the stack does not set and that
  has neither `default` nor `value` is missing; the CLI stops with
  `missingStackConfigurationKeysError` ("Stack 'dev' is missing configuration
  values 'a', 'b' and 'c'", `formatMissingKeys`). Otherwise an unset key gets
  the default through `createConfigValue`: a string, int or bool as its text,
  anything else as JSON. `validateStackConfigValues` then checks each typed
  key's stack value with `ValidateConfigValue` ("must be of type ...").
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.core.stackyaml import load_yaml

ALLOWED_ATTRIBUTES = {"type", "items", "description", "secret", "default", "value"}
SIMPLE_TYPES = {"string", "integer", "boolean", "array", "object"}


def load_project(path: Path) -> dict[str, Any]:
    return load_yaml(path.read_text())


def validate_config_value(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return True
        if isinstance(value, float) and math.isfinite(value) and value == math.trunc(value):
            return True
        if isinstance(value, str):
            try:
                int(value, 10)  # strconv.Atoi: optional sign, decimal digits
            except ValueError:
                return False
            return value.strip() == value and "_" not in value
        return False
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(validate_config_value(items["type"], items.get("items"), item) for item in value)


def _full_key(project_name: str, key: str) -> str:
    return key if ":" in key else f"{project_name}:{key}"


def project_errors(project: Mapping[str, Any]) -> list[str]:
    """(*Project).Validate for the config section, plus the schema's allowed attributes."""
    errors = []
    name = project["name"]
    for key, entry in (project.get("config") or {}).items():
        if not isinstance(entry, dict):
            continue  # a bare value is a `value` shorthand
        extra = set(entry) - ALLOWED_ATTRIBUTES
        if extra:
            errors.append(f"project.json: config key '{key}' has attributes the schema forbids: {sorted(extra)}")
        if entry.get("default") is not None and entry.get("value") is not None:
            errors.append(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        typed = entry.get("type") is not None
        if typed and entry["type"] not in SIMPLE_TYPES:
            errors.append(f"project.json: config key '{key}' has type {entry['type']!r}")
        if ":" not in key or key.startswith(f"{name}:"):
            if typed and entry["type"] == "array" and entry.get("items") is None:
                errors.append(
                    f"The configuration key '{key}' declares an array but does not specify the underlying type via the 'items' attribute"
                )
            if (
                typed
                and entry.get("default") is not None
                and not validate_config_value(entry["type"], entry.get("items"), entry["default"])
            ):
                errors.append(f"The default value specified for configuration key '{key}' is not of the expected type '{entry['type']}'")
    return errors


def missing_keys(project: Mapping[str, Any], stack: Mapping[str, Any]) -> list[str]:
    """mergeConfig's missingConfigurationKeys for a stack's flat config."""
    name = project["name"]
    missing = []
    for key in sorted(project.get("config") or {}):
        entry = project["config"][key]
        entry = entry if isinstance(entry, dict) else {"value": entry}
        full = _full_key(name, key)
        found = full in stack
        if not found and entry.get("value") is None and entry.get("default") is None and full.split(":", 1)[0] == name:
            missing.append(key)
    return missing


def missing_error(missing: list[str], stack_name: str) -> str:
    """missingStackConfigurationKeysError with formatMissingKeys."""
    keys = sorted(missing)
    if len(keys) == 1:
        listed = f"'{keys[0]}'"
    else:
        listed = ", ".join(f"'{k}'" for k in keys[:-2])
        listed = (listed + ", " if listed else "") + f"'{keys[-2]}' and '{keys[-1]}'"
    return f"Stack '{stack_name}' is missing configuration value{'s' if len(keys) > 1 else ''} {listed}"


def type_errors(project: Mapping[str, Any], stack: Mapping[str, Any], stack_name: str) -> list[str]:
    """validateStackConfigValues for the keys the stack sets."""
    name = project["name"]
    errors = []
    for key in sorted(project.get("config") or {}):
        entry = project["config"][key]
        if not isinstance(entry, dict) or entry.get("type") is None:
            continue
        full = _full_key(name, key)
        if full in stack and not validate_config_value(entry["type"], entry.get("items"), stack[full]):
            errors.append(f"Stack '{stack_name}' with configuration key '{key}' must be of type '{entry['type']}'")
    return errors


def _create_config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def program_config(project: Mapping[str, Any], stack: Mapping[str, Any]) -> dict[str, str]:
    """The config the program receives: the stack's values (objects as JSON) and each unset key's default."""
    name = project["name"]
    out = {k: _create_config_value(v) for k, v in stack.items()}
    for key, entry in (project.get("config") or {}).items():
        entry = entry if isinstance(entry, dict) else {"value": entry}
        full = _full_key(name, key)
        if full not in stack:
            value = entry.get("default") if entry.get("default") is not None else entry.get("value")
            if value is not None:
                out[full] = _create_config_value(value)
    return out
