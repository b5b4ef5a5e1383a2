"""Inventory routes: HQ sets and reads stock; a distributor reads the stock at its own locations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Controller, get, put
from litestar.di import Provide
from litestar.params import FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_staff
from cloudstore.http.deps import DbSession, Limit
from cloudstore.http.problems import problems
from cloudstore.inventory.schemas import MovementPage, StockPage, StockSet, StockSetResult
from cloudstore.inventory.service import StockService
from cloudstore.lib.errors import Forbidden
from cloudstore.lib.paging import check_limit

if TYPE_CHECKING:
    from cloudstore.auth.tokens import Principal

__all__ = ("DistributorStockController", "HqStockController")


def _own(principal: Principal, location: str | None) -> str | None:
    """A location-bound API key reads only its location."""
    if principal.location is None:
        return location
    if location is not None and location != principal.location:
        raise Forbidden(f"this key acts only on the stock of {principal.location}")
    return principal.location


class HqStockController(Controller):
    """HQ sets on-hand stock and reads levels and the movement ledger."""

    path = "/v1/hq/stock"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @put("/", responses=problems(401, 403, 409, 422), summary="Set on-hand stock")
    async def set_stock(self, data: JSONBody[StockSet], principal: Caller, db: DbSession) -> StockSetResult:
        """Set on-hand quantities (reservations are kept); below the reserved quantity is a 409."""
        if principal.location is not None and any(i.location != principal.location for i in data.items):
            raise Forbidden(f"this key acts only on the stock of {principal.location}")
        items = await StockService(db).set_levels(principal.tenant_id, data.items, actor=principal.actor)
        return StockSetResult(items=items)

    @get("/", responses=problems(401, 403, 404, 422), summary="Read stock levels")
    async def list_stock(
        self,
        principal: Caller,
        db: DbSession,
        location: FromQuery[str | None] = None,
        sku: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> StockPage:
        """On hand, reserved and available per location and SKU."""
        return await StockService(db).list_levels(
            principal.tenant_id, location=_own(principal, location), sku=sku, cursor=cursor, limit=check_limit(limit)
        )

    @get("/movements", responses=problems(401, 403, 404, 422), summary="Read the stock movement ledger")
    async def movements(
        self,
        principal: Caller,
        db: DbSession,
        location: FromQuery[str | None] = None,
        sku: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> MovementPage:
        """Every on-hand change, newest first: delta, result, reason, reference and who made it."""
        return await StockService(db).movements(
            principal.tenant_id, location=_own(principal, location), sku=sku, cursor=cursor, limit=check_limit(limit)
        )


class DistributorStockController(Controller):
    """A distributor reads the stock at its own locations (its warehouses and its stores)."""

    path = "/v1/distributor/stock"
    tags = ["distributor"]
    dependencies = {"principal": Provide(require_staff("distributor"))}

    @get("/", responses=problems(401, 403, 404, 422), summary="The distributor's stock")
    async def list_stock(
        self,
        principal: Caller,
        db: DbSession,
        location: FromQuery[str | None] = None,
        sku: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> StockPage:
        """Stock levels at this distributor's locations; another distributor's location is not found."""
        service = StockService(db)
        await service.check_distributor_location(principal.tenant_id, principal.distributor_id, location)
        return await service.list_levels(
            principal.tenant_id,
            location=location,
            sku=sku,
            cursor=cursor,
            limit=check_limit(limit),
            distributor_id=principal.distributor_id if principal.distributor_id is not None else -1,
        )
