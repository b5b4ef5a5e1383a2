"""Refunding lines or the whole order through the provider it was paid with.

Amounts come from the stored lines: each line gives back its paid amount (after its frozen discounts) in exact
integer steps, so refunding all of a line's units in any sequence returns exactly what it cost; a whole-order
refund before anything shipped also returns the delivery fee.

A direct refund takes only units that no open after-sale (``requested``, ``approved``, ``received``) holds:
asking for held ones is refused with 409 ``held_by_after_sale`` naming each hold, so deciding an after-sale
never finds its units refunded otherwise. Of the units it may take, those still at a location are released
first, but never the ones an open ``refund_only`` holds (its approval releases them); past those, the refunded
units are taken as shipped. The order row lock serialises this with every after-sale step, which takes it
first too, so a refund and an approval of the same units never both succeed.

Lock order: the order row (``FOR NO KEY UPDATE``), its lines, then — for units refunded before they left a
location — the unshipped fulfilment lines by location and SKU, whose stock is given back in that order.
Commissions follow through the ``OrderRefunded`` subscribers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cloudstore.aftersales import service as after_sales
from cloudstore.inventory import reservations
from cloudstore.lib.errors import DomainError, InvalidState, NotFound, ValidationFailed
from cloudstore.orders import fulfilment, lifecycle
from cloudstore.orders.events import OrderRefunded, publish
from cloudstore.orders.schemas import FulfilmentLineRead
from cloudstore.payments.schemas import RefundCreate, RefundRead
from cloudstore.payments.service import PaymentService
from cloudstore.pricing.engine import refund_share

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.payments.gateways.base import PaymentProvider

__all__ = ("HeldByAfterSale", "refund_order", "refund_units", "release_unshipped", "units_amount")


class HeldByAfterSale(DomainError):
    """The units asked for are held by open after-sales; ``errors`` names each (decide those first)."""

    code = "held_by_after_sale"
    status = 409
    title = "Held by an after-sale"


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
    holds = await after_sales.open_holds(session, tenant_id, o.id)
    take = _refund_take(lines, data, holds)
    if not take:
        raise ValidationFailed("nothing left to refund")
    keep: dict[int, int] = defaultdict(int)  # unshipped units an open refund-only will release when approved
    for h in holds:
        if h.kind == "refund_only":
            keep[h.sku_id] += h.qty
    return await refund_units(
        session,
        tenant_id,
        providers,
        o,
        lines,
        take,
        release=True,
        with_fee=data.all,
        refund_no=None,
        now=now,
        keep=dict(keep),
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
    keep: dict[int, int] | None = None,
) -> RefundRead:
    """Refund ``take`` of a locked paid order's locked ``lines`` through its provider and record it.

    ``release``: the units had not left their location, so their stock goes back to available (a refund that
    empties the order releases whatever it still holds either way). ``with_fee``: a refund that empties the
    order returns the delivery fee too when nothing has shipped. ``refund_no`` names the refund to the
    provider, so a retried one is the same refund; ``None`` draws a new one. ``keep``: per SKU id, unshipped
    units that stay with their fulfilment whatever is released (those open refund-only after-sales hold).
    Publishes ``OrderRefunded``.
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
        await _release_refunded(session, tenant_id, o.id, take, whole=full, keep=keep or {})
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


def _refund_take(
    lines: list[lifecycle.OrderLine], data: RefundCreate, holds: list[after_sales.Hold]
) -> list[tuple[lifecycle.OrderLine, int]]:
    """Which order lines give how many units to this refund (same-SKU lines are drawn in order).

    Units held by open after-sales are not on offer: asking for them is :class:`HeldByAfterSale`.
    """
    held: dict[int, int] = defaultdict(int)
    for h in holds:
        held[h.line_no] += h.qty
    if data.all:
        if holds:
            raise _held(holds, "the whole order")
        return [(line, line.qty - line.refunded_qty) for line in lines if line.qty > line.refunded_qty]
    wanted: dict[str, int] = defaultdict(int)
    for item in data.lines or []:
        wanted[item.sku] += item.qty
    take: list[tuple[lifecycle.OrderLine, int]] = []
    for sku, qty in wanted.items():
        of_sku = [line for line in lines if line.sku_code == sku]
        left = sum(line.qty - line.refunded_qty for line in of_sku)
        free = left - sum(held[line.line_no] for line in of_sku)
        if qty > left:
            more = f" ({left - free} more held by open after-sales)" if left > free else ""
            raise ValidationFailed(f"cannot refund {qty} of {sku}: only {free} left to refund{more}")
        if qty > free:
            raise _held([h for h in holds if h.sku_code == sku], f"{qty} of {sku} ({free} not held)")
        rest = qty
        for line in of_sku:
            n = min(rest, line.qty - line.refunded_qty - held[line.line_no])
            if n > 0:
                take.append((line, n))
                rest -= n
    return take


def _held(holds: list[after_sales.Hold], asked: str) -> HeldByAfterSale:
    """The refusal naming each open after-sale in the way, and its units."""
    named = ", ".join(f"{h.qty} of {h.sku_code} by after-sale {h.after_sale_id} ({h.status})" for h in holds)
    return HeldByAfterSale(
        f"cannot refund {asked}: units are held by open after-sales ({named}); approve, reject or wait for them first",
        errors=[
            {"after_sale": h.after_sale_id, "status": h.status, "kind": h.kind, "sku": h.sku_code, "qty": h.qty}
            for h in holds
        ],
    )


async def release_unshipped(session: AsyncSession, tenant_id: int, order_id: int) -> None:
    """Give back the stock of the order's unshipped fulfilments (key order) and cancel them."""
    await reservations.release_held(session, tenant_id, order_id)
    await fulfilment.cancel_unshipped(session, tenant_id, order_id)


async def _release_refunded(
    session: AsyncSession,
    tenant_id: int,
    order_id: int,
    take: list[tuple[lifecycle.OrderLine, int]],
    *,
    whole: bool,
    keep: dict[int, int],
) -> None:
    """Units refunded before they left a location go back to available stock, less the units ``keep`` holds."""
    if whole:
        await release_unshipped(session, tenant_id, order_id)
        return
    per_sku: dict[int, int] = defaultdict(int)
    for line, qty in take:
        per_sku[line.sku_id] += qty
    unshipped = await fulfilment.lock_unshipped_units(session, tenant_id, order_id, sorted(per_sku))
    for sku_id, kept in keep.items():
        if sku_id in per_sku:
            spare = sum(held.qty for held in unshipped if held.sku_id == sku_id) - kept
            per_sku[sku_id] = min(per_sku[sku_id], max(spare, 0))
    for held in unshipped:
        n = min(per_sku[held.sku_id], held.qty)
        if n <= 0:
            continue
        per_sku[held.sku_id] -= n
        await reservations.release_units(session, tenant_id, held.location_id, held.sku_id, n)
        await fulfilment.shrink_unshipped(session, tenant_id, held, n)
