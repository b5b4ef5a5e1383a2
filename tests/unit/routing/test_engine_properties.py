"""Property tests for the routing engine, checked against a deliberately naive brute force.

The brute force re-implements eligibility from the rules and tries every subset of eligible locations and
every assignment of units to them; it shares only :func:`haversine_km` (tested on known distances in
``test_engine.py``) with the engine, so distances and radius edges agree to the last bit.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations, product
from typing import TYPE_CHECKING, Literal, NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudstore.routing.engine import (
    Candidate,
    Destination,
    OrderLine,
    RoutingPlan,
    RoutingPolicy,
    Tier,
    haversine_km,
    plan_route,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from random import Random

HOME = (22.5333, 113.9304)
SKUS = ("A", "B", "C")
CODES = ("S1", "S2", "R1", "R2", "R3", "C1", "C2", "X1")
# Weighted towards what serves the usual address (440305) so that many plans are feasible.
PREFIXES = ("44", "44", "4403", "4403", "440305", "4401", "11", "")
ADDRESS_REGIONS = ("440305", "440305", "440305", "440106", "110101", None)
MODES: tuple[Literal["delivery", "pickup"], ...] = ("delivery", "delivery", "pickup")
# A 0.02-degree grid (about 2 km) around HOME: distances repeat, so tie-breaks get exercised too.
OFFSETS = tuple(step / 50 for step in range(-4, 5))

Objective = tuple[int, tuple[int, ...], float, tuple[str, ...]]


class Case(NamedTuple):
    lines: list[OrderLine]
    destination: Destination
    candidates: list[Candidate]
    policy: RoutingPolicy


@st.composite
def candidates_strategy(draw: st.DrawFn, max_size: int) -> list[Candidate]:
    codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=max_size, unique=True))
    found = []
    for code in codes:
        tier = draw(st.sampled_from((Tier.REGIONAL, Tier.STORE, Tier.CENTRAL)))
        found.append(
            Candidate(
                code=code,
                tier=tier,
                lat=HOME[0] + draw(st.sampled_from(OFFSETS)),
                lng=HOME[1] + draw(st.sampled_from(OFFSETS)),
                regions=tuple(draw(st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=2)))
                if tier is Tier.REGIONAL
                else (),
                delivery_radius_km=draw(st.sampled_from((None, 2.0, 5.0, 8.0))),
                pickup=draw(st.booleans()),
                stock={sku: draw(st.integers(-1, 4)) for sku in SKUS if draw(st.integers(0, 3)) < 3},
            )
        )
    return found


@st.composite
def cases(draw: st.DrawFn, max_candidates: int = 4) -> Case:
    candidates = draw(candidates_strategy(max_candidates))
    lines = draw(
        st.lists(st.builds(OrderLine, sku=st.sampled_from(SKUS), qty=st.integers(1, 2)), min_size=1, max_size=4)
    )
    mode = draw(st.sampled_from(MODES))
    stores = [c.code for c in candidates if c.tier is Tier.STORE]
    others = [c.code for c in candidates if c.tier is not Tier.STORE]
    if stores and draw(st.integers(0, 3)) < 3:
        origin_choices: list[str | None] = list(stores)
    else:
        origin_choices = [*others, "S9"] if mode == "pickup" else [*others, "S9", None]
    at_home = draw(st.integers(0, 3)) < 3
    destination = Destination(
        mode=mode,
        origin_store=draw(st.sampled_from(origin_choices)),
        region=draw(st.sampled_from(ADDRESS_REGIONS)),
        lat=HOME[0] if at_home else None,
        lng=HOME[1] if at_home else None,
    )
    tiers = draw(st.permutations(list(Tier)))
    policy = RoutingPolicy(
        tier_order=tuple(tiers[: draw(st.sampled_from((3, 3, 3, 2, 1)))]),
        max_shipments=draw(st.sampled_from((3, 2, 1))),
        allow_line_split=draw(st.booleans()),
        default_radius_km=draw(st.sampled_from((3.0, 5.0))),
        ship_to_store=draw(st.integers(0, 2)) < 2,
    )
    return Case(lines, destination, candidates, policy)


@st.composite
def crowded_cases(draw: st.DrawFn, max_candidates: int = 4) -> Case:
    """Deliveries every warehouse may serve, of several SKUs spread thin: plans that need 2-3 shipments."""
    candidates = draw(candidates_strategy(max_candidates))
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=2, max_size=3, unique=True))
    lines = [OrderLine(sku=sku, qty=draw(st.integers(1, 3))) for sku in skus]
    stores = [c.code for c in candidates if c.tier is Tier.STORE]
    destination = Destination(
        mode="delivery", origin_store=stores[0] if stores else None, region="440305", lat=HOME[0], lng=HOME[1]
    )
    policy = RoutingPolicy(
        tier_order=tuple(draw(st.permutations(list(Tier)))),
        max_shipments=draw(st.sampled_from((3, 2, 1))),
        allow_line_split=draw(st.booleans()),
    )
    return Case(lines, destination, candidates, policy)


# --- the naive reference ---------------------------------------------------------------------------------------


def demand_of(lines: Sequence[OrderLine]) -> dict[str, int]:
    demand: Counter[str] = Counter()
    for line in lines:
        demand[line.sku] += line.qty
    return dict(demand)


def have(candidate: Candidate, sku: str) -> int:
    return max(0, candidate.stock.get(sku, 0))


def origin_of(case: Case) -> Candidate | None:
    stores = [c for c in case.candidates if c.tier is Tier.STORE and c.code == case.destination.origin_store]
    return stores[0] if stores else None


def serves(prefixes: Sequence[str], region: str | None) -> bool:
    return region is not None and any(p and region[: len(p)] == p for p in prefixes)


def naive_eligible(candidate: Candidate, case: Case) -> bool:
    dest, policy = case.destination, case.policy
    if candidate.tier not in policy.tier_order:
        return False
    if dest.mode == "pickup":
        if candidate.tier is Tier.STORE:
            return candidate.code == dest.origin_store and candidate.pickup
        origin = origin_of(case)
        if not policy.ship_to_store or origin is None or not origin.pickup:
            return False
        return candidate.tier is Tier.CENTRAL or serves(candidate.regions, dest.region)
    if candidate.tier is Tier.STORE:
        if candidate.code != dest.origin_store or dest.lat is None or dest.lng is None:
            return False
        radius = policy.default_radius_km if candidate.delivery_radius_km is None else candidate.delivery_radius_km
        return haversine_km(candidate.lat, candidate.lng, dest.lat, dest.lng) <= radius
    return candidate.tier is Tier.CENTRAL or serves(candidate.regions, dest.region)


def naive_distance(candidate: Candidate, case: Case) -> float:
    origin = origin_of(case)
    if case.destination.mode == "pickup" and origin is not None:
        return haversine_km(candidate.lat, candidate.lng, origin.lat, origin.lng)
    if case.destination.lat is None or case.destination.lng is None:
        return 0.0
    return haversine_km(candidate.lat, candidate.lng, case.destination.lat, case.destination.lng)


def objective(locations: Sequence[Candidate], case: Case) -> Objective:
    return (
        len(locations),
        tuple(sorted(case.policy.tier_order.index(c.tier) for c in locations)),
        sum(naive_distance(c, case) for c in locations),
        tuple(sorted(c.code for c in locations)),
    )


def can_ship(subset: Sequence[Candidate], demand: dict[str, int], split: bool) -> bool:
    """Whether some assignment of every unit to locations in ``subset`` exists (tried one by one)."""
    if not split:
        skus = list(demand)
        return any(
            all(have(location, sku) >= demand[sku] for location, sku in zip(assignment, skus, strict=True))
            for assignment in product(subset, repeat=len(skus))
        )
    return all(
        any(sum(take) == qty for take in product(*(range(min(have(c, sku), qty) + 1) for c in subset)))
        for sku, qty in demand.items()
    )


def naive_best(case: Case) -> Objective | None:
    demand = demand_of(case.lines)
    eligible = [c for c in case.candidates if naive_eligible(c, case)]
    keys = [
        objective(subset, case)
        for size in range(1, case.policy.max_shipments + 1)
        for subset in combinations(eligible, size)
        if can_ship(subset, demand, case.policy.allow_line_split)
    ]
    return min(keys, default=None)


def run(case: Case) -> RoutingPlan:
    return plan_route(case.lines, case.destination, case.candidates, case.policy)


# --- properties ------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(cases(max_candidates=6))
def test_plan_respects_stock_eligibility_and_limits(case: Case) -> None:
    plan = run(case)
    demand = demand_of(case.lines)
    by_code = {c.code: c for c in case.candidates}
    shipped: Counter[str] = Counter()
    assert len({s.location for s in plan.shipments}) == len(plan.shipments)
    assert len(plan.shipments) <= case.policy.max_shipments
    for shipment in plan.shipments:
        location = by_code[shipment.location]
        assert shipment.tier == location.tier
        assert naive_eligible(location, case)
        assert shipment.lines, "a shipment ships something"
        assert [line.sku for line in shipment.lines] == sorted({line.sku for line in shipment.lines})
        for line in shipment.lines:
            assert 1 <= line.qty <= have(location, line.sku)
            shipped[line.sku] += line.qty
    if plan.complete:
        assert plan.short == ()
        assert dict(shipped) == demand
        if not case.policy.allow_line_split:
            assert all(n == 1 for n in Counter(line.sku for s in plan.shipments for line in s.lines).values())
    else:
        assert plan.shipments == ()
        assert plan.short
        assert [s.sku for s in plan.short] == sorted({s.sku for s in plan.short})
        for short in plan.short:
            assert short.requested == demand[short.sku]
            assert 0 <= short.available < short.requested


@settings(max_examples=400, deadline=None)
@given(st.one_of(cases(max_candidates=4), crowded_cases(max_candidates=4)))
def test_plan_matches_brute_force_optimum(case: Case) -> None:
    plan = run(case)
    best = naive_best(case)
    assert plan.complete is (best is not None)
    if best is None:
        return
    by_code = {c.code: c for c in case.candidates}
    got = objective([by_code[s.location] for s in plan.shipments], case)
    assert got[:2] == best[:2], "same number of shipments and the same tiers"
    assert abs(got[2] - best[2]) <= 1e-9
    if got[3] != best[3]:
        assert abs(got[2] - best[2]) <= 1e-12, "only a floating-point tie may pick other locations"


@settings(max_examples=150, deadline=None)
@given(cases(max_candidates=6), st.randoms(use_true_random=False))
def test_plan_does_not_depend_on_candidate_order(case: Case, random: Random) -> None:
    shuffled = list(case.candidates)
    random.shuffle(shuffled)
    lines = list(reversed(case.lines))
    assert plan_route(lines, case.destination, shuffled, case.policy) == run(case)


@settings(max_examples=250, deadline=None)
@given(cases(max_candidates=6))
def test_short_lines_name_what_cannot_be_covered(case: Case) -> None:
    plan = run(case)
    if plan.complete:
        return
    demand = demand_of(case.lines)
    eligible = [c for c in case.candidates if naive_eligible(c, case)]
    for short in plan.short:
        holdings = [have(c, short.sku) for c in eligible]
        anywhere = sum(holdings) if case.policy.allow_line_split else max(holdings, default=0)
        if anywhere < short.requested:
            assert short.available == anywhere
    # Every SKU that no eligible location (or all of them together, with splitting) can cover is named.
    for sku, qty in demand.items():
        holdings = [have(c, sku) for c in eligible]
        anywhere = sum(holdings) if case.policy.allow_line_split else max(holdings, default=0)
        if anywhere < qty:
            assert sku in {s.sku for s in plan.short}
    # Dropping the short SKUs leaves an order the same locations can plan in full.
    named = {s.sku for s in plan.short}
    rest = [line for line in case.lines if line.sku not in named]
    if rest:
        assert run(case._replace(lines=rest)).complete


@settings(max_examples=200, deadline=None)
@given(cases(max_candidates=6))
def test_trace_accounts_for_every_candidate(case: Case) -> None:
    plan = run(case)
    assert sorted(entry.location for entry in plan.trace) == sorted(c.code for c in case.candidates)
    chosen = [entry.location for entry in plan.trace if entry.decision == "chosen"]
    assert sorted(chosen) == sorted(s.location for s in plan.shipments)
    assert all(entry.reason for entry in plan.trace)
    for entry, candidate in zip(
        sorted(plan.trace, key=lambda e: e.location), sorted(case.candidates, key=lambda c: c.code), strict=True
    ):
        if not naive_eligible(candidate, case):
            assert entry.decision == "passed"
            assert not entry.reason.startswith(("not needed", "short of stock", "chosen"))
