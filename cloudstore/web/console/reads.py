"""The few lookups console pages need beyond the services' answers: a store's code and id, whether a store may
see an order (the same rule as ``GET /v1/store/orders``: placed through, credited to or fulfilled by it), and
where HQ may receive a return.

Read-only; every statement is scoped by the tenant parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("Place", "receiving_places", "store_code_of", "store_id_of", "store_sees_order")


class Place(msgspec.Struct, frozen=True):
    """A location a return can be received at, as a choice on the page."""

    code: str
    name: str
    kind: str


async def store_code_of(session: AsyncSession, tenant_id: int, store_id: int | None) -> str:
    """The code of the store a store account is bound to (also its stock location's code)."""
    code = (
        await session.execute(
            text("SELECT code FROM stores WHERE tenant_id = :t AND id = :s"), {"t": tenant_id, "s": store_id or -1}
        )
    ).scalar_one_or_none()
    if code is None:
        raise NotFound("store", str(store_id))
    return str(code)


async def store_id_of(session: AsyncSession, tenant_id: int, code: str) -> int:
    """The id of this tenant's store ``code``; another tenant's is not found."""
    found = (
        await session.execute(
            text("SELECT id FROM stores WHERE tenant_id = :t AND code = :c"), {"t": tenant_id, "c": code}
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("store", code)
    return int(found)


async def store_sees_order(session: AsyncSession, tenant_id: int, store_id: int | None, order_no: str) -> bool:
    """Whether the order was placed through, credited to or is fulfilled by the store."""
    row = (
        await session.execute(
            text(
                """
                SELECT 1 FROM orders o
                WHERE o.tenant_id = :t AND o.order_no = :n
                  AND (o.store_id = :s OR o.credited_store_id = :s
                       OR EXISTS (SELECT 1 FROM fulfilments f JOIN stores fs
                                    ON fs.tenant_id = f.tenant_id AND fs.location_id = f.location_id
                                  WHERE f.tenant_id = :t AND f.order_id = o.id AND fs.id = :s))
                """
            ),
            {"t": tenant_id, "n": order_no, "s": store_id or -1},
        )
    ).first()
    return row is not None


_RECEIVING_PLACES = text(
    """
    SELECT o.order_no, l.code, l.name, l.kind, 0 AS rank
    FROM orders o
    JOIN fulfilments f ON f.tenant_id = o.tenant_id AND f.order_id = o.id
    JOIN locations l ON l.tenant_id = f.tenant_id AND l.id = f.location_id
    WHERE o.tenant_id = :t AND o.order_no = ANY(CAST(:nos AS text[]))
    UNION ALL
    SELECT NULL, l.code, l.name, l.kind, CASE l.kind WHEN 'regional' THEN 1 ELSE 2 END
    FROM locations l
    WHERE l.tenant_id = :t AND l.kind IN ('regional', 'central') AND l.status = 'active'
    ORDER BY rank, code
    """
)


async def receiving_places(session: AsyncSession, tenant_id: int, order_nos: list[str]) -> dict[str, list[Place]]:
    """For each order, where HQ may receive its return: the locations it shipped from, then the active
    regional and central warehouses (each once)."""
    if not order_nos:
        return {}
    rows = (await session.execute(_RECEIVING_PLACES, {"t": tenant_id, "nos": sorted(set(order_nos))})).all()
    own: dict[str, list[Place]] = {n: [] for n in order_nos}
    warehouses: list[Place] = []
    for row in rows:
        place = Place(code=row.code, name=row.name, kind=row.kind)
        (own[row.order_no] if row.order_no is not None else warehouses).append(place)
    out: dict[str, list[Place]] = {}
    for order_no, places in own.items():
        seen = {p.code for p in places}
        out[order_no] = [*places, *(w for w in warehouses if w.code not in seen)]
    return out
