"""The console's analytics pages: HQ's dashboard (the HQ home), a store's profile and its stock suggestions.

Each page calls the analysis functions the ``/v1/hq/analytics`` routes call, for the last 30 days; the charts
are drawn in the browser by Apache ECharts (vendored under ``static/vendor/echarts``) from the figures the
page carries as JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Template

from cloudstore.analytics import insights
from cloudstore.analytics.insights import Scope, window
from cloudstore.analytics.service import store_sales
from cloudstore.http.deps import DbSession
from cloudstore.web.console.session import Staff, console_handlers, console_page, render
from cloudstore.web.requests import checked_code

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.web.console.session import ConsoleUser

__all__ = ("AnalyticsPages", "dashboard")

TOP_STORES = 10


async def dashboard(user: ConsoleUser, db: AsyncSession) -> Template:
    """HQ's home: GMV by day, own stock vs cloud shelf, the top stores, the funnel and the segments."""
    t = user.tenant_id
    w = window(None, None)
    overview = await insights.overview(db, Scope(t), w)
    top = await store_sales(db, t, since=w.since, until=w.until, limit=TOP_STORES)
    funnel = await insights.funnel(db, Scope(t), w, labels=(None, None))
    segments = await insights.segments(db, t)
    charts: dict[str, Any] = {
        "days": {"dates": [d.date.isoformat() for d in overview.by_day], "gmv": [d.gmv for d in overview.by_day]},
        "split": [
            {"name": "门店自有库存", "value": overview.in_store_sales},
            {"name": "云货架", "value": overview.cloud_shelf_sales},
        ],
        "stores": {"codes": [s.store for s in top.items], "sales": [s.net_sales for s in top.items]},
        "funnel": [{"name": s.step, "value": s.consumers} for s in funnel.steps],
        "segments": [{"name": s.name, "value": s.consumers} for s in segments.segments],
    }
    return render(user, "console/hq_dashboard.html", {"overview": overview, "charts": charts, "top": top.items, "w": w})


class AnalyticsPages(Controller):
    """A store's profile and its stock suggestions, for HQ and for the store's distributor."""

    path = "/console/stores"
    include_in_schema = False
    exception_handlers = console_handlers()

    async def _store(self, user: ConsoleUser, db: AsyncSession, code: str) -> int:
        distributor = user.principal.distributor_id if user.principal.role == "distributor" else None
        if user.principal.role == "distributor" and distributor is None:
            distributor = -1
        return await insights.store_id_of(db, user.tenant_id, checked_code(code, "store"), distributor_id=distributor)

    @get("/{code:str}", name="console-store-profile", dependencies={"user": Provide(console_page("hq", "distributor"))})
    async def profile(self, code: FromPath[str], user: Staff, db: DbSession) -> Template:
        """The store's profile (终端画像) for the last 30 days."""
        w = window(None, None)
        profile = await insights.store_profile(db, user.tenant_id, await self._store(user, db, code), w)
        return render(user, "console/store_profile.html", {"p": profile, "w": w})

    @get(
        "/{code:str}/stock-suggestions",
        name="console-stock-suggestions",
        dependencies={"user": Provide(console_page("hq", "distributor"))},
    )
    async def suggestions(self, code: FromPath[str], user: Staff, db: DbSession) -> Template:
        """The cloud-shelf SKUs the store's consumers bought that a warehouse shipped (定向铺货)."""
        w = window(None, None)
        found = await insights.stock_suggestions(db, user.tenant_id, await self._store(user, db, code), w)
        return render(user, "console/stock_suggestions.html", {"s": found, "w": w})
