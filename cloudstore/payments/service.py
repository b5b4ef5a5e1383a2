"""Payments: starting one with the provider, recording what notifications say, refunding through the provider.

Only this module writes ``payments``, ``refunds`` and ``payment_events``. How a notification changes the order
and who is credited is the pay journey's (:mod:`cloudstore.checkout.pay`); refunds of order lines are the refund
journey's (:mod:`cloudstore.checkout.refund`). A payment that lands on an order that was cancelled or expired
meanwhile is refunded by the ``payments.refund`` job, so no money is kept for goods no longer reserved.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from cloudstore.lib.errors import DomainError, ServiceUnavailable, ValidationFailed
from cloudstore.lib.jobs import JobContext, enqueue
from cloudstore.payments.gateways.base import (
    InvalidNotification,
    PaymentNotification,
    ProviderRejected,
    ProviderUnavailable,
)
from cloudstore.payments.schemas import PaymentRead

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.payments.gateways.base import PaymentProvider

__all__ = (
    "AmountMismatch",
    "LockedPayment",
    "NotificationMismatch",
    "NotifiedOrder",
    "PayableOrder",
    "PaymentService",
    "ProviderRefund",
    "scoped_notification",
    "tenant_of_payment",
)

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


class PayableOrder(Protocol):
    """What a payment needs to know of its order."""

    @property
    def id(self) -> int: ...
    @property
    def order_no(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def openid(self) -> str | None: ...


@dataclass(frozen=True)
class NotifiedOrder:
    """The order a notified payment is for, locked with it."""

    id: int
    order_no: str
    status: str
    consumer_id: int
    store_id: int
    koc_id: int | None
    via_link: bool
    holds_coupon: bool


@dataclass(frozen=True)
class LockedPayment:
    """A payment row, locked."""

    id: int
    order_id: int
    status: str
    amount: int
    provider: str


@dataclass(frozen=True)
class ProviderRefund:
    """What the provider said to a refund."""

    refund_no: str
    status: str  # succeeded | pending
    provider_refund_id: str | None


class PaymentService:
    """Payments and refunds, through the configured providers."""

    def __init__(self, session: AsyncSession, providers: dict[str, PaymentProvider]) -> None:
        self.session = session
        self.providers = providers

    def check_provider(self, name: str) -> None:
        """422 unless the provider is configured here."""
        self._provider(name)

    def _provider(self, name: str) -> PaymentProvider:
        provider = self.providers.get(name)
        if provider is None:
            raise ValidationFailed(f"payment provider {name!r} is not available here")
        return provider

    async def start(self, tenant_id: int, order: PayableOrder, provider_name: str) -> PaymentRead:
        """Create a payment for an unpaid order (locked by the caller) and get the provider's client parameters."""
        provider = self._provider(provider_name)
        o = order
        payment_no = new_payment_no(tenant_id)
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
                "t": tenant_id,
                "p": payment_no,
                "o": o.id,
                "prov": provider.name,
                "a": o.total,
                "params": msgspec.json.encode(prepay.params).decode(),
            },
        )
        return PaymentRead(payment_id=payment_no, provider=provider.name, params=dict(prepay.params))

    async def lock_with_order(self, tenant_id: int, payment_no: str) -> tuple[NotifiedOrder, LockedPayment] | None:
        """Lock a payment's order and then the payment, in one statement (the order first, as every path does)."""
        row = (
            await self.session.execute(
                text(
                    "SELECT o.id AS order_id, o.order_no, o.status AS order_status, o.consumer_id, o.store_id, "
                    "o.koc_id, o.via_link, p.id, p.status, p.amount, p.provider, "
                    "EXISTS (SELECT 1 FROM consumer_coupons cc WHERE cc.tenant_id = :t "
                    "AND cc.order_id = o.id AND cc.status = 'locked') AS holds_coupon "
                    "FROM orders o JOIN payments p ON p.tenant_id = o.tenant_id AND p.order_id = o.id "
                    "WHERE o.tenant_id = :t AND p.payment_no = :p FOR NO KEY UPDATE OF o, p"
                ),
                {"t": tenant_id, "p": payment_no},
            )
        ).first()
        if row is None:
            return None
        order = NotifiedOrder(
            id=row.order_id,
            order_no=row.order_no,
            status=row.order_status,
            consumer_id=row.consumer_id,
            store_id=row.store_id,
            koc_id=row.koc_id,
            via_link=row.via_link,
            holds_coupon=row.holds_coupon,
        )
        payment = LockedPayment(
            id=row.id, order_id=row.order_id, status=row.status, amount=row.amount, provider=row.provider
        )
        return order, payment

    async def mark_succeeded(
        self, tenant_id: int, payment: LockedPayment, note: PaymentNotification, raw: dict[str, Any], paid_at: datetime
    ) -> None:
        """Record the provider's confirmation and keep the notification's body."""
        await self.session.execute(
            text(
                "UPDATE payments SET status = 'succeeded', provider_txn_id = :x, paid_at = :at "
                "WHERE tenant_id = :t AND id = :i"
            ),
            {"x": note.transaction_id, "at": paid_at, "t": tenant_id, "i": payment.id},
        )
        await self._log_event(tenant_id, payment.provider, f"pay:{note.payment_id}", "payment", raw)

    async def refund_orphan(self, tenant_id: int, payment: LockedPayment) -> None:
        """Queue the refund of a payment whose order can no longer be fulfilled."""
        await self._queue_refund_of_payment(tenant_id, payment.id, payment.order_id, payment.amount)

    async def refund_notification(self, tenant_id: int, note: PaymentNotification) -> str:
        """Apply a verified refund notification; returns what happened."""
        return await self._refund_notification(tenant_id, note)

    async def refund_through_provider(
        self, provider_name: str, *, payment_no: str, amount: int, total: int, refund_no: str | None = None
    ) -> ProviderRefund:
        """Ask the provider to give ``amount`` back; 503 when it is unreachable, 422 when it refuses.

        ``refund_no`` names the refund to the provider, so asking again for the same one is not a second refund;
        by default a new one is drawn.
        """
        refund_no = refund_no or f"r{secrets.token_hex(10)}"
        provider = self._provider(provider_name)
        try:
            result = await provider.refund(
                payment_id=payment_no, refund_id=refund_no, amount=amount, total=total, reason="refund"
            )
        except ProviderUnavailable as exc:
            raise ServiceUnavailable("the payment provider is unavailable; try again") from exc
        except ProviderRejected as exc:
            raise ValidationFailed(f"the payment provider refused the refund: {exc}") from exc
        return ProviderRefund(
            refund_no=refund_no,
            status="succeeded" if result.status == "SUCCESS" else "pending",
            provider_refund_id=result.provider_refund_id,
        )

    async def record_refund(
        self,
        tenant_id: int,
        order_id: int,
        payment_id: int,
        amount: int,
        lines: list[dict[str, Any]],
        refund: ProviderRefund,
    ) -> None:
        """Keep the refund as the provider answered it."""
        await self.session.execute(
            text(
                "INSERT INTO refunds (tenant_id, refund_no, order_id, payment_id, amount, goods_amount, lines, status, "
                "provider_refund_id, completed_at) VALUES (:t, :r, :o, :p, :a, :a, CAST(:l AS jsonb), :s, :pr, :done)"
            ),
            {
                "t": tenant_id,
                "r": refund.refund_no,
                "o": order_id,
                "p": payment_id,
                "a": amount,
                "l": msgspec.json.encode(lines).decode(),
                "s": refund.status,
                "pr": refund.provider_refund_id,
                # a time, not now() in a CASE: Citus refuses non-immutable functions there
                "done": datetime.now(UTC) if refund.status == "succeeded" else None,
            },
        )

    async def _queue_refund_of_payment(self, tenant_id: int, payment_id: int, order_id: int, amount: int) -> None:
        refund_no = f"r{secrets.token_hex(10)}"
        await self.session.execute(
            text(
                "INSERT INTO refunds (tenant_id, refund_no, order_id, payment_id, amount, goods_amount, lines) "
                "VALUES (:t, :r, :o, :p, :a, 0, '[]'::jsonb)"
            ),
            {"t": tenant_id, "r": refund_no, "o": order_id, "p": payment_id, "a": amount},
        )
        await enqueue(
            self.session,
            tenant_id=tenant_id,
            kind="payments.refund",
            payload={"refund_no": refund_no},
            dedupe_key=f"refund:{refund_no}",
        )

    async def _refund_notification(self, tenant_id: int, note: PaymentNotification) -> str:
        if note.refund_id is None:
            raise InvalidNotification("a refund notification without a refund id")
        status = "succeeded" if note.status == "SUCCESS" else "failed"
        row = (
            await self.session.execute(
                text(
                    "UPDATE refunds SET status = :s, completed_at = now() "
                    "WHERE tenant_id = :t AND refund_no = :r AND status = 'pending' RETURNING id"
                ),
                {"s": status, "t": tenant_id, "r": note.refund_id},
            )
        ).first()
        return f"refund_{status}" if row is not None else "duplicate"

    async def _log_event(self, tenant_id: int, provider: str, key: str, kind: str, raw: dict[str, Any]) -> None:
        await self.session.execute(
            text(
                "INSERT INTO payment_events (tenant_id, provider, event_key, kind, body) "
                "VALUES (:t, :p, :k, :kind, CAST(:b AS jsonb)) ON CONFLICT DO NOTHING"
            ),
            {"t": tenant_id, "p": provider, "k": key, "kind": kind, "b": msgspec.json.encode(raw).decode()},
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
