"""Cancelling an order, by its consumer or by its payment time running out.

Lock order: the order row (``FOR NO KEY UPDATE``), then the stock rows of its unshipped fulfilments in key
order. An unpaid order gives its stock and its coupon back; a paid one that has not shipped is refunded in full
first (which gives its unshipped stock back itself; a used coupon is never given back). The consumer's
after-sales of it still waiting for a decision are withdrawn first: cancelling the whole order supersedes them,
and a full refund takes no unit an open after-sale holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cloudstore.aftersales import service as after_sales
from cloudstore.checkout.refund import refund_order, release_unshipped
from cloudstore.lib.jobs import JobContext
from cloudstore.orders import lifecycle
from cloudstore.payments.schemas import RefundCreate
from cloudstore.pricing.service.terms import release_order_coupon

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.payments.gateways.base import PaymentProvider

__all__ = ("cancel_order", "expire_order")


async def cancel_order(
    session: AsyncSession,
    tenant_id: int,
    providers: dict[str, PaymentProvider],
    order_no: str,
    consumer_id: int | None,
) -> None:
    """Cancel while unpaid, or paid but not shipped (then refunded in full); the stock is released."""
    o = await lifecycle.lock_for_cancel(session, tenant_id, order_no, consumer_id=consumer_id)
    if o.status == "paid":
        actor = f"consumer:{consumer_id}" if consumer_id is not None else "system"
        await after_sales.withdraw_requested(session, tenant_id, o.id, actor=actor, at=datetime.now(UTC))
        await refund_order(session, tenant_id, providers, order_no, RefundCreate(all=True))
    else:
        await release_unshipped(session, tenant_id, o.id)
        await release_order_coupon(session, tenant_id, o.id)
    await lifecycle.close(session, tenant_id, o.id, "cancelled")


async def expire_order(ctx: JobContext) -> None:
    """An unpaid order past its time gives its stock back."""
    order_id = int(ctx.payload["order_id"])
    if await lifecycle.lock_open(ctx.session, ctx.tenant_id, order_id) != "pending_payment":
        return
    await release_unshipped(ctx.session, ctx.tenant_id, order_id)
    await release_order_coupon(ctx.session, ctx.tenant_id, order_id)
    await lifecycle.close(ctx.session, ctx.tenant_id, order_id, "expired")
