"""One error type for every bad-config finding, so callers print them all at once."""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "eks-multus"
FILE = ""
"""Path of an issue about the stack file as a whole (its name is shown by the caller)."""


@dataclass(frozen=True, order=True)
class ConfigIssue:
    """A single finding: where (key path), what is wrong, and what would be valid."""

    path: str
    problem: str
    fix: str = ""

    def render(self) -> str:
        text = self.problem if self.path == FILE else f"{self.key}: {self.problem}"
        return f"{text}; {self.fix}" if self.fix else text

    @property
    def key(self) -> str:
        """`eks-multus:networks[0].master`; paths of other namespaces (`aws:region`) as they are."""
        head = self.path.split(".", 1)[0].split("[", 1)[0]  # `tags.aws:team` is ours; `aws:region` is not
        return self.path if ":" in head else f"{NAMESPACE}:{self.path}"


class ConfigError(Exception):
    """Raised with every finding of a config, never with only the first."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(set(issues), key=lambda i: (_path_key(i.path), i.problem))
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.issues)
        head = f"stack config has {count} error{'s' if count != 1 else ''}:"
        return "\n".join([head, *(f"  - {i.render()}" for i in self.issues)])


def _path_key(path: str) -> tuple:
    """Sort `networks[10]` after `networks[2]`."""
    parts: list = []
    for token in path.replace("]", "").replace("[", ".").split("."):
        parts.append((0, int(token), "") if token.isdigit() else (1, 0, token))
    return tuple(parts)


def join_path(*parts: str | int) -> str:
    """Build `networks[0].ipam.rangeEnd` from ('networks', 0, 'ipam', 'rangeEnd')."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
