"""Refunding lines or the whole order through the provider it was paid with.

Amounts come from the stored lines: each line gives back its paid amount (after its frozen discounts) in exact
integer steps, so refunding all of a line's units in any sequence returns exactly what it cost; a whole-order
refund before anything shipped also returns the delivery fee.

Lock order: the order row (``FOR NO KEY UPDATE``), its lines, then — for units refunded before they left a
location — the unshipped fulfilment lines by location and SKU, whose stock is given back in that order.
Commissions follow through the ``OrderRefunded`` subscribers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cloudstore.inventory import reservations
from cloudstore.lib.errors import InvalidState, NotFound, ValidationFailed
from cloudstore.orders import fulfilment, lifecycle
from cloudstore.orders.events import OrderRefunded, publish
from cloudstore.orders.schemas import FulfilmentLineRead
from cloudstore.payments.schemas import RefundCreate, RefundRead
from cloudstore.payments.service import PaymentService
from cloudstore.pricing.engine import refund_share

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.payments.gateways.base import PaymentProvider

__all__ = ("refund_order", "refund_units", "release_unshipped", "units_amount")


async def refund_order(
    session: AsyncSession,
    tenant_id: int,
    providers: dict[str, PaymentProvider],
    order_no: str,
    data: RefundCreate,
    now: datetime | None = None,
) -> RefundRead:
    """Refund whole lines or the whole order; unshipped units go back to available stock."""
    now = now or datetime.now(UTC)
    if (data.lines is None) == (not data.all):
        raise ValidationFailed('give either "lines" or "all": true')
    o = await lifecycle.lock_for_refund(session, tenant_id, order_no)
    if o is None:
        raise NotFound("order", order_no)
    if o.status not in ("paid", "completed") or o.payment_id is None or o.payment_no is None or o.provider is None:
        raise InvalidState(f"order {order_no} is {o.status}; only paid orders are refunded")
    lines = await lifecycle.lock_refundable_lines(session, tenant_id, o.id)
    take = _refund_take(lines, data)
    if not take:
        raise ValidationFailed("nothing left to refund")
    return await refund_units(
        session, tenant_id, providers, o, lines, take, release=True, with_fee=data.all, refund_no=None, now=now
    )


def units_amount(take: list[tuple[lifecycle.OrderLine, int]]) -> int:
    """What these units return: each line's paid amount (after discounts) in exact integer steps."""
    return sum(refund_share(line.paid, line.qty, line.refunded_qty, qty) for line, qty in take)


async def refund_units(
    session: AsyncSession,
    tenant_id: int,
    providers: dict[str, PaymentProvider],
    o: lifecycle.RefundableOrder,
    lines: list[lifecycle.OrderLine],
    take: list[tuple[lifecycle.OrderLine, int]],
    *,
    release: bool,
    with_fee: bool,
    refund_no: str | None,
    now: datetime,
) -> RefundRead:
    """Refund ``take`` of a locked paid order's locked ``lines`` through its provider and record it.

    ``release``: the units had not left their location, so their stock goes back to available (a refund that
    empties the order releases whatever it still holds either way). ``with_fee``: a refund that empties the
    order returns the delivery fee too when nothing has shipped. ``refund_no`` names the refund to the
    provider, so a retried one is the same refund; ``None`` draws a new one. Publishes ``OrderRefunded``.
    """
    if o.payment_id is None or o.payment_no is None or o.provider is None:
        raise InvalidState(f"order {o.order_no} is {o.status}; only paid orders are refunded")
    amount = units_amount(take)
    left = {line.line_no: line.qty - line.refunded_qty for line in lines}
    for line, qty in take:
        left[line.line_no] -= qty
    full = not any(left.values())
    if with_fee and full and o.delivery_fee and not await lifecycle.has_shipped(session, tenant_id, o.id):
        amount += o.delivery_fee  # nothing was sent: the delivery fee goes back too
    if amount <= 0:
        raise ValidationFailed("nothing left to refund: the units asked for cost nothing after discounts")
    payments = PaymentService(session, providers)
    refund = await payments.refund_through_provider(
        o.provider, payment_no=o.payment_no, amount=amount, total=o.paid or 0, refund_no=refund_no
    )
    refunded = [FulfilmentLineRead(sku=line.sku_code, qty=qty) for line, qty in take]
    await payments.record_refund(
        tenant_id, o.id, o.payment_id, amount, [{"sku": r.sku, "qty": r.qty} for r in refunded], refund
    )
    await lifecycle.record_refund(session, tenant_id, o.id, take, amount, full=full)
    if release or full:
        await _release_refunded(session, tenant_id, o.id, take, whole=full)
    await publish(
        session,
        OrderRefunded(tenant_id=tenant_id, order_id=o.id, refund_no=refund.refund_no, amount=amount, refunded_at=now),
    )
    return RefundRead(
        refund_no=refund.refund_no,
        order_no=o.order_no,
        amount=amount,
        status=refund.status,
        lines=refunded,
    )


def _refund_take(lines: list[lifecycle.OrderLine], data: RefundCreate) -> list[tuple[lifecycle.OrderLine, int]]:
    """Which order lines give how many units to this refund (same-SKU lines are drawn in order)."""
    if data.all:
        return [(line, line.qty - line.refunded_qty) for line in lines if line.qty > line.refunded_qty]
    wanted: dict[str, int] = defaultdict(int)
    for item in data.lines or []:
        wanted[item.sku] += item.qty
    take: list[tuple[lifecycle.OrderLine, int]] = []
    for sku, qty in wanted.items():
        left = qty
        for line in lines:
            if line.sku_code == sku and left > 0:
                n = min(left, line.qty - line.refunded_qty)
                if n > 0:
                    take.append((line, n))
                    left -= n
        if left > 0:
            raise ValidationFailed(f"cannot refund {qty} of {sku}: only {qty - left} left to refund")
    return take


async def release_unshipped(session: AsyncSession, tenant_id: int, order_id: int) -> None:
    """Give back the stock of the order's unshipped fulfilments (key order) and cancel them."""
    await reservations.release_held(session, tenant_id, order_id)
    await fulfilment.cancel_unshipped(session, tenant_id, order_id)


async def _release_refunded(
    session: AsyncSession, tenant_id: int, order_id: int, take: list[tuple[lifecycle.OrderLine, int]], *, whole: bool
) -> None:
    """Units refunded before they left a location go back to available stock."""
    if whole:
        await release_unshipped(session, tenant_id, order_id)
        return
    per_sku: dict[int, int] = defaultdict(int)
    for line, qty in take:
        per_sku[line.sku_id] += qty
    for held in await fulfilment.lock_unshipped_units(session, tenant_id, order_id, sorted(per_sku)):
        n = min(per_sku[held.sku_id], held.qty)
        if n <= 0:
            continue
        per_sku[held.sku_id] -= n
        await reservations.release_units(session, tenant_id, held.location_id, held.sku_id, n)
        await fulfilment.shrink_unshipped(session, tenant_id, held, n)
