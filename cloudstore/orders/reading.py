"""Reading orders: one order with its lines and fulfilments, and pages of orders newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import NotFound
from cloudstore.lib.paging import cut_page, page_start
from cloudstore.orders.schemas import (
    FulfilmentLineRead,
    FulfilmentRead,
    OrderLineRead,
    OrderPage,
    OrderRead,
    OrderSummary,
    TraceRead,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("HqOrderParts", "OrderHeader", "OrderService", "order_header")


@dataclass(frozen=True)
class OrderHeader:
    """An order's own row, with its store's and KOC's codes."""

    id: int
    order_no: str
    status: str
    consumer_id: int
    store_code: str
    koc_code: str | None
    mode: str
    delivery: dict[str, Any]
    goods_total: int
    total: int
    refunded_total: int
    discount_total: int
    delivery_fee: int
    routing_trace: list[Any]
    created_at: datetime
    expires_at: datetime | None
    paid_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class HqOrderParts:
    """What HQ's view of an order is made of, apart from attribution and commissions."""

    order: OrderHeader
    lines: list[OrderLineRead]
    fulfilments: list[FulfilmentRead]
    trace: list[TraceRead]


async def order_header(
    session: AsyncSession, tenant_id: int, order_no: str, *, consumer_id: int | None = None, lock: bool = False
) -> OrderHeader:
    """One order's row; a consumer's only if ``consumer_id`` is given; locked ``FOR NO KEY UPDATE`` if asked."""
    sql = (
        "SELECT o.*, s.code AS store_code, k.code AS koc_code FROM orders o "
        "JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = o.store_id "
        "LEFT JOIN kocs k ON k.tenant_id = o.tenant_id AND k.id = o.koc_id "
        "WHERE o.tenant_id = :t AND o.order_no = :n AND (CAST(:c AS bigint) IS NULL OR o.consumer_id = :c)"
    )
    if lock:
        sql += " FOR NO KEY UPDATE OF o"
    row = (await session.execute(text(sql), {"t": tenant_id, "n": order_no, "c": consumer_id})).first()
    if row is None:
        raise NotFound("order", order_no)
    return OrderHeader(
        id=row.id,
        order_no=row.order_no,
        status=row.status,
        consumer_id=row.consumer_id,
        store_code=row.store_code,
        koc_code=row.koc_code,
        mode=row.mode,
        delivery=row.delivery,
        goods_total=row.goods_total,
        total=row.total,
        refunded_total=row.refunded_total,
        discount_total=row.discount_total,
        delivery_fee=row.shipping_fee,
        routing_trace=row.routing_trace,
        created_at=row.created_at,
        expires_at=row.expires_at,
        paid_at=row.paid_at,
        completed_at=row.completed_at,
    )


class OrderService:
    """Reading orders: one with its lines and fulfilments, or a page of them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lines_and_fulfilments(
        self, tenant_id: int, order_id: int
    ) -> tuple[list[OrderLineRead], list[FulfilmentRead]]:
        """The order's lines, then its fulfilments with their lines."""
        rows = (
            await self.session.execute(
                text(
                    """
                    SELECT 'line' AS kind, line_no AS id, sku_code AS sku, product_code AS product, title, spec, qty,
                           unit_price, amount, refunded_qty, discount, NULL AS location, NULL AS fkind,
                           NULL AS status, NULL AS carrier, NULL AS tracking_no
                    FROM order_lines WHERE tenant_id = :t AND order_id = :o
                    UNION ALL
                    SELECT 'fulfilment', f.id, k.code, NULL, NULL, NULL, fl.qty, NULL, NULL, NULL, NULL, l.code,
                           f.kind, f.status, f.carrier, f.tracking_no
                    FROM fulfilments f
                    JOIN locations l ON l.tenant_id = f.tenant_id AND l.id = f.location_id
                    LEFT JOIN fulfilment_lines fl ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id
                    LEFT JOIN skus k ON k.tenant_id = fl.tenant_id AND k.id = fl.sku_id
                    WHERE f.tenant_id = :t AND f.order_id = :o
                    ORDER BY 1 DESC, 2, 3
                    """
                ),
                {"t": tenant_id, "o": order_id},
            )
        ).all()
        lines = [
            OrderLineRead(
                sku=r.sku,
                product=r.product,
                title=r.title,
                spec=r.spec,
                qty=r.qty,
                unit_price=r.unit_price,
                amount=r.amount,
                refunded_qty=r.refunded_qty,
                discount=r.discount,
                paid=r.amount - r.discount,
            )
            for r in rows
            if r.kind == "line"
        ]
        fulfilments: dict[int, FulfilmentRead] = {}
        for r in rows:
            if r.kind != "fulfilment":
                continue
            f = fulfilments.setdefault(
                r.id,
                FulfilmentRead(
                    id=r.id,
                    location=r.location,
                    kind=r.fkind,
                    status=r.status,
                    lines=[],
                    carrier=r.carrier,
                    tracking_no=r.tracking_no,
                ),
            )
            if r.sku is not None:
                f.lines.append(FulfilmentLineRead(sku=r.sku, qty=r.qty))
        return lines, list(fulfilments.values())

    async def read(self, tenant_id: int, order_no: str, *, consumer_id: int | None = None) -> OrderRead:
        """One order; a consumer sees only their own (anyone else's is not found)."""
        o = await order_header(self.session, tenant_id, order_no, consumer_id=consumer_id)
        lines, fulfilments = await self.lines_and_fulfilments(tenant_id, o.id)
        return OrderRead(
            order_no=o.order_no,
            status=o.status,
            store=o.store_code,
            mode=o.mode,
            goods_total=o.goods_total,
            total=o.total,
            refunded_total=o.refunded_total,
            lines=lines,
            fulfilments=fulfilments,
            created_at=o.created_at,
            expires_at=o.expires_at,
            paid_at=o.paid_at,
            completed_at=o.completed_at,
            discount_total=o.discount_total,
            delivery_fee=o.delivery_fee,
        )

    async def read_for_hq(self, tenant_id: int, order_no: str) -> HqOrderParts:
        """The order with its trace; attribution and commissions are added by the caller."""
        o = await order_header(self.session, tenant_id, order_no)
        lines, fulfilments = await self.lines_and_fulfilments(tenant_id, o.id)
        return HqOrderParts(o, lines, fulfilments, [msgspec.convert(t, TraceRead) for t in o.routing_trace])

    async def page(
        self,
        tenant_id: int,
        *,
        cursor: str | None,
        limit: int,
        consumer_id: int | None = None,
        status: str | None = None,
        store: str | None = None,
        store_id: int | None = None,
    ) -> OrderPage:
        """Orders newest first, filtered; ``store_id`` means credited to or fulfilled by that store."""
        before = page_start(cursor, int, first=(None,))[0]
        rows = (
            await self.session.execute(
                text(
                    """
                    SELECT o.id, o.order_no, o.status, s.code AS store, o.total, o.refunded_total, o.created_at
                    FROM orders o JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = o.store_id
                    WHERE o.tenant_id = :t
                      AND (CAST(:before AS bigint) IS NULL OR o.id < :before)
                      AND (CAST(:c AS bigint) IS NULL OR o.consumer_id = :c)
                      AND (CAST(:status AS text) IS NULL OR o.status = :status)
                      AND (CAST(:store AS text) IS NULL OR s.code = :store)
                      AND (CAST(:sid AS bigint) IS NULL OR o.store_id = :sid OR o.credited_store_id = :sid
                           OR EXISTS (SELECT 1 FROM fulfilments f JOIN stores fs
                                        ON fs.tenant_id = f.tenant_id AND fs.location_id = f.location_id
                                      WHERE f.tenant_id = o.tenant_id AND f.order_id = o.id AND fs.id = :sid))
                    ORDER BY o.id DESC
                    LIMIT :n
                    """
                ),
                {
                    "t": tenant_id,
                    "before": before,
                    "c": consumer_id,
                    "status": status,
                    "store": store,
                    "sid": store_id,
                    "n": limit + 1,
                },
            )
        ).all()
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        items = [
            OrderSummary(
                order_no=r.order_no,
                status=r.status,
                store=r.store,
                total=r.total,
                refunded_total=r.refunded_total,
                created_at=r.created_at,
            )
            for r in page
        ]
        return OrderPage(items=items, next_cursor=next_cursor)
