"""Placing an order: plan on unlocked stock, write the order, then lock and reserve just the planned rows.

Statements: the snapshot, the unlocked stock read, the order, its lines, its fulfilments and their lines,
the expiry job, the ``OrderPlaced`` subscribers (the webhook outbox, one statement), then the planned stock
rows locked in key order (``FOR NO KEY UPDATE``) and reserved. A hot row is held only for the last two
statements and the commit. If another order took the stock since the
read, the work since the plan is rolled back to a savepoint and planned again on locked, fresh rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import text

from cloudstore.inventory import reservations
from cloudstore.orders import placing
from cloudstore.orders.events import OrderPlaced, publish

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.orders.schemas import OrderCreate, OrderCreated

__all__ = ("place_order",)


def _takes(planned: placing.PlannedOrder) -> list[reservations.Take]:
    return [reservations.Take(loc, sku, qty) for loc, sku, qty in planned.takes()]


async def place_order(
    session: AsyncSession, tenant_id: int, consumer_id: int, data: OrderCreate, now: datetime | None = None
) -> OrderCreated:
    """Route the order, reserve all of its stock or none, and record it as waiting for payment."""
    now = now or datetime.now(UTC)
    basket = await placing.prepare(session, tenant_id, consumer_id, data)
    stock = await reservations.available(session, tenant_id, basket.location_ids, basket.sku_ids, lock=False)
    planned = placing.plan(basket, stock)
    await session.execute(text("SAVEPOINT before_reservation"))
    created = await placing.record(session, tenant_id, basket, planned, now)
    await _placed(session, tenant_id, created, now)
    if await reservations.reserve_if_available(session, tenant_id, _takes(planned)):
        return created
    # Lost a race for the stock: start again from the plan, this time planning on locked rows.
    await session.execute(text("ROLLBACK TO SAVEPOINT before_reservation"))
    stock = await reservations.available(session, tenant_id, basket.location_ids, basket.sku_ids, lock=True)
    planned = placing.plan(basket, stock)
    created = await placing.record(session, tenant_id, basket, planned, now)
    await _placed(session, tenant_id, created, now)
    await reservations.reserve(session, tenant_id, _takes(planned), basket.sku_codes)
    return created


async def _placed(session: AsyncSession, tenant_id: int, created: OrderCreated, now: datetime) -> None:
    """Publish :class:`OrderPlaced` before the stock rows are locked, so its subscribers do not hold them."""
    placed = OrderPlaced(
        tenant_id=tenant_id,
        order_no=created.order_no,
        total=created.total,
        expires_at=created.expires_at,
        placed_at=now,
    )
    await publish(session, placed)
