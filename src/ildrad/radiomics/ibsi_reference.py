"""IBSI reference tables (``reference value;tolerance;tag``) and their pass rule.

The IBSI consensus values are given to three significant digits, so a computed value passes when
``|value - reference| <= tolerance + half a unit of the reference's third significant digit``.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["ReferenceMismatch", "allowed_deviation", "check_reference_value", "read_reference_table"]


class ReferenceMismatch(AssertionError):
    """A computed value lies outside the IBSI tolerance of its reference value."""


def read_reference_table(path: str | Path) -> dict[str, tuple[float, float]]:
    """Tag -> (reference value, tolerance) of a ``;``-separated IBSI table (rows without a value
    are left out: IBSI has no consensus for them)."""
    table: dict[str, tuple[float, float]] = {}
    lines = Path(path).read_text().splitlines()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(";")
        if len(parts) != 3:
            raise ValueError(f"{path}: line {number}: expected 'value;tolerance;tag', got {line!r}")
        value, tolerance, tag = parts
        if value.strip():
            table[tag.strip()] = (float(value), float(tolerance or 0.0))
    return table


def allowed_deviation(reference: float, tolerance: float) -> float:
    """Tolerance plus half a unit of the third significant digit of ``reference``."""
    if reference == 0:
        return tolerance
    return tolerance + 0.5 * 10.0 ** (math.floor(math.log10(abs(reference))) - 2)


def check_reference_value(tag: str, value: float, reference: float, tolerance: float) -> None:
    """Raise :class:`ReferenceMismatch` naming ``tag`` and both values when ``value`` fails."""
    allowed = allowed_deviation(reference, tolerance)
    if not abs(value - reference) <= allowed:  # also fails for NaN
        raise ReferenceMismatch(
            f"{tag}: computed {value!r}, IBSI reference {reference} (tolerance {tolerance}, "
            f"allowed deviation {allowed:.6g}, deviation {abs(value - reference):.6g})"
        )
