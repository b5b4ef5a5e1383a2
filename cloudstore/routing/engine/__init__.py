"""Fulfilment routing engine: which location ships which order lines.

A pure function over frozen Structs: no I/O, no ``await``, no clock, no session; the engine itself reads and
writes nothing. Placing an order builds the candidates (the origin store and the tenant's warehouses) from an
unlocked read of their available stock, calls :func:`plan_route`, and only then locks the planned stock rows
and reserves what the returned :class:`RoutingPlan` says. If another order took that stock in the meantime,
it plans again, on the candidates' stock read under lock: the same inputs always give the same plan.

- :mod:`~cloudstore.routing.engine.model`: the input and output Structs;
- :mod:`~cloudstore.routing.engine.geo`: distance and region-code coverage;
- :mod:`~cloudstore.routing.engine.assessment`: which candidates are eligible, ranked how (the eligibility
  rules are in its docstring);
- :mod:`~cloudstore.routing.engine.search`: the best set of locations and the allocation of lines within it
  (the objective is in its docstring);
- :mod:`~cloudstore.routing.engine.trace`: the plan returned, with one reason per candidate;
- :mod:`~cloudstore.routing.engine.plan`: :func:`plan_route`, composing the three steps.
"""

from __future__ import annotations

from cloudstore.routing.engine.geo import EARTH_RADIUS_KM, haversine_km, region_served
from cloudstore.routing.engine.model import (
    Candidate,
    Destination,
    OrderLine,
    RoutingPlan,
    RoutingPolicy,
    Shipment,
    ShortLine,
    Tier,
    TraceEntry,
)
from cloudstore.routing.engine.plan import plan_route

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
