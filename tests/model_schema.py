"""Every key the loader accepts, walked from the pydantic models, with its default, range and choices.

Used by the docs tests to hold Pulumi.yaml's config schema and the README's config
reference to the model. Paths are relative to a top-level key (`eks-multus:<key>`):
`existing.kubeconfig`, `[].rootVolumeSize` (an item of a list), and for tagged
unions the tag as a qualifier, `[].ipvlan.master` or `[].ipam.whereabouts.range`
(keys every member shares appear once, unqualified).
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, Literal

from annotated_types import Ge, Le
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from components.core.model import StackConfig


@dataclass(frozen=True)
class Key:
    path: str
    required: bool
    default: str | None
    """The rendered default; None when the default is computed (a None in the model) or the key is required."""
    bounds: str | None
    """`min..max` from the field's ge/le."""
    choices: tuple[str, ...]


def render(value: Any) -> str:
    """A default as the docs write it: plain text for scalars, JSON for lists and maps."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return '""'
    if isinstance(value, (str, int, float, IPv4Address, IPv4Network, IPv4Interface)):
        return str(value)
    if isinstance(value, Enum):
        return str(value.value)
    return json.dumps(_plain(value), separators=(", ", ": "))


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _strip(tp: Any) -> Any:
    """Drop Optional and Annotated wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _union_members(tp: Any) -> list[tuple[str, type[BaseModel]]] | None:
    """(tag, model) of a discriminated union of models, or None."""
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if origin not in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return None
    out = []
    for arg in typing.get_args(tp):
        arg = _strip(arg)
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            tag_field = arg.model_fields.get("type")
            tag = typing.get_args(tag_field.annotation)[0] if tag_field else arg.__name__
            out.append((tag, arg))
    return out or None


def _model_of(tp: Any) -> tuple[type[BaseModel] | None, bool, list | None]:
    """(model, is_list, union members) inside an annotation."""
    tp = _strip(tp)
    is_list = False
    if typing.get_origin(tp) in (tuple, list):
        tp = _strip(typing.get_args(tp)[0])
        is_list = True
    members = _union_members(tp)
    if members:
        return None, is_list, members
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp, is_list, None
    return None, is_list, None


def _choices(tp: Any) -> tuple[str, ...]:
    tp = _strip(tp)
    if typing.get_origin(tp) is Literal:
        return tuple(str(a) for a in typing.get_args(tp))
    return ()


def _bounds(field: FieldInfo) -> str | None:
    ge = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
    le = next((m.le for m in field.metadata if isinstance(m, Le)), None)
    if ge is None and le is None:
        return None
    return f"{'' if ge is None else ge}..{'' if le is None else le}"


def _leaf(path: str, field: FieldInfo) -> Key:
    required = field.is_required()
    default = None
    if not required:
        value = field.get_default(call_default_factory=True)
        default = None if value is None else render(value)
    return Key(path, required, default, _bounds(field), _choices(field.annotation))


def walk(model: type[BaseModel], prefix: str = "") -> list[Key]:
    keys: list[Key] = []
    for name, field in model.model_fields.items():
        alias = field.alias or name
        path = f"{prefix}{alias}"
        sub, is_list, members = _model_of(field.annotation)
        item = f"{path}[]" if is_list else path
        if sub is not None or members is not None:
            keys.append(_leaf(path, field))  # the object (or list) itself: required or not, its default
        if sub is not None:
            keys.extend(walk(sub, f"{item}."))
        elif members is not None:
            keys.extend(_walk_union(members, f"{item}."))
        else:
            keys.append(_leaf(path, field))
    return keys


def _walk_union(members: list[tuple[str, type[BaseModel]]], prefix: str) -> list[Key]:
    per_member = {tag: walk(model, prefix) for tag, model in members}
    shared = set.intersection(*(set(keys) for keys in per_member.values())) if len(per_member) > 1 else set()
    out = [k for k in next(iter(per_member.values())) if k in shared]
    for tag, keys in per_member.items():
        for k in keys:
            if k in shared:
                continue
            if k.path == f"{prefix}type":
                continue  # the tag itself is listed with the union's choices
            out.append(Key(f"{prefix}{tag}.{k.path[len(prefix) :]}", k.required, k.default, k.bounds, k.choices))
    tags = tuple(tag for tag, _ in members)
    out.insert(0, Key(f"{prefix}type", True, None, None, tags))
    # Dedupe keys whose rendering is the same (a union nested in both members, e.g. ipam).
    seen: dict[str, Key] = {}
    for k in out:
        seen.setdefault(k.path, k)
    return list(seen.values())


def top_level() -> dict[str, list[Key]]:
    """eks-multus:<key> -> the keys inside it ([] for a scalar key)."""
    out: dict[str, list[Key]] = {}
    for name, field in StackConfig.model_fields.items():
        if name in ("stack", "region"):
            continue
        alias = field.alias or name
        out[alias] = [Key(k.path[len(alias) :].lstrip("."), k.required, k.default, k.bounds, k.choices) for k in walk_field(alias, field)]
    return out


def walk_field(alias: str, field: FieldInfo) -> list[Key]:
    class One(BaseModel):
        pass

    sub, is_list, members = _model_of(field.annotation)
    item = f"{alias}[]" if is_list else alias
    keys = [_leaf(alias, field)]
    if sub is not None:
        keys.extend(walk(sub, f"{item}."))
    elif members is not None:
        keys.extend(_walk_union(members, f"{item}."))
    return keys
