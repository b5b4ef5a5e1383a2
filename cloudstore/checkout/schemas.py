"""HQ's view of an order: the order with its routing trace, who it is credited to and its commissions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from cloudstore.orders.schemas import FulfilmentRead, OrderLineRead, TraceRead
from cloudstore.referrals.schemas import AttributionRead

__all__ = ("CommissionView", "HqOrderRead")


class CommissionView(msgspec.Struct):
    """One ledger entry of this order."""

    beneficiary_kind: str
    beneficiary: str
    amount: int
    status: str
    kind: str


class HqOrderRead(msgspec.Struct):
    """An order as HQ sees it: with the routing trace, attribution and commissions."""

    order_no: str
    status: str
    store: str
    koc: str | None
    mode: str
    delivery: dict[str, Any]
    goods_total: int
    total: int
    refunded_total: int
    lines: list[OrderLineRead]
    fulfilments: list[FulfilmentRead]
    routing_trace: list[TraceRead]
    attribution: AttributionRead
    commissions: list[CommissionView]
    created_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None
    completed_at: datetime | None
    discount_total: int = 0
    delivery_fee: int = 0
