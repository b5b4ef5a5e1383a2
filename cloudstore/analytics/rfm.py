"""RFM scores, segments and lifecycle stages: the rules (pure), and the recompute that writes them.

:func:`score` is the rule; :data:`_RECOMPUTE` is the same rule in SQL, applied to every consumer of a
tenant in one statement (the nightly ``analytics.recompute`` job, or ``POST /v1/hq/analytics/recompute``),
which also writes the consumers per segment and stage (``segment_counts``) from the rows it scored.
The thresholds are the tenant's ``analytics_policies`` document (defaults without one).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import text

from cloudstore.analytics.maintain import schedule_recompute
from cloudstore.analytics.schemas import AnalyticsPolicyDoc
from cloudstore.lib.tables import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.jobs import JobContext

__all__ = ("Score", "check_policy", "load_policy", "recompute", "recompute_job", "save_policy", "score")

SEGMENTS = ("champions", "loyal", "new_customers", "potential", "at_risk", "hibernating", "prospects")
LIFECYCLE = ("new", "active", "dormant", "churned")


class Score(msgspec.Struct, frozen=True):
    """One consumer's scores, segment, lifecycle stage and tags."""

    r: int | None
    f: int | None
    m: int | None
    segment: str
    lifecycle: str
    tags: tuple[str, ...]


def _reached(value: int, thresholds: list[int]) -> int:
    return 1 + sum(1 for x in thresholds if value >= x)


def score(
    policy: AnalyticsPolicyDoc,
    *,
    recency_days: int | None,
    first_days: int | None,
    orders: int,
    net_goods: int,
    scanned: bool,
    referred: bool,
) -> Score:
    """Score a consumer: ``recency_days`` since their last paid order (None: never paid), ``first_days`` since
    their first paid order or, with none, their first touch."""
    tags = [t for t, on in (("scanner", scanned), ("referrer", referred)) if on]
    if orders >= 2:
        tags.append("repeat")
    if recency_days is None:
        new = first_days is not None and first_days < policy.new_days
        return Score(None, None, None, "prospects", "new" if new else "churned", tuple(sorted(tags)))
    r = _reached(-recency_days, [-x for x in policy.recency_days])  # within [0] days: 5; beyond [3]: 1
    f = _reached(orders, policy.frequency_orders)
    m = _reached(net_goods, policy.monetary_fen)
    if m >= 4:
        tags.append("high_value")
    if r >= 4 and f >= 4:
        segment = "champions"
    elif r >= 3 and f >= 3:
        segment = "loyal"
    elif r >= 4 and f == 1:
        segment = "new_customers"
    elif r >= 3:
        segment = "potential"
    elif f >= 3:
        segment = "at_risk"
    else:
        segment = "hibernating"
    if first_days is not None and first_days < policy.new_days and orders <= 1:
        stage = "new"
    elif recency_days < policy.active_days:
        stage = "active"
    elif recency_days < policy.churn_days:
        stage = "dormant"
    else:
        stage = "churned"
    return Score(r, f, m, segment, stage, tuple(sorted(tags)))


# The same rule as :func:`score`, for every consumer of the tenant. Days are whole days elapsed (floor).
_RECOMPUTE = text(
    """
    WITH d AS (
      SELECT consumer_id,
             floor(extract(epoch FROM (:now - last_paid_at)) / 86400)::int AS rd,
             floor(extract(epoch FROM (:now - COALESCE(first_paid_at, first_touch_at))) / 86400)::int AS fd,
             paid_orders, net_goods, first_scan_at IS NOT NULL AS scanned, first_referral_at IS NOT NULL AS referred
      FROM consumer_milestones WHERE tenant_id = :t
    ), s AS (
      SELECT d.*,
             CASE WHEN rd IS NULL THEN NULL
                  ELSE 5 - (CASE WHEN rd > :r0 THEN 1 ELSE 0 END) - (CASE WHEN rd > :r1 THEN 1 ELSE 0 END)
                         - (CASE WHEN rd > :r2 THEN 1 ELSE 0 END) - (CASE WHEN rd > :r3 THEN 1 ELSE 0 END) END AS r,
             1 + (CASE WHEN paid_orders >= :f0 THEN 1 ELSE 0 END) + (CASE WHEN paid_orders >= :f1 THEN 1 ELSE 0 END)
               + (CASE WHEN paid_orders >= :f2 THEN 1 ELSE 0 END)
               + (CASE WHEN paid_orders >= :f3 THEN 1 ELSE 0 END) AS f,
             1 + (CASE WHEN net_goods >= :m0 THEN 1 ELSE 0 END) + (CASE WHEN net_goods >= :m1 THEN 1 ELSE 0 END)
               + (CASE WHEN net_goods >= :m2 THEN 1 ELSE 0 END) + (CASE WHEN net_goods >= :m3 THEN 1 ELSE 0 END) AS m
      FROM d
    ), u AS (
    UPDATE consumer_milestones x SET
      r_score = s.r,
      f_score = CASE WHEN s.rd IS NULL THEN NULL ELSE s.f END,
      m_score = CASE WHEN s.rd IS NULL THEN NULL ELSE s.m END,
      segment = CASE WHEN s.rd IS NULL THEN 'prospects'
                     WHEN s.r >= 4 AND s.f >= 4 THEN 'champions'
                     WHEN s.r >= 3 AND s.f >= 3 THEN 'loyal'
                     WHEN s.r >= 4 AND s.f = 1 THEN 'new_customers'
                     WHEN s.r >= 3 THEN 'potential'
                     WHEN s.f >= 3 THEN 'at_risk'
                     ELSE 'hibernating' END,
      lifecycle = CASE WHEN s.rd IS NULL THEN (CASE WHEN s.fd < :new_days THEN 'new' ELSE 'churned' END)
                       WHEN s.fd < :new_days AND s.paid_orders <= 1 THEN 'new'
                       WHEN s.rd < :active_days THEN 'active'
                       WHEN s.rd < :churn_days THEN 'dormant'
                       ELSE 'churned' END,
      tags = array_remove(ARRAY[
               CASE WHEN s.rd IS NOT NULL AND s.m >= 4 THEN 'high_value' END,
               CASE WHEN s.referred THEN 'referrer' END,
               CASE WHEN s.paid_orders >= 2 THEN 'repeat' END,
               CASE WHEN s.scanned THEN 'scanner' END], NULL),
      scored_at = :now
    FROM s WHERE x.tenant_id = :t AND x.consumer_id = s.consumer_id
    RETURNING x.segment, x.lifecycle
    ), counts AS (
      INSERT INTO segment_counts (tenant_id, segment, lifecycle, consumers, scored_at)
      SELECT :t, segment, lifecycle, count(*), :now FROM u GROUP BY segment, lifecycle
      ON CONFLICT (tenant_id, segment, lifecycle) DO NOTHING  -- emptied first; keeps Citus from a COPY (RLS)
    )
    SELECT count(*) FROM u
    """
)
# One recompute of a tenant at a time, so the counts written are those of the scores left behind.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('analytics.recompute', :t))")
_FORGET = text("DELETE FROM segment_counts WHERE tenant_id = :t")


async def load_policy(session: AsyncSession, tenant_id: int) -> AnalyticsPolicyDoc:
    """The tenant's thresholds (defaults without a stored document)."""
    raw = (
        await session.execute(text("SELECT policy FROM analytics_policies WHERE tenant_id = :t"), {"t": tenant_id})
    ).scalar_one_or_none()
    return msgspec.convert(raw, AnalyticsPolicyDoc) if raw is not None else AnalyticsPolicyDoc()


def check_policy(doc: AnalyticsPolicyDoc) -> None:
    """Thresholds rise, and the lifecycle's days too.

    Raises:
        ValueError: they do not.
    """
    for name in ("recency_days", "frequency_orders", "monetary_fen"):
        values: list[int] = getattr(doc, name)
        if any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError(f"{name} must rise strictly")
    if not doc.active_days < doc.churn_days:
        raise ValueError("active_days must be below churn_days")


async def save_policy(session: AsyncSession, tenant_id: int, doc: AnalyticsPolicyDoc) -> None:
    """Store the tenant's thresholds (they apply from the next recompute)."""
    await session.execute(
        text(
            "INSERT INTO analytics_policies (tenant_id, policy, updated_at) VALUES (:t, CAST(:p AS jsonb), :now) "
            "ON CONFLICT (tenant_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at"
        ),
        {"t": tenant_id, "p": msgspec.json.encode(doc).decode(), "now": utcnow()},
    )


async def recompute(session: AsyncSession, tenant_id: int, now: datetime) -> int:
    """Score every consumer of the tenant as of ``now``; returns how many were scored."""
    p = await load_policy(session, tenant_id)
    params: dict[str, object] = {"t": tenant_id, "now": now}
    for prefix, values in (("r", p.recency_days), ("f", p.frequency_orders), ("m", p.monetary_fen)):
        params.update({f"{prefix}{i}": v for i, v in enumerate(values)})
    params.update(new_days=p.new_days, active_days=p.active_days, churn_days=p.churn_days)
    await session.execute(_LOCK, {"t": tenant_id})
    await session.execute(_FORGET, {"t": tenant_id})
    return int((await session.execute(_RECOMPUTE, params)).scalar_one())


async def recompute_job(ctx: JobContext) -> None:
    """``analytics.recompute``: score the tenant's consumers, and queue the next night's run."""
    now = utcnow()
    await recompute(ctx.session, ctx.tenant_id, now)
    await schedule_recompute(ctx.session, ctx.tenant_id, now)
