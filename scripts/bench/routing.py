"""Benchmark the pure routing engine: plans per second for typical and large orders.

Run: ``.venv/bin/python scripts/bench/routing.py`` (add ``--quick`` for a shorter run).
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import timeit
from typing import NamedTuple

from cloudstore.routing.engine import Candidate, Destination, OrderLine, RoutingPolicy, Tier, plan_route

NANSHAN = (22.5333, 113.9304)


class Scenario(NamedTuple):
    name: str
    lines: list[OrderLine]
    destination: Destination
    candidates: list[Candidate]
    policy: RoutingPolicy


def typical(*, store_covers: bool) -> Scenario:
    """3 lines; one store, three regional warehouses, one central warehouse."""
    lines = [OrderLine(sku="SKU-1", qty=2), OrderLine(sku="SKU-2", qty=1), OrderLine(sku="SKU-3", qty=1)]
    store_stock = {"SKU-1": 5, "SKU-2": 3, "SKU-3": 1 if store_covers else 0}
    candidates = [
        Candidate(code="S-NS01", tier=Tier.STORE, lat=22.5402, lng=113.9345, pickup=True, stock=store_stock),
        Candidate(
            code="R-SZ", tier=Tier.REGIONAL, lat=22.6, lng=114.05, regions=("4403",), stock={"SKU-1": 40, "SKU-3": 9}
        ),
        Candidate(
            code="R-GD",
            tier=Tier.REGIONAL,
            lat=23.13,
            lng=113.26,
            regions=("44",),
            stock={"SKU-1": 90, "SKU-2": 50, "SKU-3": 30},
        ),
        Candidate(code="R-FJ", tier=Tier.REGIONAL, lat=26.07, lng=119.3, regions=("35",), stock={"SKU-2": 80}),
        Candidate(
            code="C-HQ", tier=Tier.CENTRAL, lat=31.23, lng=121.47, stock={"SKU-1": 500, "SKU-2": 500, "SKU-3": 500}
        ),
    ]
    destination = Destination(mode="delivery", origin_store="S-NS01", region="440305", lat=NANSHAN[0], lng=NANSHAN[1])
    name = "3 lines, 5 candidates, " + ("store ships all" if store_covers else "one regional ships all")
    return Scenario(name, lines, destination, candidates, RoutingPolicy())


def large(*, split: bool, max_shipments: int = 3, scarce: bool = False) -> Scenario:
    """10 lines; 20 candidates (the origin store, 18 regional warehouses, one central), stock spread thin."""
    rng = random.Random(2260)
    skus = [f"SKU-{n:02d}" for n in range(10)]
    lines = [OrderLine(sku=sku, qty=rng.randint(1, 3)) for sku in skus]
    candidates = [
        Candidate(
            code="S-NS01",
            tier=Tier.STORE,
            lat=22.5402,
            lng=113.9345,
            stock={sku: rng.randint(0, 3) for sku in skus[:4]},
        )
    ]
    for n in range(18):
        held = rng.sample(skus, 4)
        candidates.append(
            Candidate(
                code=f"R-{n:02d}",
                tier=Tier.REGIONAL,
                lat=22.0 + rng.random() * 2,
                lng=113.0 + rng.random() * 2,
                regions=(rng.choice(("44", "4403", "4401")),),
                stock={sku: rng.randint(1, 6) for sku in held},
            )
        )
    # With ``scarce`` the central warehouse lacks four SKUs, one of which nobody else holds either.
    central_skus = skus[:6] if scarce else skus[:8]
    candidates.append(
        Candidate(code="C-HQ", tier=Tier.CENTRAL, lat=31.23, lng=121.47, stock=dict.fromkeys(central_skus, 100))
    )
    destination = Destination(mode="delivery", origin_store="S-NS01", region="440305", lat=NANSHAN[0], lng=NANSHAN[1])
    policy = RoutingPolicy(allow_line_split=split, max_shipments=max_shipments)
    name = f"10 lines, 20 candidates, split={'on' if split else 'off'}, max_shipments={max_shipments}"
    if scarce:
        name += ", one SKU nowhere"
    return Scenario(name, lines, destination, candidates, policy)


def measure(scenario: Scenario, repeats: int) -> tuple[float, str]:
    """Best-of-``repeats`` seconds per plan, and a one-line summary of the plan."""
    plan = plan_route(scenario.lines, scenario.destination, scenario.candidates, scenario.policy)
    timer = timeit.Timer(lambda: plan_route(scenario.lines, scenario.destination, scenario.candidates, scenario.policy))
    number, _ = timer.autorange()
    per_plan = min(timer.repeat(repeat=repeats, number=number)) / number
    if plan.complete:
        outcome = " + ".join(f"{s.location}({len(s.lines)} lines)" for s in plan.shipments)
    else:
        outcome = "short: " + ", ".join(f"{s.sku} {s.available}/{s.requested}" for s in plan.short)
    return per_plan, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    scenarios = [
        typical(store_covers=True),
        typical(store_covers=False),
        large(split=False),
        large(split=True),
        large(split=False, max_shipments=2),
        large(split=True, max_shipments=2),
        large(split=False, scarce=True),
    ]
    print(f"routing engine benchmark: Python {platform.python_version()} on {platform.machine()}")
    print(f"command: {sys.executable} {' '.join(sys.argv)}")
    print(f"{'scenario':<66} {'plans/s':>10} {'us/plan':>9}  plan")
    for scenario in scenarios:
        per_plan, outcome = measure(scenario, repeats)
        print(f"{scenario.name:<66} {1 / per_plan:>10,.0f} {per_plan * 1e6:>9.1f}  {outcome}")


if __name__ == "__main__":
    main()
