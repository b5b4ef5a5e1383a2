"""Report and analysis routes for HQ, distributors and stores."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from cloudstore.analytics import insights
from cloudstore.analytics.insights import ConsumerFilter, Scope, window
from cloudstore.analytics.rfm import check_policy, load_policy, recompute, save_policy
from cloudstore.analytics.schemas import (
    AnalyticsPolicyDoc,
    ConsumerInsight,
    ConsumerPage,
    Funnel,
    KocLeaderboard,
    Overview,
    Recomputed,
    Segments,
    StockSuggestions,
    StoreProfile,
    StoreSalesReport,
)
from cloudstore.analytics.service import store_sales
from cloudstore.auth.guards import Caller, require_staff
from cloudstore.http.deps import DbSession, Limit
from cloudstore.http.problems import problems
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.tables import utcnow

__all__ = (
    "AnalyticsPolicyController",
    "DistributorAnalyticsController",
    "DistributorReportController",
    "HqAnalyticsController",
    "HqReportController",
    "StoreAnalyticsController",
)

Since = FromQuery[datetime | None]
Until = FromQuery[datetime | None]
Format = Annotated[Literal["json", "csv"], QueryParameter(description="json (paged) or csv (every match)")]
CSV_COLUMNS = ("consumer_id", "bound_store", "recency_days", "orders", "net_goods", "segment", "lifecycle", "tags")


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or datetime.now(UTC)
    return since or until - timedelta(days=30), until


def _own_store(principal: Caller) -> int:
    if principal.store_id is None:  # a store account always names its store; guard against a malformed token
        raise ValidationFailed("this account is not a store's")
    return principal.store_id


def _csv_lines(items: list[ConsumerInsight]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, c in enumerate(items):
        writer.writerow(
            [c.consumer_id, c.bound_store or "", "" if c.recency_days is None else c.recency_days, c.orders,
             c.net_goods, c.segment or "", c.lifecycle or "", " ".join(c.tags)]
        )  # fmt: skip
        if i % 1000 == 999:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


class HqReportController(Controller):
    """HQ's view of the network's online sales."""

    path = "/v1/hq/reports"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/stores", responses=problems(401, 403, 422), summary="Online sales per credited store")
    async def stores(
        self, principal: Caller, db: DbSession, since: Since = None, until: Until = None
    ) -> StoreSalesReport:
        """Sales credited to each store (default: the last 30 days), split into what the store shipped itself
        and what warehouses shipped for it (the cloud shelf), with the store's commission."""
        start, end = _period(since, until)
        return await store_sales(db, principal.tenant_id, since=start, until=end)


class DistributorReportController(Controller):
    """A distributor's view of its own stores."""

    path = "/v1/distributor/reports"
    tags = ["distributor"]
    dependencies = {"principal": Provide(require_staff("distributor"))}

    @get("/stores", responses=problems(401, 403, 422), summary="Online sales of this distributor's stores")
    async def stores(
        self, principal: Caller, db: DbSession, since: Since = None, until: Until = None
    ) -> StoreSalesReport:
        """Like HQ's report, limited to orders credited to this distributor."""
        start, end = _period(since, until)
        return await store_sales(
            db, principal.tenant_id, since=start, until=end, distributor_id=principal.distributor_id
        )


class HqAnalyticsController(Controller):
    """HQ's analysis models over the whole chain. Windows are ``[since, until)`` by payment time (default 30 days)."""

    path = "/v1/hq/analytics"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/overview", responses=problems(401, 403, 422), summary="GMV, orders, AOV and consumers, by day")
    async def overview(self, principal: Caller, db: DbSession, since: Since = None, until: Until = None) -> Overview:
        """The chain's goods sales, refunds, orders, paying and bound consumers, own stock vs cloud shelf."""
        return await insights.overview(db, Scope(principal.tenant_id), window(since, until))

    @get("/stores/{code:str}", responses=problems(401, 403, 404, 422), summary="A store's profile")
    async def store(
        self, principal: Caller, db: DbSession, code: FromPath[str], since: Since = None, until: Until = None
    ) -> StoreProfile:
        """The store's sales, touches, bindings, conversion, repeat and refund rates, KOCs and GMV percentile."""
        w = window(since, until)
        store_id = await insights.store_id_of(db, principal.tenant_id, code)
        return await insights.store_profile(db, principal.tenant_id, store_id, w)

    @get("/funnel", responses=problems(401, 403, 404, 422), summary="The AARRR funnel, with weekly cohorts")
    async def funnel(
        self,
        principal: Caller,
        db: DbSession,
        since: Since = None,
        until: Until = None,
        store: FromQuery[str | None] = None,
        koc: FromQuery[str | None] = None,
    ) -> Funnel:
        """Consumers first touched in the window (at ``store``, through ``koc``): bound, ordered, repeated, referred."""
        t = principal.tenant_id
        w = window(since, until)
        store_id = await insights.store_id_of(db, t, store) if store is not None else None
        koc_id = await insights.koc_id_of(db, t, koc) if koc is not None else None
        return await insights.funnel(db, Scope(t, store_id=store_id), w, koc_id=koc_id, labels=(store, koc))

    @get("/segments", responses=problems(401, 403), summary="Consumers per RFM segment and lifecycle stage")
    async def segments(self, principal: Caller, db: DbSession) -> Segments:
        """As of the last recompute (nightly, or ``POST /v1/hq/analytics/recompute``)."""
        return await insights.segments(db, principal.tenant_id)

    @get("/consumers", responses=problems(401, 403, 404, 422), summary="Consumers by segment, stage, store, tag")
    async def consumers(
        self,
        principal: Caller,
        db: DbSession,
        segment: FromQuery[str | None] = None,
        lifecycle: FromQuery[str | None] = None,
        store: FromQuery[str | None] = None,
        tag: FromQuery[str | None] = None,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
        format: Format = "json",
    ) -> ConsumerPage | Stream:
        """A page of consumers (by id) with recency, orders, net goods, segment, stage and tags; ``format=csv``
        exports every match."""
        t = principal.tenant_id
        store_id = await insights.store_id_of(db, t, store) if store is not None else None
        f = ConsumerFilter(segment=segment, lifecycle=lifecycle, store_id=store_id, tag=tag)
        if format == "csv":
            rows = await insights.all_consumers(db, t, f)
            return Stream(
                _csv_lines(rows),
                media_type="text/csv; charset=utf-8",
                # the route's JSON media type would otherwise be sent with the CSV
                headers={
                    "content-type": "text/csv; charset=utf-8",
                    "content-disposition": "attachment; filename=consumers.csv",
                },
            )
        return await insights.consumer_page(db, t, f, limit=limit, cursor=cursor)

    @get("/kocs", responses=problems(401, 403, 404, 422), summary="The KOC leaderboard")
    async def kocs(
        self,
        principal: Caller,
        db: DbSession,
        since: Since = None,
        until: Until = None,
        store: FromQuery[str | None] = None,
    ) -> KocLeaderboard:
        """KOCs (of ``store``) by net sales: touches, bindings, orders, sales and commission in the window."""
        t = principal.tenant_id
        store_id = await insights.store_id_of(db, t, store) if store is not None else None
        return await insights.kocs(db, Scope(t, store_id=store_id), window(since, until))

    @get("/stock-suggestions", responses=problems(401, 403, 404, 422), summary="What a store should carry offline")
    async def stock_suggestions(
        self,
        principal: Caller,
        db: DbSession,
        store: FromQuery[str | None] = None,
        since: Since = None,
        until: Until = None,
    ) -> StockSuggestions:
        """The cloud-shelf SKUs the store's consumers (``store``, required) bought that another location shipped,
        most units first."""
        if store is None:  # checked here rather than by the parameter, so the caller's rights are checked first
            raise ValidationFailed("store is required")
        w = window(since, until)
        store_id = await insights.store_id_of(db, principal.tenant_id, store)
        return await insights.stock_suggestions(db, principal.tenant_id, store_id, w)

    @post("/recompute", status_code=200, responses=problems(401, 403), summary="Score every consumer now")
    async def recompute(self, principal: Caller, db: DbSession) -> Recomputed:
        """Recompute RFM scores, segments and lifecycle stages now (the nightly job does the same)."""
        now = utcnow()
        return Recomputed(consumers=await recompute(db, principal.tenant_id, now), scored_at=now)


class AnalyticsPolicyController(Controller):
    """HQ sets the RFM thresholds and lifecycle days."""

    path = "/v1/hq/policies"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/analytics", responses=problems(401, 403), summary="The RFM and lifecycle thresholds")
    async def get_analytics(self, principal: Caller, db: DbSession) -> AnalyticsPolicyDoc:
        """The thresholds in force (defaults if never set)."""
        return await load_policy(db, principal.tenant_id)

    @put("/analytics", responses=problems(401, 403, 422), summary="Replace the RFM and lifecycle thresholds")
    async def put_analytics(
        self, data: JSONBody[AnalyticsPolicyDoc], principal: Caller, db: DbSession
    ) -> AnalyticsPolicyDoc:
        """Recency days, order counts and net goods (fen) for scores 2–5, each rising; lifecycle days. They apply
        from the next recompute."""
        try:
            check_policy(data)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from exc
        await save_policy(db, principal.tenant_id, data)
        return data


class StoreAnalyticsController(Controller):
    """A store's own profile, funnel, KOCs and stock suggestions."""

    path = "/v1/store/analytics"
    tags = ["store"]
    dependencies = {"principal": Provide(require_staff("store"))}

    @get("/profile", responses=problems(401, 403, 422), summary="This store's profile")
    async def profile(self, principal: Caller, db: DbSession, since: Since = None, until: Until = None) -> StoreProfile:
        """The same profile HQ sees of this store."""
        return await insights.store_profile(db, principal.tenant_id, _own_store(principal), window(since, until))

    @get("/funnel", responses=problems(401, 403, 404, 422), summary="This store's funnel")
    async def funnel(
        self,
        principal: Caller,
        db: DbSession,
        since: Since = None,
        until: Until = None,
        koc: FromQuery[str | None] = None,
    ) -> Funnel:
        """Consumers first touched at this store in the window (through ``koc``, one of its KOCs)."""
        t, store_id = principal.tenant_id, _own_store(principal)
        w = window(since, until)
        koc_id = await insights.koc_id_of(db, t, koc, store_id=store_id) if koc is not None else None
        return await insights.funnel(db, Scope(t, store_id=store_id), w, koc_id=koc_id, labels=(None, koc))

    @get("/kocs", responses=problems(401, 403, 422), summary="This store's KOC leaderboard")
    async def kocs(self, principal: Caller, db: DbSession, since: Since = None, until: Until = None) -> KocLeaderboard:
        """This store's KOCs by net sales in the window."""
        return await insights.kocs(db, Scope(principal.tenant_id, store_id=_own_store(principal)), window(since, until))

    @get("/stock-suggestions", responses=problems(401, 403, 422), summary="What this store should carry offline")
    async def stock_suggestions(
        self, principal: Caller, db: DbSession, since: Since = None, until: Until = None
    ) -> StockSuggestions:
        """The cloud-shelf SKUs this store's consumers bought that another location shipped."""
        return await insights.stock_suggestions(db, principal.tenant_id, _own_store(principal), window(since, until))


class DistributorAnalyticsController(Controller):
    """A distributor's view of its own stores' profiles and funnel."""

    path = "/v1/distributor/analytics"
    tags = ["distributor"]
    dependencies = {"principal": Provide(require_staff("distributor"))}

    @get("/stores/{code:str}", responses=problems(401, 403, 404, 422), summary="One of this distributor's stores")
    async def store(
        self, principal: Caller, db: DbSession, code: FromPath[str], since: Since = None, until: Until = None
    ) -> StoreProfile:
        """The profile of one of this distributor's stores (another's is not found)."""
        w = window(since, until)
        t = principal.tenant_id
        store_id = await insights.store_id_of(db, t, code, distributor_id=principal.distributor_id or -1)
        return await insights.store_profile(db, t, store_id, w)

    @get("/funnel", responses=problems(401, 403, 404, 422), summary="The funnel of this distributor's stores")
    async def funnel(
        self,
        principal: Caller,
        db: DbSession,
        since: Since = None,
        until: Until = None,
        store: FromQuery[str | None] = None,
    ) -> Funnel:
        """Consumers first touched at this distributor's stores (or at ``store``, one of them) in the window."""
        t, dist = principal.tenant_id, principal.distributor_id or -1
        w = window(since, until)
        if store is not None:
            scope = Scope(t, store_id=await insights.store_id_of(db, t, store, distributor_id=dist))
        else:
            scope = Scope(t, distributor_id=dist)
        return await insights.funnel(db, scope, w, labels=(store, None))
