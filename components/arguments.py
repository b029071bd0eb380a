"""Turn a component's typed args into the validated model, or refuse them all at once.

The rules are the stack config's own (`core/loader.py` for shapes, `core/validate.py`
for the rest): a component's args are the stack config's sections under the same
names, so each finding's key path is also the argument path (`config.nodeGroups[0].labels`
for a component that takes the whole config, `networks[0].master` for one that takes
sections). Findings are raised as `ArgsError`, a `pulumi.InputPropertiesError` (the
engine's error for bad component inputs: one property path and reason each) that is
also a `pulumi.RunError`, which a Python program reports without a traceback.
"""

import difflib
import inspect
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pulumi
from pydantic import TypeAdapter, ValidationError
from pydantic.alias_generators import to_snake

from .args import StackArgs
from .core import validate as rules
from .core.errors import ConfigIssue, join_path
from .core.loader import _consequence, _issue_from_pydantic
from .core.model import StackConfig

Rule = Callable[[StackConfig], Iterable[ConfigIssue]]

# Rules that read only the given sections (plus defaulted ones), by what a component takes.
MULTUS_RULES: tuple[Rule, ...] = (rules._multus,)
WHEREABOUTS_RULES: tuple[Rule, ...] = (rules._whereabouts,)
SRIOV_RULES: tuple[Rule, ...] = (rules._sriov,)
NAMESPACE_RULES: tuple[Rule, ...] = (rules._ipam_overlaps, rules._existing_namespaces)
NETWORK_RULES: tuple[Rule, ...] = (
    rules._networks,
    rules._ipam_overlaps,
    rules._existing_namespaces,
    rules._ipvlan_mode_per_master,
    rules._host_device_takes_ipvlan_master,
    rules.address_resource_issues,
)


class ArgsError(pulumi.InputPropertiesError, pulumi.RunError):
    """Every problem of a component's args, each with its argument path and fix."""

    def __init__(self, component: str, name: str, issues: list[ConfigIssue]) -> None:
        ordered = sorted({_python_spelling(i) for i in issues}, key=lambda i: (i.path, i.problem))
        lines = [f"  - {_arg_text(i)}" for i in ordered]
        count = len(ordered)
        message = f"{component} {name!r}: {count} invalid argument{'s' if count != 1 else ''}:\n" + "\n".join(lines)
        errors = [{"property_path": i.path, "reason": f"{i.problem}; {i.fix}" if i.fix else i.problem} for i in ordered]
        super().__init__(message, errors)  # type: ignore[arg-type]
        self.issues = ordered


_SUGGESTION = re.compile(r"did you mean `([A-Za-z]+)`\?")


def _python_spelling(issue: ConfigIssue) -> ConfigIssue:
    """Args are Python dicts, keyed in snake_case: suggest a key as Python spells it."""
    fix = _SUGGESTION.sub(lambda m: f"did you mean `{to_snake(m.group(1))}`?", issue.fix)
    return ConfigIssue(issue.path, issue.problem, fix) if fix != issue.fix else issue


def _arg_text(issue: ConfigIssue) -> str:
    text = f"{issue.path}: {issue.problem}" if issue.path else issue.problem
    return f"{text}; {issue.fix}" if issue.fix else text


def _prefixed(prefix: str, issues: Iterable[ConfigIssue]) -> list[ConfigIssue]:
    if not prefix:
        return list(issues)
    return [ConfigIssue(join_path(prefix, i.path) if i.path else prefix, i.problem, i.fix) for i in issues]


def _plain(value: Any, path: tuple) -> Iterator[ConfigIssue]:
    """Config values must be known now: they decide which resources exist."""
    if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
        yield ConfigIssue(
            join_path(*path),
            "is an Output or awaitable, but config values decide which resources exist",
            "pass a plain value (resolve it before building the args)",
        )
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _plain(v, (*path, str(k)))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _plain(v, (*path, i))


def _without_none(value: Any) -> Any:
    """A key set to None is a key left out (other languages' SDKs send absent inputs so)."""
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value]
    return value


def _json(value: Any) -> str:
    return json.dumps(_without_none(value), default=str)


def stack_model(component: str, name: str, value: Any, prefix: str = "config") -> StackConfig:
    """The validated stack model from a `StackArgs` mapping (or a `StackConfig` built in code)."""
    if isinstance(value, StackConfig):
        found = rules.validate(value)
        if found:
            raise ArgsError(component, name, _prefixed(prefix, found))
        return value
    if not isinstance(value, Mapping):
        raise ArgsError(component, name, [ConfigIssue(prefix, f"expected the stack config, got {type(value).__name__}", "pass StackArgs")])
    plain = list(_plain(value, ()))
    if plain:
        raise ArgsError(component, name, _prefixed(prefix, plain))
    try:
        model = StackConfig.model_validate_json(_json(value), strict=True, by_alias=False, by_name=True)
    except ValidationError as exc:
        errors = exc.errors()
        issues = [_issue_from_pydantic(e) for e in errors if not _consequence(e, errors, False)]
        raise ArgsError(component, name, _prefixed(prefix, issues)) from None
    found = rules.validate(model)
    if found:
        raise ArgsError(component, name, _prefixed(prefix, found))
    return model


_STANDALONE_DEFAULTS: dict[str, Any] = {"stack": "dev", "region": "", "multus_subnets": (), "node_groups": ()}


def sections_model(component: str, name: str, args: Mapping[str, Any], sections: tuple[str, ...], checks: Iterable[Rule]) -> StackConfig:
    """A partial stack model of the given sections, checked by the rules that read only them.

    Sections not given keep the stack config's defaults (none for the multus subnets and
    node groups); the model is never passed to anything that reads more than `sections`.
    """
    if isinstance(args, StackConfig):  # a model built in code: the same rules
        found = [issue for check in checks for issue in check(args)]
        if found:
            raise ArgsError(component, name, found)
        return args
    if not isinstance(args, Mapping):
        raise ArgsError(
            component, name, [ConfigIssue("", f"expected a mapping of arguments, got {type(args).__name__}", "pass the Args dict")]
        )
    issues: list[ConfigIssue] = [*_unknown_keys(args, sections), *_plain({k: args[k] for k in sections if k in args}, ())]
    if issues:
        raise ArgsError(component, name, issues)
    values: dict[str, Any] = {}
    for key in sections:
        if args.get(key) is None:
            continue
        field = StackConfig.model_fields[key]
        alias = field.alias or key
        try:
            values[key] = TypeAdapter(field.annotation).validate_json(_json(args[key]), strict=True, by_alias=False, by_name=True)
        except ValidationError as exc:
            errors = [{**e, "loc": (alias, *e["loc"])} for e in exc.errors()]
            issues.extend(_issue_from_pydantic(e) for e in errors if not _consequence(e, errors, False))
    if issues:
        raise ArgsError(component, name, issues)
    defaults = {k: v for k, v in _STANDALONE_DEFAULTS.items() if k not in values}
    model = StackConfig.model_construct(**defaults, **values)
    found = [issue for check in checks for issue in check(model)]
    if found:
        raise ArgsError(component, name, found)
    return model


def config_of(component: str, name: str, args: Any, typed: type | None = None) -> StackConfig:
    """The stack model of a component that takes the whole config (`{"config": ...}`, or the model itself)."""
    if isinstance(args, StackConfig):
        return stack_model(component, name, args)
    if not isinstance(args, Mapping) or args.get("config") is None:
        raise ArgsError(component, name, [ConfigIssue("config", "is required but missing", "pass the stack config as `config`")])
    unknown = list(_unknown_keys(args, tuple(typed.__annotations__) if typed is not None else tuple(args)))
    if unknown:
        raise ArgsError(component, name, unknown)
    return stack_model(component, name, args["config"])


def _unknown_keys(args: Mapping[str, Any], allowed: tuple[str, ...]) -> Iterator[ConfigIssue]:
    """An argument the component does not take would be ignored: refuse it, with the nearest one."""
    for key in args:
        if key in allowed:
            continue
        near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        fix = f"did you mean `{near[0]}`?" if near else (f"valid arguments: {', '.join(allowed)}" if allowed else "it takes none")
        yield ConfigIssue(_camel(str(key)), "unknown argument", fix)


def sections_of(cfg: StackConfig, *names: str) -> dict[str, Any]:
    """Sections of a validated model as args (snake_case, plain JSON values)."""
    return cfg.model_dump(mode="json", include=set(names))


def require(component: str, name: str, args: Any, *keys: str) -> None:
    """Refuse args that lack an input the component cannot do without."""
    missing = [k for k in keys if not isinstance(args, Mapping) or args.get(k) is None]
    if missing:
        issues = [ConfigIssue(_camel(k), "is required but missing", f"pass `{k}`") for k in missing]
        raise ArgsError(component, name, issues)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


def load_model(config: StackArgs | StackConfig) -> StackConfig:
    """The validated stack model of a `StackArgs` dict, for code that works on the model.

    Raises `ArgsError` (no traceback, nothing registered) with every finding.
    """
    return stack_model("eks-multus", "config", config)
