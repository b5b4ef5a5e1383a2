"""Stock per location and SKU, and the append-only movement ledger that records every on-hand change.

Writes are set-based (a handful of statements however many levels change) and lock the affected
``stock_levels`` rows in key order (location, then SKU) with ``FOR NO KEY UPDATE``, as order placement does,
so concurrent writers cannot deadlock. Setting on-hand never touches reservations and never goes below them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import msgspec
from sqlalchemy import text

from cloudstore.inventory.schemas import (
    MovementPage,
    MovementRead,
    StockPage,
    StockRead,
    StockSetItem,
)
from cloudstore.lib.db import insert_rows
from cloudstore.lib.errors import InvalidState, NotFound, ValidationFailed
from cloudstore.lib.paging import cut_page, page_start

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("BelowReserved", "Level", "Outcome", "StockService")

Outcome = Literal["created", "updated", "unchanged"]


class Level(msgspec.Struct, frozen=True):
    """A wanted on-hand quantity, by id and by code."""

    location_id: int
    sku_id: int
    location: str
    sku: str
    on_hand: int

    @property
    def key(self) -> tuple[int, int]:
        """``(location_id, sku_id)``: the lock order."""
        return self.location_id, self.sku_id


class BelowReserved(InvalidState):
    """Some wanted on-hand quantities are below what is reserved; nothing was written."""

    def __init__(self, short: list[tuple[Level, int]]) -> None:
        parts = [f"{lv.sku} at {lv.location}: {lv.on_hand} < {reserved} reserved" for lv, reserved in short]
        super().__init__(
            "on_hand cannot go below the reserved quantity: " + "; ".join(parts),
            errors=[
                {"location": lv.location, "sku": lv.sku, "on_hand": lv.on_hand, "reserved": reserved}
                for lv, reserved in short
            ],
        )
        self.short = short


_LEVEL_KEY = ("tenant_id", "location_id", "sku_id")
_ENSURED = "ON CONFLICT DO NOTHING RETURNING location_id, sku_id"
_LOCK = text(
    """
    SELECT sl.location_id, sl.sku_id, sl.on_hand, sl.reserved
    FROM stock_levels sl
    JOIN unnest(CAST(:locs AS bigint[]), CAST(:skus AS bigint[])) AS u(l, k) ON sl.location_id = u.l AND sl.sku_id = u.k
    WHERE sl.tenant_id = :t
    ORDER BY sl.location_id, sl.sku_id
    FOR NO KEY UPDATE OF sl
    """
)
_SET = text(
    """
    UPDATE stock_levels sl SET on_hand = u.n, updated_at = now()
    FROM unnest(CAST(:locs AS bigint[]), CAST(:skus AS bigint[]), CAST(:qty AS bigint[])) AS u(l, k, n)
    WHERE sl.tenant_id = :t AND sl.location_id = u.l AND sl.sku_id = u.k
    """
)
_MOVEMENT_COLUMNS = ("tenant_id", "location_id", "sku_id", "delta", "on_hand_after", "reason", "reference", "actor")
_LEVELS = """
    SELECT sl.location_id, sl.sku_id, l.code AS location, k.code AS sku, sl.on_hand, sl.reserved
    FROM stock_levels sl
    JOIN locations l ON l.tenant_id = sl.tenant_id AND l.id = sl.location_id
    JOIN skus k ON k.tenant_id = sl.tenant_id AND k.id = sl.sku_id
    WHERE sl.tenant_id = :t
"""


def _stock(row: Any) -> StockRead:
    return StockRead(
        location=row.location,
        sku=row.sku,
        on_hand=row.on_hand,
        reserved=row.reserved,
        available=row.on_hand - row.reserved,
    )


class StockService:
    """Stock levels and movements of one tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def resolve(
        self, tenant_id: int, locations: set[str], skus: set[str]
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Ids of the location and SKU codes that exist (unknown codes are simply absent)."""
        loc_ids: dict[str, int] = {
            code: int(row_id)
            for code, row_id in (
                await self.session.execute(
                    text("SELECT code, id FROM locations WHERE tenant_id = :t AND code = ANY(:c)"),
                    {"t": tenant_id, "c": sorted(locations)},
                )
            ).all()
        }
        sku_ids: dict[str, int] = {
            code: int(row_id)
            for code, row_id in (
                await self.session.execute(
                    text("SELECT code, id FROM skus WHERE tenant_id = :t AND code = ANY(:c)"),
                    {"t": tenant_id, "c": sorted(skus)},
                )
            ).all()
        }
        return loc_ids, sku_ids

    async def levels_for(self, tenant_id: int, items: Sequence[StockSetItem]) -> list[Level]:
        """The items as :class:`Level` rows; a repeated pair or an unknown code is a 422."""
        seen: set[tuple[str, str]] = set()
        for item in items:
            if (item.location, item.sku) in seen:
                raise ValidationFailed(f"SKU {item.sku!r} at {item.location!r} is given twice")
            seen.add((item.location, item.sku))
        loc_ids, sku_ids = await self.resolve(tenant_id, {i.location for i in items}, {i.sku for i in items})
        unknown = sorted({f"location {i.location!r}" for i in items if i.location not in loc_ids})
        unknown += sorted({f"SKU {i.sku!r}" for i in items if i.sku not in sku_ids})
        if unknown:
            raise ValidationFailed(f"unknown {', '.join(unknown)}")
        return [Level(loc_ids[i.location], sku_ids[i.sku], i.location, i.sku, i.on_hand) for i in items]

    async def write(
        self, tenant_id: int, levels: Sequence[Level], *, actor: str, reason: str, reference: str | None = None
    ) -> tuple[list[Outcome], list[StockRead]]:
        """Set on-hand for each level and record a movement for each change.

        Returns each level's outcome and its stock afterwards, in the order given.

        Raises:
            BelowReserved: a wanted quantity is below the reserved one (nothing is written).
        """
        if not levels:
            return [], []
        ordered = sorted(levels, key=lambda lv: lv.key)
        ids = {"t": tenant_id, "locs": [lv.location_id for lv in ordered], "skus": [lv.sku_id for lv in ordered]}
        keys = [(tenant_id, lv.location_id, lv.sku_id) for lv in ordered]  # in key order: concurrent writes queue
        ensured = await insert_rows(
            self.session,
            "stock_levels",
            _LEVEL_KEY,
            keys,
            suffix="ON CONFLICT DO NOTHING RETURNING location_id, sku_id",
        )
        created = {(r.location_id, r.sku_id) for r in ensured}
        current = {(r.location_id, r.sku_id): (r.on_hand, r.reserved) for r in await self.session.execute(_LOCK, ids)}
        short = [(lv, current[lv.key][1]) for lv in levels if lv.on_hand < current[lv.key][1]]
        if short:
            raise BelowReserved(short)
        changed = [lv for lv in ordered if lv.on_hand != current[lv.key][0]]
        if changed:
            params = {
                "t": tenant_id,
                "locs": [lv.location_id for lv in changed],
                "skus": [lv.sku_id for lv in changed],
                "qty": [lv.on_hand for lv in changed],
            }
            await self.session.execute(_SET, params)
            deltas = [lv.on_hand - current[lv.key][0] for lv in changed]
            movements = [
                (tenant_id, lv.location_id, lv.sku_id, d, lv.on_hand, reason, reference, actor)
                for lv, d in zip(changed, deltas, strict=True)
            ]
            await insert_rows(self.session, "stock_movements", _MOVEMENT_COLUMNS, movements)
        outcomes: list[Outcome] = [
            "created" if lv.key in created else "updated" if lv.on_hand != current[lv.key][0] else "unchanged"
            for lv in levels
        ]
        after = [
            StockRead(lv.location, lv.sku, lv.on_hand, current[lv.key][1], lv.on_hand - current[lv.key][1])
            for lv in levels
        ]
        return outcomes, after

    async def set_levels(
        self, tenant_id: int, items: Sequence[StockSetItem], *, actor: str, reason: str = "set"
    ) -> list[StockRead]:
        """``PUT /v1/hq/stock``: set on-hand quantities by code."""
        levels = await self.levels_for(tenant_id, items)
        return (await self.write(tenant_id, levels, actor=actor, reason=reason))[1]

    async def _filter_id(self, tenant_id: int, table: str, code: str | None, what: str) -> int | None:
        if code is None:
            return None
        found = (
            await self.session.execute(
                text(f"SELECT id FROM {table} WHERE tenant_id = :t AND code = :c"),  # noqa: S608 - fixed names
                {"t": tenant_id, "c": code},
            )
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(what, code)
        return int(found)

    async def list_levels(
        self,
        tenant_id: int,
        *,
        location: str | None,
        sku: str | None,
        cursor: str | None,
        limit: int,
        distributor_id: int | None = None,
    ) -> StockPage:
        """Stock levels by location then SKU; with ``distributor_id``, only that distributor's locations."""
        location_id = await self._filter_id(tenant_id, "locations", location, "location")
        sku_id = await self._filter_id(tenant_id, "skus", sku, "SKU")
        after = page_start(cursor, int, int, first=(0, 0))
        rows = (
            await self.session.execute(
                text(
                    _LEVELS + " AND (CAST(:loc AS bigint) IS NULL OR sl.location_id = :loc)"
                    " AND (CAST(:sku AS bigint) IS NULL OR sl.sku_id = :sku)"
                    " AND (CAST(:did AS bigint) IS NULL OR l.distributor_id = :did)"
                    " AND (sl.location_id, sl.sku_id) > (:after_l, :after_k)"
                    " ORDER BY sl.location_id, sl.sku_id LIMIT :n"
                ),
                {
                    "t": tenant_id,
                    "loc": location_id,
                    "sku": sku_id,
                    "did": distributor_id,
                    "after_l": after[0],
                    "after_k": after[1],
                    "n": limit + 1,
                },
            )
        ).all()
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.location_id, r.sku_id))
        return StockPage(items=[_stock(r) for r in page], next_cursor=next_cursor)

    async def movements(
        self, tenant_id: int, *, location: str | None, sku: str | None, cursor: str | None, limit: int
    ) -> MovementPage:
        """The movement ledger, newest first, optionally for one location and/or SKU."""
        location_id = await self._filter_id(tenant_id, "locations", location, "location")
        sku_id = await self._filter_id(tenant_id, "skus", sku, "SKU")
        before = page_start(cursor, int, first=(2**63 - 1,))[0]
        rows = (
            await self.session.execute(
                text(
                    """
                    SELECT m.id, l.code AS location, k.code AS sku, m.delta, m.on_hand_after, m.reason, m.reference,
                           m.actor, m.created_at
                    FROM stock_movements m
                    JOIN locations l ON l.tenant_id = m.tenant_id AND l.id = m.location_id
                    JOIN skus k ON k.tenant_id = m.tenant_id AND k.id = m.sku_id
                    WHERE m.tenant_id = :t AND m.id < :before
                      AND (CAST(:loc AS bigint) IS NULL OR m.location_id = :loc)
                      AND (CAST(:sku AS bigint) IS NULL OR m.sku_id = :sku)
                    ORDER BY m.id DESC LIMIT :n
                    """
                ),
                {
                    "t": tenant_id,
                    "before": before,
                    "loc": location_id,
                    "sku": sku_id,
                    "n": limit + 1,
                },
            )
        ).all()
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        items = [
            MovementRead(
                location=r.location,
                sku=r.sku,
                delta=r.delta,
                on_hand_after=r.on_hand_after,
                reason=r.reason,
                reference=r.reference,
                actor=r.actor,
                created_at=r.created_at,
            )
            for r in page
        ]
        return MovementPage(items=items, next_cursor=next_cursor)

    async def check_distributor_location(self, tenant_id: int, distributor_id: int | None, code: str | None) -> None:
        """A location named by a distributor must be one of its own; another's is not found."""
        if code is None:
            return
        mine = (
            await self.session.execute(
                text("SELECT 1 FROM locations WHERE tenant_id = :t AND code = :c AND distributor_id = :d"),
                {"t": tenant_id, "c": code, "d": distributor_id},
            )
        ).first()
        if mine is None:
            raise NotFound("location", code)
