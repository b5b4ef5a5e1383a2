"""Reserving stock for orders, consuming it when goods leave, releasing it, and taking returned units back.

This is the only writer of ``reserved``.

Every lock here is ``FOR NO KEY UPDATE`` on ``stock_levels`` rows in key order (location, then SKU), so
concurrent orders, shipments, cancellations and on-hand edits queue instead of deadlocking, and foreign-key
checks (``FOR KEY SHARE``) from inserts never wait on them. Callers lock the order row first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import text

from cloudstore.lib.db import Part, execute, insert_rows
from cloudstore.lib.errors import InsufficientStock

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "STOCK_TAKEN",
    "Available",
    "Take",
    "available",
    "consume_fulfilment",
    "release_held",
    "release_units",
    "reserve",
    "reserve_if_available",
    "reserve_part",
    "restock_returned",
    "taken",
)

_READ_STOCK = text(
    """
    SELECT location_id, sku_id, on_hand - reserved AS available
    FROM stock_levels
    WHERE tenant_id = :t AND location_id = ANY(CAST(:locs AS bigint[])) AND sku_id = ANY(CAST(:skus AS bigint[]))
    """
)

# The same rows, locked in key order so concurrent orders queue instead of deadlocking.
_LOCK_STOCK = text(
    """
    SELECT location_id, sku_id, on_hand - reserved AS available
    FROM stock_levels
    WHERE tenant_id = :t AND location_id = ANY(CAST(:locs AS bigint[])) AND sku_id = ANY(CAST(:skus AS bigint[]))
    ORDER BY location_id, sku_id
    FOR NO KEY UPDATE
    """
)

# One round trip: the planned rows locked in key order, then all of them reserved if every one still has
# enough, else none (the one-time filter is evaluated on the locked, current rows before any is updated).
# The ``= ANY`` filters repeat what the join with ``wanted`` says: with them the planner reaches the rows by the
# primary key whatever it guesses of the arrays' length; without, it may take the tenant's whole stock.
_LOCK_AND_RESERVE = text(
    """
    WITH wanted AS (
      SELECT * FROM unnest(CAST(:locs AS bigint[]), CAST(:skus AS bigint[]), CAST(:qtys AS bigint[]))
        AS v(location_id, sku_id, qty)
    ), locked AS (
      SELECT sl.location_id, sl.sku_id, sl.on_hand - sl.reserved - w.qty AS left_after
      FROM stock_levels sl JOIN wanted w ON sl.location_id = w.location_id AND sl.sku_id = w.sku_id
      WHERE sl.tenant_id = :t
        AND sl.location_id = ANY(CAST(:locs AS bigint[])) AND sl.sku_id = ANY(CAST(:skus AS bigint[]))
      ORDER BY sl.location_id, sl.sku_id
      FOR NO KEY UPDATE OF sl
    )
    UPDATE stock_levels sl SET reserved = sl.reserved + w.qty, updated_at = now()
    FROM wanted w
    WHERE sl.tenant_id = :t AND sl.location_id = w.location_id AND sl.sku_id = w.sku_id
      AND sl.location_id = ANY(CAST(:locs AS bigint[])) AND sl.sku_id = ANY(CAST(:skus AS bigint[]))
      AND sl.on_hand - sl.reserved >= w.qty
      AND (SELECT count(*) FROM locked WHERE left_after >= 0) = :n
    """
)

#: The SQLSTATE ``cloudstore_stock_reserved()`` (migration 0015) raises when a reservation's rows are not all there
#: with enough: the whole statement it is part of is undone.
STOCK_TAKEN = "CS409"

# The reservation as a part of another statement (the order's): the rows locked in key order and counted in a
# sub-select with no reference to the updated row, which PostgreSQL evaluates once before updating any (a
# one-time filter); the count not the number of rows planned raises, so the statement writes nothing.
_RESERVE_PART = """
    UPDATE stock_levels sl SET reserved = sl.reserved + w.qty, updated_at = now()
    FROM unnest(CAST(:r_locs AS bigint[]), CAST(:r_skus AS bigint[]), CAST(:r_qtys AS bigint[]))
         AS w(location_id, sku_id, qty)
    WHERE sl.tenant_id = :r_t AND sl.location_id = w.location_id AND sl.sku_id = w.sku_id
      AND sl.location_id = ANY(CAST(:r_locs AS bigint[])) AND sl.sku_id = ANY(CAST(:r_skus AS bigint[]))
      AND sl.on_hand - sl.reserved >= w.qty
      AND (
        SELECT cloudstore_stock_reserved(count(*) FILTER (WHERE locked.left_after >= 0), CAST(:r_n AS int))
        FROM (
          SELECT s.on_hand - s.reserved - v.qty AS left_after
          FROM stock_levels s
          JOIN unnest(CAST(:r_locs AS bigint[]), CAST(:r_skus AS bigint[]), CAST(:r_qtys AS bigint[]))
               AS v(location_id, sku_id, qty) ON s.location_id = v.location_id AND s.sku_id = v.sku_id
          WHERE s.tenant_id = :r_t
            AND s.location_id = ANY(CAST(:r_locs AS bigint[])) AND s.sku_id = ANY(CAST(:r_skus AS bigint[]))
          ORDER BY s.location_id, s.sku_id
          FOR NO KEY UPDATE OF s
        ) locked
      )
"""

_RESERVE = text(
    """
    UPDATE stock_levels sl SET reserved = sl.reserved + v.qty, updated_at = now()
    FROM unnest(CAST(:locs AS bigint[]), CAST(:skus AS bigint[]), CAST(:qtys AS bigint[]))
         AS v(location_id, sku_id, qty)
    WHERE sl.tenant_id = :t AND sl.location_id = v.location_id AND sl.sku_id = v.sku_id
      AND sl.location_id = ANY(CAST(:locs AS bigint[])) AND sl.sku_id = ANY(CAST(:skus AS bigint[]))
      AND sl.on_hand - sl.reserved >= v.qty
    """
)

_MOVEMENT_COLUMNS = ("tenant_id", "location_id", "sku_id", "delta", "on_hand_after", "reason", "reference", "actor")


class Available(msgspec.Struct, frozen=True):
    """Units free to reserve at one location."""

    location_id: int
    sku_id: int
    available: int


class Take(msgspec.Struct, frozen=True, order=True):
    """Units of one SKU an order takes from one location; sorted, takes are in lock order."""

    location_id: int
    sku_id: int
    qty: int


def _columns(takes: Sequence[Take]) -> dict[str, list[int]]:
    rows = sorted(takes)
    return {"locs": [r.location_id for r in rows], "skus": [r.sku_id for r in rows], "qtys": [r.qty for r in rows]}


async def available(
    session: AsyncSession, tenant_id: int, location_ids: list[int], sku_ids: list[int], *, lock: bool
) -> list[Available]:
    """Free stock of these SKUs at these locations; with ``lock``, the rows are locked in key order."""
    rows = (
        await session.execute(
            _LOCK_STOCK if lock else _READ_STOCK, {"t": tenant_id, "locs": location_ids, "skus": sku_ids}
        )
    ).all()
    return [Available(location_id=r.location_id, sku_id=r.sku_id, available=int(r.available)) for r in rows]


async def reserve_if_available(session: AsyncSession, tenant_id: int, takes: Sequence[Take]) -> bool:
    """Lock the rows the takes need (key order) and reserve them all if every one still has enough; else
    reserve none and return False.
    """
    columns = _columns(takes)
    n = len(columns["locs"])
    return await execute(session, _LOCK_AND_RESERVE, {"t": tenant_id, "n": n, **columns}) == n


def reserve_part(tenant_id: int, takes: Sequence[Take]) -> Part:
    """:func:`reserve_if_available` as the first part of a statement that writes more (``lib.db.write_together``):
    the planned rows locked in key order and all reserved if every one still has enough; else the statement
    fails with :data:`STOCK_TAKEN` (see :func:`taken`) and writes nothing. Used on a single server only; on
    Citus the reservation keeps a statement of its own (:func:`reserve_if_available`).
    """
    columns = _columns(takes)
    return Part(
        "r",
        _RESERVE_PART,
        {"r_t": tenant_id, "r_n": len(columns["locs"]), **{f"r_{k}": v for k, v in columns.items()}},
    )


def taken(exc: BaseException) -> bool:
    """Whether ``exc`` is a statement with :func:`reserve_part` failing because some row had not enough."""
    return getattr(getattr(exc, "orig", exc), "sqlstate", None) == STOCK_TAKEN


async def reserve(session: AsyncSession, tenant_id: int, takes: Sequence[Take], skus: Sequence[str] = ()) -> None:
    """Reserve rows the caller has locked; ``skus`` name the order's SKUs should the invariant ever break."""
    columns = _columns(takes)
    result = await session.execute(_RESERVE, {"t": tenant_id, **columns})
    if result.rowcount != len(columns["locs"]):  # type: ignore[attr-defined]
        # Cannot happen while the rows are locked; kept so a broken invariant never oversells.
        raise InsufficientStock([{"sku": s, "requested": 0, "available": 0} for s in sorted(skus)])


async def consume_fulfilment(
    session: AsyncSession,
    tenant_id: int,
    fulfilment_id: int,
    location_id: int,
    *,
    reason: str,
    reference: str,
    actor: str,
) -> None:
    """Turn a fulfilment's reservation into stock leaving the location (with movement rows)."""
    params = {"t": tenant_id, "f": fulfilment_id, "l": location_id}
    await session.execute(
        text(
            "SELECT 1 FROM stock_levels sl JOIN fulfilment_lines fl "
            "ON fl.tenant_id = sl.tenant_id AND fl.sku_id = sl.sku_id AND fl.fulfilment_id = :f "
            "WHERE sl.tenant_id = :t AND sl.location_id = :l ORDER BY sl.sku_id FOR NO KEY UPDATE OF sl"
        ),
        params,
    )
    # Two statements, not an UPDATE … RETURNING feeding an INSERT in one: Citus would run that INSERT as a
    # COPY, which row-level security refuses.
    moved = await session.execute(
        text(
            """
            UPDATE stock_levels sl
            SET on_hand = sl.on_hand - fl.qty, reserved = sl.reserved - fl.qty, updated_at = now()
            FROM fulfilment_lines fl
            WHERE fl.tenant_id = sl.tenant_id AND fl.fulfilment_id = :f AND fl.sku_id = sl.sku_id
              AND sl.tenant_id = :t AND sl.location_id = :l
            RETURNING sl.sku_id, fl.qty, sl.on_hand
            """
        ),
        params,
    )
    rows = [(tenant_id, location_id, m.sku_id, -m.qty, m.on_hand, reason, reference, actor) for m in moved]
    await insert_rows(session, "stock_movements", _MOVEMENT_COLUMNS, sorted(rows))


async def release_held(session: AsyncSession, tenant_id: int, order_id: int) -> None:
    """Give back the stock held by the order's unshipped fulfilments (rows locked in key order).

    The fulfilments themselves are the orders domain's to cancel, after this.
    """
    params = {"t": tenant_id, "o": order_id}
    await session.execute(
        text(
            """
            SELECT 1 FROM stock_levels sl
            JOIN fulfilments f ON f.tenant_id = sl.tenant_id AND f.location_id = sl.location_id
            JOIN fulfilment_lines fl ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id AND fl.sku_id = sl.sku_id
            WHERE sl.tenant_id = :t AND f.order_id = :o AND f.status IN ('pending', 'ready_for_pickup')
            ORDER BY sl.location_id, sl.sku_id
            FOR NO KEY UPDATE OF sl
            """
        ),
        params,
    )
    await session.execute(
        text(
            """
            WITH held AS (
              SELECT f.location_id, fl.sku_id, sum(fl.qty) AS qty
              FROM fulfilments f JOIN fulfilment_lines fl ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id
              WHERE f.tenant_id = :t AND f.order_id = :o AND f.status IN ('pending', 'ready_for_pickup')
              GROUP BY 1, 2
            )
            UPDATE stock_levels sl SET reserved = sl.reserved - held.qty, updated_at = now()
            FROM held WHERE sl.tenant_id = :t AND sl.location_id = held.location_id AND sl.sku_id = held.sku_id
            """
        ),
        params,
    )


async def release_units(session: AsyncSession, tenant_id: int, location_id: int, sku_id: int, qty: int) -> None:
    """Give back ``qty`` reserved units of one SKU at one location (the caller holds the fulfilment's lock)."""
    await session.execute(
        text(
            "UPDATE stock_levels SET reserved = reserved - :n, updated_at = now() "
            "WHERE tenant_id = :t AND location_id = :l AND sku_id = :k"
        ),
        {"t": tenant_id, "l": location_id, "k": sku_id, "n": qty},
    )


_LEVEL_COLUMNS = ("tenant_id", "location_id", "sku_id", "on_hand", "updated_at")


async def restock_returned(
    session: AsyncSession,
    tenant_id: int,
    location_id: int,
    units: dict[int, int],
    *,
    reference: str,
    actor: str,
    at: datetime,
) -> None:
    """Put returned units (``sku_id -> qty``) back on hand at a location, as ``return`` movements.

    One upsert locks the rows in SKU order (a location that never held the SKU gets a row); the time is a
    parameter, as Citus refuses ``now()`` after ``ON CONFLICT``.
    """
    rows = [(tenant_id, location_id, sku_id, qty, at) for sku_id, qty in sorted(units.items()) if qty > 0]
    if not rows:
        return
    levels = await insert_rows(
        session,
        "stock_levels",
        _LEVEL_COLUMNS,
        rows,
        suffix=(
            " ON CONFLICT (tenant_id, location_id, sku_id) DO UPDATE SET "
            "on_hand = stock_levels.on_hand + EXCLUDED.on_hand, updated_at = EXCLUDED.updated_at "
            "RETURNING sku_id, on_hand"
        ),
    )
    after = {r.sku_id: r.on_hand for r in levels}
    moves = [(tenant_id, location_id, k, units[k], after[k], "return", reference, actor) for k in sorted(after)]
    await insert_rows(session, "stock_movements", _MOVEMENT_COLUMNS, moves)
