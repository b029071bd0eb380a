"""EKS Kubernetes versions and their support windows (data/eks-versions.json).

The support check needs a date. Validation uses `plan_date()`: today in UTC,
or the ISO date in the environment variable `EKS_MULTUS_DATE` (tests and
reproducible plans set it). Messages name the dates from the data file, never
the plan date, so the same config gives the same text on every day of one
support phase.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

DATE_ENV = "EKS_MULTUS_DATE"

Phase = Literal["standard", "extended", "ended", "unreleased"]


@dataclass(frozen=True)
class EksVersion:
    version: str
    eks_release: dt.date
    end_of_standard: dt.date
    end_of_extended: dt.date
    end_of_standard_text: str
    end_of_extended_text: str
    """The dates as the data file writes them (YYYY-MM when only the month is known)."""

    def phase(self, on: dt.date) -> Phase:
        """Where `on` falls: EKS bills extended support from the end-of-standard day (UTC)."""
        if on < self.eks_release:
            return "unreleased"
        if on < self.end_of_standard:
            return "standard"
        if on < self.end_of_extended:
            return "extended"
        return "ended"


def _date(text: str) -> dt.date:
    """YYYY-MM-DD, or YYYY-MM (approximate) counted from the first of the month."""
    return dt.date.fromisoformat(f"{text}-01" if len(text) == 7 else text)


@lru_cache(maxsize=1)
def eks_versions() -> dict[str, EksVersion]:
    raw = json.loads(resources.files(__package__).joinpath("data/eks-versions.json").read_text())["versions"]
    out = {}
    for version, row in raw.items():
        release, standard, extended = (_date(row[k]) for k in ("eksRelease", "endOfStandard", "endOfExtended"))
        out[version] = EksVersion(version, release, standard, extended, row["endOfStandard"], row["endOfExtended"])
    return out


def eks_version(version: str) -> EksVersion | None:
    return eks_versions().get(version)


def plan_date() -> dt.date:
    """The date support is judged on: `EKS_MULTUS_DATE` (YYYY-MM-DD) if set, else today in UTC."""
    fixed = os.environ.get(DATE_ENV)
    if fixed:
        return dt.date.fromisoformat(fixed)
    return dt.datetime.now(dt.UTC).date()
