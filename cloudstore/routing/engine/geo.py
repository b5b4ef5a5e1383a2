"""Geography for routing: great-circle distance and region-code coverage."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ("EARTH_RADIUS_KM", "haversine_km", "region_served")

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), used for every haversine distance."""


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in km between two points given in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlmb = math.radians(lng2 - lng1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlmb) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def _region_prefix(code: str) -> str:
    # A 6-digit GB/T 2260 code ending in 00 names the level above it: "440000" is "44", "440300" is "4403".
    code = code.strip()
    if len(code) == 6 and code.isdigit():
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def region_served(prefixes: Iterable[str], region: str | None) -> bool:
    """Whether any of ``prefixes`` covers ``region`` (``"44"`` covers ``"4403"`` and ``"440305"``).

    Six-digit codes with trailing ``00`` are read as the level above (``"440300"`` is ``"4403"``). An empty
    prefix covers nothing; a missing region is never served.
    """
    if not region:
        return False
    target = _region_prefix(region)
    return any((prefix := _region_prefix(p)) and target.startswith(prefix) for p in prefixes)
