"""Findings that do not stop a deployment but that a user should read first.

Same shape as validation errors (key path, problem, fix); the Pulumi program
logs them as warnings and the offline plan prints them to stderr. A rule is a
function of the validated model; add it to `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .errors import ConfigIssue
from .model import StackConfig

Rule = Callable[[StackConfig], Iterator[ConfigIssue]]

RULES: list[Rule] = []


def _unused_existing_namespaces(cfg: StackConfig) -> Iterator[ConfigIssue]:
    """A listed namespace no network uses is most likely a typo, and then the intended one gets created."""
    used = {n.namespace for n in cfg.networks}
    for i, name in enumerate(cfg.existing_namespaces):
        if name not in used:
            yield ConfigIssue(
                f"existingNamespaces[{i}]",
                f"no network uses namespace `{name}`, so listing it changes nothing",
                f"use one of the networks' namespaces ({', '.join(sorted(used)) or 'none'}) or remove it",
            )


RULES.append(_unused_existing_namespaces)


def advise(cfg: StackConfig) -> list[ConfigIssue]:
    """Every warning for a config that already passed validation, in key order."""
    found: set[ConfigIssue] = set()
    for rule in RULES:
        found.update(rule(cfg))
    return sorted(found)
