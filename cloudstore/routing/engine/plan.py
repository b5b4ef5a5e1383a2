"""The routing entry point: assess the candidates, search the plan, explain it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudstore.routing.engine.assessment import aggregate, assess, check, useful
from cloudstore.routing.engine.search import best_cover, best_partial, capacity, covers
from cloudstore.routing.engine.trace import complete_plan, short_plan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cloudstore.routing.engine.model import Candidate, Destination, OrderLine, RoutingPlan, RoutingPolicy

__all__ = ("plan_route",)


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
    demand = aggregate(lines, policy.allow_line_split)
    check(destination, candidates, policy)
    assessed = assess(candidates, destination, policy, demand)
    eligible = [site for site, reason in assessed if not reason]

    shortages = {i: capacity(eligible, demand, i) for i in demand.idx}
    shortages = {i: available for i, available in shortages.items() if available < demand.need[i]}
    planned = demand.narrowed(tuple(i for i in demand.idx if i not in shortages))
    sites = [site for site in eligible if useful(site, planned)]
    chosen = best_cover(sites, planned, policy.max_shipments) if planned.idx else None
    limited = chosen is None and bool(planned.idx)
    if limited:
        partial = best_partial(sites, planned, policy.max_shipments)
        shortages |= {i: capacity(partial, planned, i) for i in planned.idx if not covers(partial, planned, i)}

    if shortages:
        suffix = f"; no plan within {policy.max_shipments} shipment(s) covers every line" if limited else ""
        return short_plan(assessed, demand, shortages, suffix)

    assert chosen is not None  # no shortages means every line was planned and covered
    return complete_plan(chosen, assessed, demand)
