"""Kubernetes resource quantities (the subset used for CPU and memory)."""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_FACTORS = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
}


def parse_quantity(text: str) -> Decimal | None:
    """Value of a quantity in base units (bytes, cores), or None if it is not one."""
    m = _QUANTITY.match(text.strip())
    if not m:
        return None
    return Decimal(m.group(1)) * _FACTORS[m.group(2)]
