"""Stack files read the way the Pulumi CLI reads them.

The CLI loads `Pulumi.<stack>.yaml` with gopkg.in/yaml.v3 (pulumi/pulumi
`sdk/go/common/encoding/marshal.go`, `yamlMarshaler.Unmarshal`), so a value
means here what it means to `pulumi preview`:

- YAML 1.2 scalars, as yaml.v3 resolves them into `interface{}` (its
  `resolve.go`): only `true`/`True`/`TRUE` and `false`/`False`/`FALSE` are
  booleans (`yes`, `on`, `y` stay text); `~`, `null`, `Null`, `NULL` and
  empty are null; integers are what Go's `strconv.ParseInt(s, 0, 64)` reads
  after dropping `_` (`0x1f`, `0o17`, `017`); floats match yaml.v3's
  `yamlStyleFloat` or are `.inf`/`.nan`; timestamps stay text.
- A mapping key given twice is refused, as yaml.v3's `decoder.mapping` does
  ("mapping key %#v already defined at line %d"); the CLI never sees the
  second value as PyYAML would (it keeps the last one).
- Object values reach the program as JSON (pulumi/pulumi `pkg/workspace/config.go`
  `createConfigValue`, Go `encoding/json`), where a whole float such as `1.0`
  is written `1`; `cli_value` applies that, so a program reads what the CLI
  hands it.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml


class YamlSyntaxError(Exception):
    """A stack file the CLI would refuse: a syntax error or a repeated key, with its line."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = {"", "~", "null", "Null", "NULL"}
# yaml.v3 resolve.go: yamlStyleFloat, applied after the `_` are dropped.
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = {
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
    **{f"{sign}{inf}": (-math.inf if sign == "-" else math.inf) for sign in ("", "+", "-") for inf in (".inf", ".Inf", ".INF")},
}
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")


def _go_parse_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64) (base from the prefix; a leading 0 is octal)."""
    if not _GO_INT.match(text):
        return None
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-")
    if body[:2].lower() in ("0x", "0o", "0b"):
        value = int(body[2:], {"x": 16, "o": 8, "b": 2}[body[1].lower()])
    elif len(body) > 1 and body[0] == "0":
        value = int(body, 8)
    else:
        value = int(body)
    value *= sign
    return value if -(2**63) <= value < 2**64 else None


def resolve_plain(text: str) -> Any:
    """An untagged plain scalar as yaml.v3 resolves it into `interface{}`."""
    if text in _BOOL:
        return _BOOL[text]
    if text in _NULL:
        return None
    if text in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[text]
    if text[:1] in "+-0123456789.":
        plain = text.replace("_", "")
        number = _go_parse_int(plain)
        if number is not None:
            return number
        if _FLOAT.match(plain):
            return float(plain)
    return text


class _Loader(yaml.SafeLoader):
    """SafeLoader with yaml.v3's scalar resolution and duplicate-key refusal."""


# Resolve plain scalars ourselves: drop every implicit resolver but merge (`<<`).
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:merge"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_plain(loader: _Loader, node: yaml.ScalarNode) -> Any:
    if node.style is None or node.style == "":
        return resolve_plain(node.value)
    return node.value


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        ident = (key_node.id, key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value))
        line = key_node.start_mark.line + 1
        if ident in seen:
            raise YamlSyntaxError(line, f'mapping key "{key_node.value}" already defined at line {seen[ident]}')
        seen[ident] = line
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise YamlSyntaxError(key_node.start_mark.line + 1, "a mapping key must be a plain value, not a list or mapping") from None
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_Loader.add_constructor("tag:yaml.org,2002:str", _construct_plain)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_yaml(text: str) -> Any:
    """Parse like yaml.v3; raises `YamlSyntaxError` naming the line."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except YamlSyntaxError:
        raise
    except yaml.MarkedYAMLError as exc:
        start, at = exc.context_mark, exc.problem_mark
        parts = []
        if exc.context:
            parts.append(f"{exc.context}" + (f" (line {start.line + 1}, column {start.column + 1})" if start else ""))
        if exc.problem:
            parts.append(f"{exc.problem}" + (f" (line {at.line + 1}, column {at.column + 1})" if at else ""))
        mark = start or at
        raise YamlSyntaxError(mark.line + 1 if mark else None, ": ".join(parts)) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, str(exc)) from None


def cli_value(value: Any) -> Any:
    """A structured value as the program receives it from the CLI (Go JSON: whole floats lose `.0`)."""
    if isinstance(value, dict):
        return {k: cli_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [cli_value(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return int(value)
    return value
