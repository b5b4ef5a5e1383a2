"""Order and fulfilment API types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = (
    "DeliveryIn",
    "FulfilmentLineRead",
    "FulfilmentRead",
    "LineIn",
    "OrderCreate",
    "OrderCreated",
    "OrderLineRead",
    "OrderPage",
    "OrderRead",
    "OrderSummary",
    "PricedLineRead",
    "Shipment",
    "TraceRead",
)

Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Region = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2}([0-9]{2}){0,2}$", description="GB/T 2260 code")]


class LineIn(msgspec.Struct, forbid_unknown_fields=True):
    """One SKU and how many."""

    sku: Code
    qty: Annotated[int, msgspec.Meta(ge=1, le=999)]


class DeliveryIn(msgspec.Struct, forbid_unknown_fields=True):
    """Where the goods go: delivered to an address, or picked up at the store.

    Mode ``delivery`` needs ``region``, ``lat``, ``lng``, ``address``, ``contact`` and ``phone`` (422 otherwise).
    """

    mode: Literal["delivery", "pickup"]
    region: Region | None = None
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    contact: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    phone: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 -]{5,20}$")] | None = None


class OrderCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/shop/{tenant}/orders``; without ``store`` the consumer's bound store is used.

    Every SKU must be on sale (published product, active SKU); ``store`` must exist, and ``koc`` must be a KOC
    of that store (422 otherwise). ``coupon`` is the id of one of the consumer's coupons (422
    ``coupon_not_usable`` when it cannot be used on this order); ``expected_total`` is the total the consumer
    was shown (409 ``price_changed``, nothing written, when the order now costs something else).
    """

    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=50)]
    delivery: DeliveryIn
    store: Code | None = None
    koc: Code | None = None
    coupon: Annotated[int, msgspec.Meta(ge=1, le=2**62)] | None = None
    expected_total: Annotated[int, msgspec.Meta(ge=0, le=10**12)] | None = None


class FulfilmentLineRead(msgspec.Struct):
    """Units of one SKU in a fulfilment."""

    sku: str
    qty: int


class FulfilmentRead(msgspec.Struct, omit_defaults=True):
    """What one location sends or hands over; ``carrier`` and ``tracking_no`` once reported on shipping."""

    id: int
    location: str
    kind: str
    status: str
    lines: list[FulfilmentLineRead]
    carrier: str | None = None
    tracking_no: str | None = None


class Shipment(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What the shipping location reports with ``ship``: the carrier and its tracking number."""

    carrier: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    tracking_no: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


class PricedLineRead(msgspec.Struct):
    """A line's price as placed: ``paid = qty * unit_price - discount``."""

    sku: str
    qty: int
    unit_price: int
    discount: int
    paid: int


class OrderCreated(msgspec.Struct):
    """The order as placed: stock reserved, waiting for payment until ``expires_at``.

    ``total = goods_total - discount_total + delivery_fee``.
    """

    order_no: str
    status: str
    goods_total: int
    total: int
    expires_at: datetime
    fulfilments: list[FulfilmentRead]
    discount_total: int = 0
    delivery_fee: int = 0
    lines: list[PricedLineRead] = msgspec.field(default_factory=list)


class OrderLineRead(msgspec.Struct):
    """A line with the price that was charged."""

    sku: str
    product: str
    title: str
    spec: str
    qty: int
    unit_price: int
    amount: int
    refunded_qty: int
    discount: int = 0
    paid: int = 0


class TraceRead(msgspec.Struct):
    """One routing candidate and why it was chosen or passed over."""

    location: str
    decision: str
    reason: str


class OrderRead(msgspec.Struct):
    """An order as its consumer (or a store) sees it."""

    order_no: str
    status: str
    store: str
    mode: str
    goods_total: int
    total: int
    refunded_total: int
    lines: list[OrderLineRead]
    fulfilments: list[FulfilmentRead]
    created_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None
    completed_at: datetime | None
    discount_total: int = 0
    delivery_fee: int = 0


class OrderSummary(msgspec.Struct):
    """An order in a list."""

    order_no: str
    status: str
    store: str
    total: int
    refunded_total: int
    created_at: datetime


class OrderPage(msgspec.Struct):
    """A page of orders, newest first."""

    items: list[OrderSummary]
    next_cursor: str | None
