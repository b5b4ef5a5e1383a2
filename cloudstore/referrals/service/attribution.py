"""Who an order is credited to, and the commission booked for it, as HQ's order view shows them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from cloudstore.lib.errors import NotFound
from cloudstore.referrals.schemas import AttributionRead, CommissionRead

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("order_attribution",)


async def order_attribution(
    session: AsyncSession, tenant_id: int, order_id: int
) -> tuple[AttributionRead, list[CommissionRead]]:
    """Who the order is credited to and its ledger entries in booking order (for ``GET /v1/hq/orders/…``).

    Raises:
        NotFound: no such order in this tenant.
    """
    row = (
        await session.execute(
            text(
                """
                SELECT s.code AS store, d.code AS distributor, k.code AS koc, o.attribution_source AS source
                FROM orders o
                LEFT JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = o.credited_store_id
                LEFT JOIN distributors d ON d.tenant_id = o.tenant_id AND d.id = o.credited_distributor_id
                LEFT JOIN kocs k ON k.tenant_id = o.tenant_id AND k.id = o.credited_koc_id
                WHERE o.tenant_id = :t AND o.id = :o
                """
            ),
            {"t": tenant_id, "o": order_id},
        )
    ).first()
    if row is None:
        raise NotFound("order")
    entries = (
        await session.execute(
            text(
                "SELECT beneficiary_kind, beneficiary_code, amount, status, kind, created_at FROM ledger_entries "
                "WHERE tenant_id = :t AND order_id = :o ORDER BY id"
            ),
            {"t": tenant_id, "o": order_id},
        )
    ).all()
    return (
        AttributionRead(store=row.store, distributor=row.distributor, koc=row.koc, source=row.source),
        [
            CommissionRead(
                beneficiary_kind=e.beneficiary_kind,
                beneficiary=e.beneficiary_code,
                amount=e.amount,
                status=e.status,
                kind=e.kind,
                created_at=e.created_at,
            )
            for e in entries
        ],
    )
