"""Candidate assessment: the demand to plan, and each location's eligibility, rank, distance and holdings.

Eligibility. Delivery: the origin store if the address lies within its delivery radius (inclusive; an address
without coordinates rules the store out), regional warehouses whose region prefixes cover the address's region
code, and the central warehouse. Pickup: the origin store if it offers pickup; with ``ship_to_store``, also the
warehouses that could deliver to that store, the store being the destination (its coordinates from its
candidate, its region code from ``Destination.region``). A tier missing from ``policy.tier_order`` is never
used. Eligible locations that cannot ship any line whole (any of a line, with splitting) are left out of the
search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from cloudstore.routing.engine.geo import haversine_km, region_served
from cloudstore.routing.engine.model import Candidate, Destination, RoutingPolicy, Tier

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cloudstore.routing.engine.model import OrderLine

__all__ = ("Demand", "Site", "aggregate", "assess", "check", "useful")

_TIER_POSITION = {tier: position for position, tier in enumerate(Tier)}


class Demand(msgspec.Struct, frozen=True):
    """Aggregated demand, SKUs sorted; ``idx`` are the SKU positions being planned, ``full`` their bit mask."""

    skus: tuple[str, ...]
    need: tuple[int, ...]
    split: bool
    idx: tuple[int, ...] = ()
    full: int = 0

    def narrowed(self, idx: tuple[int, ...]) -> Demand:
        """The same demand, planning only the SKU positions ``idx``."""
        return Demand(self.skus, self.need, self.split, idx, sum(1 << i for i in idx))


class Site(msgspec.Struct, frozen=True):
    """A candidate as the search sees it.

    ``units[i]`` is what it holds of SKU i; bit i of ``mask`` is set when it can ship line i whole, bit i of
    ``holds`` when it holds any of it.
    """

    candidate: Candidate
    rank: int
    distance_km: float
    units: tuple[int, ...]
    mask: int
    holds: int


def _km_over(distance: float, radius: float) -> str:
    shown = f"{distance:.1f} km > {radius:.1f} km"
    if f"{distance:.1f}" == f"{radius:.1f}":
        shown = f"{distance:.3f} km > {radius:.3f} km"
    return shown


def _delivery_reason(candidate: Candidate, destination: Destination, distance: float, policy: RoutingPolicy) -> str:
    """Why ``candidate`` cannot deliver to the address, or ``""`` when it can."""
    if candidate.tier == Tier.STORE:
        if candidate.code != destination.origin_store:
            return "not the origin store"
        if destination.lat is None or destination.lng is None:
            return "address has no coordinates"
        radius = policy.default_radius_km if candidate.delivery_radius_km is None else candidate.delivery_radius_km
        if distance > radius:
            return f"out of delivery radius ({_km_over(distance, radius)})"
    elif candidate.tier == Tier.REGIONAL:
        if not destination.region:
            return "address has no region code"
        if not region_served(candidate.regions, destination.region):
            return f"region {destination.region} not served"
    return ""


def _pickup_reason(
    candidate: Candidate, destination: Destination, origin: Candidate | None, policy: RoutingPolicy
) -> str:
    """Why ``candidate`` cannot supply a pickup at the origin store, or ``""`` when it can."""
    if candidate.tier == Tier.STORE:
        if candidate.code != destination.origin_store:
            return "not the pickup store"
        return "" if candidate.pickup else "store does not offer pickup"
    if not policy.ship_to_store:
        return "pickup is served from the store's own stock (ship-to-store off)"
    # Ship-to-store: the warehouse delivers to the pickup store, so the store is the destination.
    if origin is None:
        return f"pickup store {destination.origin_store} not among candidates"
    if not origin.pickup:
        return f"pickup store {origin.code} does not offer pickup"
    if candidate.tier == Tier.REGIONAL:
        if not destination.region:
            return "pickup store has no region code"
        if not region_served(candidate.regions, destination.region):
            return f"region {destination.region} of pickup store not served"
    return ""


def _passed_reason(
    candidate: Candidate, destination: Destination, origin: Candidate | None, distance: float, policy: RoutingPolicy
) -> str:
    """Why ``candidate`` is not eligible at all, or ``""`` when it is."""
    if candidate.tier not in policy.tier_order:
        return "tier disabled by policy"
    if destination.mode == "pickup":
        return _pickup_reason(candidate, destination, origin, policy)
    return _delivery_reason(candidate, destination, distance, policy)


def aggregate(lines: Sequence[OrderLine], split: bool) -> Demand:
    """The order's lines added up per SKU, every SKU planned; no lines or a quantity below 1 is a ValueError."""
    if not lines:
        raise ValueError("an order needs at least one line")
    totals: dict[str, int] = {}
    for line in lines:
        if line.qty <= 0:
            raise ValueError(f"line {line.sku!r} has quantity {line.qty}; quantities must be at least 1")
        totals[line.sku] = totals.get(line.sku, 0) + line.qty
    skus = tuple(sorted(totals))
    return Demand(skus, tuple(totals[sku] for sku in skus), split).narrowed(tuple(range(len(skus))))


def check(destination: Destination, candidates: Sequence[Candidate], policy: RoutingPolicy) -> None:
    """Refuse (ValueError) inputs no plan can be made from; see :func:`~cloudstore.routing.engine.plan_route`."""
    if policy.max_shipments < 1:
        raise ValueError("max_shipments must be at least 1")
    if destination.mode == "pickup" and not destination.origin_store:
        raise ValueError("a pickup order needs its origin store")
    codes = [candidate.code for candidate in candidates]
    if len(set(codes)) != len(codes):
        raise ValueError("candidate location codes must be unique")


def assess(
    candidates: Sequence[Candidate], destination: Destination, policy: RoutingPolicy, demand: Demand
) -> list[tuple[Site, str]]:
    """Every candidate with its reason for being passed over (``""`` when eligible), most preferred first."""
    origin = next((c for c in candidates if c.tier == Tier.STORE and c.code == destination.origin_store), None)
    point: tuple[float, float] | None = None
    if destination.mode == "pickup" and origin is not None:
        point = (origin.lat, origin.lng)
    elif destination.lat is not None and destination.lng is not None:
        point = (destination.lat, destination.lng)
    assessed: list[tuple[Site, str]] = []
    for candidate in candidates:
        # Without a destination point, distance cannot rank anything: count it as 0 for all.
        distance = 0.0 if point is None else haversine_km(candidate.lat, candidate.lng, *point)
        tier = Tier(candidate.tier)
        enabled = tier in policy.tier_order
        rank = policy.tier_order.index(tier) if enabled else len(policy.tier_order) + _TIER_POSITION[tier]
        units = tuple(max(0, candidate.stock.get(sku, 0)) for sku in demand.skus)
        mask = sum(1 << i for i, (have, need) in enumerate(zip(units, demand.need, strict=True)) if have >= need)
        holds = sum(1 << i for i, have in enumerate(units) if have)
        site = Site(candidate, rank, distance, units, mask, holds)
        assessed.append((site, _passed_reason(candidate, destination, origin, distance, policy)))
    assessed.sort(key=lambda item: (item[0].rank, item[0].distance_km, item[0].candidate.code))
    return assessed


def useful(site: Site, demand: Demand) -> bool:
    """Whether the site can ship any planned line whole (with splitting: holds any of one)."""
    return bool((site.holds if demand.split else site.mask) & demand.full)
