"""The order events that attribute orders and book their commission, and the job that releases it.

Each runs in the order's transaction (the release job in the worker's) and never commits; the work is
:mod:`cloudstore.referrals.booking`'s:

- ``OrderPaid`` attributes the order (``rules.attribute``), renews or creates the consumer's binding, fixes
  the commission terms and books ``pending`` entries.
- ``OrderCompleted`` queues ``referrals.release`` for ``completed_at + frozen_days``; it moves the order's
  ``pending`` entries to ``available``.
- ``OrderRefunded`` books the reversal that brings the order's ledger to the rules applied to what is still
  paid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudstore.lib.jobs import JobContext
from cloudstore.orders.events import OrderCompleted, OrderPaid, OrderRefunded
from cloudstore.referrals import booking

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("on_order_completed", "on_order_paid", "on_order_refunded", "release_commission")


async def on_order_paid(session: AsyncSession, event: OrderPaid) -> None:
    """Attribute the paid order, renew (or create) the binding, and book pending commission."""
    await booking.book_paid(session, event)


async def on_order_completed(session: AsyncSession, event: OrderCompleted) -> None:
    """Queue the release of the order's commission for when its after-sales window closes."""
    await booking.schedule_release(session, event)


async def on_order_refunded(session: AsyncSession, event: OrderRefunded) -> None:
    """Book the reversal that matches what is still paid."""
    await booking.book_refund(session, event)


async def release_commission(ctx: JobContext) -> None:
    """``referrals.release``: the order's pending entries become available."""
    await booking.release(ctx.session, ctx.tenant_id, int(ctx.payload["order_id"]))
