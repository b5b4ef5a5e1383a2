"""Paying for orders, taking provider notifications, and refunding.

Notifications are verified by the provider, then applied under a lock on the payment row: the first
SUCCESS for a payment marks it and the order paid (and publishes ``OrderPaid``); a repeat finds the payment
already succeeded and changes nothing. An amount that differs from the payment's is refused and changes
nothing. A payment that lands on an order that was cancelled or expired meanwhile is refunded at once,
so no money is kept for goods that are no longer reserved.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from cloudstore.lib.errors import DomainError, InvalidState, NotFound, ServiceUnavailable, ValidationFailed
from cloudstore.lib.jobs import JobContext, enqueue
from cloudstore.orders.events import OrderPaid, OrderRefunded, publish
from cloudstore.orders.schemas import FulfilmentLineRead, PaymentRead, RefundCreate, RefundRead
from cloudstore.orders.service import OrderService, close_order, release_reservations
from cloudstore.payments.gateways.base import (
    InvalidNotification,
    PaymentNotification,
    ProviderRejected,
    ProviderUnavailable,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.payments.gateways.base import PaymentProvider

__all__ = ("AmountMismatch", "PaymentService", "tenant_of_payment")

_PAYMENT_NO = re.compile(r"^p([0-9]{1,12})x[0-9a-f]{16}$")


class AmountMismatch(DomainError):
    """A notification whose amount is not what the order costs."""

    code = "amount_mismatch"
    status = 409
    title = "Amount mismatch"


class NotificationMismatch(DomainError):
    """A verified notification that names another order than its payment's (another tenant's, say)."""

    code = "notification_mismatch"
    status = 409
    title = "Notification does not match its payment"


def new_payment_no(tenant_id: int) -> str:
    """A payment id that names its tenant, so a notification can be routed before anything is read."""
    return f"p{tenant_id}x{secrets.token_hex(8)}"


def tenant_of_payment(payment_no: str) -> int:
    """The tenant a payment id belongs to."""
    m = _PAYMENT_NO.match(payment_no)
    if m is None:
        raise InvalidNotification(f"unknown payment id {payment_no!r}")
    return int(m.group(1))


class PaymentService:
    """Payments and refunds of one tenant."""

    def __init__(self, session: AsyncSession, tenant_id: int, providers: dict[str, PaymentProvider]) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.providers = providers

    def _provider(self, name: str) -> PaymentProvider:
        provider = self.providers.get(name)
        if provider is None:
            raise ValidationFailed(f"payment provider {name!r} is not available here")
        return provider

    async def start(
        self, order_no: str, consumer_id: int, provider_name: str, now: datetime | None = None
    ) -> PaymentRead:
        """Create a payment for an unpaid order and get the provider's parameters for the client."""
        now = now or datetime.now(UTC)
        provider = self._provider(provider_name)
        o = (
            await self.session.execute(
                text(
                    "SELECT o.id, o.order_no, o.status, o.total, o.expires_at, c.openid FROM orders o "
                    "JOIN consumers c ON c.tenant_id = o.tenant_id AND c.id = o.consumer_id "
                    "WHERE o.tenant_id = :t AND o.order_no = :n AND o.consumer_id = :c FOR NO KEY UPDATE OF o"
                ),
                {"t": self.tenant_id, "n": order_no, "c": consumer_id},
            )
        ).first()
        if o is None:
            raise NotFound("order", order_no)
        if o.status != "pending_payment" or (o.expires_at is not None and o.expires_at <= now):
            raise InvalidState(f"order {order_no} is {o.status if o.status != 'pending_payment' else 'expired'}")
        payment_no = new_payment_no(self.tenant_id)
        try:
            prepay = await provider.prepay(
                payment_id=payment_no,
                order_no=o.order_no,
                amount=o.total,
                description=f"order {o.order_no}",
                payer_openid=o.openid,
                expires_at=o.expires_at,
            )
        except ProviderUnavailable as exc:
            raise ServiceUnavailable("the payment provider is unavailable; try again") from exc
        except ProviderRejected as exc:
            raise ValidationFailed(f"the payment provider refused: {exc}") from exc
        await self.session.execute(
            text(
                "INSERT INTO payments (tenant_id, payment_no, order_id, provider, amount, params) "
                "VALUES (:t, :p, :o, :prov, :a, CAST(:params AS jsonb))"
            ),
            {
                "t": self.tenant_id,
                "p": payment_no,
                "o": o.id,
                "prov": provider.name,
                "a": o.total,
                "params": msgspec.json.encode(prepay.params).decode(),
            },
        )
        return PaymentRead(payment_id=payment_no, provider=provider.name, params=dict(prepay.params))

    async def apply_notification(self, provider_name: str, note: PaymentNotification, raw: dict[str, Any]) -> str:
        """Apply a verified notification; returns what happened ("paid", "duplicate", "refund_*", ...)."""
        if note.kind == "refund":
            return await self._refund_notification(note)
        # Lock the order before the payment, as every other path does, so they queue instead of deadlocking.
        params = {"t": self.tenant_id, "p": note.payment_id}
        await self.session.execute(
            text(
                "SELECT 1 FROM orders WHERE tenant_id = :t AND id = "
                "(SELECT order_id FROM payments WHERE tenant_id = :t AND payment_no = :p) FOR NO KEY UPDATE"
            ),
            params,
        )
        pay = (
            await self.session.execute(
                text(
                    "SELECT p.id, p.order_id, p.status, p.amount, p.provider, o.order_no, o.status AS order_status, "
                    "o.consumer_id, o.store_id, o.koc_id, o.via_link "
                    "FROM payments p JOIN orders o ON o.tenant_id = p.tenant_id AND o.id = p.order_id "
                    "WHERE p.tenant_id = :t AND p.payment_no = :p FOR NO KEY UPDATE OF p"
                ),
                params,
            )
        ).first()
        if pay is None or pay.provider != provider_name:
            raise NotFound("payment", note.payment_id)
        if note.order_no is not None and note.order_no != pay.order_no:
            raise NotificationMismatch("the notification's order is not its payment's order; nothing was changed")
        if pay.status == "succeeded":
            return "duplicate"
        if note.status != "SUCCESS":
            return "ignored"
        if note.amount != pay.amount:
            raise AmountMismatch(f"paid {note.amount} but the order costs {pay.amount}; nothing was changed")
        paid_at = note.paid_at or datetime.now(UTC)
        await self.session.execute(
            text(
                "UPDATE payments SET status = 'succeeded', provider_txn_id = :x, paid_at = :at "
                "WHERE tenant_id = :t AND id = :i"
            ),
            {"x": note.transaction_id, "at": paid_at, "t": self.tenant_id, "i": pay.id},
        )
        await self._log_event(provider_name, f"pay:{note.payment_id}", "payment", raw)
        if pay.order_status == "pending_payment":
            await self.session.execute(
                text(
                    "UPDATE orders SET status = 'paid', paid_at = :at, expires_at = NULL, updated_at = now() "
                    "WHERE tenant_id = :t AND id = :o"
                ),
                {"at": paid_at, "t": self.tenant_id, "o": pay.order_id},
            )
            await publish(
                self.session,
                OrderPaid(
                    tenant_id=self.tenant_id,
                    order_id=pay.order_id,
                    order_no=pay.order_no,
                    consumer_id=pay.consumer_id,
                    store_id=pay.store_id,
                    koc_id=pay.koc_id,
                    came_through_link=pay.via_link,
                    paid_at=paid_at,
                ),
            )
            return "paid"
        # The order was cancelled, expired, or paid by another payment in the meantime: give the money back.
        await self._queue_refund_of_payment(pay.id, pay.order_id, pay.amount)
        return "refund_queued"

    async def _queue_refund_of_payment(self, payment_id: int, order_id: int, amount: int) -> None:
        refund_no = f"r{secrets.token_hex(10)}"
        await self.session.execute(
            text(
                "INSERT INTO refunds (tenant_id, refund_no, order_id, payment_id, amount, goods_amount, lines) "
                "VALUES (:t, :r, :o, :p, :a, 0, '[]'::jsonb)"
            ),
            {"t": self.tenant_id, "r": refund_no, "o": order_id, "p": payment_id, "a": amount},
        )
        await enqueue(
            self.session,
            tenant_id=self.tenant_id,
            kind="payments.refund",
            payload={"refund_no": refund_no},
            dedupe_key=f"refund:{refund_no}",
        )

    async def _refund_notification(self, note: PaymentNotification) -> str:
        if note.refund_id is None:
            raise InvalidNotification("a refund notification without a refund id")
        status = "succeeded" if note.status == "SUCCESS" else "failed"
        row = (
            await self.session.execute(
                text(
                    "UPDATE refunds SET status = :s, completed_at = now() "
                    "WHERE tenant_id = :t AND refund_no = :r AND status = 'pending' RETURNING id"
                ),
                {"s": status, "t": self.tenant_id, "r": note.refund_id},
            )
        ).first()
        return f"refund_{status}" if row is not None else "duplicate"

    async def _log_event(self, provider: str, key: str, kind: str, raw: dict[str, Any]) -> None:
        await self.session.execute(
            text(
                "INSERT INTO payment_events (tenant_id, provider, event_key, kind, body) "
                "VALUES (:t, :p, :k, :kind, CAST(:b AS jsonb)) ON CONFLICT DO NOTHING"
            ),
            {"t": self.tenant_id, "p": provider, "k": key, "kind": kind, "b": msgspec.json.encode(raw).decode()},
        )

    # --- refunds -------------------------------------------------------------------------------------

    async def refund(self, order_no: str, data: RefundCreate, now: datetime | None = None) -> RefundRead:
        """Refund whole lines or the whole order through the provider the order was paid with."""
        now = now or datetime.now(UTC)
        if (data.lines is None) == (not data.all):
            raise ValidationFailed('give either "lines" or "all": true')
        o = (
            await self.session.execute(
                text(
                    "SELECT o.id, o.order_no, o.status, o.total, o.refunded_total, p.id AS payment_id, "
                    "p.payment_no, p.provider, p.amount AS paid FROM orders o "
                    "LEFT JOIN payments p ON p.tenant_id = o.tenant_id AND p.order_id = o.id "
                    "AND p.status = 'succeeded' "
                    "WHERE o.tenant_id = :t AND o.order_no = :n ORDER BY p.id LIMIT 1 FOR NO KEY UPDATE OF o"
                ),
                {"t": self.tenant_id, "n": order_no},
            )
        ).first()
        if o is None:
            raise NotFound("order", order_no)
        if o.status not in ("paid", "completed") or o.payment_id is None:
            raise InvalidState(f"order {order_no} is {o.status}; only paid orders are refunded")
        lines = (
            await self.session.execute(
                text(
                    "SELECT line_no, sku_id, sku_code, qty, refunded_qty, unit_price FROM order_lines "
                    "WHERE tenant_id = :t AND order_id = :o ORDER BY line_no FOR UPDATE"
                ),
                {"t": self.tenant_id, "o": o.id},
            )
        ).all()
        take = _refund_take(list(lines), data)
        amount = sum(qty * line.unit_price for line, qty in take)
        if amount <= 0:
            raise ValidationFailed("nothing left to refund")
        refund_no = f"r{secrets.token_hex(10)}"
        provider = self._provider(o.provider)
        try:
            result = await provider.refund(
                payment_id=o.payment_no, refund_id=refund_no, amount=amount, total=o.paid, reason="refund"
            )
        except ProviderUnavailable as exc:
            raise ServiceUnavailable("the payment provider is unavailable; try again") from exc
        except ProviderRejected as exc:
            raise ValidationFailed(f"the payment provider refused the refund: {exc}") from exc
        refunded = [{"sku": line.sku_code, "qty": qty} for line, qty in take]
        await self.session.execute(
            text(
                "INSERT INTO refunds (tenant_id, refund_no, order_id, payment_id, amount, goods_amount, lines, status, "
                "provider_refund_id, completed_at) VALUES (:t, :r, :o, :p, :a, :a, CAST(:l AS jsonb), :s, :pr, :done)"
            ),
            {
                "t": self.tenant_id,
                "r": refund_no,
                "o": o.id,
                "p": o.payment_id,
                "a": amount,
                "l": msgspec.json.encode(refunded).decode(),
                "s": "succeeded" if result.status == "SUCCESS" else "pending",
                "pr": result.provider_refund_id,
                # a time, not now() in a CASE: Citus refuses non-immutable functions there
                "done": datetime.now(UTC) if result.status == "SUCCESS" else None,
            },
        )
        await self.session.execute(
            text(
                "UPDATE order_lines ol SET refunded_qty = ol.refunded_qty + x.qty "
                "FROM unnest(CAST(:nos AS int[]), CAST(:qtys AS int[])) AS x(line_no, qty) "
                "WHERE ol.tenant_id = :t AND ol.order_id = :o AND ol.line_no = x.line_no"
            ),
            {"t": self.tenant_id, "o": o.id, "nos": [line.line_no for line, _ in take], "qtys": [q for _, q in take]},
        )
        fully = o.refunded_total + amount >= o.total
        await self.session.execute(
            text(
                "UPDATE orders SET refunded_total = refunded_total + :a, updated_at = now(), "
                "status = CASE WHEN :full THEN 'refunded' ELSE status END WHERE tenant_id = :t AND id = :o"
            ),
            {"a": amount, "full": fully, "t": self.tenant_id, "o": o.id},
        )
        await _release_refunded(self.session, self.tenant_id, o.id, take, whole=fully)
        await publish(
            self.session,
            OrderRefunded(tenant_id=self.tenant_id, order_id=o.id, refund_no=refund_no, amount=amount, refunded_at=now),
        )
        return RefundRead(
            refund_no=refund_no,
            order_no=order_no,
            amount=amount,
            status="succeeded" if result.status == "SUCCESS" else "pending",
            lines=[FulfilmentLineRead(sku=r["sku"], qty=r["qty"]) for r in refunded],
        )

    async def cancel_paid(self, order_no: str, consumer_id: int | None) -> None:
        """Cancel an order: an unpaid one simply releases its stock; a paid, unshipped one is refunded in full."""
        o = await OrderService(self.session, self.tenant_id).lock_for_cancel(order_no, consumer_id=consumer_id)
        if o.status == "paid":
            await self.refund(order_no, RefundCreate(all=True))  # gives back the unshipped stock itself
        await close_order(self.session, self.tenant_id, o.id, "cancelled", release=o.status == "pending_payment")


def _refund_take(lines: list[Any], data: RefundCreate) -> list[tuple[Any, int]]:
    """Which order lines give how many units to this refund (same-SKU lines are drawn in order)."""
    if data.all:
        return [(line, line.qty - line.refunded_qty) for line in lines if line.qty > line.refunded_qty]
    wanted: dict[str, int] = defaultdict(int)
    for item in data.lines or []:
        wanted[item.sku] += item.qty
    take: list[tuple[Any, int]] = []
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


async def _release_refunded(
    session: AsyncSession, tenant_id: int, order_id: int, take: list[tuple[Any, int]], *, whole: bool
) -> None:
    """Units refunded before they left a location go back to available stock."""
    if whole:
        await release_reservations(session, tenant_id, order_id)
        return
    per_sku: dict[int, int] = defaultdict(int)
    for line, qty in take:
        per_sku[line.sku_id] += qty
    rows = (
        await session.execute(
            text(
                "SELECT f.id, f.location_id, fl.sku_id, fl.qty FROM fulfilments f JOIN fulfilment_lines fl "
                "ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id "
                "WHERE f.tenant_id = :t AND f.order_id = :o AND f.status IN ('pending', 'ready_for_pickup') "
                "AND fl.sku_id = ANY(CAST(:skus AS bigint[])) ORDER BY f.location_id, fl.sku_id FOR UPDATE OF fl"
            ),
            {"t": tenant_id, "o": order_id, "skus": sorted(per_sku)},
        )
    ).all()
    for r in rows:
        n = min(per_sku[r.sku_id], r.qty)
        if n <= 0:
            continue
        per_sku[r.sku_id] -= n
        params = {"t": tenant_id, "f": r.id, "l": r.location_id, "k": r.sku_id, "n": n}
        await session.execute(
            text(
                "UPDATE stock_levels SET reserved = reserved - :n, updated_at = now() "
                "WHERE tenant_id = :t AND location_id = :l AND sku_id = :k"
            ),
            params,
        )
        # All of the line refunded: the line goes; part of it: the line shrinks (qty stays > 0).
        await session.execute(
            text(
                "WITH gone AS (DELETE FROM fulfilment_lines WHERE tenant_id = :t AND fulfilment_id = :f "
                "AND sku_id = :k AND qty = :n RETURNING 1) "
                "UPDATE fulfilment_lines SET qty = qty - :n WHERE tenant_id = :t AND fulfilment_id = :f "
                "AND sku_id = :k AND qty > :n"
            ),
            params,
        )


async def refund_orphan_payment(ctx: JobContext, providers: Mapping[str, PaymentProvider]) -> None:
    """Refund a payment that arrived for an order that can no longer be fulfilled, through ``providers``."""
    row = (
        await ctx.session.execute(
            text(
                "SELECT r.id, r.refund_no, r.amount, r.status, p.payment_no, p.provider, p.amount AS paid "
                "FROM refunds r JOIN payments p ON p.tenant_id = r.tenant_id AND p.id = r.payment_id "
                "WHERE r.tenant_id = :t AND r.refund_no = :r FOR NO KEY UPDATE OF r"
            ),
            {"t": ctx.tenant_id, "r": ctx.payload["refund_no"]},
        )
    ).first()
    if row is None or row.status != "pending":
        return
    provider = providers[row.provider]
    result = await provider.refund(
        payment_id=row.payment_no, refund_id=row.refund_no, amount=row.amount, total=row.paid, reason="order closed"
    )
    await ctx.session.execute(
        text(
            "UPDATE refunds SET status = CASE WHEN :s = 'SUCCESS' THEN 'succeeded' ELSE 'pending' END, "
            "provider_refund_id = :pr, completed_at = :done WHERE tenant_id = :t AND id = :i"
        ),
        {
            "s": result.status,
            "pr": result.provider_refund_id,
            "done": datetime.now(UTC) if result.status == "SUCCESS" else None,  # no now() in a CASE on Citus
            "t": ctx.tenant_id,
            "i": row.id,
        },
    )


async def scoped_notification(
    session: AsyncSession, provider: PaymentProvider, headers: dict[str, str], body: bytes, now: datetime
) -> tuple[int, PaymentNotification]:
    """Verify a notification and scope the session to the tenant its payment id names."""
    note = provider.verify_notification(headers, body, now=now)
    tenant_id = tenant_of_payment(note.payment_id)
    await set_tenant(session, tenant_id)
    return tenant_id, note
