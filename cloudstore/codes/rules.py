"""Diversion (窜货) rules: pure functions of regions and evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

__all__ = ("grade", "outside")


def outside(region: str | None, regions: Sequence[str]) -> bool:
    """Whether a scan in ``region`` lies outside every GB/T 2260 prefix in ``regions``.

    Nothing is concluded without both: a scan that names no region, or a unit shipped to a distributor with no
    regions, is never a diversion.
    """
    if not region or not regions:
        return False
    return not any(region.startswith(prefix) for prefix in regions)


def grade(consumers: int) -> Literal["low", "medium", "high"]:
    """How strong a diversion signal is, by distinct consumers scanning one batch's units in one region."""
    if consumers >= 3:
        return "high"
    return "medium" if consumers == 2 else "low"
