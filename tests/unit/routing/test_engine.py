"""Example tests for the fulfilment routing engine: one or more per rule and per trace reason."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from cloudstore.routing.engine import (
    EARTH_RADIUS_KM,
    Candidate,
    Destination,
    OrderLine,
    RoutingPlan,
    RoutingPolicy,
    Shipment,
    ShortLine,
    Tier,
    TraceEntry,
    haversine_km,
    plan_route,
    region_served,
)

# A delivery address in Nanshan, Shenzhen (GB/T 2260 440305).
HOME = (22.5333, 113.9304)
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
NOT_NEEDED = "not needed: plan covered by fewer or better locations"
ONE_SHIPMENT = "chosen: covers all lines in 1 shipment"


def north(km: float) -> tuple[float, float]:
    """A point ``km`` due north of HOME."""
    return HOME[0] + km / KM_PER_DEGREE, HOME[1]


def store(code: str = "S1", km: float = 1.0, stock: dict[str, int] | None = None, **extra: Any) -> Candidate:
    lat, lng = north(km)
    return Candidate(code=code, tier=Tier.STORE, lat=lat, lng=lng, stock=stock or {}, **extra)


def regional(
    code: str = "R1", km: float = 20.0, stock: dict[str, int] | None = None, regions: tuple[str, ...] = ("44",)
) -> Candidate:
    lat, lng = north(km)
    return Candidate(code=code, tier=Tier.REGIONAL, lat=lat, lng=lng, regions=regions, stock=stock or {})


def central(code: str = "C1", km: float = 1200.0, stock: dict[str, int] | None = None) -> Candidate:
    lat, lng = north(km)
    return Candidate(code=code, tier=Tier.CENTRAL, lat=lat, lng=lng, stock=stock or {})


def delivery(origin: str | None = "S1", region: str | None = "440305", *, coords: bool = True) -> Destination:
    lat, lng = HOME if coords else (None, None)
    return Destination(mode="delivery", origin_store=origin, region=region, lat=lat, lng=lng)


def pickup(origin: str = "S1", region: str | None = "440305") -> Destination:
    return Destination(mode="pickup", origin_store=origin, region=region)


def order(**qty: int) -> list[OrderLine]:
    return [OrderLine(sku=sku, qty=n) for sku, n in qty.items()]


def shipped(plan: RoutingPlan) -> dict[str, dict[str, int]]:
    return {s.location: {line.sku: line.qty for line in s.lines} for s in plan.shipments}


def reasons(plan: RoutingPlan) -> dict[str, str]:
    return {entry.location: entry.reason for entry in plan.trace}


def decisions(plan: RoutingPlan) -> dict[str, str]:
    return {entry.location: entry.decision for entry in plan.trace}


# --- geometry and regions ---------------------------------------------------------------------------------------


def test_haversine_known_distances() -> None:
    assert haversine_km(*HOME, *HOME) == 0.0
    assert haversine_km(0, 0, 1, 0) == pytest.approx(KM_PER_DEGREE, rel=1e-12)
    assert haversine_km(0, 0, 90, 0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_KM, rel=1e-12)
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_KM, rel=1e-12)
    # Shenzhen to Beijing is about 1,940 km as the crow flies.
    assert haversine_km(22.5431, 114.0579, 39.9042, 116.4074) == pytest.approx(1943, abs=5)


def test_haversine_is_symmetric() -> None:
    assert haversine_km(22.5, 113.9, 31.2, 121.5) == haversine_km(31.2, 121.5, 22.5, 113.9)


@pytest.mark.parametrize(
    ("prefixes", "region", "served"),
    [
        (("44",), "440305", True),
        (("44",), "4403", True),
        (("4403",), "440305", True),
        (("4403",), "440105", False),
        (("440305",), "440305", True),
        (("440305",), "440306", False),
        (("11", "4403"), "440305", True),
        (("440000",), "440305", True),  # full-form province code
        (("440300",), "440305", True),  # full-form city code
        (("4403",), "440300", True),  # the address names the city only
        (("440305",), "440300", False),  # a district does not serve its whole city
        ((), "440305", False),
        (("",), "440305", False),
        (("44",), None, False),
        (("44",), "", False),
    ],
)
def test_region_served(prefixes: tuple[str, ...], region: str | None, served: bool) -> None:
    assert region_served(prefixes, region) is served


# --- validation -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "destination", "candidates", "policy"),
    [
        ([], delivery(), [central()], RoutingPolicy()),
        (order(A=0), delivery(), [central()], RoutingPolicy()),
        ([OrderLine(sku="A", qty=2), OrderLine(sku="A", qty=-1)], delivery(), [central()], RoutingPolicy()),
        (order(A=1), delivery(), [central("X"), regional("X")], RoutingPolicy()),
        (order(A=1), Destination(mode="pickup", origin_store=None), [store()], RoutingPolicy()),
        (order(A=1), delivery(), [central()], RoutingPolicy(max_shipments=0)),
    ],
    ids=["no-lines", "zero-qty", "negative-qty", "duplicate-codes", "pickup-without-store", "zero-max-shipments"],
)
def test_invalid_input_raises(
    lines: list[OrderLine], destination: Destination, candidates: list[Candidate], policy: RoutingPolicy
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages, one exception type
        plan_route(lines, destination, candidates, policy)


# --- objective ------------------------------------------------------------------------------------------------


def test_store_that_covers_everything_beats_nearer_warehouses() -> None:
    candidates = [
        regional(km=0.5, stock={"A": 9, "B": 9}),
        central(stock={"A": 9, "B": 9}),
        store(km=3.0, stock={"A": 2, "B": 1}),
    ]
    plan = plan_route(order(A=2, B=1), delivery(), candidates, RoutingPolicy())
    assert plan.complete
    assert plan.shipments == (
        Shipment(location="S1", tier=Tier.STORE, lines=(OrderLine(sku="A", qty=2), OrderLine(sku="B", qty=1))),
    )
    assert reasons(plan) == {"S1": ONE_SHIPMENT, "R1": NOT_NEEDED, "C1": NOT_NEEDED}


def test_single_regional_beats_store_plus_central_split() -> None:
    candidates = [store(stock={"A": 2}), regional(stock={"A": 2, "B": 1}), central(stock={"A": 9, "B": 9})]
    plan = plan_route(order(A=2, B=1), delivery(), candidates, RoutingPolicy())
    assert shipped(plan) == {"R1": {"A": 2, "B": 1}}


def test_single_central_beats_store_plus_regional_split() -> None:
    candidates = [store(stock={"A": 2}), regional(stock={"B": 1}), central(stock={"A": 9, "B": 9})]
    plan = plan_route(order(A=2, B=1), delivery(), candidates, RoutingPolicy())
    assert shipped(plan) == {"C1": {"A": 2, "B": 1}}


def test_store_plus_central_beats_two_regionals() -> None:
    # Both pairs need two shipments; (store, central) holds the better best tier than (regional, regional),
    # even though the regionals are far nearer (a sum of tier ranks would tie and let distance pick them).
    candidates = [
        store(stock={"A": 1, "B": 1}),
        regional("R1", km=10, stock={"A": 1, "B": 1, "C": 1}),
        regional("R2", km=11, stock={"D": 1}),
        central(stock={"C": 1, "D": 1}),
    ]
    plan = plan_route(order(A=1, B=1, C=1, D=1), delivery(), candidates, RoutingPolicy())
    assert shipped(plan) == {"S1": {"A": 1, "B": 1}, "C1": {"C": 1, "D": 1}}
    assert reasons(plan) == {
        "S1": "chosen: ships A x1, B x1 (shipment 1 of 2)",
        "R1": NOT_NEEDED,
        "R2": NOT_NEEDED,
        "C1": "chosen: ships C x1, D x1 (shipment 2 of 2)",
    }


def test_within_a_split_the_store_keeps_every_line_it_can_ship() -> None:
    candidates = [store(stock={"A": 2, "B": 1}), central(stock={"A": 9, "C": 9})]
    plan = plan_route(order(A=2, B=1, C=1), delivery(), candidates, RoutingPolicy())
    assert shipped(plan) == {"S1": {"A": 2, "B": 1}, "C1": {"C": 1}}
    assert [s.location for s in plan.shipments] == ["S1", "C1"]


def test_nearest_regional_wins() -> None:
    candidates = [regional("R1", km=40, stock={"A": 1}), regional("R2", km=15, stock={"A": 1})]
    plan = plan_route(order(A=1), delivery(), candidates, RoutingPolicy())
    assert shipped(plan) == {"R2": {"A": 1}}
    assert [entry.location for entry in plan.trace] == ["R2", "R1"]


def test_equal_distance_tie_broken_by_code() -> None:
    candidates = [regional("R2", km=15, stock={"A": 1}), regional("R1", km=15, stock={"A": 1})]
    plan = plan_route(order(A=1), delivery(), candidates, RoutingPolicy())
    assert shipped(plan) == {"R1": {"A": 1}}


def test_tier_order_from_policy() -> None:
    candidates = [store(stock={"A": 1}), regional(stock={"A": 1}), central(stock={"A": 1})]
    policy = RoutingPolicy(tier_order=(Tier.CENTRAL, Tier.REGIONAL, Tier.STORE))
    plan = plan_route(order(A=1), delivery(), candidates, policy)
    assert shipped(plan) == {"C1": {"A": 1}}
    assert [entry.location for entry in plan.trace] == ["C1", "R1", "S1"]


def test_tier_disabled_by_policy() -> None:
    candidates = [store(stock={"A": 1}), regional(stock={"A": 1}), central(stock={"A": 1})]
    policy = RoutingPolicy(tier_order=(Tier.REGIONAL, Tier.CENTRAL))
    plan = plan_route(order(A=1), delivery(), candidates, policy)
    assert shipped(plan) == {"R1": {"A": 1}}
    assert reasons(plan) == {"R1": ONE_SHIPMENT, "C1": NOT_NEEDED, "S1": "tier disabled by policy"}


# --- eligibility and trace reasons ----------------------------------------------------------------------------


def test_out_of_delivery_radius() -> None:
    candidates = [store(km=7.2, stock={"A": 1}), central(stock={"A": 1})]
    plan = plan_route(order(A=1), delivery(), candidates, RoutingPolicy())
    assert shipped(plan) == {"C1": {"A": 1}}
    assert reasons(plan)["S1"] == "out of delivery radius (7.2 km > 5.0 km)"
    assert decisions(plan)["S1"] == "passed"


def test_radius_edge_is_inclusive() -> None:
    lat, lng = north(4.0)
    distance = haversine_km(lat, lng, *HOME)
    at_edge = store(km=4.0, stock={"A": 1}, delivery_radius_km=distance)
    plan = plan_route(order(A=1), delivery(), [at_edge, central(stock={"A": 1})], RoutingPolicy())
    assert shipped(plan) == {"S1": {"A": 1}}

    just_inside = store(km=4.0, stock={"A": 1}, delivery_radius_km=math.nextafter(distance, 0.0))
    plan = plan_route(order(A=1), delivery(), [just_inside, central(stock={"A": 1})], RoutingPolicy())
    assert shipped(plan) == {"C1": {"A": 1}}
    assert reasons(plan)["S1"].startswith("out of delivery radius (4.000 km > 4.000 km")


def test_store_radius_overrides_policy_default() -> None:
    wide = store(km=7.0, stock={"A": 1}, delivery_radius_km=10.0)
    assert shipped(plan_route(order(A=1), delivery(), [wide], RoutingPolicy())) == {"S1": {"A": 1}}
    default = store(km=7.0, stock={"A": 1})
    assert shipped(plan_route(order(A=1), delivery(), [default], RoutingPolicy(default_radius_km=8.0))) == {
        "S1": {"A": 1}
    }
    plan = plan_route(order(A=1), delivery(), [default], RoutingPolicy())
    assert not plan.complete
    assert reasons(plan)["S1"] == "out of delivery radius (7.0 km > 5.0 km)"


def test_address_without_coordinates_rules_out_the_store_only() -> None:
    candidates = [store(stock={"A": 1}), regional(stock={"A": 1}), central(stock={"A": 1})]
    plan = plan_route(order(A=1), delivery(coords=False), candidates, RoutingPolicy())
    assert shipped(plan) == {"R1": {"A": 1}}
    assert reasons(plan)["S1"] == "address has no coordinates"


def test_only_the_origin_store_delivers() -> None:
    candidates = [store("S1", stock={}), store("S2", km=0.5, stock={"A": 1}), central(stock={"A": 1})]
    plan = plan_route(order(A=1), delivery("S1"), candidates, RoutingPolicy())
    assert shipped(plan) == {"C1": {"A": 1}}
    assert reasons(plan)["S2"] == "not the origin store"
    assert reasons(plan)["S1"] == "short of stock: A needs 1, has 0"


def test_order_without_origin_store_ships_from_warehouses() -> None:
    plan = plan_route(order(A=1), delivery(None), [store(stock={"A": 1}), central(stock={"A": 1})], RoutingPolicy())
    assert shipped(plan) == {"C1": {"A": 1}}
    assert reasons(plan)["S1"] == "not the origin store"


def test_region_not_served() -> None:
    candidates = [regional("R1", regions=("4401",), stock={"A": 1}), regional("R2", km=30, stock={"A": 1})]
    plan = plan_route(order(A=1), delivery(region="440305"), candidates, RoutingPolicy())
    assert shipped(plan) == {"R2": {"A": 1}}
    assert reasons(plan)["R1"] == "region 440305 not served"


def test_regional_prefix_shorter_than_address_serves_it() -> None:
    candidates = [regional("R1", regions=("4403",), stock={"A": 1}), central(stock={"A": 1})]
    served = plan_route(order(A=1), delivery(region="440305"), candidates, RoutingPolicy())
    assert shipped(served) == {"R1": {"A": 1}}
    elsewhere = plan_route(order(A=1), delivery(region="440105"), candidates, RoutingPolicy())
    assert shipped(elsewhere) == {"C1": {"A": 1}}
    assert reasons(elsewhere)["R1"] == "region 440105 not served"


def test_address_without_region_code() -> None:
    candidates = [regional(stock={"A": 1}), central(stock={"A": 1})]
    plan = plan_route(order(A=1), delivery(region=None), candidates, RoutingPolicy())
    assert shipped(plan) == {"C1": {"A": 1}}
    assert reasons(plan)["R1"] == "address has no region code"


def test_short_of_stock_reason_lists_each_gap() -> None:
    candidates = [store(stock={"A": 1, "B": 5}), regional(stock={"B": 1}), central(stock={"A": 3, "B": 2})]
    plan = plan_route(order(A=3, B=2), delivery(), candidates, RoutingPolicy())
    assert shipped(plan) == {"C1": {"A": 3, "B": 2}}
    assert reasons(plan)["R1"] == "short of stock: A needs 3, has 0; B needs 2, has 1"
    assert reasons(plan)["S1"] == NOT_NEEDED  # it could ship B whole, but one shipment beats two


def test_negative_stock_counts_as_none() -> None:
    plan = plan_route(order(A=1), delivery(), [store(stock={"A": -2}), central(stock={"A": 1})], RoutingPolicy())
    assert shipped(plan) == {"C1": {"A": 1}}
    assert reasons(plan)["S1"] == "short of stock: A needs 1, has 0"


def test_trace_has_one_entry_per_candidate_in_preference_order() -> None:
    candidates = [
        central(stock={"A": 1}),
        store("S2", stock={"A": 1}),
        regional("R2", km=50, regions=("11",)),
        regional("R1", km=20, stock={"A": 1}),
        store("S1", stock={"A": 1}),
    ]
    plan = plan_route(order(A=1), delivery(), candidates, RoutingPolicy())
    assert [entry.location for entry in plan.trace] == ["S1", "S2", "R1", "R2", "C1"]
    assert [entry.decision for entry in plan.trace] == ["chosen", "passed", "passed", "passed", "passed"]


def test_plan_does_not_depend_on_candidate_order() -> None:
    candidates = [
        store(stock={"A": 1}),
        regional("R1", km=10, stock={"A": 1, "B": 1}),
        regional("R2", km=10, stock={"B": 1}),
        central(stock={"C": 1}),
    ]
    first = plan_route(order(A=1, B=1, C=1), delivery(), candidates, RoutingPolicy())
    again = plan_route(order(C=1, B=1, A=1), delivery(), candidates[::-1], RoutingPolicy())
    assert first == again


# --- max shipments, line splitting, aggregation, shortages -----------------------------------------------------


def test_max_shipments_limits_the_plan() -> None:
    candidates = [store(stock={"A": 1}), regional(stock={"B": 1}), central(stock={"C": 1})]
    plan = plan_route(order(A=1, B=1, C=1), delivery(), candidates, RoutingPolicy(max_shipments=3))
    assert shipped(plan) == {"S1": {"A": 1}, "R1": {"B": 1}, "C1": {"C": 1}}

    limited = plan_route(order(A=1, B=1, C=1), delivery(), candidates, RoutingPolicy(max_shipments=2))
    assert not limited.complete
    assert limited.shipments == ()
    # The best two locations (store and regional) leave C uncovered.
    assert limited.short == (ShortLine(sku="C", requested=1, available=0),)
    assert reasons(limited)["S1"] == (
        "short of stock: B needs 1, has 0; C needs 1, has 0; no plan within 2 shipment(s) covers every line"
    )
    assert set(decisions(limited).values()) == {"passed"}
    # Dropping what is short leaves an order that can be planned.
    assert plan_route(order(A=1, B=1), delivery(), candidates, RoutingPolicy(max_shipments=2)).complete


def test_without_line_split_a_line_comes_from_one_location() -> None:
    candidates = [store(stock={"A": 3}), regional(stock={"A": 4})]
    plan = plan_route(order(A=5), delivery(), candidates, RoutingPolicy())
    assert plan.shipments == ()
    assert plan.short == (ShortLine(sku="A", requested=5, available=4),)  # the most any one location holds
    assert reasons(plan)["S1"] == "short of stock: A needs 5, has 3"


def test_line_split_allowed() -> None:
    candidates = [store(stock={"A": 3}), regional(stock={"A": 4})]
    plan = plan_route(order(A=5), delivery(), candidates, RoutingPolicy(allow_line_split=True))
    assert shipped(plan) == {"S1": {"A": 3}, "R1": {"A": 2}}


def test_line_split_short_reports_the_sum() -> None:
    candidates = [store(stock={"A": 3}), regional(stock={"A": 1}), regional("R9", regions=("11",), stock={"A": 9})]
    plan = plan_route(order(A=5), delivery(), candidates, RoutingPolicy(allow_line_split=True))
    assert plan.short == (ShortLine(sku="A", requested=5, available=4),)
    assert plan.shipments == ()


def test_line_split_still_minimises_shipments() -> None:
    candidates = [store(stock={"A": 2}), regional(stock={"A": 2}), central(stock={"A": 4})]
    plan = plan_route(order(A=4), delivery(), candidates, RoutingPolicy(allow_line_split=True))
    assert shipped(plan) == {"C1": {"A": 4}}


def test_line_split_only_splits_lines_no_single_location_covers() -> None:
    candidates = [store(stock={"A": 1, "B": 3}), regional(stock={"A": 2, "B": 2})]
    plan = plan_route(order(A=2, B=5), delivery(), candidates, RoutingPolicy(allow_line_split=True))
    assert shipped(plan) == {"S1": {"B": 3}, "R1": {"A": 2, "B": 2}}


def test_line_split_respects_max_shipments() -> None:
    candidates = [store(stock={"A": 1}), regional("R1", stock={"A": 1}), regional("R2", km=30, stock={"A": 1})]
    policy = RoutingPolicy(allow_line_split=True, max_shipments=2)
    plan = plan_route(order(A=3), delivery(), candidates, policy)
    assert plan.shipments == ()
    assert plan.short == (ShortLine(sku="A", requested=3, available=2),)
    policy = RoutingPolicy(allow_line_split=True, max_shipments=3)
    assert shipped(plan_route(order(A=3), delivery(), candidates, policy)) == {
        "S1": {"A": 1},
        "R1": {"A": 1},
        "R2": {"A": 1},
    }


def test_duplicate_sku_lines_are_aggregated() -> None:
    candidates = [store(stock={"A": 3}), regional(stock={"A": 4, "B": 1})]
    lines = [OrderLine(sku="A", qty=2), OrderLine(sku="B", qty=1), OrderLine(sku="A", qty=2)]
    plan = plan_route(lines, delivery(), candidates, RoutingPolicy())
    assert plan.shipments == (
        Shipment(location="R1", tier=Tier.REGIONAL, lines=(OrderLine(sku="A", qty=4), OrderLine(sku="B", qty=1))),
    )
    assert reasons(plan)["S1"] == "short of stock: A needs 4, has 3; B needs 1, has 0"


def test_sku_nowhere_in_stock_is_short() -> None:
    candidates = [store(stock={"A": 1}), central(stock={"A": 5})]
    plan = plan_route(order(A=1, B=2), delivery(), candidates, RoutingPolicy())
    assert not plan.complete
    assert plan.shipments == ()
    assert plan.short == (ShortLine(sku="B", requested=2, available=0),)
    assert reasons(plan) == {"S1": "short of stock: B needs 2, has 0", "C1": "short of stock: B needs 2, has 0"}


def test_no_candidates_means_everything_is_short() -> None:
    plan = plan_route(order(B=1, A=2), delivery(), [], RoutingPolicy())
    assert plan == RoutingPlan(
        shipments=(),
        short=(ShortLine(sku="A", requested=2, available=0), ShortLine(sku="B", requested=1, available=0)),
        trace=(),
    )


def test_ineligible_stock_does_not_count_as_available() -> None:
    plan = plan_route(order(A=2), delivery(), [store(km=9, stock={"A": 5}), central(stock={"A": 1})], RoutingPolicy())
    assert plan.short == (ShortLine(sku="A", requested=2, available=1),)


# --- pickup ---------------------------------------------------------------------------------------------------


def test_pickup_from_the_store() -> None:
    candidates = [store(pickup=True, stock={"A": 2}), regional(stock={"A": 5}), central(stock={"A": 5})]
    plan = plan_route(order(A=2), pickup(), candidates, RoutingPolicy())
    assert shipped(plan) == {"S1": {"A": 2}}
    assert reasons(plan)["R1"] == "pickup is served from the store's own stock (ship-to-store off)"


def test_pickup_store_short_without_ship_to_store() -> None:
    candidates = [store(pickup=True, stock={"A": 1}), central(stock={"A": 5})]
    plan = plan_route(order(A=2), pickup(), candidates, RoutingPolicy())
    assert plan.short == (ShortLine(sku="A", requested=2, available=1),)


def test_pickup_at_store_without_pickup() -> None:
    plan = plan_route(order(A=1), pickup(), [store(pickup=False, stock={"A": 1})], RoutingPolicy())
    assert not plan.complete
    assert reasons(plan) == {"S1": "store does not offer pickup"}


def test_pickup_only_at_the_origin_store() -> None:
    candidates = [store("S1", pickup=True), store("S2", pickup=True, stock={"A": 1})]
    plan = plan_route(order(A=1), pickup("S1"), candidates, RoutingPolicy())
    assert plan.short == (ShortLine(sku="A", requested=1, available=0),)
    assert reasons(plan)["S2"] == "not the pickup store"


def test_pickup_ignores_the_delivery_radius() -> None:
    far_store = store(km=50, pickup=True, stock={"A": 1})
    plan = plan_route(order(A=1), pickup(), [far_store], RoutingPolicy())
    assert shipped(plan) == {"S1": {"A": 1}}


def test_ship_to_store_fills_what_the_store_lacks() -> None:
    candidates = [store(pickup=True, stock={"A": 1}), regional(stock={"B": 1}), central(stock={"B": 1})]
    plan = plan_route(order(A=1, B=1), pickup(), candidates, RoutingPolicy(ship_to_store=True))
    assert shipped(plan) == {"S1": {"A": 1}, "R1": {"B": 1}}


def test_ship_to_store_measures_distance_from_the_store() -> None:
    # The store is 100 km north of HOME; R1 is next to the store, R2 next to HOME.
    candidates = [
        store(km=100, pickup=True),
        regional("R1", km=101, stock={"A": 1}),
        regional("R2", km=1, stock={"A": 1}),
    ]
    destination = Destination(mode="pickup", origin_store="S1", region="440305", lat=HOME[0], lng=HOME[1])
    plan = plan_route(order(A=1), destination, candidates, RoutingPolicy(ship_to_store=True))
    assert shipped(plan) == {"R1": {"A": 1}}


def test_ship_to_store_uses_the_store_region() -> None:
    candidates = [
        store(pickup=True),
        regional("R1", regions=("4401",), stock={"A": 1}),
        central(stock={"A": 1}),
    ]
    plan = plan_route(order(A=1), pickup(region="440305"), candidates, RoutingPolicy(ship_to_store=True))
    assert shipped(plan) == {"C1": {"A": 1}}
    assert reasons(plan)["R1"] == "region 440305 of pickup store not served"

    plan = plan_route(order(A=1), pickup(region=None), candidates, RoutingPolicy(ship_to_store=True))
    assert reasons(plan)["R1"] == "pickup store has no region code"


def test_ship_to_store_needs_the_store_among_candidates() -> None:
    plan = plan_route(order(A=1), pickup(), [central(stock={"A": 1})], RoutingPolicy(ship_to_store=True))
    assert plan.shipments == ()
    assert reasons(plan) == {"C1": "pickup store S1 not among candidates"}


def test_ship_to_store_needs_a_pickup_store() -> None:
    candidates = [store(pickup=False), central(stock={"A": 1})]
    plan = plan_route(order(A=1), pickup(), candidates, RoutingPolicy(ship_to_store=True))
    assert plan.shipments == ()
    assert reasons(plan) == {"S1": "store does not offer pickup", "C1": "pickup store S1 does not offer pickup"}


def test_ship_to_store_when_store_stock_is_disabled() -> None:
    candidates = [store(pickup=True, stock={"A": 1}), central(stock={"A": 1})]
    policy = RoutingPolicy(tier_order=(Tier.REGIONAL, Tier.CENTRAL), ship_to_store=True)
    plan = plan_route(order(A=1), pickup(), candidates, policy)
    assert shipped(plan) == {"C1": {"A": 1}}
    assert reasons(plan)["S1"] == "tier disabled by policy"


# --- wire format ----------------------------------------------------------------------------------------------


def test_plan_round_trips_through_json() -> None:
    candidates = [store(stock={"A": 1}), central(stock={"A": 2, "B": 1})]
    plan = plan_route(order(A=2, B=1), delivery(), candidates, RoutingPolicy())
    assert msgspec.json.decode(msgspec.json.encode(plan), type=RoutingPlan) == plan
    assert plan.trace == (
        TraceEntry(location="S1", decision="passed", reason="short of stock: A needs 2, has 1; B needs 1, has 0"),
        TraceEntry(location="C1", decision="chosen", reason=ONE_SHIPMENT),
    )


def test_candidate_decodes_from_json() -> None:
    raw = b'{"code": "S1", "tier": "store", "lat": 22.5, "lng": 113.9, "pickup": true, "stock": {"A": 3}}'
    candidate = msgspec.json.decode(raw, type=Candidate)
    assert candidate.tier is Tier.STORE
    assert candidate.stock == {"A": 3}
    assert candidate.regions == ()


def test_decoding_rejects_a_zero_quantity() -> None:
    with pytest.raises(msgspec.ValidationError, match="qty"):
        msgspec.json.decode(b'{"sku": "A", "qty": 0}', type=OrderLine)
