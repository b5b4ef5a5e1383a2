"""Order lifecycle events other domains react to, inside the same transaction.

The orders service publishes these at the moment the order changes; subscribers (attribution and
commission, analytics) run in the caller's transaction, so the order change and its consequences
commit together. Subscribers must not commit and must not do network I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("OrderCompleted", "OrderPaid", "OrderRefunded", "publish", "subscribe")


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


Event = OrderPaid | OrderCompleted | OrderRefunded
Subscriber = Callable[["AsyncSession", Any], Awaitable[None]]
_SUBSCRIBERS: dict[type, list[Subscriber]] = {}


def subscribe(event: type[Event]) -> Callable[[Subscriber], Subscriber]:
    """Register ``fn(session, event)`` for one kind of event."""

    def register(fn: Subscriber) -> Subscriber:
        handlers = _SUBSCRIBERS.setdefault(event, [])
        if fn not in handlers:
            handlers.append(fn)
        return fn

    return register


async def publish(session: AsyncSession, event: Event) -> None:
    """Run every subscriber of ``event`` in the caller's transaction."""
    for fn in _SUBSCRIBERS.get(type(event), []):
        await fn(session, event)
