"""Order lifecycle events other domains react to, inside the same transaction.

The order journeys publish these at the moment the order changes (with :func:`publish`, from
:mod:`cloudstore.lib.events`); the subscribers listed in :mod:`cloudstore.wiring` (attribution and
commission) run in the caller's transaction, so the order change and its consequences commit together.
Subscribers must not commit and must not do network I/O.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from cloudstore.lib.events import publish

__all__ = (
    "Event",
    "FulfilmentMoved",
    "OrderClosed",
    "OrderCompleted",
    "OrderPaid",
    "OrderPlaced",
    "OrderRefunded",
    "publish",
)


class OrderPaid(msgspec.Struct, frozen=True, kw_only=True):
    """The order's payment was confirmed by the provider (status is now ``paid``)."""

    tenant_id: int
    order_id: int
    order_no: str
    consumer_id: int
    store_id: int  # the storefront the order was placed through
    koc_id: int | None  # the KOC whose link the order came through, if any
    came_through_link: bool  # the order named a store (link or storefront) rather than relying on the binding
    paid_at: datetime


class OrderCompleted(msgspec.Struct, frozen=True, kw_only=True):
    """Every fulfilment of the order was delivered or picked up (status is now ``completed``)."""

    tenant_id: int
    order_id: int
    completed_at: datetime


class OrderRefunded(msgspec.Struct, frozen=True, kw_only=True):
    """Money went back to the consumer; ``order_lines.refunded_qty`` already reflects it."""

    tenant_id: int
    order_id: int
    refund_no: str
    amount: int
    refunded_at: datetime


class OrderPlaced(msgspec.Struct, frozen=True, kw_only=True):
    """An order was placed with its stock reserved (status ``pending_payment``)."""

    tenant_id: int
    order_no: str
    total: int
    expires_at: datetime
    placed_at: datetime


class OrderClosed(msgspec.Struct, frozen=True, kw_only=True):
    """An order was cancelled or expired (``status``) before it was fulfilled."""

    tenant_id: int
    order_id: int
    order_no: str
    status: str
    closed_at: datetime


class FulfilmentMoved(msgspec.Struct, frozen=True, kw_only=True):
    """A fulfilment was shipped, made ready for pickup, delivered or picked up (``status`` is the new one)."""

    tenant_id: int
    fulfilment_id: int
    order_no: str
    location: str
    status: str
    carrier: str | None
    tracking_no: str | None
    at: datetime


Event = OrderPlaced | OrderPaid | OrderCompleted | OrderRefunded | OrderClosed | FulfilmentMoved
