"""Run the real Pulumi program (`__main__.py`) under the mock engine."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import importlib
import importlib.abc
import importlib.util
import json
import logging
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
from pulumi.runtime.settings import SETTINGS, _get_rpc_manager, get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from .mocks import PlanMocks, PlanMonitor, Registration, subnets_in_config

PROJECT = "eks-multus"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PlanResult:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    warnings: list[str]
    """What the program logged at warning level (`pulumi.log.warn`), in order."""


DISTRIBUTION_IMPORT = "eks_multus"
"""The installed package's import name (pyproject.toml); in a checkout it is `components/`."""


class _CheckoutPackage(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`eks_multus[.x]` as this checkout's `components[.x]`, the same module objects.

    Lets a program written against the installed distribution (examples/library, a
    user's own) be planned from a checkout where it is not installed; installed, the
    real distribution is found first and this finder is never asked.
    """

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != DISTRIBUTION_IMPORT and not fullname.startswith(f"{DISTRIBUTION_IMPORT}."):
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> ModuleType:
        return importlib.import_module("components" + spec.name[len(DISTRIBUTION_IMPORT) :])

    def exec_module(self, module: ModuleType) -> None:
        """Already executed under its checkout name."""


def use_checkout_package() -> None:
    """Resolve `eks_multus` to this checkout unless a distribution of it is installed."""
    if any(isinstance(f, _CheckoutPackage) for f in sys.meta_path):
        return
    if importlib.util.find_spec(DISTRIBUTION_IMPORT) is None:
        sys.meta_path.append(_CheckoutPackage())


class ProgramError(Exception):
    """The program stopped with a message meant for the user (e.g. bad config)."""


def program_in(directory: Path) -> tuple[str, Path] | str:
    """(project name, main file) of the Pulumi program in `directory`, or why it cannot be planned.

    As the CLI reads a project: `name` and `runtime` from Pulumi.yaml, the program in
    `main` (a file, or a folder with __main__.py), else the project folder's __main__.py
    (pulumi docs, Pulumi.yaml reference: `main`).
    """
    import yaml

    project_file = next((directory / n for n in ("Pulumi.yaml", "Pulumi.yml") if (directory / n).exists()), None)
    if project_file is None:
        return "no Pulumi.yaml here"
    project = yaml.safe_load(project_file.read_text()) or {}
    runtime = project.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        return f"runtime `{runtime_name}`: the offline plan runs Python programs only (it executes them under Pulumi's Python mocks)"
    main = directory / str(project.get("main") or ".")
    if main.is_dir():
        main = main / "__main__.py"
    if not main.exists():
        return f"no program at {main}"
    return str(project.get("name") or directory.name), main


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
    use_checkout_package()
    region = str(flat_config.get("aws:region") or "us-east-1")
    mocks = mocks or PlanMocks(region, subnets=subnets_in_config(flat_config))
    monitor = PlanMonitor(mocks)
    log = _EngineLog()

    def run() -> PlanResult:
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor, logger=log.logger)
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
        return PlanResult(stack, list(monitor.registrations), _resolve_outputs(), log.warnings)

    _drop_reported_failures(_ensure_event_loop())
    # A fresh context: the SDK keeps its settings and root stack in context variables.
    try:
        return contextvars.Context().run(run)
    except ProgramError:
        _collect_failed_outputs()
        raise


class _EngineLog(logging.Handler):
    """Collects the engine log of one run instead of letting the root logger print it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.warnings: list[str] = []
        self.logger = logging.Logger("eks-multus-plan-engine")
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.warnings.append(record.getMessage())


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
    a future nobody awaits. Left to the garbage collector, each is freed at some
    later allocation, and `Future.__del__` hands it to the loop's exception
    handler, whose default logs a formatted traceback; on CPython 3.11
    formatting a traceback calls `ast.parse` (caret anchors). When that happens
    inside another `ast.parse` (pytest rewriting a module imported later), the
    nested parse corrupts the interpreter-wide AST recursion counter and the
    outer one fails with "AST constructor recursion depth mismatch"
    (python/cpython#106905, fixed in 3.11.8 by a per-parser counter). The error
    is already reported as `ProgramError`, so the loop drops these duplicates
    (see `_drop_reported_failures`) and they are collected here, where no parse
    runs.
    """
    gc.collect()


def _drop_reported_failures(loop: asyncio.AbstractEventLoop) -> None:
    """Loop exception handler: a RunError left in an unawaited future is the run's own failure.

    The SDK raises the first failed Output's RunError from the program (it becomes
    `ProgramError`); the same error held by sibling futures is not logged again.
    Anything else goes to the handler that was there, or the loop's default.
    """
    previous = loop.get_exception_handler()
    if getattr(previous, "drops_reported_failures", False):
        return

    def handler(event_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), pulumi.RunError):
            return
        if previous is not None:
            previous(event_loop, context)
        else:
            event_loop.default_exception_handler(context)

    handler.drops_reported_failures = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


def _resolve_outputs() -> dict[str, Any]:
    root = get_root_resource()
    outputs = getattr(root, "outputs", {}) or {}
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        out = pulumi.Output.from_input(value)
        secret = _sync_await(out.is_secret())
        resolved[key] = "[secret]" if secret else _sync_await(out.future())
    return resolved
