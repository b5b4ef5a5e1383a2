"""The quote: what an order would cost, priced exactly as placing it would, writing and locking nothing.

Statements: the placement snapshot (which carries the pricing terms and the unlocked stock). The plan and
the price come from the same functions placement calls (:func:`cloudstore.orders.placing.plan` and
:func:`cloudstore.orders.placing.price`), so while nothing moves the total shown is the total charged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cloudstore.orders import placing
from cloudstore.pricing.cart import quote_read

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.orders.schemas import OrderCreate
    from cloudstore.pricing.schemas import QuoteRead

__all__ = ("quote_order",)


async def quote_order(
    session: AsyncSession, tenant_id: int, consumer_id: int, data: OrderCreate, now: datetime | None = None
) -> QuoteRead:
    """Price the order body as it would be placed now: shelves, routing, fee, promotion, the consumer's coupons."""
    now = now or datetime.now(UTC)
    basket = await placing.prepare(session, tenant_id, consumer_id, data, now)
    planned = placing.plan(basket, basket.stock)
    return quote_read(placing.price(basket, planned, now), planned.plan, data.delivery.mode)
