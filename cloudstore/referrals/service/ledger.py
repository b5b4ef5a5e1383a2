"""Reading the commission ledger, and settling it.

Balances are sums of entry amounts by status; reversals count negative. A reversal of commission that was
already settled is booked ``available`` (see :mod:`cloudstore.referrals.booking`), so a beneficiary's
*available* balance can dip below zero: that is money they owe back, recovered from their next earnings.
Their pending balance and their available + settled balance never go negative.

Settlement nets per beneficiary: it takes every available entry in scope, groups them by beneficiary,
and pays each beneficiary whose entries add up to zero or more — commission and reversals settle together.
A beneficiary whose reversals outweigh its available commission is left out (its entries stay available
until new earnings cover the debt); naming such a beneficiary alone is refused (409 ``invalid_state``), and
so is a run that would settle nothing. No settlement ever pays a negative amount.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import InvalidState, NotFound, ValidationFailed
from cloudstore.lib.events import publish
from cloudstore.lib.paging import cut_page, page_start
from cloudstore.lib.tables import utcnow
from cloudstore.referrals.events import SettlementCreated
from cloudstore.referrals.schemas import (
    Balances,
    Earnings,
    LedgerItem,
    LedgerPage,
    Payout,
    SettlementCreate,
    SettlementPage,
    SettlementRead,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.referrals.schemas import BeneficiaryKind, EntryStatus

__all__ = ("LedgerService",)

_BENEFICIARY_TABLES = {"store": "stores", "distributor": "distributors", "koc": "kocs"}

# Filters shared by the entry list and the balances; a NULL parameter means "any".
_FILTER = """
    e.tenant_id = :t
    AND (CAST(:kind AS text) IS NULL OR e.beneficiary_kind = :kind)
    AND (CAST(:bid AS bigint) IS NULL OR e.beneficiary_id = :bid)
    AND (CAST(:oid AS bigint) IS NULL OR e.order_id = :oid)
"""

_ENTRIES = text(
    f"""
    SELECT e.id, o.order_no, e.beneficiary_kind, e.beneficiary_code, e.amount, e.status, e.kind, e.created_at,
           e.available_at, st.settlement_no
    FROM ledger_entries e
    JOIN orders o ON o.tenant_id = e.tenant_id AND o.id = e.order_id
    LEFT JOIN settlements st ON st.tenant_id = e.tenant_id AND st.id = e.settlement_id
    WHERE {_FILTER}
      AND (CAST(:status AS text) IS NULL OR e.status = :status)
      AND (CAST(:before AS bigint) IS NULL OR e.id < :before)
    ORDER BY e.id DESC
    LIMIT :n
    """  # noqa: S608 - a constant fragment
)

_BALANCES = text(
    f"""
    SELECT CAST(COALESCE(sum(e.amount) FILTER (WHERE e.status = 'pending'), 0) AS bigint) AS pending,
           CAST(COALESCE(sum(e.amount) FILTER (WHERE e.status = 'available'), 0) AS bigint) AS available,
           CAST(COALESCE(sum(e.amount) FILTER (WHERE e.status = 'settled'), 0) AS bigint) AS settled
    FROM ledger_entries e WHERE {_FILTER}
    """  # noqa: S608 - a constant fragment
)

_AVAILABLE = text(
    """
    SELECT id, beneficiary_kind, beneficiary_id, beneficiary_code, amount
    FROM ledger_entries
    WHERE tenant_id = :t AND status = 'available'
      AND (CAST(:kind AS text) IS NULL OR beneficiary_kind = :kind)
      AND (CAST(:bid AS bigint) IS NULL OR beneficiary_id = :bid)
      AND (CAST(:up_to AS timestamptz) IS NULL OR available_at <= :up_to)
    ORDER BY id
    FOR UPDATE
    """
)

_SETTLEMENT = """
    SELECT st.id, st.settlement_no, st.beneficiary_kind, st.beneficiary_code, st.up_to, st.total, st.entry_count,
           st.created_by, st.created_at,
           COALESCE((SELECT json_agg(json_build_object('kind', p.beneficiary_kind, 'code', p.beneficiary_code,
                                                       'amount', p.amount, 'count', p.n)
                                     ORDER BY p.beneficiary_kind, p.beneficiary_code)
                     FROM (SELECT e.beneficiary_kind, e.beneficiary_code, sum(e.amount) AS amount, count(*) AS n
                           FROM ledger_entries e WHERE e.tenant_id = st.tenant_id AND e.settlement_id = st.id
                           GROUP BY e.beneficiary_kind, e.beneficiary_id, e.beneficiary_code) p), '[]') AS payouts
    FROM settlements st WHERE st.tenant_id = :t
"""


def _item(row: Row[Any]) -> LedgerItem:
    return LedgerItem(
        order_no=row.order_no,
        beneficiary_kind=row.beneficiary_kind,
        beneficiary=row.beneficiary_code,
        amount=row.amount,
        status=row.status,
        kind=row.kind,
        created_at=row.created_at,
        available_at=row.available_at,
        settlement_no=row.settlement_no,
    )


def _settlement(row: Row[Any]) -> SettlementRead:
    return SettlementRead(
        settlement_no=row.settlement_no,
        beneficiary_kind=row.beneficiary_kind,
        beneficiary=row.beneficiary_code,
        up_to=row.up_to,
        total=row.total,
        entry_count=row.entry_count,
        created_by=row.created_by,
        created_at=row.created_at,
        payouts=[
            Payout(
                beneficiary_kind=p["kind"], beneficiary=p["code"], amount=int(p["amount"]), entry_count=int(p["count"])
            )
            for p in row.payouts
        ],
    )


def _settlement_no(now: datetime) -> str:
    return f"ST{now:%Y%m%d}" + base64.b32encode(secrets.token_bytes(5)).decode()


class LedgerService:
    """Ledger entries, balances and settlements of one tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def beneficiary_id(self, tenant_id: int, kind: BeneficiaryKind, code: str) -> int:
        """The id of the store, distributor or KOC with ``code``; unknown (or another tenant's) is not found."""
        found = (
            await self.session.execute(
                text(f"SELECT id FROM {_BENEFICIARY_TABLES[kind]} WHERE tenant_id = :t AND code = :c"),  # noqa: S608
                {"t": tenant_id, "c": code},
            )
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(kind, code)
        return int(found)

    async def _page(
        self,
        tenant_id: int,
        *,
        kind: BeneficiaryKind | None,
        beneficiary_id: int | None,
        order_id: int | None = None,
        status: EntryStatus | None = None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[LedgerItem], Balances, str | None]:
        before = page_start(cursor, int, first=(None,))[0]
        scope = {"t": tenant_id, "kind": kind, "bid": beneficiary_id, "oid": order_id}
        rows = (
            await self.session.execute(_ENTRIES, {**scope, "status": status, "before": before, "n": limit + 1})
        ).all()
        totals = (await self.session.execute(_BALANCES, scope)).one()
        balances = Balances(pending=totals.pending, available=totals.available, settled=totals.settled)
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        return [_item(r) for r in page], balances, next_cursor

    async def ledger(
        self,
        tenant_id: int,
        *,
        kind: BeneficiaryKind | None,
        beneficiary: str | None,
        order_no: str | None,
        status: EntryStatus | None,
        cursor: str | None,
        limit: int,
    ) -> LedgerPage:
        """HQ's view: entries newest first, filtered, with the balances of everything the filter matches.

        Raises:
            ValidationFailed: ``beneficiary`` without ``kind`` (codes are unique per kind only).
            NotFound: an unknown beneficiary or order.
        """
        if beneficiary is not None and kind is None:
            raise ValidationFailed("beneficiary needs beneficiary_kind")
        bid = await self.beneficiary_id(tenant_id, kind, beneficiary) if beneficiary and kind else None
        oid = None
        if order_no is not None:
            oid = (
                await self.session.execute(
                    text("SELECT id FROM orders WHERE tenant_id = :t AND order_no = :n"),
                    {"t": tenant_id, "n": order_no},
                )
            ).scalar_one_or_none()
            if oid is None:
                raise NotFound("order", order_no)
        items, balances, next_cursor = await self._page(
            tenant_id, kind=kind, beneficiary_id=bid, order_id=oid, status=status, cursor=cursor, limit=limit
        )
        return LedgerPage(items=items, balances=balances, next_cursor=next_cursor)

    async def earnings(
        self, tenant_id: int, kind: BeneficiaryKind, beneficiary_id: int, *, cursor: str | None, limit: int
    ) -> Earnings:
        """One beneficiary's balances and entries, newest first."""
        code = (
            await self.session.execute(
                text(f"SELECT code FROM {_BENEFICIARY_TABLES[kind]} WHERE tenant_id = :t AND id = :i"),  # noqa: S608
                {"t": tenant_id, "i": beneficiary_id},
            )
        ).scalar_one_or_none()
        if code is None:
            raise NotFound(kind)
        items, balances, next_cursor = await self._page(
            tenant_id, kind=kind, beneficiary_id=beneficiary_id, cursor=cursor, limit=limit
        )
        return Earnings(
            beneficiary_kind=kind, beneficiary=code, balances=balances, items=items, next_cursor=next_cursor
        )

    async def consumer_koc_id(self, tenant_id: int, consumer_id: int) -> int:
        """The KOC the consumer is; a consumer who is not a KOC has no earnings (not found)."""
        found = (
            await self.session.execute(
                text("SELECT id FROM kocs WHERE tenant_id = :t AND consumer_id = :c"),
                {"t": tenant_id, "c": consumer_id},
            )
        ).scalar_one_or_none()
        if found is None:
            raise NotFound("KOC account of this consumer")
        return int(found)

    async def settle(
        self, tenant_id: int, data: SettlementCreate, *, actor: str, now: datetime | None = None
    ) -> SettlementRead:
        """Move available entries to settled, netting per beneficiary, and record the run.

        Raises:
            ValidationFailed: ``beneficiary`` without ``beneficiary_kind``.
            NotFound: an unknown beneficiary.
            InvalidState: nothing to settle, or the named beneficiary owes more than it has available.
        """
        if data.beneficiary is not None and data.beneficiary_kind is None:
            raise ValidationFailed("beneficiary needs beneficiary_kind")
        bid = (
            await self.beneficiary_id(tenant_id, data.beneficiary_kind, data.beneficiary)
            if data.beneficiary is not None and data.beneficiary_kind is not None
            else None
        )
        rows = (
            await self.session.execute(
                _AVAILABLE, {"t": tenant_id, "kind": data.beneficiary_kind, "bid": bid, "up_to": data.up_to}
            )
        ).all()
        nets: dict[tuple[str, int], int] = {}
        for r in rows:
            nets[(r.beneficiary_kind, r.beneficiary_id)] = (
                nets.get((r.beneficiary_kind, r.beneficiary_id), 0) + r.amount
            )
        if bid is not None and nets and min(nets.values()) < 0:
            owed = -min(nets.values())
            raise InvalidState(
                f"{data.beneficiary_kind} {data.beneficiary!r} owes {owed} fen from reversals; "
                "nothing is settled until new earnings cover it"
            )
        ids = [r.id for r in rows if nets[(r.beneficiary_kind, r.beneficiary_id)] >= 0]
        if not ids:
            raise InvalidState("no available commission to settle")
        total = sum(net for net in nets.values() if net >= 0)
        settlement_id, settlement_no = await self._record(tenant_id, data, total, len(ids), actor, now or utcnow())
        await self.session.execute(
            text(
                "UPDATE ledger_entries SET status = 'settled', settlement_id = :s "
                "WHERE tenant_id = :t AND id = ANY(CAST(:ids AS bigint[]))"
            ),
            {"s": settlement_id, "t": tenant_id, "ids": ids},
        )
        done = await self.settlement(tenant_id, settlement_no)
        await publish(
            self.session,
            SettlementCreated(
                tenant_id=tenant_id,
                settlement_no=done.settlement_no,
                beneficiary_kind=done.beneficiary_kind,
                beneficiary=done.beneficiary,
                total=done.total,
                entry_count=done.entry_count,
                at=done.created_at,
            ),
        )
        return done

    async def _record(
        self, tenant_id: int, data: SettlementCreate, total: int, count: int, actor: str, now: datetime
    ) -> tuple[int, str]:
        for _ in range(5):
            number = _settlement_no(now)
            try:
                async with self.session.begin_nested():
                    settlement_id = (
                        await self.session.execute(
                            text(
                                "INSERT INTO settlements (tenant_id, settlement_no, beneficiary_kind, "
                                "beneficiary_code, up_to, total, entry_count, created_by) "
                                "VALUES (:t, :no, :k, :c, :u, :total, :n, :by) RETURNING id"
                            ),
                            {
                                "t": tenant_id,
                                "no": number,
                                "k": data.beneficiary_kind,
                                "c": data.beneficiary,
                                "u": data.up_to,
                                "total": total,
                                "n": count,
                                "by": actor,
                            },
                        )
                    ).scalar_one()
            except IntegrityError:
                continue  # the number is taken: draw another
            return int(settlement_id), number
        raise InvalidState("could not allocate a settlement number; try again")

    async def settlement(self, tenant_id: int, settlement_no: str) -> SettlementRead:
        """One settlement with its payouts."""
        row = (
            await self.session.execute(
                text(_SETTLEMENT + " AND st.settlement_no = :no"), {"t": tenant_id, "no": settlement_no}
            )
        ).first()
        if row is None:
            raise NotFound("settlement", settlement_no)
        return _settlement(row)

    async def settlements(self, tenant_id: int, *, cursor: str | None, limit: int) -> SettlementPage:
        """Settlements newest first."""
        before = page_start(cursor, int, first=(None,))[0]
        rows = (
            await self.session.execute(
                text(
                    _SETTLEMENT
                    + " AND (CAST(:before AS bigint) IS NULL OR st.id < :before) ORDER BY st.id DESC LIMIT :n"
                ),
                {"t": tenant_id, "before": before, "n": limit + 1},
            )
        ).all()
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        return SettlementPage(items=[_settlement(r) for r in page], next_cursor=next_cursor)
