"""Reports for HQ and distributors: what the stores sold online, and how much of it the warehouses shipped."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import text

from cloudstore.analytics.schemas import StoreSales, StoreSalesReport
from cloudstore.lib.errors import ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("store_sales",)

_STORE_SALES = text(
    """
    WITH credited AS (
      SELECT o.id, o.credited_store_id AS store_id, o.goods_total - o.refunded_total AS net
      FROM orders o
      WHERE o.tenant_id = :t AND o.credited_store_id IS NOT NULL
        AND o.paid_at >= :since AND o.paid_at < :until
        AND (CAST(:dist AS bigint) IS NULL OR o.credited_distributor_id = :dist)
    ), shipped AS (
      SELECT c.store_id, (f.location_id = s.location_id) AS own,
             sum(fl.qty * (SELECT ol.unit_price FROM order_lines ol
                           WHERE ol.tenant_id = :t AND ol.order_id = c.id AND ol.sku_id = fl.sku_id
                           ORDER BY ol.line_no LIMIT 1)) AS amount
      FROM credited c
      JOIN stores s ON s.tenant_id = :t AND s.id = c.store_id
      JOIN fulfilments f ON f.tenant_id = :t AND f.order_id = c.id AND f.status <> 'cancelled'
      JOIN fulfilment_lines fl ON fl.tenant_id = :t AND fl.fulfilment_id = f.id
      GROUP BY 1, 2
    ), commission AS (
      SELECT c.store_id, sum(e.amount) AS amount
      FROM credited c
      JOIN ledger_entries e ON e.tenant_id = :t AND e.order_id = c.id AND e.beneficiary_kind = 'store'
      GROUP BY 1
    )
    SELECT s.code AS store, d.code AS distributor, count(c.id) AS orders, sum(c.net) AS net_sales,
           COALESCE((SELECT amount FROM shipped sh WHERE sh.store_id = s.id AND sh.own), 0) AS in_store_sales,
           COALESCE((SELECT amount FROM shipped sh WHERE sh.store_id = s.id AND NOT sh.own), 0) AS cloud_shelf_sales,
           COALESCE((SELECT amount FROM commission cm WHERE cm.store_id = s.id), 0) AS commission
    FROM credited c
    JOIN stores s ON s.tenant_id = :t AND s.id = c.store_id
    LEFT JOIN distributors d ON d.tenant_id = :t AND d.id = s.distributor_id
    GROUP BY s.id, s.code, d.code
    ORDER BY net_sales DESC, s.code
    LIMIT :n
    """
)


async def store_sales(
    session: AsyncSession,
    tenant_id: int,
    *,
    since: datetime,
    until: datetime,
    distributor_id: int | None = None,
    limit: int = 100,
) -> StoreSalesReport:
    """Online sales per credited store, with the part shipped by warehouses (the cloud shelf) shown apart."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationFailed("since and until need a time zone (RFC 3339)")
    if until <= since:
        raise ValidationFailed("until must be after since")
    rows = (
        await session.execute(
            _STORE_SALES, {"t": tenant_id, "since": since, "until": until, "dist": distributor_id, "n": limit}
        )
    ).all()
    items = [
        StoreSales(
            store=r.store,
            distributor=r.distributor,
            orders=int(r.orders),
            net_sales=int(r.net_sales),
            in_store_sales=int(r.in_store_sales),
            cloud_shelf_sales=int(r.cloud_shelf_sales),
            commission=int(r.commission),
        )
        for r in rows
    ]
    return StoreSalesReport(since=since, until=until, items=items, total_net_sales=sum(i.net_sales for i in items))
