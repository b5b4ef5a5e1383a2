"""The routing engine's input and output types: frozen Structs, decoded and compared by value."""

from __future__ import annotations

import enum
from collections.abc import Mapping  # needed at runtime: msgspec resolves the Struct field types
from typing import Annotated, Literal

import msgspec

__all__ = (
    "Candidate",
    "Destination",
    "OrderLine",
    "RoutingPlan",
    "RoutingPolicy",
    "Shipment",
    "ShortLine",
    "Tier",
    "TraceEntry",
)


class Tier(enum.StrEnum):
    """Kind of stock location."""

    STORE = "store"
    REGIONAL = "regional"
    CENTRAL = "central"


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
