"""Scans as the code domain records them, a code's history, the diversion signals and the code policy.

A scan is one statement here: the scan row and the unit's counters in one data-modifying ``WITH``. The first
scan is whichever update reaches the unit's row first (the row lock queues the others): it sets
``first_scan`` to its own random token, so exactly one scan of a unit is ever told it came first.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.codes.format import parse
from cloudstore.codes.rules import grade
from cloudstore.codes.schemas import CodeHistory, CodePolicyDoc, DiversionPage, DiversionSignal, HistoryScan
from cloudstore.lib.errors import NotFound

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("CodeReadService", "ScanCount", "policy_from", "record_scan")


class ScanCount(msgspec.Struct, frozen=True):
    """The unit's counters after a scan, and whether this scan was its first."""

    first_scanned_at: datetime
    scans: int
    scanners: int
    first: bool


_RECORD = text(
    """
    WITH s AS (
      INSERT INTO code_scans (tenant_id, code, batch_id, consumer_id, distributor_id, region, lat, lng, diverted,
                              created_at)
      VALUES (:t, :code, :b, :c, :d, :region, :lat, :lng, :diverted, :now)
    )
    UPDATE codes SET scans = scans + 1, scanners = scanners + :new_scanner,
      first_scanned_at = COALESCE(first_scanned_at, :now), first_scan = COALESCE(first_scan, :token),
      first_consumer_id = COALESCE(first_consumer_id, :c)
    WHERE tenant_id = :t AND code = :code
    RETURNING first_scanned_at, scans, scanners, first_scan = :token AS first
    """
)


async def record_scan(
    session: AsyncSession,
    tenant_id: int,
    code: str,
    *,
    batch_id: int,
    consumer_id: int | None,
    distributor_id: int | None,
    region: str | None,
    lat: float | None,
    lng: float | None,
    diverted: bool,
    new_scanner: bool,
    now: datetime,
) -> ScanCount:
    """Record one scan of ``code`` and count it (one statement)."""
    row = (
        await session.execute(
            _RECORD,
            {
                "t": tenant_id,
                "code": code,
                "b": batch_id,
                "c": consumer_id,
                "d": distributor_id,
                "region": region,
                "lat": lat,
                "lng": lng,
                "diverted": diverted,
                "now": now,
                "new_scanner": 1 if new_scanner else 0,
                "token": secrets.token_hex(8),
            },
        )
    ).one()
    return ScanCount(first_scanned_at=row.first_scanned_at, scans=row.scans, scanners=row.scanners, first=row.first)


def policy_from(raw: Any) -> CodePolicyDoc:
    """The code policy from its stored document (JSON or text), or the default."""
    if raw is None:
        return CodePolicyDoc()
    return msgspec.convert(msgspec.json.decode(raw) if isinstance(raw, str | bytes) else raw, CodePolicyDoc)


_HISTORY = text(
    """
    SELECT c.code, c.level, b.batch_no, k.code AS sku, c.case_code, sh.shipment_no, s.code AS store,
           d.code AS distributor, c.first_scanned_at, c.scans, c.scanners
    FROM codes c
    JOIN code_batches b ON b.tenant_id = c.tenant_id AND b.id = c.batch_id
    JOIN skus k ON k.tenant_id = c.tenant_id AND k.id = b.sku_id
    LEFT JOIN code_shipments sh ON sh.tenant_id = c.tenant_id AND sh.id = c.shipment_id
    LEFT JOIN stores s ON s.tenant_id = c.tenant_id AND s.id = c.store_id
    LEFT JOIN distributors d ON d.tenant_id = c.tenant_id AND d.id = c.distributor_id
    WHERE c.tenant_id = :t AND c.code = :code
    """
)

_DIVERSION = text(
    """
    SELECT d.code AS distributor, b.batch_no, k.code AS sku, x.region,
           count(DISTINCT x.consumer_id) AS consumers, count(*) AS scans,
           array_agg(DISTINCT x.code) AS codes, min(x.created_at) AS first_at, max(x.created_at) AS last_at
    FROM code_scans x
    JOIN distributors d ON d.tenant_id = x.tenant_id AND d.id = x.distributor_id
    JOIN code_batches b ON b.tenant_id = x.tenant_id AND b.id = x.batch_id
    JOIN skus k ON k.tenant_id = x.tenant_id AND k.id = b.sku_id
    WHERE x.tenant_id = :t AND x.diverted AND x.created_at >= :since
      AND (CAST(:distributor AS text) IS NULL OR d.code = :distributor)
    GROUP BY d.code, b.batch_no, k.code, x.region
    ORDER BY count(DISTINCT x.consumer_id) DESC, max(x.created_at) DESC
    LIMIT 500
    """
)


class CodeReadService:
    """HQ's reads: one code's history, the diversion signals, the code policy."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def history(self, tenant_id: int, code: str) -> CodeHistory:
        """The code's batch, shipment and scans (newest first).

        Raises:
            NotFound: malformed, of another tenant, or no such code.
        """
        parsed = parse(code)
        if parsed is None or parsed[0] != tenant_id:
            raise NotFound("code", code)
        row = (await self.session.execute(_HISTORY, {"t": tenant_id, "code": parsed[1]})).first()
        if row is None:
            raise NotFound("code", code)
        scans = (
            await self.session.execute(
                text(
                    "SELECT created_at, consumer_id, region, diverted FROM code_scans "
                    "WHERE tenant_id = :t AND code = :code ORDER BY id DESC LIMIT 200"
                ),
                {"t": tenant_id, "code": parsed[1]},
            )
        ).all()
        return CodeHistory(
            code=row.code,
            level=row.level,
            batch_no=row.batch_no,
            sku=row.sku,
            case=row.case_code,
            shipment_no=row.shipment_no,
            store=row.store,
            distributor=row.distributor,
            first_scanned_at=row.first_scanned_at,
            scans=row.scans,
            scanners=row.scanners,
            history=[
                HistoryScan(at=s.created_at, consumer_id=s.consumer_id, region=s.region, diversion=s.diverted)
                for s in scans
            ],
        )

    async def diversion(self, tenant_id: int, *, since: datetime, distributor: str | None) -> DiversionPage:
        """Diverted scans since ``since``, grouped by distributor, batch and region, strongest evidence first."""
        rows = (
            await self.session.execute(_DIVERSION, {"t": tenant_id, "since": since, "distributor": distributor})
        ).all()
        return DiversionPage(
            items=[
                DiversionSignal(
                    distributor=r.distributor,
                    batch_no=r.batch_no,
                    sku=r.sku,
                    region=r.region,
                    grade=grade(r.consumers),
                    consumers=r.consumers,
                    scans=r.scans,
                    codes=sorted(r.codes)[:100],
                    first_at=r.first_at,
                    last_at=r.last_at,
                )
                for r in rows
            ]
        )

    async def policy(self, tenant_id: int) -> CodePolicyDoc:
        """The code policy in force (bind on scan, no reward, when none was set)."""
        raw = (
            await self.session.execute(text("SELECT policy FROM code_policies WHERE tenant_id = :t"), {"t": tenant_id})
        ).scalar_one_or_none()
        return policy_from(raw)

    async def set_policy(self, tenant_id: int, doc: CodePolicyDoc, now: datetime) -> CodePolicyDoc:
        """Replace the code policy (the reward coupon must exist).

        Raises:
            NotFound: the reward names no coupon of this tenant.
        """
        if doc.reward is not None:
            found = (
                await self.session.execute(
                    text("SELECT 1 FROM coupons WHERE tenant_id = :t AND code = :c"),
                    {"t": tenant_id, "c": doc.reward.coupon},
                )
            ).first()
            if found is None:
                raise NotFound("coupon", doc.reward.coupon)
        await self.session.execute(
            text(
                "INSERT INTO code_policies (tenant_id, policy, updated_at) VALUES (:t, CAST(:p AS jsonb), :now) "
                "ON CONFLICT (tenant_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at"
            ),
            {"t": tenant_id, "p": msgspec.json.encode(doc).decode(), "now": now},
        )
        return doc
