"""The analysis models: overview, store profile, funnel, segments, consumers, KOC leaderboard, stock suggestions.

They read the rows :mod:`cloudstore.analytics.maintain` keeps. A window ``[since, until)`` is cut into the
whole UTC days inside it, summed from the daily rollups (``tenant_daily``, ``store_daily``, ``koc_daily``), and
the partial days at its edges, summed from the per-event rows (``order_facts``, ``touches``,
``consumer_milestones``); so any window reads a few indexed rows per day and per edge, and the figures are exact
to the second. Counts that are not per day are read as maintained: bound consumers per store (``store_totals``),
consumers per segment and stage (``segment_counts``, written by the recompute).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.analytics.schemas import (
    Cohort,
    ConsumerInsight,
    ConsumerPage,
    DayFigures,
    Funnel,
    FunnelStep,
    KocFigures,
    KocLeaderboard,
    Overview,
    SegmentCount,
    Segments,
    StockSuggestion,
    StockSuggestions,
    StoreProfile,
)
from cloudstore.lib.errors import NotFound, ValidationFailed
from cloudstore.lib.paging import check_limit, cut_page, page_start
from cloudstore.lib.tables import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "STEPS",
    "ConsumerFilter",
    "Scope",
    "Window",
    "all_consumers",
    "consumer_page",
    "funnel",
    "koc_id_of",
    "kocs",
    "overview",
    "segments",
    "stock_suggestions",
    "store_id_of",
    "store_profile",
    "window",
)

STEPS = ("touched", "bound", "first_order", "repeat_order", "referred")
DEFAULT_DAYS = 30


class Window(msgspec.Struct, frozen=True):
    """``[since, until)``: whole UTC days ``[d1, d2)`` and the edges ``[a1, b1)``, ``[a2, b2)`` (maybe empty)."""

    since: datetime
    until: datetime
    d1: date
    d2: date
    a1: datetime
    b1: datetime
    a2: datetime
    b2: datetime

    def params(self) -> dict[str, Any]:
        """The bind parameters the window's queries use."""
        return {
            "since": self.since,
            "until": self.until,
            "d1": self.d1,
            "d2": self.d2,
            "a1": self.a1,
            "b1": self.b1,
            "a2": self.a2,
            "b2": self.b2,
        }


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def window(since: datetime | None, until: datetime | None) -> Window:
    """The window asked for (default: the last 30 days), cut into whole days and edges.

    Raises:
        ValidationFailed: a time without a zone, or ``until`` not after ``since``.
    """
    if (since is not None and since.tzinfo is None) or (until is not None and until.tzinfo is None):
        raise ValidationFailed("since and until need a time zone (RFC 3339)")
    end = (until or utcnow()).astimezone(UTC)
    start = (since or end - timedelta(days=DEFAULT_DAYS)).astimezone(UTC)
    if end <= start:
        raise ValidationFailed("until must be after since")
    d1 = start.date() if start == _midnight(start.date()) else start.date() + timedelta(days=1)
    d2 = end.date()
    if d1 >= d2:  # no whole day inside: the window is one edge
        return Window(since=start, until=end, d1=d1, d2=d1, a1=start, b1=end, a2=end, b2=end)
    return Window(since=start, until=end, d1=d1, d2=d2, a1=start, b1=_midnight(d1), a2=_midnight(d2), b2=end)


def _edges(column: str) -> str:
    return f"(({column} >= :a1 AND {column} < :b1) OR ({column} >= :a2 AND {column} < :b2))"


class Scope(msgspec.Struct, frozen=True):
    """Whose figures: the whole tenant, one store, or a distributor's stores."""

    tenant_id: int
    store_id: int | None = None
    distributor_id: int | None = None


def _store_filter(scope: Scope, column: str) -> str:
    if scope.store_id is not None:
        return f" AND {column} = :store"
    if scope.distributor_id is not None:
        return f" AND {column} IN (SELECT id FROM stores WHERE tenant_id = :t AND distributor_id = :dist)"  # noqa: S608
    return ""


def _scope_params(scope: Scope) -> dict[str, Any]:
    return {"t": scope.tenant_id, "store": scope.store_id, "dist": scope.distributor_id}


async def store_id_of(session: AsyncSession, tenant_id: int, code: str, *, distributor_id: int | None = None) -> int:
    """The id of the tenant's store ``code`` (of ``distributor_id``, if given).

    Raises:
        NotFound: no such store (of that distributor).
    """
    found = (
        await session.execute(
            text(
                "SELECT id FROM stores WHERE tenant_id = :t AND code = :c "
                "AND (CAST(:d AS bigint) IS NULL OR distributor_id = :d)"
            ),
            {"t": tenant_id, "c": code, "d": distributor_id},
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("store", code)
    return int(found)


async def koc_id_of(session: AsyncSession, tenant_id: int, code: str, *, store_id: int | None = None) -> int:
    """The id of the tenant's KOC ``code`` (of ``store_id``, if given).

    Raises:
        NotFound: no such KOC (of that store).
    """
    found = (
        await session.execute(
            text(
                "SELECT id FROM kocs WHERE tenant_id = :t AND code = :c "
                "AND (CAST(:s AS bigint) IS NULL OR store_id = :s)"
            ),
            {"t": tenant_id, "c": code, "s": store_id},
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("KOC", code)
    return int(found)


# --- sales -----------------------------------------------------------------------------------------------------------


def _sales_rows(scope: Scope) -> str:
    """Per store and day: the rollups' whole days and the edges' orders."""
    return f"""
      SELECT store_id, day, orders, gmv, refunds, in_store_sales, cloud_shelf_sales, commission
      FROM store_daily WHERE tenant_id = :t AND day >= :d1 AND day < :d2{_store_filter(scope, "store_id")}
      UNION ALL
      SELECT store_id, day, 1, gmv, refunds, in_store_sales, cloud_shelf_sales, store_commission
      FROM order_facts WHERE tenant_id = :t AND {_edges("paid_at")}{_store_filter(scope, "store_id")}
    """  # noqa: S608 - only constant SQL is spliced in


class _Sales(msgspec.Struct):
    orders: int = 0
    gmv: int = 0
    refunds: int = 0
    in_store_sales: int = 0
    cloud_shelf_sales: int = 0
    commission: int = 0


# The whole tenant's sales: the tenant's days (a few slots each) and the edges' orders (commission unused).
_TENANT_SALES_ROWS = f"""
      SELECT day, orders, gmv, refunds, in_store_sales, cloud_shelf_sales, 0 AS commission
      FROM tenant_daily WHERE tenant_id = :t AND day >= :d1 AND day < :d2
      UNION ALL
      SELECT day, 1, gmv, refunds, in_store_sales, cloud_shelf_sales, 0
      FROM order_facts WHERE tenant_id = :t AND {_edges("paid_at")}
    """  # noqa: S608 - only constant SQL is spliced in


async def _sales(session: AsyncSession, scope: Scope, w: Window) -> tuple[_Sales, list[DayFigures]]:
    whole = scope.store_id is None and scope.distributor_id is None
    rows = (
        await session.execute(
            text(
                f"""
                SELECT day, sum(orders) AS orders, sum(gmv) AS gmv, sum(refunds) AS refunds,
                       sum(in_store_sales) AS in_store_sales, sum(cloud_shelf_sales) AS cloud_shelf_sales,
                       sum(commission) AS commission
                FROM ({_TENANT_SALES_ROWS if whole else _sales_rows(scope)}) x GROUP BY day ORDER BY day
                """  # noqa: S608 - only constant SQL is spliced in
            ),
            {**_scope_params(scope), **w.params()},
        )
    ).all()
    total = _Sales()
    days = []
    for r in rows:
        for name in ("orders", "gmv", "refunds", "in_store_sales", "cloud_shelf_sales", "commission"):
            setattr(total, name, getattr(total, name) + int(getattr(r, name)))
        if r.orders:
            days.append(DayFigures(date=r.day, gmv=int(r.gmv), orders=int(r.orders)))
    return total, days


def _aov(s: _Sales) -> int:
    return s.gmv // s.orders if s.orders else 0


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


# each edge its own range of the ``last_paid_at`` index (an OR of the two would scan from the first to the last)
_LAST_PAYERS = text(
    """
    SELECT (SELECT COALESCE(sum(last_payers), 0) FROM tenant_daily WHERE tenant_id = :t AND day >= :d1 AND day < :d2)
           + (SELECT count(*) FROM consumer_milestones
              WHERE tenant_id = :t AND last_paid_at >= :a1 AND last_paid_at < :b1)
           + (SELECT count(*) FROM consumer_milestones
              WHERE tenant_id = :t AND last_paid_at >= :a2 AND last_paid_at < :b2) AS last_in,
           (SELECT count(*) FROM consumer_milestones WHERE tenant_id = :t AND last_paid_at >= :until) AS later
    """
)


async def _paying(session: AsyncSession, scope: Scope, w: Window) -> int:
    """The consumers who paid in the window (at the scope's stores).

    For the whole tenant, a consumer whose last payment falls in the window paid in it: the tenant's days count
    those whose last payment fell on each whole day (``last_payers``), the milestones' ``last_paid_at`` index
    those of the edges. Only those who paid again after the window (none for a window ending now) need their
    orders looked at.
    """
    params = {**_scope_params(scope), **w.params()}
    if scope.store_id is not None or scope.distributor_id is not None:
        sql = f"""
            SELECT count(*) FROM (SELECT DISTINCT consumer_id FROM order_facts
            WHERE tenant_id = :t AND paid_at >= :since AND paid_at < :until{_store_filter(scope, "store_id")}) p
        """  # noqa: S608 - only constant SQL is spliced in
        return int((await session.execute(text(sql), params)).scalar_one())
    last_in, later = (await session.execute(_LAST_PAYERS, params)).one()
    if not later:
        return int(last_in)
    again = (
        await session.execute(
            text(
                """
                SELECT count(DISTINCT f.consumer_id) FROM order_facts f
                WHERE f.tenant_id = :t AND f.paid_at >= :since AND f.paid_at < :until
                  AND f.consumer_id IN (SELECT consumer_id FROM consumer_milestones
                                        WHERE tenant_id = :t AND last_paid_at >= :until)
                """
            ),
            params,
        )
    ).scalar_one()
    return int(last_in) + int(again)


async def overview(session: AsyncSession, scope: Scope, w: Window) -> Overview:
    """The chain's (or a distributor's) sales in the window, with the consumers who paid and those bound."""
    s, days = await _sales(session, scope, w)
    bound = (
        await session.execute(
            text(
                f"""
                SELECT COALESCE(sum(bound_consumers), 0) FROM store_totals
                WHERE tenant_id = :t{_store_filter(scope, "store_id")}
                """  # noqa: S608 - only constant SQL is spliced in
            ),
            _scope_params(scope),
        )
    ).scalar_one()
    return Overview(
        since=w.since,
        until=w.until,
        gmv=s.gmv,
        refunds=s.refunds,
        net_sales=s.gmv - s.refunds,
        orders=s.orders,
        aov=_aov(s),
        paying_consumers=await _paying(session, scope, w),
        bound_consumers=int(bound),
        in_store_sales=s.in_store_sales,
        cloud_shelf_sales=s.cloud_shelf_sales,
        by_day=days,
    )


_PROFILE = text(
    f"""
    SELECT
      (SELECT code FROM stores WHERE tenant_id = :t AND id = :store) AS code,
      (SELECT COALESCE(sum(touches), 0) FROM store_daily
       WHERE tenant_id = :t AND store_id = :store AND day >= :d1 AND day < :d2)
      + (SELECT count(*) FROM touches WHERE tenant_id = :t AND store_id = :store AND {_edges("created_at")}) AS touches,
      (SELECT count(*) FROM consumer_milestones
       WHERE tenant_id = :t AND bound_store_id = :store AND bound_at >= :since AND bound_at < :until) AS new_bindings,
      (SELECT COALESCE(sum(bound_consumers), 0) FROM store_totals WHERE tenant_id = :t AND store_id = :store)
        AS bound,
      (SELECT count(*) FROM consumer_milestones
       WHERE tenant_id = :t AND first_touch_store_id = :store AND first_touch_at >= :since AND first_touch_at < :until)
        AS touched,
      (SELECT count(*) FROM consumer_milestones
       WHERE tenant_id = :t AND first_touch_store_id = :store AND first_touch_at >= :since AND first_touch_at < :until
         AND first_paid_at IS NOT NULL) AS converted,
      (SELECT count(*) FROM (SELECT consumer_id FROM order_facts
                             WHERE tenant_id = :t AND store_id = :store AND paid_at >= :since AND paid_at < :until
                             GROUP BY consumer_id) p) AS paying,
      (SELECT count(*) FROM (SELECT consumer_id FROM order_facts
                             WHERE tenant_id = :t AND store_id = :store AND paid_at >= :since AND paid_at < :until
                             GROUP BY consumer_id HAVING count(*) >= 2) p) AS repeating,
      (SELECT count(DISTINCT koc_id) FROM (
         SELECT kd.koc_id FROM koc_daily kd JOIN kocs k ON k.tenant_id = :t AND k.id = kd.koc_id AND k.store_id = :store
         WHERE kd.tenant_id = :t AND kd.day >= :d1 AND kd.day < :d2 AND (kd.touches > 0 OR kd.orders > 0)
         UNION ALL
         SELECT koc_id FROM touches
         WHERE tenant_id = :t AND store_id = :store AND koc_id IS NOT NULL AND {_edges("created_at")}
         UNION ALL
         SELECT f.koc_id FROM order_facts f JOIN kocs k ON k.tenant_id = :t AND k.id = f.koc_id AND k.store_id = :store
         WHERE f.tenant_id = :t AND {_edges("f.paid_at")}) a) AS active_kocs
    """  # noqa: S608 - only constant SQL is spliced in
)


async def _percentile(session: AsyncSession, tenant_id: int, store_id: int, w: Window) -> float:
    """The share (%) of the tenant's stores whose GMV in the window is at most this store's."""
    row = (
        await session.execute(
            text(
                f"""
                WITH g AS (SELECT store_id, sum(gmv) AS gmv FROM ({_sales_rows(Scope(tenant_id))}) x GROUP BY store_id)
                SELECT (SELECT count(*) FROM stores WHERE tenant_id = :t) AS stores,
                       (SELECT count(*) FROM g
                        WHERE g.gmv > COALESCE((SELECT gmv FROM g WHERE store_id = :store), 0)) AS above
                """  # noqa: S608 - only constant SQL is spliced in
            ),
            {"t": tenant_id, "store": store_id, **w.params()},
        )
    ).one()
    return round(100 * (row.stores - row.above) / row.stores, 1) if row.stores else 0.0


async def store_profile(session: AsyncSession, tenant_id: int, store_id: int, w: Window) -> StoreProfile:
    """One store's profile (终端画像) for the window."""
    s, _ = await _sales(session, Scope(tenant_id, store_id=store_id), w)
    p = (await session.execute(_PROFILE, {"t": tenant_id, "store": store_id, **w.params()})).one()
    return StoreProfile(
        since=w.since,
        until=w.until,
        store=p.code,
        gmv=s.gmv,
        refunds=s.refunds,
        net_sales=s.gmv - s.refunds,
        orders=s.orders,
        aov=_aov(s),
        in_store_sales=s.in_store_sales,
        cloud_shelf_sales=s.cloud_shelf_sales,
        touches=int(p.touches),
        new_bindings=int(p.new_bindings),
        bound_consumers=int(p.bound),
        conversion=_rate(p.converted, p.touched),
        repeat_rate=_rate(p.repeating, p.paying),
        refund_rate=_rate(s.refunds, s.gmv),
        commission=s.commission,
        active_kocs=int(p.active_kocs),
        gmv_percentile=await _percentile(session, tenant_id, store_id, w),
    )


# --- funnel, segments, consumers -------------------------------------------------------------------------------------


async def funnel(
    session: AsyncSession, scope: Scope, w: Window, *, koc_id: int | None = None, labels: tuple[str | None, str | None]
) -> Funnel:
    """The AARRR funnel of the consumers first touched in the window (at the scope's stores, through ``koc_id``)."""
    koc = " AND first_touch_koc_id = :koc" if koc_id is not None else ""
    rows = (
        await session.execute(
            text(
                f"""
                SELECT CAST(date_trunc('week', first_touch_at AT TIME ZONE 'UTC') AS date) AS week,
                       count(*) AS touched, count(first_bound_at) AS bound, count(first_paid_at) AS first_order,
                       count(second_paid_at) AS repeat_order, count(first_referral_at) AS referred
                FROM consumer_milestones
                WHERE tenant_id = :t AND first_touch_at >= :since AND first_touch_at < :until
                  {_store_filter(scope, "first_touch_store_id")}{koc}
                GROUP BY 1 ORDER BY 1
                """  # noqa: S608 - only constant SQL is spliced in
            ),
            {**_scope_params(scope), **w.params(), "koc": koc_id},
        )
    ).all()
    totals = dict.fromkeys(STEPS, 0)
    cohorts = []
    for r in rows:
        for step in STEPS:
            totals[step] += int(getattr(r, step))
        cohorts.append(Cohort(week=r.week, steps=[FunnelStep(step, int(getattr(r, step))) for step in STEPS]))
    return Funnel(
        since=w.since,
        until=w.until,
        store=labels[0],
        koc=labels[1],
        steps=[FunnelStep(step, totals[step]) for step in STEPS],
        cohorts=cohorts,
    )


async def segments(session: AsyncSession, tenant_id: int) -> Segments:
    """Consumers per RFM segment and per lifecycle stage, as last scored (the counts the recompute wrote)."""
    rows = (
        await session.execute(
            text("SELECT segment, lifecycle, consumers AS n, scored_at AS at FROM segment_counts WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
    ).all()
    by_segment: dict[str, int] = {}
    by_stage: dict[str, int] = {}
    for r in rows:
        by_segment[r.segment] = by_segment.get(r.segment, 0) + int(r.n)
        by_stage[r.lifecycle] = by_stage.get(r.lifecycle, 0) + int(r.n)
    return Segments(
        scored_at=max((r.at for r in rows), default=None),
        segments=[SegmentCount(k, v) for k, v in sorted(by_segment.items(), key=lambda kv: (-kv[1], kv[0]))],
        lifecycle=[SegmentCount(k, v) for k, v in sorted(by_stage.items(), key=lambda kv: (-kv[1], kv[0]))],
    )


_CONSUMERS = text(
    """
    SELECT m.consumer_id, s.code AS bound_store,
           floor(extract(epoch FROM (:now - m.last_paid_at)) / 86400)::int AS recency_days,
           m.paid_orders, m.net_goods, m.segment, m.lifecycle, m.tags
    FROM consumer_milestones m
    LEFT JOIN stores s ON s.tenant_id = m.tenant_id AND s.id = m.bound_store_id
    WHERE m.tenant_id = :t AND m.consumer_id > :after
      AND (CAST(:segment AS text) IS NULL OR m.segment = :segment)
      AND (CAST(:lifecycle AS text) IS NULL OR m.lifecycle = :lifecycle)
      AND (CAST(:store AS bigint) IS NULL OR m.bound_store_id = :store)
      AND (CAST(:tag AS text) IS NULL OR m.tags @> ARRAY[CAST(:tag AS text)])
    ORDER BY m.consumer_id
    LIMIT :n
    """
)


class ConsumerFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which consumers to list."""

    segment: str | None = None
    lifecycle: str | None = None
    store_id: int | None = None
    tag: str | None = None


async def consumer_page(
    session: AsyncSession, tenant_id: int, f: ConsumerFilter, *, limit: int | None, cursor: str | None
) -> ConsumerPage:
    """A page of consumers matching ``f``, by id."""
    n = check_limit(limit)
    (after,) = page_start(cursor, int, first=(0,))
    rows = await _consumer_rows(session, tenant_id, f, after=after, n=n + 1)
    items, next_cursor = cut_page(rows, n, key=lambda c: (c.consumer_id,))
    return ConsumerPage(items=items, next_cursor=next_cursor)


async def _consumer_rows(
    session: AsyncSession, tenant_id: int, f: ConsumerFilter, *, after: int, n: int
) -> list[ConsumerInsight]:
    rows = (
        await session.execute(
            _CONSUMERS,
            {
                "t": tenant_id,
                "after": after,
                "n": n,
                "now": utcnow(),
                "segment": f.segment,
                "lifecycle": f.lifecycle,
                "store": f.store_id,
                "tag": f.tag,
            },
        )
    ).all()
    return [
        ConsumerInsight(
            consumer_id=int(r.consumer_id),
            bound_store=r.bound_store,
            recency_days=r.recency_days,
            orders=int(r.paid_orders),
            net_goods=int(r.net_goods),
            segment=r.segment,
            lifecycle=r.lifecycle,
            tags=list(r.tags),
        )
        for r in rows
    ]


async def all_consumers(
    session: AsyncSession, tenant_id: int, f: ConsumerFilter, batch: int = 5000
) -> list[ConsumerInsight]:
    """Every consumer matching ``f`` (for the CSV export), read in keyset batches."""
    out: list[ConsumerInsight] = []
    after = 0
    while True:
        rows = await _consumer_rows(session, tenant_id, f, after=after, n=batch)
        out += rows
        if len(rows) < batch:
            return out
        after = rows[-1].consumer_id


# --- KOCs, stock suggestions -----------------------------------------------------------------------------------------


async def kocs(session: AsyncSession, scope: Scope, w: Window, limit: int = 100) -> KocLeaderboard:
    """KOCs by net sales in the window (of the scope's stores), with touches, bindings, orders and commission."""
    rows = (
        await session.execute(
            text(
                f"""
                WITH x AS (
                  SELECT koc_id, touches, bindings, orders, sales, commission FROM koc_daily
                  WHERE tenant_id = :t AND day >= :d1 AND day < :d2
                  UNION ALL
                  SELECT koc_id, 1, 0, 0, 0, 0 FROM touches
                  WHERE tenant_id = :t AND koc_id IS NOT NULL AND {_edges("created_at")}
                  UNION ALL
                  SELECT bound_koc_id, 0, 1, 0, 0, 0 FROM consumer_milestones
                  WHERE tenant_id = :t AND bound_koc_id IS NOT NULL AND {_edges("bound_at")}
                  UNION ALL
                  SELECT koc_id, 0, 0, 1, gmv - refunds, koc_commission FROM order_facts
                  WHERE tenant_id = :t AND koc_id IS NOT NULL AND {_edges("paid_at")}
                )
                SELECT k.code AS koc, s.code AS store, sum(x.touches) AS touches, sum(x.bindings) AS bindings,
                       sum(x.orders) AS orders, sum(x.sales) AS sales, sum(x.commission) AS commission
                FROM x
                JOIN kocs k ON k.tenant_id = :t AND k.id = x.koc_id
                JOIN stores s ON s.tenant_id = :t AND s.id = k.store_id
                WHERE TRUE{_store_filter(scope, "k.store_id")}
                GROUP BY k.code, s.code
                HAVING sum(x.touches) + sum(x.bindings) + sum(x.orders) > 0
                ORDER BY sales DESC, orders DESC, k.code
                LIMIT :n
                """  # noqa: S608 - only constant SQL is spliced in
            ),
            {**_scope_params(scope), **w.params(), "n": limit},
        )
    ).all()
    return KocLeaderboard(
        since=w.since,
        until=w.until,
        items=[
            KocFigures(
                koc=r.koc,
                store=r.store,
                touches=int(r.touches),
                bindings=int(r.bindings),
                orders=int(r.orders),
                sales=int(r.sales),
                commission=int(r.commission),
            )
            for r in rows
        ],
    )


_SUGGESTIONS = text(
    """
    SELECT k.code AS sku, sum(c.units) AS units, count(DISTINCT c.order_id) AS orders,
           count(DISTINCT c.consumer_id) AS consumers, sum(c.goods) AS goods
    FROM cloud_shelf_lines c
    JOIN skus k ON k.tenant_id = :t AND k.id = c.sku_id
    WHERE c.tenant_id = :t AND c.store_id = :store AND c.paid_at >= :since AND c.paid_at < :until
    GROUP BY k.code
    ORDER BY units DESC, orders DESC, k.code
    LIMIT :n
    """
)


async def stock_suggestions(
    session: AsyncSession, tenant_id: int, store_id: int, w: Window, limit: int = 50
) -> StockSuggestions:
    """The cloud-shelf SKUs the store's consumers bought in the window that another location shipped."""
    code = (
        await session.execute(
            text("SELECT code FROM stores WHERE tenant_id = :t AND id = :s"), {"t": tenant_id, "s": store_id}
        )
    ).scalar_one()
    rows = (await session.execute(_SUGGESTIONS, {"t": tenant_id, "store": store_id, "n": limit, **w.params()})).all()
    return StockSuggestions(
        since=w.since,
        until=w.until,
        store=code,
        items=[
            StockSuggestion(
                sku=r.sku, units=int(r.units), orders=int(r.orders), consumers=int(r.consumers), goods=int(r.goods)
            )
            for r in rows
        ],
    )
