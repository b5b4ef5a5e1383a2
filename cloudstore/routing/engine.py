"""Fulfilment routing engine: which location ships which order lines.

A pure function over frozen Structs: no I/O, no ``await``, no clock. The routing service loads one snapshot
(order lines, destination, candidate locations with their available stock, the tenant's policy), calls
:func:`plan_route`, and reserves what the returned :class:`RoutingPlan` says.

Eligibility. Delivery: the origin store if the address lies within its delivery radius (inclusive; an address
without coordinates rules the store out), regional warehouses whose region prefixes cover the address's region
code, and the central warehouse. Pickup: the origin store if it offers pickup; with ``ship_to_store``, also the
warehouses that could deliver to that store, the store being the destination (its coordinates from its
candidate, its region code from ``Destination.region``). A tier missing from ``policy.tier_order`` is never
used. Eligible locations that cannot ship any line whole (any of a line, with splitting) are left out of the
search.

Objective, compared lexicographically over the *set* of chosen locations:

1. fewest shipments (one per chosen location);
2. preferred tiers: the ranks of the chosen locations' tiers in ``policy.tier_order``, sorted ascending, compared
   as a tuple. One location of a better tier beats one of a worse tier, and between equally many shipments
   the plan holding the better best tier wins (store + central beats regional + regional), so the store keeps
   the sale whenever it can take part in it;
3. smallest total great-circle distance from the chosen locations to the destination;
4. the sorted tuple of location codes, for a deterministic result.

Within the chosen set, each line comes whole from the most preferred location (tier rank, then distance, then
code) that can ship it whole. Only when line splitting is allowed and no single chosen location can cover a
line is it split, filled from the most preferred location first. That allocation succeeds exactly when the
chosen locations together hold at least the quantity of every line.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping  # needed at runtime: msgspec resolves the Struct field types
from itertools import combinations
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = (
    "EARTH_RADIUS_KM",
    "Candidate",
    "Destination",
    "OrderLine",
    "RoutingPlan",
    "RoutingPolicy",
    "Shipment",
    "ShortLine",
    "Tier",
    "TraceEntry",
    "haversine_km",
    "plan_route",
    "region_served",
)

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), used for every haversine distance."""


class Tier(enum.StrEnum):
    """Kind of stock location."""

    STORE = "store"
    REGIONAL = "regional"
    CENTRAL = "central"


_TIER_POSITION = {tier: position for position, tier in enumerate(Tier)}


class OrderLine(msgspec.Struct, frozen=True, kw_only=True):
    """One requested line; the same SKU may appear on several lines and is then aggregated."""

    sku: str
    qty: Annotated[int, msgspec.Meta(ge=1)]


class Destination(msgspec.Struct, frozen=True, kw_only=True):
    """Where the order goes.

    For delivery, ``region`` and ``lat``/``lng`` describe the address. For pickup the destination is the origin
    store: its coordinates are taken from the origin store's :class:`Candidate`, and ``region`` should be the
    store's own region code (only needed when ship-to-store lets regional warehouses take part).
    """

    mode: Literal["delivery", "pickup"]
    origin_store: str | None
    region: str | None = None
    lat: float | None = None
    lng: float | None = None


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A location that might ship the order, with its available stock.

    ``stock`` maps SKU to available units (on hand minus reserved). It is typed as a read-only ``Mapping``
    (decoded as a ``dict``) and never mutated here; a missing SKU means 0 and negative values count as 0.
    Because of that mapping, candidates are not hashable.
    """

    code: str
    tier: Tier
    lat: float
    lng: float
    regions: tuple[str, ...] = ()
    delivery_radius_km: float | None = None
    pickup: bool = False
    stock: Mapping[str, int] = msgspec.field(default_factory=dict)


class RoutingPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's routing knobs.

    Attributes:
        tier_order: Preferred tiers, best first; a tier left out is never used.
        max_shipments: Most locations one order may ship from.
        allow_line_split: Whether one SKU's quantity may come from several locations.
        default_radius_km: Delivery radius of a store that sets none.
        ship_to_store: Whether warehouses may ship to the origin store for a pickup order.
    """

    tier_order: tuple[Tier, ...] = (Tier.STORE, Tier.REGIONAL, Tier.CENTRAL)
    max_shipments: int = 3
    allow_line_split: bool = False
    default_radius_km: float = 5.0
    ship_to_store: bool = False


class Shipment(msgspec.Struct, frozen=True, kw_only=True):
    """What one location ships: one line per SKU, sorted by SKU."""

    location: str
    tier: Tier
    lines: tuple[OrderLine, ...]


class TraceEntry(msgspec.Struct, frozen=True, kw_only=True):
    """Why a candidate was chosen or passed over."""

    location: str
    decision: Literal["chosen", "passed"]
    reason: str


class ShortLine(msgspec.Struct, frozen=True, kw_only=True):
    """A SKU the plan cannot cover: requested units versus what routing could find for it."""

    sku: str
    requested: int
    available: int


class RoutingPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The routing decision.

    Either ``shipments`` covers every requested unit and ``short`` is empty, or ``shipments`` is empty and
    ``short`` lists what cannot be covered. ``trace`` has one entry per candidate, most preferred first
    (enabled tiers in policy order, then disabled tiers, each by distance to the destination, then code).
    """

    shipments: tuple[Shipment, ...]
    short: tuple[ShortLine, ...]
    trace: tuple[TraceEntry, ...]

    @property
    def complete(self) -> bool:
        """Whether the plan covers every line."""
        return not self.short


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


class _Demand(msgspec.Struct, frozen=True):
    """Aggregated demand, SKUs sorted; ``idx`` are the SKU positions being planned, ``full`` their bit mask."""

    skus: tuple[str, ...]
    need: tuple[int, ...]
    split: bool
    idx: tuple[int, ...] = ()
    full: int = 0

    def narrowed(self, idx: tuple[int, ...]) -> _Demand:
        return _Demand(self.skus, self.need, self.split, idx, sum(1 << i for i in idx))


class _Site(msgspec.Struct, frozen=True):
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


_Objective = tuple[tuple[int, ...], float, tuple[str, ...]]


def _objective(combo: tuple[_Site, ...]) -> _Objective:
    return (
        tuple(sorted(site.rank for site in combo)),
        sum(site.distance_km for site in combo),
        tuple(sorted(site.candidate.code for site in combo)),
    )


def _covers(combo: tuple[_Site, ...], demand: _Demand, i: int) -> bool:
    if demand.split:
        return sum(site.units[i] for site in combo) >= demand.need[i]
    return any(site.mask >> i & 1 for site in combo)


def _feasible(combo: tuple[_Site, ...], demand: _Demand) -> bool:
    mask = 0
    if demand.split:
        # Cheap necessary condition first: every line is held somewhere in the set.
        for site in combo:
            mask |= site.holds
        return mask & demand.full == demand.full and all(_covers(combo, demand, i) for i in demand.idx)
    for site in combo:
        mask |= site.mask
    return mask & demand.full == demand.full


def _capacity(sites: Sequence[_Site], demand: _Demand, i: int) -> int:
    units = [site.units[i] for site in sites]
    if demand.split:
        return sum(units)
    return max(units, default=0)


def _lower_bound(sites: Sequence[_Site], demand: _Demand) -> int:
    """A lower bound on the locations a plan needs.

    With splitting, a line needs at least as many locations as it takes its largest holders to reach its
    quantity; without splitting the bound is 1.
    """
    bound = 1
    if not demand.split:
        return bound
    for i in demand.idx:
        total = count = 0
        for units in sorted((site.units[i] for site in sites), reverse=True):
            if total >= demand.need[i]:
                break
            total += units
            count += 1
        bound = max(bound, count)
    return bound


def _best_cover(sites: Sequence[_Site], demand: _Demand, max_shipments: int) -> tuple[_Site, ...] | None:
    """The best set of locations that covers every planned line, searching sets by increasing size."""
    largest = min(max_shipments, len(sites))
    if not demand.split:
        # Without splitting, one location per SKU always suffices.
        largest = min(largest, len(demand.idx))
    for size in range(_lower_bound(sites, demand), largest + 1):
        feasible = [combo for combo in combinations(sites, size) if _feasible(combo, demand)]
        if feasible:
            return min(feasible, key=_objective)
    return None


def _best_partial(sites: Sequence[_Site], demand: _Demand, max_shipments: int) -> tuple[_Site, ...]:
    """The set of at most ``max_shipments`` locations covering the most planned lines (then the objective)."""
    size = min(max_shipments, len(sites))

    def key(combo: tuple[_Site, ...]) -> tuple[int, _Objective]:
        return (-sum(_covers(combo, demand, i) for i in demand.idx), _objective(combo))

    return min(combinations(sites, size), key=key)


def _allocate(chosen: tuple[_Site, ...], demand: _Demand) -> dict[str, list[tuple[int, int]]]:
    """Assign each planned line to the chosen locations (given in preference order)."""
    allocation: dict[str, list[tuple[int, int]]] = {site.candidate.code: [] for site in chosen}
    for i in demand.idx:
        need = demand.need[i]
        whole = next((site for site in chosen if site.units[i] >= need), None)
        if whole is not None:
            allocation[whole.candidate.code].append((i, need))
            continue
        # Only reachable with line splitting: the chosen set holds enough in total, so this fills the line.
        for site in chosen:
            take = min(need, site.units[i])
            if take:
                allocation[site.candidate.code].append((i, take))
                need -= take
            if not need:
                break
    return allocation


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


def _shortfall(units: tuple[int, ...], demand: _Demand) -> str:
    gaps = [
        f"{sku} needs {need}, has {have}"
        for sku, need, have in zip(demand.skus, demand.need, units, strict=True)
        if have < need
    ]
    return "short of stock: " + "; ".join(gaps) if gaps else "no complete plan"


def _aggregate(lines: Sequence[OrderLine], split: bool) -> _Demand:
    if not lines:
        raise ValueError("an order needs at least one line")
    totals: dict[str, int] = {}
    for line in lines:
        if line.qty <= 0:
            raise ValueError(f"line {line.sku!r} has quantity {line.qty}; quantities must be at least 1")
        totals[line.sku] = totals.get(line.sku, 0) + line.qty
    skus = tuple(sorted(totals))
    return _Demand(skus, tuple(totals[sku] for sku in skus), split).narrowed(tuple(range(len(skus))))


def _check(destination: Destination, candidates: Sequence[Candidate], policy: RoutingPolicy) -> None:
    if policy.max_shipments < 1:
        raise ValueError("max_shipments must be at least 1")
    if destination.mode == "pickup" and not destination.origin_store:
        raise ValueError("a pickup order needs its origin store")
    codes = [candidate.code for candidate in candidates]
    if len(set(codes)) != len(codes):
        raise ValueError("candidate location codes must be unique")


def _assess(
    candidates: Sequence[Candidate], destination: Destination, policy: RoutingPolicy, demand: _Demand
) -> list[tuple[_Site, str]]:
    """Every candidate with its reason for being passed over (``""`` when eligible), most preferred first."""
    origin = next((c for c in candidates if c.tier == Tier.STORE and c.code == destination.origin_store), None)
    point: tuple[float, float] | None = None
    if destination.mode == "pickup" and origin is not None:
        point = (origin.lat, origin.lng)
    elif destination.lat is not None and destination.lng is not None:
        point = (destination.lat, destination.lng)
    assessed: list[tuple[_Site, str]] = []
    for candidate in candidates:
        # Without a destination point, distance cannot rank anything: count it as 0 for all.
        distance = 0.0 if point is None else haversine_km(candidate.lat, candidate.lng, *point)
        tier = Tier(candidate.tier)
        enabled = tier in policy.tier_order
        rank = policy.tier_order.index(tier) if enabled else len(policy.tier_order) + _TIER_POSITION[tier]
        units = tuple(max(0, candidate.stock.get(sku, 0)) for sku in demand.skus)
        mask = sum(1 << i for i, (have, need) in enumerate(zip(units, demand.need, strict=True)) if have >= need)
        holds = sum(1 << i for i, have in enumerate(units) if have)
        site = _Site(candidate, rank, distance, units, mask, holds)
        assessed.append((site, _passed_reason(candidate, destination, origin, distance, policy)))
    assessed.sort(key=lambda item: (item[0].rank, item[0].distance_km, item[0].candidate.code))
    return assessed


def _useful(site: _Site, demand: _Demand) -> bool:
    return bool((site.holds if demand.split else site.mask) & demand.full)


def plan_route(
    lines: Sequence[OrderLine],
    destination: Destination,
    candidates: Sequence[Candidate],
    policy: RoutingPolicy,
) -> RoutingPlan:
    """Decide which locations ship which lines.

    Args:
        lines: Requested lines; lines of the same SKU are added together.
        destination: Delivery address, or the origin store for pickup.
        candidates: Locations with their available stock; codes must be unique. For pickup, include the origin
            store (its coordinates are the destination when warehouses ship to the store).
        policy: The tenant's routing policy.

    Returns:
        The best complete plan, or a plan with no shipments whose ``short`` lists every SKU that cannot be
        covered. A globally short SKU's ``available`` is the most one eligible location holds (or, with line
        splitting, what all eligible locations hold together). A SKU left out only because
        ``max_shipments`` is too small has ``available`` set to what the best partial plan within that limit
        could give it; removing every short SKU from the order leaves an order that can be planned in full.

    Raises:
        ValueError: No lines, a quantity below 1, duplicate candidate codes, a pickup without an origin store,
            or ``max_shipments`` below 1.
    """
    demand = _aggregate(lines, policy.allow_line_split)
    _check(destination, candidates, policy)
    assessed = _assess(candidates, destination, policy, demand)
    eligible = [site for site, reason in assessed if not reason]

    shortages = {i: _capacity(eligible, demand, i) for i in demand.idx}
    shortages = {i: available for i, available in shortages.items() if available < demand.need[i]}
    planned = demand.narrowed(tuple(i for i in demand.idx if i not in shortages))
    sites = [site for site in eligible if _useful(site, planned)]
    chosen = _best_cover(sites, planned, policy.max_shipments) if planned.idx else None
    limited = chosen is None and bool(planned.idx)
    if limited:
        partial = _best_partial(sites, planned, policy.max_shipments)
        shortages |= {i: _capacity(partial, planned, i) for i in planned.idx if not _covers(partial, planned, i)}

    if shortages:
        suffix = f"; no plan within {policy.max_shipments} shipment(s) covers every line" if limited else ""
        short = tuple(
            ShortLine(sku=demand.skus[i], requested=demand.need[i], available=shortages[i]) for i in sorted(shortages)
        )
        trace = tuple(
            TraceEntry(
                location=site.candidate.code,
                decision="passed",
                reason=reason or _shortfall(site.units, demand) + suffix,
            )
            for site, reason in assessed
        )
        return RoutingPlan(shipments=(), short=short, trace=trace)

    assert chosen is not None  # no shortages means every line was planned and covered
    return _complete_plan(chosen, assessed, demand)


def _complete_plan(chosen: tuple[_Site, ...], assessed: list[tuple[_Site, str]], demand: _Demand) -> RoutingPlan:
    allocation = _allocate(chosen, demand)
    shipments = tuple(
        Shipment(
            location=site.candidate.code,
            tier=Tier(site.candidate.tier),
            lines=tuple(OrderLine(sku=demand.skus[i], qty=qty) for i, qty in allocation[site.candidate.code]),
        )
        for site in chosen
    )
    chosen_reason: dict[str, str] = {}
    for number, shipment in enumerate(shipments, start=1):
        if len(shipments) == 1:
            chosen_reason[shipment.location] = "chosen: covers all lines in 1 shipment"
        else:
            shipped = ", ".join(f"{line.sku} x{line.qty}" for line in shipment.lines)
            chosen_reason[shipment.location] = f"chosen: ships {shipped} (shipment {number} of {len(shipments)})"
    trace: list[TraceEntry] = []
    for site, reason in assessed:
        code = site.candidate.code
        if code in chosen_reason:
            trace.append(TraceEntry(location=code, decision="chosen", reason=chosen_reason[code]))
        elif reason:
            trace.append(TraceEntry(location=code, decision="passed", reason=reason))
        elif _useful(site, demand):
            trace.append(
                TraceEntry(
                    location=code, decision="passed", reason="not needed: plan covered by fewer or better locations"
                )
            )
        else:
            trace.append(TraceEntry(location=code, decision="passed", reason=_shortfall(site.units, demand)))
    return RoutingPlan(shipments=shipments, short=(), trace=tuple(trace))
