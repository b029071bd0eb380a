"""Shared test helpers: stack files, config mutation, cached plans."""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from components.core.errors import ConfigError
from components.core.loader import load_config, read_stack_file
from components.core.model import StackConfig

ROOT = Path(__file__).resolve().parent.parent
STACKS = ROOT / "stacks"
TEST_STACKS = ROOT / "tests" / "stacks"


def stack_flat(name: str) -> dict[str, Any]:
    path = STACKS / f"Pulumi.{name}.yaml"
    if not path.exists():
        path = TEST_STACKS / f"Pulumi.{name}.yaml"
    return copy.deepcopy(read_stack_file(path))


def ns(flat: dict[str, Any], key: str) -> Any:
    return flat[f"eks-multus:{key}"]


def load(name: str, mutate: Callable[[dict[str, Any]], None] | None = None) -> StackConfig:
    flat = stack_flat(name)
    if mutate:
        mutate(flat)
    return load_config(flat, name)


def errors_of(name: str, mutate: Callable[[dict[str, Any]], None]) -> list[str]:
    """Rendered errors of a mutated stack; fails the test if it loads cleanly."""
    try:
        load(name, mutate)
    except ConfigError as exc:
        return [i.render() for i in exc.issues]
    raise AssertionError("config was accepted but should have been refused")


@cache
def planned(name: str):
    """Run the real program under mocks once per stack per session."""
    from plan.runner import run_program

    return run_program(stack_flat(name), name)


def planned_with(name: str, mutate: Callable[[dict[str, Any]], None]):
    """Run the real program under mocks on a mutated stack (not cached)."""
    from plan.runner import run_program

    flat = stack_flat(name)
    mutate(flat)
    return run_program(flat, name)


def free_port() -> int:
    """A loopback port nobody listens on (for a stand-in, or one node's agent)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
