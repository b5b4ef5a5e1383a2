"""Plan search: the best set of locations for the demand, and how lines are allocated within it.


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

from itertools import combinations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cloudstore.routing.engine.assessment import Demand, Site

__all__ = ("allocate", "best_cover", "best_partial", "capacity", "covers")

_Objective = tuple[tuple[int, ...], float, tuple[str, ...]]


def _objective(combo: tuple[Site, ...]) -> _Objective:
    return (
        tuple(sorted(site.rank for site in combo)),
        sum(site.distance_km for site in combo),
        tuple(sorted(site.candidate.code for site in combo)),
    )


def covers(combo: tuple[Site, ...], demand: Demand, i: int) -> bool:
    """Whether the set can ship line ``i``: one site whole, or (with splitting) all of them together."""
    if demand.split:
        return sum(site.units[i] for site in combo) >= demand.need[i]
    return any(site.mask >> i & 1 for site in combo)


def _feasible(combo: tuple[Site, ...], demand: Demand) -> bool:
    mask = 0
    if demand.split:
        # Cheap necessary condition first: every line is held somewhere in the set.
        for site in combo:
            mask |= site.holds
        return mask & demand.full == demand.full and all(covers(combo, demand, i) for i in demand.idx)
    for site in combo:
        mask |= site.mask
    return mask & demand.full == demand.full


def capacity(sites: Sequence[Site], demand: Demand, i: int) -> int:
    """The most of line ``i`` the sites can ship: the largest holding, or (with splitting) their sum."""
    units = [site.units[i] for site in sites]
    if demand.split:
        return sum(units)
    return max(units, default=0)


def _lower_bound(sites: Sequence[Site], demand: Demand) -> int:
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


def best_cover(sites: Sequence[Site], demand: Demand, max_shipments: int) -> tuple[Site, ...] | None:
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


def best_partial(sites: Sequence[Site], demand: Demand, max_shipments: int) -> tuple[Site, ...]:
    """The set of at most ``max_shipments`` locations covering the most planned lines (then the objective)."""
    size = min(max_shipments, len(sites))

    def key(combo: tuple[Site, ...]) -> tuple[int, _Objective]:
        return (-sum(covers(combo, demand, i) for i in demand.idx), _objective(combo))

    return min(combinations(sites, size), key=key)


def allocate(chosen: tuple[Site, ...], demand: Demand) -> dict[str, list[tuple[int, int]]]:
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
