"""Report routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import FromQuery

from cloudstore.analytics.schemas import StoreSalesReport
from cloudstore.analytics.service import store_sales
from cloudstore.auth.guards import Caller, require_staff
from cloudstore.http.deps import DbSession
from cloudstore.http.problems import problems

__all__ = ("DistributorReportController", "HqReportController")


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or datetime.now(UTC)
    return since or until - timedelta(days=30), until


class HqReportController(Controller):
    """HQ's view of the network's online sales."""

    path = "/v1/hq/reports"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/stores", responses=problems(401, 403, 422), summary="Online sales per credited store")
    async def stores(
        self,
        principal: Caller,
        db: DbSession,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
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
        self,
        principal: Caller,
        db: DbSession,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> StoreSalesReport:
        """Like HQ's report, limited to orders credited to this distributor."""
        start, end = _period(since, until)
        return await store_sales(
            db, principal.tenant_id, since=start, until=end, distributor_id=principal.distributor_id
        )
