"""The trace: the plan returned to the caller, with one reason per candidate for choosing or passing it over."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudstore.routing.engine.assessment import useful
from cloudstore.routing.engine.model import OrderLine, RoutingPlan, Shipment, ShortLine, Tier, TraceEntry
from cloudstore.routing.engine.search import allocate

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from cloudstore.routing.engine.assessment import Demand, Site

__all__ = ("complete_plan", "short_plan", "shortfall")


def shortfall(units: tuple[int, ...], demand: Demand) -> str:
    """Why a location cannot help: what it lacks of each SKU."""
    gaps = [
        f"{sku} needs {need}, has {have}"
        for sku, need, have in zip(demand.skus, demand.need, units, strict=True)
        if have < need
    ]
    return "short of stock: " + "; ".join(gaps) if gaps else "no complete plan"


def short_plan(
    assessed: Sequence[tuple[Site, str]], demand: Demand, shortages: Mapping[int, int], suffix: str
) -> RoutingPlan:
    """The plan with no shipments: the short SKUs, and every candidate passed over with its reason."""
    short = tuple(
        ShortLine(sku=demand.skus[i], requested=demand.need[i], available=shortages[i]) for i in sorted(shortages)
    )
    trace = tuple(
        TraceEntry(
            location=site.candidate.code,
            decision="passed",
            reason=reason or shortfall(site.units, demand) + suffix,
        )
        for site, reason in assessed
    )
    return RoutingPlan(shipments=(), short=short, trace=trace)


def complete_plan(chosen: tuple[Site, ...], assessed: Sequence[tuple[Site, str]], demand: Demand) -> RoutingPlan:
    """The plan that ships every line: the shipments, and why each candidate was chosen or passed over."""
    allocation = allocate(chosen, demand)
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
        elif useful(site, demand):
            trace.append(
                TraceEntry(
                    location=code, decision="passed", reason="not needed: plan covered by fewer or better locations"
                )
            )
        else:
            trace.append(TraceEntry(location=code, decision="passed", reason=shortfall(site.units, demand)))
    return RoutingPlan(shipments=shipments, short=(), trace=tuple(trace))
