"""After-sales journeys: a consumer asks for a refund of unshipped units or a return of shipped ones; staff
approve, reject, receive and refund.

Every step locks the order row first (``FOR NO KEY UPDATE``), then the after-sale, then the order's lines
(and, for a refund, the unshipped fulfilment lines and their stock rows as :mod:`cloudstore.checkout.refund`
does), so concurrent requests for the same units queue on the order and none can ask for more than was bought
less what was refunded or is held by open after-sales. Refunds go through :func:`refund.refund_units` with the
after-sale's own refund number, so the provider sees a retried refund as the same one, and publish
``OrderRefunded`` (commission reversed pro rata, ``refund.succeeded``) like any refund. A step asked for
again once done (approve, receive, refund) answers the after-sale as it is and does nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cloudstore.aftersales import service as after_sales
from cloudstore.aftersales.events import AfterSaleRefunded, AfterSaleRequested
from cloudstore.aftersales.service import AfterSaleRow, NewLine, Scope
from cloudstore.checkout import refund
from cloudstore.inventory import reservations
from cloudstore.lib.errors import InvalidState, NotFound, ValidationFailed
from cloudstore.lib.events import publish
from cloudstore.orders import fulfilment, lifecycle
from cloudstore.orders.reading import order_header
from cloudstore.pricing.engine import refund_share

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.aftersales.schemas import AfterSaleCreate, AfterSaleRead, ReceiptIn
    from cloudstore.auth.tokens import Principal
    from cloudstore.payments.gateways.base import PaymentProvider

__all__ = ("act", "cancel", "request", "staff_scope")

_DONE = {  # the statuses at or past which asking for the action again answers what is there
    "approve": ("approved", "received", "refunded"),
    "reject": ("rejected",),
    "receive": ("received", "refunded"),
    "refund": ("refunded",),
}


async def staff_scope(session: AsyncSession, principal: Principal) -> Scope:
    """HQ sees every after-sale; a store (or a location-bound key) those with a fulfilment at its location."""
    if principal.role == "store" and principal.store_id is not None:
        return Scope(location_id=await after_sales.store_location(session, principal.tenant_id, principal.store_id))
    if principal.location is not None:
        return Scope(location_id=await after_sales.location_id(session, principal.tenant_id, principal.location) or 0)
    return Scope()


async def request(
    session: AsyncSession, tenant_id: int, consumer_id: int, order_no: str, data: AfterSaleCreate
) -> AfterSaleRead:
    """A consumer asks for a refund of unshipped units or a return of shipped or picked-up ones."""
    now = datetime.now(UTC)
    o = await order_header(session, tenant_id, order_no, consumer_id=consumer_id, lock=True)
    if o.status not in ("paid", "completed"):
        raise InvalidState(f"order {order_no} is {o.status}; after-sales are for paid orders")
    lines = await lifecycle.lock_refundable_lines(session, tenant_id, o.id)
    held = await after_sales.open_units(session, tenant_id, o.id)
    unshipped = await fulfilment.unshipped_units(session, tenant_id, o.id)
    wanted: dict[str, int] = defaultdict(int)
    for item in data.lines:
        wanted[item.sku] += item.qty
    new_lines: list[NewLine] = []
    amount = 0
    for sku, qty in wanted.items():
        of_sku = [line for line in lines if line.sku_code == sku]
        if not of_sku:
            raise ValidationFailed(f"order {order_no} has no {sku}")
        _check_kind(data.kind, sku, qty, of_sku, held, unshipped.get(of_sku[0].sku_id, 0))
        left = qty
        for line in of_sku:
            open_here = held.get(("refund_only", line.line_no), 0) + held.get(("return", line.line_no), 0)
            n = min(left, line.qty - line.refunded_qty - open_here)
            if n > 0:
                new_lines.append(NewLine(line_no=line.line_no, sku_id=line.sku_id, sku_code=sku, qty=n))
                # What it returns if refunded next after the open ones, in the refunds' integer steps.
                amount += refund_share(line.paid, line.qty, line.refunded_qty + open_here, n)
                left -= n
        if left > 0:
            raise ValidationFailed(
                f"cannot ask for {qty} of {sku}: only {qty - left} left after refunds and open after-sales"
            )
    new_id = await after_sales.create(
        session,
        tenant_id,
        order_id=o.id,
        consumer_id=consumer_id,
        kind=data.kind,
        reason=data.reason,
        refund_amount=amount,
        lines=sorted(new_lines, key=lambda x: x.line_no),
    )
    read = await after_sales.read(session, tenant_id, new_id)
    await publish(
        session,
        AfterSaleRequested(
            tenant_id=tenant_id,
            after_sale_id=new_id,
            order_no=order_no,
            kind=data.kind,
            lines=[{"sku": x.sku, "qty": x.qty} for x in read.lines],
            refund_amount=amount,
            at=now,
        ),
    )
    return read


def _check_kind(
    kind: str,
    sku: str,
    qty: int,
    of_sku: list[lifecycle.OrderLine],
    held: dict[tuple[str, int], int],
    unshipped: int,
) -> None:
    """``refund_only`` asks for units still at their location, ``return`` for units that left it."""
    bought = sum(line.qty for line in of_sku)
    refunded = sum(line.refunded_qty for line in of_sku)
    same_kind = sum(held.get((kind, line.line_no), 0) for line in of_sku)
    # Refunded units either left the fulfilment before shipping or were shipped; what is neither still held
    # by a fulfilment nor refunded has left its location with the consumer.
    may = unshipped if kind == "refund_only" else bought - refunded - unshipped
    if qty + same_kind > may:
        where = "not yet shipped" if kind == "refund_only" else "shipped or picked up"
        raise ValidationFailed(
            f"cannot ask for {qty} of {sku} as {kind}: {max(may - same_kind, 0)} {where} and not already asked for"
        )


async def cancel(session: AsyncSession, tenant_id: int, consumer_id: int, after_sale_id: int) -> AfterSaleRead:
    """The consumer withdraws a request while it is only ``requested`` (again: the same answer)."""
    scope = Scope(consumer_id=consumer_id)
    a = await _lock(session, tenant_id, after_sale_id, scope)
    if a.status != "cancelled":
        if a.status != "requested":
            raise InvalidState(f"after-sale {after_sale_id} is {a.status} and can no longer be cancelled")
        await after_sales.set_status(
            session, tenant_id, a.id, "cancelled", actor=f"consumer:{consumer_id}", at=datetime.now(UTC)
        )
    return await after_sales.read(session, tenant_id, a.id, scope)


async def _lock(session: AsyncSession, tenant_id: int, after_sale_id: int, scope: Scope) -> AfterSaleRow:
    """The order row locked first, then the after-sale (404 if the caller may not see it)."""
    order_no = await after_sales.find(session, tenant_id, after_sale_id, scope)
    if await lifecycle.lock_for_refund(session, tenant_id, order_no) is None:
        raise NotFound("after-sale", str(after_sale_id))
    return await after_sales.lock(session, tenant_id, after_sale_id)


async def act(
    session: AsyncSession,
    tenant_id: int,
    providers: dict[str, PaymentProvider],
    principal: Principal,
    after_sale_id: int,
    action: str,
    receipt: ReceiptIn | None = None,
) -> AfterSaleRead:
    """Approve, reject, receive or refund an after-sale the caller may see."""
    if (receipt is not None) != (action == "receive"):
        raise ValidationFailed("receive takes a location and lines; the other actions take no body")
    scope = await staff_scope(session, principal)
    order_no = await after_sales.find(session, tenant_id, after_sale_id, scope)
    o = await lifecycle.lock_for_refund(session, tenant_id, order_no)
    if o is None:
        raise NotFound("after-sale", str(after_sale_id))
    a = await after_sales.lock(session, tenant_id, after_sale_id)
    if a.status not in _DONE[action]:
        step = _Step(session, tenant_id, providers, principal.actor, o, a)
        if action == "approve":
            await step.approve()
        elif action == "reject":
            await step.reject()
        elif action == "receive" and receipt is not None:
            await step.receive(receipt, scope)
        else:
            await step.refund()
    return await after_sales.read(session, tenant_id, a.id, scope)


class _Step:
    """One staff step on a locked after-sale of a locked order."""

    def __init__(
        self,
        session: AsyncSession,
        tenant_id: int,
        providers: dict[str, PaymentProvider],
        actor: str,
        order: lifecycle.RefundableOrder,
        after_sale: AfterSaleRow,
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.providers = providers
        self.actor = actor
        self.o = order
        self.a = after_sale
        self.now = datetime.now(UTC)

    def _require(self, *statuses: str, to: str) -> None:
        if self.a.status not in statuses:
            raise InvalidState(f"after-sale {self.a.id} is {self.a.status}; cannot {to}")

    async def _set(
        self,
        status: str,
        *,
        refund_amount: int | None = None,
        refund_no: str | None = None,
        location_id: int | None = None,
    ) -> None:
        await after_sales.set_status(
            self.session,
            self.tenant_id,
            self.a.id,
            status,
            actor=self.actor,
            at=self.now,
            refund_amount=refund_amount,
            refund_no=refund_no,
            location_id=location_id,
        )

    async def approve(self) -> None:
        """A return waits for its units; a refund-only is refunded at once."""
        self._require("requested", to="approve it")
        if self.a.kind == "return":
            await self._set("approved")
            return
        unshipped = await fulfilment.unshipped_units(self.session, self.tenant_id, self.o.id)
        for line in self.a.lines:
            unshipped[line.sku_id] = unshipped.get(line.sku_id, 0) - line.qty
            if unshipped[line.sku_id] < 0:
                raise InvalidState(f"{line.sku_code} has shipped since it was asked for; ask for a return instead")
        await self._refund(release=True)

    async def reject(self) -> None:
        """Only a request still waiting for a decision is rejected."""
        self._require("requested", to="reject it")
        await self._set("rejected")

    async def receive(self, receipt: ReceiptIn, scope: Scope) -> None:
        """The returned units arrived at a location; those marked ``restock`` go back on hand there."""
        if self.a.kind != "return":
            raise InvalidState(f"after-sale {self.a.id} is a refund of unshipped units; there is nothing to receive")
        self._require("approved", to="receive it")
        location_id = await after_sales.location_id(self.session, self.tenant_id, receipt.location)
        if location_id is None or (scope.location_id is not None and location_id != scope.location_id):
            raise NotFound("location", receipt.location)
        got: dict[str, int] = defaultdict(int)
        restock: dict[str, int] = defaultdict(int)
        for item in receipt.lines:
            got[item.sku] += item.qty
            restock[item.sku] += item.qty if item.restock else 0
        expected: dict[str, int] = defaultdict(int)
        for line in self.a.lines:
            expected[line.sku_code] += line.qty
        if dict(got) != dict(expected):
            want = ", ".join(f"{qty} of {sku}" for sku, qty in sorted(expected.items()))
            raise ValidationFailed(f"the receipt must account for every unit of the return: {want}")
        per_line: dict[int, int] = {}
        per_sku: dict[int, int] = defaultdict(int)
        for line in self.a.lines:
            n = min(restock[line.sku_code], line.qty)
            restock[line.sku_code] -= n
            per_line[line.line_no] = n
            per_sku[line.sku_id] += n
        await reservations.restock_returned(
            self.session,
            self.tenant_id,
            location_id,
            dict(per_sku),
            reference=self.o.order_no,
            actor=self.actor,
            at=self.now,
        )
        await after_sales.record_restocked(self.session, self.tenant_id, self.a.id, per_line)
        await self._set("received", location_id=location_id)

    async def refund(self) -> None:
        """A received return is refunded; a refund-only is refunded when it is approved."""
        if self.a.kind == "refund_only":
            raise InvalidState(f"after-sale {self.a.id} is {self.a.status}; a refund-only is refunded when approved")
        self._require("received", to="refund it")
        await self._refund(release=False)

    async def _refund(self, *, release: bool) -> None:
        lines = await lifecycle.lock_refundable_lines(self.session, self.tenant_id, self.o.id)
        by_no = {line.line_no: line for line in lines}
        take: list[tuple[lifecycle.OrderLine, int]] = []
        for x in self.a.lines:
            line = by_no[x.line_no]
            if line.qty - line.refunded_qty < x.qty:
                raise InvalidState(f"{x.sku_code} was refunded otherwise since it was asked for")
            take.append((line, x.qty))
        done = await refund.refund_units(
            self.session,
            self.tenant_id,
            self.providers,
            self.o,
            lines,
            take,
            release=release,
            with_fee=self.a.kind == "refund_only",
            refund_no=f"ras{self.tenant_id}x{self.a.id}",
            now=self.now,
        )
        await self._set("refunded", refund_amount=done.amount, refund_no=done.refund_no)
        await publish(
            self.session,
            AfterSaleRefunded(
                tenant_id=self.tenant_id,
                after_sale_id=self.a.id,
                order_no=self.o.order_no,
                kind=self.a.kind,
                refund_no=done.refund_no,
                amount=done.amount,
                at=self.now,
            ),
        )
