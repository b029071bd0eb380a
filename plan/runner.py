"""Run the real Pulumi program (`__main__.py`) under the mock engine."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import json
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.settings import SETTINGS, _get_rpc_manager, get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from .mocks import PlanMocks, PlanMonitor, Registration

PROJECT = "eks-multus"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PlanResult:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]


class ProgramError(Exception):
    """The program stopped with a message meant for the user (e.g. bad config)."""


def config_values(flat: dict[str, Any]) -> dict[str, str]:
    """Stack-file values as the Pulumi CLI hands them to a program: structured ones as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in flat.items()}


def run_program(
    flat_config: dict[str, Any],
    stack: str,
    main: Path | None = None,
    project: str = PROJECT,
    mocks: PlanMocks | None = None,
) -> PlanResult:
    """Execute the program file against `flat_config` and return what it registered."""
    main = main or ROOT / "__main__.py"
    region = str(flat_config.get("aws:region") or "us-east-1")
    mocks = mocks or PlanMocks(region)
    monitor = PlanMonitor(mocks)

    def run() -> PlanResult:
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
        pulumi.runtime.set_all_config(config_values(flat_config))
        failure = None
        try:
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(main), run_name="__main__")))
        except pulumi.RunError as exc:
            failure = str(exc)
        finally:
            _drain_rpcs()
        if failure is not None:
            # Raised outside the handler, so no __context__ keeps the failed futures reachable.
            raise ProgramError(failure)
        return PlanResult(stack, list(monitor.registrations), _resolve_outputs())

    # A fresh context: the SDK keeps its settings and root stack in context variables.
    try:
        return contextvars.Context().run(run)
    except ProgramError:
        _collect_failed_outputs()
        raise


def _drain_rpcs() -> None:
    """Settle what a failed run left in the SDK's module-global RPC manager and output set.

    When one Output fails, the SDK raises the first failure and leaves the other
    RPCs and output tasks queued; the next program in this process would report
    them as its own.
    """
    manager = _get_rpc_manager()

    async def settle() -> None:
        while manager.rpcs or SETTINGS.outputs:
            while manager.rpcs:
                with contextlib.suppress(Exception):
                    await manager.rpcs.pop()
            with SETTINGS.lock:
                pending = list(SETTINGS.outputs)
                SETTINGS.outputs.clear()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    _sync_await(settle())
    manager.clear()


def _collect_failed_outputs() -> None:
    """Collect, now, the futures a failed program leaves holding its error.

    When one Output fails, every Output built from it holds the same RunError in
    a future nobody awaits. Left to the garbage collector, each is collected at
    some later allocation; `Future.__del__` then logs "exception was never
    retrieved" with a formatted traceback, and on CPython 3.11 formatting a
    traceback calls `ast.parse` (caret anchors). When that collection happens
    inside another `ast.parse` (pytest's assertion rewriting), the nested parse
    corrupts the interpreter-wide AST recursion counter and the outer one fails
    with "AST constructor recursion depth mismatch" (python/cpython#106905,
    fixed in 3.11.8 and 3.12.1 by keeping that counter per parser). The error
    is already reported as `ProgramError`, so these duplicates are dropped here,
    at a point where no parse is running; any other unretrieved failure is
    still logged by the loop's own handler.
    """
    loop = _ensure_event_loop()
    previous = loop.get_exception_handler()

    def handler(event_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), pulumi.RunError):
            return
        if previous is not None:
            previous(event_loop, context)
        else:
            event_loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        gc.collect()
    finally:
        loop.set_exception_handler(previous)


def _resolve_outputs() -> dict[str, Any]:
    root = get_root_resource()
    outputs = getattr(root, "outputs", {}) or {}
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        secret = _sync_await(out.is_secret())
        resolved[key] = "[secret]" if secret else _sync_await(out.future())
    return resolved
