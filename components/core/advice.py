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


def advise(cfg: StackConfig) -> list[ConfigIssue]:
    """Every warning for a config that already passed validation, in key order."""
    found: set[ConfigIssue] = set()
    for rule in RULES:
        found.update(rule(cfg))
    return sorted(found)
