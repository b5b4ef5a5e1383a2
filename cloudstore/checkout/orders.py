"""HQ's view of one order: the orders domain's order and trace, with the referrals domain's attribution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudstore.checkout.schemas import CommissionView, HqOrderRead
from cloudstore.orders.reading import OrderService
from cloudstore.referrals.service import order_attribution

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("hq_order",)

_COMMISSION_FIELDS = CommissionView.__struct_fields__


async def hq_order(session: AsyncSession, tenant_id: int, order_no: str) -> HqOrderRead:
    """The order, its fulfilments, the routing trace, who is credited and the commission entries."""
    parts = await OrderService(session).read_for_hq(tenant_id, order_no)
    o = parts.order
    attribution, entries = await order_attribution(session, tenant_id, o.id)
    commissions = [CommissionView(**{f: getattr(e, f) for f in _COMMISSION_FIELDS}) for e in entries]
    return HqOrderRead(
        order_no=o.order_no,
        status=o.status,
        store=o.store_code,
        koc=o.koc_code,
        mode=o.mode,
        delivery=o.delivery,
        goods_total=o.goods_total,
        total=o.total,
        refunded_total=o.refunded_total,
        lines=parts.lines,
        fulfilments=parts.fulfilments,
        routing_trace=parts.trace,
        attribution=attribution,
        commissions=commissions,
        created_at=o.created_at,
        expires_at=o.expires_at,
        paid_at=o.paid_at,
        completed_at=o.completed_at,
        discount_total=o.discount_total,
        delivery_fee=o.delivery_fee,
    )
