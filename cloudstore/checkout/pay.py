"""Paying: starting a payment, and applying the provider's notification.

A notification is verified by the provider, then applied with the order row and then the payment row locked
in one statement (``FOR NO KEY UPDATE OF o, p``: the order is locked once). The first SUCCESS marks the
payment and the order paid, spends the order's coupon if it has one (``locked -> used``), and publishes
``OrderPaid``, whose subscribers attribute the order and book commission in this transaction without locking
the order again; a repeat finds the payment already succeeded
and changes nothing. An amount that differs from the payment's is refused and changes nothing. A payment that
lands on an order that was cancelled or expired meanwhile is queued for refund, so no money is kept for goods
no longer reserved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cloudstore.lib.errors import NotFound
from cloudstore.orders import lifecycle
from cloudstore.orders.events import OrderPaid, publish
from cloudstore.payments.service import AmountMismatch, NotificationMismatch, PaymentService
from cloudstore.pricing.service.terms import use_order_coupon

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.payments.gateways.base import PaymentNotification, PaymentProvider
    from cloudstore.payments.schemas import PaymentRead

__all__ = ("apply_notification", "start_payment")


async def start_payment(
    session: AsyncSession,
    tenant_id: int,
    providers: dict[str, PaymentProvider],
    order_no: str,
    consumer_id: int,
    provider: str,
) -> PaymentRead:
    """Lock the consumer's unpaid order, then create a payment with the provider and get its client parameters."""
    payments = PaymentService(session, providers)
    payments.check_provider(provider)  # an unknown provider is refused before anything is locked
    order = await lifecycle.lock_unpaid(session, tenant_id, order_no, consumer_id, datetime.now(UTC))
    return await payments.start(tenant_id, order, provider)


async def apply_notification(
    session: AsyncSession,
    tenant_id: int,
    providers: dict[str, PaymentProvider],
    provider_name: str,
    note: PaymentNotification,
    raw: dict[str, Any],
) -> str:
    """Apply a verified notification; returns what happened ("paid", "duplicate", "refund_*", ...)."""
    payments = PaymentService(session, providers)
    if note.kind == "refund":
        return await payments.refund_notification(tenant_id, note)
    locked = await payments.lock_with_order(tenant_id, note.payment_id)
    if locked is None or locked[1].provider != provider_name:
        raise NotFound("payment", note.payment_id)
    order, pay = locked
    if note.order_no is not None and note.order_no != order.order_no:
        raise NotificationMismatch("the notification's order is not its payment's order; nothing was changed")
    if pay.status == "succeeded":
        return "duplicate"
    if note.status != "SUCCESS":
        return "ignored"
    if note.amount != pay.amount:
        raise AmountMismatch(f"paid {note.amount} but the order costs {pay.amount}; nothing was changed")
    paid_at = note.paid_at or datetime.now(UTC)
    await payments.mark_succeeded(tenant_id, pay, note, raw, paid_at)
    if order.status != "pending_payment":
        # The order was cancelled, expired, or paid by another payment in the meantime: give the money back.
        await payments.refund_orphan(tenant_id, pay)
        return "refund_queued"
    await lifecycle.mark_paid(session, tenant_id, order.id, paid_at)
    if order.holds_coupon:  # read with the lock, so an order without one spends no statement on it
        await use_order_coupon(session, tenant_id, order.id, paid_at)
    await publish(
        session,
        OrderPaid(
            tenant_id=tenant_id,
            order_id=order.id,
            order_no=order.order_no,
            consumer_id=order.consumer_id,
            store_id=order.store_id,
            koc_id=order.koc_id,
            came_through_link=order.via_link,
            paid_at=paid_at,
        ),
    )
    return "paid"
