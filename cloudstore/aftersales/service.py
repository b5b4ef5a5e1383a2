"""The one writer of ``after_sales`` and ``after_sale_lines``: requests, their status, and how they read.

The journeys in :mod:`cloudstore.checkout.after_sales` lock the order first and then the after-sale
(:func:`lock`), check what the order allows, and call these to record the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from cloudstore.aftersales.models import OPEN_STATUSES
from cloudstore.aftersales.schemas import AfterSaleLineRead, AfterSalePage, AfterSaleRead
from cloudstore.lib.db import insert_rows
from cloudstore.lib.errors import NotFound
from cloudstore.lib.paging import cut_page, page_start

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "AfterSaleRow",
    "Hold",
    "NewLine",
    "Scope",
    "create",
    "find",
    "location_id",
    "lock",
    "open_holds",
    "open_units",
    "page",
    "read",
    "record_restocked",
    "set_status",
    "store_location",
    "withdraw_requested",
)

_LINE_COLUMNS = ("tenant_id", "after_sale_id", "line_no", "sku_id", "sku_code", "qty")


@dataclass(frozen=True)
class NewLine:
    """Units of one order line a new after-sale covers."""

    line_no: int
    sku_id: int
    sku_code: str
    qty: int


@dataclass(frozen=True)
class AfterSaleRow:
    """An after-sale with its lines, as the journeys decide on it."""

    id: int
    order_id: int
    kind: str
    status: str
    refund_amount: int
    lines: tuple[NewLine, ...]


@dataclass(frozen=True)
class Hold:
    """Units of one order line that an open after-sale holds."""

    after_sale_id: int
    kind: str
    status: str
    line_no: int
    sku_id: int
    sku_code: str
    qty: int


@dataclass(frozen=True)
class Scope:
    """Whose after-sales a caller sees: a consumer's own, those with a fulfilment at a location, or all."""

    consumer_id: int | None = None
    location_id: int | None = None


async def create(
    session: AsyncSession,
    tenant_id: int,
    *,
    order_id: int,
    consumer_id: int,
    kind: str,
    reason: str,
    refund_amount: int,
    lines: list[NewLine],
) -> int:
    """Record a ``requested`` after-sale with its lines; its id."""
    new_id = (
        await session.execute(
            text(
                "INSERT INTO after_sales (tenant_id, order_id, consumer_id, kind, reason, refund_amount) "
                "VALUES (:t, :o, :c, :k, :r, :a) RETURNING id"
            ),
            {"t": tenant_id, "o": order_id, "c": consumer_id, "k": kind, "r": reason, "a": refund_amount},
        )
    ).scalar_one()
    rows = [(tenant_id, new_id, x.line_no, x.sku_id, x.sku_code, x.qty) for x in lines]
    await insert_rows(session, "after_sale_lines", _LINE_COLUMNS, rows)
    return int(new_id)


async def open_holds(session: AsyncSession, tenant_id: int, order_id: int) -> list[Hold]:
    """What the order's open after-sales hold, line by line, by after-sale then order line.

    Unlocked: every writer of an after-sale's status locks its order row first, as the caller has.
    """
    rows = (
        await session.execute(
            text(
                "SELECT a.id, a.kind, a.status, l.line_no, l.sku_id, l.sku_code, l.qty "
                "FROM after_sales a JOIN after_sale_lines l ON l.tenant_id = a.tenant_id AND l.after_sale_id = a.id "
                "WHERE a.tenant_id = :t AND l.tenant_id = :t AND a.order_id = :o "
                "AND a.status = ANY(CAST(:open AS text[])) ORDER BY a.id, l.line_no"
            ),
            {"t": tenant_id, "o": order_id, "open": list(OPEN_STATUSES)},
        )
    ).all()
    return [
        Hold(
            after_sale_id=r.id,
            kind=r.kind,
            status=r.status,
            line_no=r.line_no,
            sku_id=r.sku_id,
            sku_code=r.sku_code,
            qty=r.qty,
        )
        for r in rows
    ]


async def open_units(session: AsyncSession, tenant_id: int, order_id: int) -> dict[tuple[str, int], int]:
    """Units of each order line held by the order's open after-sales, by ``(kind, line_no)``."""
    held: dict[tuple[str, int], int] = {}
    for h in await open_holds(session, tenant_id, order_id):
        held[(h.kind, h.line_no)] = held.get((h.kind, h.line_no), 0) + h.qty
    return held


async def withdraw_requested(session: AsyncSession, tenant_id: int, order_id: int, *, actor: str, at: datetime) -> int:
    """Cancel the order's after-sales still waiting for a decision (its order row is locked); how many."""
    gone = (
        await session.execute(
            text(
                "UPDATE after_sales SET status = 'cancelled', actor = :actor, updated_at = :at "
                "WHERE tenant_id = :t AND order_id = :o AND status = 'requested' RETURNING id"
            ),
            {"t": tenant_id, "o": order_id, "actor": actor, "at": at},
        )
    ).all()
    return len(gone)


async def find(session: AsyncSession, tenant_id: int, after_sale_id: int, scope: Scope) -> str:
    """The order number of an after-sale the caller may see (unlocked); 404 otherwise."""
    sql, params = _scoped(
        "SELECT o.order_no FROM after_sales a JOIN orders o ON o.tenant_id = a.tenant_id AND o.id = a.order_id "
        "WHERE a.tenant_id = :t AND a.id = :id",
        scope,
    )
    order_no = (await session.execute(text(sql), {"t": tenant_id, "id": after_sale_id, **params})).scalar()
    if order_no is None:
        raise NotFound("after-sale", str(after_sale_id))
    return str(order_no)


async def location_id(session: AsyncSession, tenant_id: int, code: str) -> int | None:
    """The id of a location by its code, if there is one."""
    found = (
        await session.execute(
            text("SELECT id FROM locations WHERE tenant_id = :t AND code = :c"), {"t": tenant_id, "c": code}
        )
    ).scalar()
    return None if found is None else int(found)


async def store_location(session: AsyncSession, tenant_id: int, store_id: int) -> int:
    """The location a store ships from and takes returns at."""
    return int(
        (
            await session.execute(
                text("SELECT location_id FROM stores WHERE tenant_id = :t AND id = :s"), {"t": tenant_id, "s": store_id}
            )
        ).scalar_one()
    )


async def lock(session: AsyncSession, tenant_id: int, after_sale_id: int) -> AfterSaleRow:
    """The after-sale and its lines, the after-sale row locked (its order is locked already)."""
    a = (
        await session.execute(
            text(
                "SELECT id, order_id, kind, status, refund_amount FROM after_sales "
                "WHERE tenant_id = :t AND id = :id FOR NO KEY UPDATE"
            ),
            {"t": tenant_id, "id": after_sale_id},
        )
    ).one()
    lines = (
        await session.execute(
            text(
                "SELECT line_no, sku_id, sku_code, qty FROM after_sale_lines "
                "WHERE tenant_id = :t AND after_sale_id = :id ORDER BY line_no"
            ),
            {"t": tenant_id, "id": after_sale_id},
        )
    ).all()
    return AfterSaleRow(
        id=a.id,
        order_id=a.order_id,
        kind=a.kind,
        status=a.status,
        refund_amount=a.refund_amount,
        lines=tuple(NewLine(line_no=r.line_no, sku_id=r.sku_id, sku_code=r.sku_code, qty=r.qty) for r in lines),
    )


async def set_status(
    session: AsyncSession,
    tenant_id: int,
    after_sale_id: int,
    status: str,
    *,
    actor: str,
    at: datetime,
    refund_amount: int | None = None,
    refund_no: str | None = None,
    location_id: int | None = None,
) -> None:
    """Move a locked after-sale to ``status``; a refund fixes its amount and number, a receipt its location."""
    await session.execute(
        text(
            "UPDATE after_sales SET status = :s, actor = :actor, updated_at = :at, "
            "refund_amount = COALESCE(:amount, refund_amount), refund_no = COALESCE(:no, refund_no), "
            "location_id = COALESCE(:loc, location_id) WHERE tenant_id = :t AND id = :id"
        ),
        {
            "s": status,
            "actor": actor,
            "at": at,
            "amount": refund_amount,
            "no": refund_no,
            "loc": location_id,
            "t": tenant_id,
            "id": after_sale_id,
        },
    )


async def record_restocked(session: AsyncSession, tenant_id: int, after_sale_id: int, per_line: dict[int, int]) -> None:
    """How many units of each line went back to sellable stock when received."""
    await session.execute(
        text(
            "UPDATE after_sale_lines l SET restocked_qty = x.qty "
            "FROM unnest(CAST(:nos AS int[]), CAST(:qtys AS int[])) AS x(line_no, qty) "
            "WHERE l.tenant_id = :t AND l.after_sale_id = :id AND l.line_no = x.line_no"
        ),
        {"t": tenant_id, "id": after_sale_id, "nos": list(per_line), "qtys": list(per_line.values())},
    )


_SELECT = """
    SELECT a.id, o.order_no, a.kind, a.status, a.reason, a.refund_amount, a.refund_no, loc.code AS location,
           a.created_at, a.updated_at,
           (SELECT json_agg(json_build_object('sku', l.sku_code, 'qty', l.qty, 'restocked', l.restocked_qty)
                            ORDER BY l.line_no)
            FROM after_sale_lines l WHERE l.tenant_id = :t AND l.after_sale_id = a.id) AS lines
    FROM after_sales a
    JOIN orders o ON o.tenant_id = a.tenant_id AND o.id = a.order_id
    LEFT JOIN locations loc ON loc.tenant_id = a.tenant_id AND loc.id = a.location_id
    WHERE a.tenant_id = :t
"""


def _scoped(sql: str, scope: Scope) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    if scope.consumer_id is not None:
        sql += " AND a.consumer_id = :c"
        params["c"] = scope.consumer_id
    if scope.location_id is not None:
        sql += (
            " AND EXISTS (SELECT 1 FROM fulfilments f WHERE f.tenant_id = :t AND f.order_id = a.order_id "
            "AND f.location_id = :loc)"
        )
        params["loc"] = scope.location_id
    return sql, params


def _read(r: Any) -> AfterSaleRead:
    return AfterSaleRead(
        id=r.id,
        order_no=r.order_no,
        kind=r.kind,
        status=r.status,
        reason=r.reason,
        lines=[AfterSaleLineRead(sku=x["sku"], qty=x["qty"], restocked=x["restocked"]) for x in r.lines or []],
        refund_amount=r.refund_amount,
        refund_no=r.refund_no,
        location=r.location,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


async def read(session: AsyncSession, tenant_id: int, after_sale_id: int, scope: Scope | None = None) -> AfterSaleRead:
    """One after-sale the caller may see; 404 otherwise."""
    sql, params = _scoped(_SELECT + " AND a.id = :id", scope or Scope())
    r = (await session.execute(text(sql), {"t": tenant_id, "id": after_sale_id, **params})).first()
    if r is None:
        raise NotFound("after-sale", str(after_sale_id))
    return _read(r)


async def page(
    session: AsyncSession,
    tenant_id: int,
    scope: Scope,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    order_id: int | None = None,
    order_no: str | None = None,
) -> AfterSalePage:
    """After-sales the caller may see, newest first; by status or of one order (by its id or its number)."""
    (after,) = page_start(cursor, int, first=(2**62,))
    sql, params = _scoped(_SELECT + " AND a.id < :after", scope)
    if status is not None:
        sql += " AND a.status = :s"
        params["s"] = status
    if order_id is not None:
        sql += " AND a.order_id = :o"
        params["o"] = order_id
    if order_no is not None:
        sql += " AND o.order_no = :no"
        params["no"] = order_no
    sql += " ORDER BY a.id DESC LIMIT :n"
    rows = (await session.execute(text(sql), {"t": tenant_id, "after": after, "n": limit + 1, **params})).all()
    items, next_cursor = cut_page(rows, limit, lambda r: (r.id,))
    return AfterSalePage(items=[_read(r) for r in items], next_cursor=next_cursor)
