"""`python -m plan --stack dev` (what `make plan` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.core.errors import ConfigError
from components.core.loader import load_config, read_stack_file_with_notes
from components.core.prefixes import capacity_text

from .mocks import PlanMocks, subnets_in_config
from .render import tree, write_plan
from .runner import ROOT, ProgramError, program_in, run_program


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plan", description="Offline plan of an eks-multus stack (no cloud, no CLI).")
    parser.add_argument("--stack", help="stack name; reads stacks/Pulumi.<stack>.yaml (default dev)")
    parser.add_argument("--config", help="plan this stack file instead (its name gives the stack)")
    parser.add_argument("--main", metavar="DIR", help="plan the Pulumi Python program in DIR (its Pulumi.yaml and __main__.py) instead")
    parser.add_argument(
        "--stack-reference",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="with --main: answer StackReference(NAME) with the outputs in FILE (an outputs.json this command wrote)",
    )
    parser.add_argument("--out", help="output folder (default build/plan/<stack>, or build/plan/<project>-<stack> with --main)")
    parser.add_argument("--quiet", action="store_true", help="do not print the tree")
    parser.add_argument("--schema", metavar="FILE", help="write the component package's schema (as `pulumi package add` gets it) to FILE")
    args = parser.parse_args(argv)

    if args.schema:
        return _write_schema(Path(args.schema))

    if args.main:
        return _plan_program(parser, args)
    if args.config and args.stack is not None:
        parser.error("give --stack (a file in stacks/) or --config (any stack file), not both: the file's name gives the stack")
    path = Path(args.config) if args.config else ROOT / "stacks" / f"Pulumi.{args.stack or 'dev'}.yaml"
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml") if args.config else args.stack or "dev"
    if not args.config and not path.exists():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
        print(
            f"error: there is no stack `{stack}` (no stacks/Pulumi.{stack}.yaml); stacks: {', '.join(known)}. "
            "Plan any other stack file with CONFIG=path/to/Pulumi.<name>.yaml",
            file=sys.stderr,
        )
        return 1
    try:
        flat, notes = read_stack_file_with_notes(path)
        for note in notes:
            print(f"note: {note.render()}", file=sys.stderr)
        result = run_program(flat, stack)
    except (ConfigError, ProgramError) as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 1
    for message in result.warnings:
        print(f"warning: {message}", file=sys.stderr)
    out = Path(args.out) if args.out else ROOT / "build" / "plan" / stack
    _write(result, out, stack, args.quiet, capacity_text(load_config(flat, stack)))
    return 0


def _write(result, out: Path, stack: str, quiet: bool, capacity: str = "") -> None:
    """The plan's files; on stdout the tree and, for a stack of this project, its capacity per node."""
    write_plan(result, out)
    if not quiet:
        sys.stdout.write(f"Previewing stack {stack} (offline, mocks)\n\n")
        sys.stdout.write(tree(result))
        if capacity:
            sys.stdout.write("\n" + capacity)
        sys.stdout.write(f"\nWrote {_shown(out)}: resources.json, outputs.json, manifests/, cni/\n")


def _write_schema(path: Path) -> int:
    import json

    from components.package import schema

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema(), indent=2, sort_keys=True) + "\n")
    print(f"Wrote {_shown(path)}")
    return 0


def _mocks(flat: dict, references: list[str]) -> PlanMocks | str:
    """The plan's mocks, answering each named StackReference from a planned outputs.json."""
    import json

    answers = {}
    for ref in references:
        name, _, file = ref.partition("=")
        if not name or not file or not Path(file).is_file():
            return f"{ref}: give NAME=FILE with the outputs.json of a plan"
        answers[name] = json.loads(Path(file).read_text())
    region = str(flat.get("aws:region") or "us-east-1")
    return PlanMocks(region, stack_references=answers, subnets=subnets_in_config(flat))


def _plan_program(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Any Pulumi Python program: its own project name and main file, config from its stack file (if any)."""
    found = program_in(Path(args.main))
    if isinstance(found, str):
        print(f"error: {args.main}: {found}", file=sys.stderr)
        return 1
    project, main = found
    stack = args.stack or "dev"
    if args.config:
        path: Path | None = Path(args.config)
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml") if args.stack is None else stack
    else:
        candidate = Path(args.main) / f"Pulumi.{stack}.yaml"
        path = candidate if candidate.exists() else None
    flat: dict = {}
    try:
        if path is not None:
            flat, notes = read_stack_file_with_notes(path)
            for note in notes:
                print(f"note: {note.render()}", file=sys.stderr)
        mocks = _mocks(flat, args.stack_reference)
        if isinstance(mocks, str):
            print(f"error: --stack-reference {mocks}", file=sys.stderr)
            return 1
        result = run_program(flat, stack, main=main, project=project, mocks=mocks)
    except (ConfigError, ProgramError) as exc:
        print(f"error: {main}: {exc}", file=sys.stderr)
        return 1
    for message in result.warnings:
        print(f"warning: {message}", file=sys.stderr)
    out = Path(args.out) if args.out else ROOT / "build" / "plan" / f"{project}-{stack}"
    _write(result, out, stack, args.quiet)
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
