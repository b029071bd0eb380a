"""`python -m plan --stack dev` (what `make plan` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.core.errors import ConfigError
from components.core.loader import load_config, read_stack_file_with_notes
from components.core.prefixes import capacity_text

from .render import tree, write_plan
from .runner import ROOT, ProgramError, run_program


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plan", description="Offline plan of an eks-multus stack (no cloud, no CLI).")
    parser.add_argument("--stack", help="stack name; reads stacks/Pulumi.<stack>.yaml (default dev)")
    parser.add_argument("--config", help="plan this stack file instead (its name gives the stack)")
    parser.add_argument("--out", help="output folder (default build/plan/<stack>)")
    parser.add_argument("--quiet", action="store_true", help="do not print the tree")
    args = parser.parse_args(argv)

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
    write_plan(result, out)
    if not args.quiet:
        sys.stdout.write(f"Previewing stack {stack} (offline, mocks)\n\n")
        sys.stdout.write(tree(result))
        sys.stdout.write("\n" + capacity_text(load_config(flat, stack)))
        sys.stdout.write(f"\nWrote {_shown(out)}: resources.json, outputs.json, manifests/, cni/\n")
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
