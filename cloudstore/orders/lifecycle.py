"""An order's status over its life: paid, credited, refunded, cancelled or expired.

Each function writes the ``orders`` or ``order_lines`` rows of one order; the journeys in
:mod:`cloudstore.checkout` lock the order first (``FOR NO KEY UPDATE``, through the ``lock_*`` functions
here) and compose these with the payment and stock steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import text

from cloudstore.lib.errors import InvalidState, NotFound
from cloudstore.orders.events import OrderClosed, publish
from cloudstore.orders.reading import OrderHeader, order_header

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "OrderLine",
    "RefundableOrder",
    "UnpaidOrder",
    "close",
    "lock_for_cancel",
    "lock_for_refund",
    "lock_open",
    "lock_refundable_lines",
    "lock_unpaid",
    "mark_paid",
    "record_credit",
    "record_refund",
)


@dataclass(frozen=True)
class RefundableOrder:
    """An order with its first succeeded payment, if any."""

    id: int
    order_no: str
    status: str
    total: int
    refunded_total: int
    delivery_fee: int
    payment_id: int | None
    payment_no: str | None
    provider: str | None
    paid: int | None


@dataclass(frozen=True)
class OrderLine:
    """A line as refunds see it."""

    line_no: int
    sku_id: int
    sku_code: str
    qty: int
    refunded_qty: int
    unit_price: int
    paid: int  # what the line's goods cost after its discounts, frozen when the order was placed


@dataclass(frozen=True)
class UnpaidOrder:
    """A consumer's order that may be paid, with who pays it."""

    id: int
    order_no: str
    total: int
    expires_at: datetime
    openid: str | None


async def lock_unpaid(
    session: AsyncSession, tenant_id: int, order_no: str, consumer_id: int, now: datetime
) -> UnpaidOrder:
    """Lock a consumer's order and check it still waits for payment (404 if not theirs, 409 if not payable)."""
    o = (
        await session.execute(
            text(
                "SELECT o.id, o.order_no, o.status, o.total, o.expires_at, c.openid FROM orders o "
                "JOIN consumers c ON c.tenant_id = o.tenant_id AND c.id = o.consumer_id "
                "WHERE o.tenant_id = :t AND o.order_no = :n AND o.consumer_id = :c FOR NO KEY UPDATE OF o"
            ),
            {"t": tenant_id, "n": order_no, "c": consumer_id},
        )
    ).first()
    if o is None:
        raise NotFound("order", order_no)
    # An unpaid order always has a payment deadline (it is cleared only when the order is paid).
    if o.status != "pending_payment" or o.expires_at is None or o.expires_at <= now:
        raise InvalidState(f"order {order_no} is {o.status if o.status != 'pending_payment' else 'expired'}")
    return UnpaidOrder(id=o.id, order_no=o.order_no, total=o.total, expires_at=o.expires_at, openid=o.openid)


async def mark_paid(session: AsyncSession, tenant_id: int, order_id: int, paid_at: datetime) -> None:
    """The order is paid: it no longer expires."""
    await session.execute(
        text(
            "UPDATE orders SET status = 'paid', paid_at = :at, expires_at = NULL, updated_at = now() "
            "WHERE tenant_id = :t AND id = :o"
        ),
        {"at": paid_at, "t": tenant_id, "o": order_id},
    )


async def record_credit(
    session: AsyncSession,
    tenant_id: int,
    order_id: int,
    *,
    store_id: int | None,
    distributor_id: int | None,
    koc_id: int | None,
    source: str | None,
) -> None:
    """Who the paid order is credited to, as attribution decided."""
    await session.execute(
        text(
            "UPDATE orders SET credited_store_id = :s, credited_distributor_id = :d, credited_koc_id = :k, "
            "attribution_source = :src WHERE tenant_id = :t AND id = :o"
        ),
        {"t": tenant_id, "o": order_id, "s": store_id, "d": distributor_id, "k": koc_id, "src": source},
    )


async def lock_for_cancel(
    session: AsyncSession, tenant_id: int, order_no: str, *, consumer_id: int | None
) -> OrderHeader:
    """Lock the order and check it may be cancelled: unpaid, or paid with nothing shipped or handed over."""
    o = await order_header(session, tenant_id, order_no, consumer_id=consumer_id, lock=True)
    if o.status not in ("pending_payment", "paid"):
        raise InvalidState(f"order {order_no} is {o.status} and cannot be cancelled")
    if o.status == "paid":
        moved = (
            await session.execute(
                text(
                    "SELECT count(*) FROM fulfilments WHERE tenant_id = :t AND order_id = :o "
                    "AND status IN ('shipped', 'delivered', 'picked_up')"
                ),
                {"t": tenant_id, "o": o.id},
            )
        ).scalar_one()
        if moved:
            raise InvalidState(f"order {order_no} has shipped and can no longer be cancelled")
    return o


async def lock_open(session: AsyncSession, tenant_id: int, order_id: int) -> str | None:
    """Lock an order by id; its status, or None if there is no such order."""
    row = (
        await session.execute(
            text("SELECT status FROM orders WHERE tenant_id = :t AND id = :o FOR NO KEY UPDATE"),
            {"t": tenant_id, "o": order_id},
        )
    ).first()
    return None if row is None else str(row.status)


async def close(session: AsyncSession, tenant_id: int, order_id: int, status: str) -> None:
    """Mark an order (already locked by the caller) ``cancelled`` or ``expired``; publishes :class:`OrderClosed`."""
    closed = (
        await session.execute(
            text(
                "UPDATE orders SET status = :s, cancelled_at = now(), updated_at = now() "
                "WHERE tenant_id = :t AND id = :o RETURNING order_no, cancelled_at"
            ),
            {"s": status, "t": tenant_id, "o": order_id},
        )
    ).one()
    await publish(
        session,
        OrderClosed(
            tenant_id=tenant_id,
            order_id=order_id,
            order_no=closed.order_no,
            status=status,
            closed_at=closed.cancelled_at,
        ),
    )


async def lock_for_refund(session: AsyncSession, tenant_id: int, order_no: str) -> RefundableOrder | None:
    """Lock the order; with the payment it was paid by."""
    o = (
        await session.execute(
            text(
                "SELECT o.id, o.order_no, o.status, o.total, o.refunded_total, o.shipping_fee, p.id AS payment_id, "
                "p.payment_no, p.provider, p.amount AS paid FROM orders o "
                "LEFT JOIN payments p ON p.tenant_id = o.tenant_id AND p.order_id = o.id "
                "AND p.status = 'succeeded' "
                "WHERE o.tenant_id = :t AND o.order_no = :n ORDER BY p.id LIMIT 1 FOR NO KEY UPDATE OF o"
            ),
            {"t": tenant_id, "n": order_no},
        )
    ).first()
    if o is None:
        return None
    return RefundableOrder(
        id=o.id,
        order_no=o.order_no,
        status=o.status,
        total=o.total,
        refunded_total=o.refunded_total,
        delivery_fee=o.shipping_fee,
        payment_id=o.payment_id,
        payment_no=o.payment_no,
        provider=o.provider,
        paid=o.paid,
    )


async def lock_refundable_lines(session: AsyncSession, tenant_id: int, order_id: int) -> list[OrderLine]:
    """The order's lines in line order, locked."""
    rows = (
        await session.execute(
            text(
                "SELECT line_no, sku_id, sku_code, qty, refunded_qty, unit_price, amount - discount AS paid "
                "FROM order_lines "
                "WHERE tenant_id = :t AND order_id = :o ORDER BY line_no FOR NO KEY UPDATE"
            ),
            {"t": tenant_id, "o": order_id},
        )
    ).all()
    return [
        OrderLine(
            line_no=r.line_no,
            sku_id=r.sku_id,
            sku_code=r.sku_code,
            qty=r.qty,
            refunded_qty=r.refunded_qty,
            unit_price=r.unit_price,
            paid=r.paid,
        )
        for r in rows
    ]


async def has_shipped(session: AsyncSession, tenant_id: int, order_id: int) -> bool:
    """Whether any of the order's fulfilments has left its location or been handed over."""
    moved = (
        await session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM fulfilments WHERE tenant_id = :t AND order_id = :o "
                "AND status IN ('shipped', 'delivered', 'picked_up'))"
            ),
            {"t": tenant_id, "o": order_id},
        )
    ).scalar_one()
    return bool(moved)


async def record_refund(
    session: AsyncSession, tenant_id: int, order_id: int, take: list[tuple[OrderLine, int]], amount: int, *, full: bool
) -> None:
    """Count the refunded units on their lines and the amount on the order; a full refund marks it refunded."""
    await session.execute(
        text(
            "UPDATE order_lines ol SET refunded_qty = ol.refunded_qty + x.qty "
            "FROM unnest(CAST(:nos AS int[]), CAST(:qtys AS int[])) AS x(line_no, qty) "
            "WHERE ol.tenant_id = :t AND ol.order_id = :o AND ol.line_no = x.line_no"
        ),
        {"t": tenant_id, "o": order_id, "nos": [line.line_no for line, _ in take], "qtys": [q for _, q in take]},
    )
    await session.execute(
        text(
            "UPDATE orders SET refunded_total = refunded_total + :a, updated_at = now(), "
            "status = CASE WHEN :full THEN 'refunded' ELSE status END WHERE tenant_id = :t AND id = :o"
        ),
        {"a": amount, "full": full, "t": tenant_id, "o": order_id},
    )
