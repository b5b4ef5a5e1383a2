"""Order and after-sales events written to the webhook outbox, in the transaction that made them (one statement
each)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from cloudstore.integrations.delivery import event_parts, record_event

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.aftersales.events import AfterSaleRefunded, AfterSaleRequested
    from cloudstore.codes.events import CodeDiverted
    from cloudstore.lib.db import Part
    from cloudstore.orders.events import FulfilmentMoved, OrderClosed, OrderPaid, OrderPlaced, OrderRefunded

__all__ = (
    "LedgerReleased",
    "SettlementMade",
    "on_after_sale_refunded",
    "on_after_sale_requested",
    "on_code_diverted",
    "on_commission_available",
    "on_fulfilment_moved",
    "on_order_closed",
    "on_order_paid",
    "on_order_placed",
    "on_order_refunded",
    "on_settlement_created",
)

_FULFILMENT_EVENTS = {
    "shipped": "fulfilment.shipped",
    "ready_for_pickup": "fulfilment.ready",
    "delivered": "fulfilment.delivered",
    "picked_up": "fulfilment.picked_up",
}


def on_order_placed(event: OrderPlaced) -> list[Part]:
    """``order.created``: stock is reserved and the order waits for payment until ``expires_at``.

    Parts of the placing statement (placing is the hot path): the outbox rows ride in the order's own write.
    """
    return event_parts(
        event.tenant_id,
        "order.created",
        {"order_no": event.order_no, "total": event.total, "expires_at": event.expires_at.isoformat()},
        event.placed_at,
        key=f"{event.order_no}.created",
    )


async def on_order_closed(session: AsyncSession, event: OrderClosed) -> None:
    """``order.cancelled`` or ``order.expired``: the reservations are released."""
    await record_event(
        session,
        event.tenant_id,
        f"order.{event.status}",
        {"order_no": event.order_no, "status": event.status, "at": event.closed_at.isoformat()},
        event.closed_at,
        key=f"{event.order_no}.{event.status}",
    )


async def on_order_paid(session: AsyncSession, event: OrderPaid) -> None:
    """``order.paid``: the warehouse may start picking; the order's details are at ``GET /v1/hq/orders/{no}``."""
    await record_event(
        session,
        event.tenant_id,
        "order.paid",
        {"order_no": event.order_no, "paid_at": event.paid_at.isoformat()},
        event.paid_at,
        key=f"{event.order_no}.paid",
    )


async def on_order_refunded(session: AsyncSession, event: OrderRefunded) -> None:
    """``refund.succeeded``: money went back to the consumer."""
    await record_event(
        session,
        event.tenant_id,
        "refund.succeeded",
        {"refund_no": event.refund_no, "amount": event.amount, "refunded_at": event.refunded_at.isoformat()},
        event.refunded_at,
        key=f"{event.refund_no}.refunded",
    )


async def on_fulfilment_moved(session: AsyncSession, event: FulfilmentMoved) -> None:
    """``fulfilment.shipped`` (with carrier and tracking number), ``.ready``, ``.delivered``, ``.picked_up``."""
    name = _FULFILMENT_EVENTS[event.status]
    await record_event(
        session,
        event.tenant_id,
        name,
        {
            "fulfilment_id": event.fulfilment_id,
            "order_no": event.order_no,
            "location": event.location,
            "status": event.status,
            "carrier": event.carrier,
            "tracking_no": event.tracking_no,
            "at": event.at.isoformat(),
        },
        event.at,
        key=f"f{event.fulfilment_id}.{event.status}",
    )


async def on_after_sale_requested(session: AsyncSession, event: AfterSaleRequested) -> None:
    """``after_sale.requested``: a consumer asked for a refund of unshipped units or a return of shipped ones."""
    await record_event(
        session,
        event.tenant_id,
        "after_sale.requested",
        {
            "id": event.after_sale_id,
            "order_no": event.order_no,
            "kind": event.kind,
            "lines": event.lines,
            "refund_amount": event.refund_amount,
            "at": event.at.isoformat(),
        },
        event.at,
        key=f"as{event.after_sale_id}.requested",
    )


async def on_after_sale_refunded(session: AsyncSession, event: AfterSaleRefunded) -> None:
    """``after_sale.refunded``: the after-sale's money went back (``refund.succeeded`` goes with it)."""
    await record_event(
        session,
        event.tenant_id,
        "after_sale.refunded",
        {
            "id": event.after_sale_id,
            "order_no": event.order_no,
            "kind": event.kind,
            "refund_no": event.refund_no,
            "amount": event.amount,
            "at": event.at.isoformat(),
        },
        event.at,
        key=f"as{event.after_sale_id}.refunded",
    )


class LedgerReleased(Protocol):
    """What ``commission.available`` tells (the referrals domain's event, matched by shape, not imported)."""

    @property
    def tenant_id(self) -> int: ...
    @property
    def order_no(self) -> str: ...
    @property
    def entries(self) -> int: ...
    @property
    def amount(self) -> int: ...
    @property
    def at(self) -> datetime: ...


class SettlementMade(Protocol):
    """What ``settlement.created`` tells (the referrals domain's event, matched by shape, not imported)."""

    @property
    def tenant_id(self) -> int: ...
    @property
    def settlement_no(self) -> str: ...
    @property
    def beneficiary_kind(self) -> str | None: ...
    @property
    def beneficiary(self) -> str | None: ...
    @property
    def total(self) -> int: ...
    @property
    def entry_count(self) -> int: ...
    @property
    def at(self) -> datetime: ...


async def on_commission_available(session: AsyncSession, event: LedgerReleased) -> None:
    """``commission.available``: an order's after-sales window closed and its commission may be settled."""
    await record_event(
        session,
        event.tenant_id,
        "commission.available",
        {"order_no": event.order_no, "entries": event.entries, "amount": event.amount, "at": event.at.isoformat()},
        event.at,
        key=f"{event.order_no}.commission.available",
    )


async def on_settlement_created(session: AsyncSession, event: SettlementMade) -> None:
    """``settlement.created``: available commission was paid out."""
    await record_event(
        session,
        event.tenant_id,
        "settlement.created",
        {
            "settlement_no": event.settlement_no,
            "beneficiary_kind": event.beneficiary_kind,
            "beneficiary": event.beneficiary,
            "total": event.total,
            "entry_count": event.entry_count,
            "at": event.at.isoformat(),
        },
        event.at,
        key=f"{event.settlement_no}.created",
    )


async def on_code_diverted(session: AsyncSession, event: CodeDiverted) -> None:
    """``code.diversion``: a unit scanned outside the regions of the distributor it was shipped to (a signal)."""
    await record_event(
        session,
        event.tenant_id,
        "code.diversion",
        {
            "code": event.code,
            "batch_no": event.batch_no,
            "sku": event.sku,
            "distributor": event.distributor,
            "region": event.region,
            "scanned_at": event.scanned_at.isoformat(),
        },
        event.scanned_at,
        key=f"{event.code}.diversion.{int(event.scanned_at.timestamp() * 1000)}",
    )
