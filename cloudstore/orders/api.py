"""Order routes for consumers, HQ, stores and distributors: reading orders and moving fulfilments.

Placing, paying, cancelling, refunding and HQ's view of one order are the checkout journeys' routes
(:mod:`cloudstore.checkout.api`).
"""

from __future__ import annotations

from typing import Literal

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_consumer, require_staff
from cloudstore.http.deps import DbSession, Limit, Shop, provide_shop_tenant
from cloudstore.http.problems import problems
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.paging import check_limit
from cloudstore.orders.fulfilment import FulfilmentService
from cloudstore.orders.reading import OrderService
from cloudstore.orders.schemas import (
    FulfilmentRead,
    OrderPage,
    OrderRead,
    Shipment,
)

__all__ = (
    "DistributorFulfilmentController",
    "HqFulfilmentController",
    "HqOrderController",
    "ShopOrderController",
    "StoreOrderController",
)

Action = Literal["ship", "ready", "deliver", "pickup"]
OrderStatus = Literal["pending_payment", "paid", "completed", "cancelled", "expired", "refunded"]


class ShopOrderController(Controller):
    """A consumer's orders."""

    path = "/v1/shop/{tenant:str}/orders"
    tags = ["shop"]
    dependencies = {"shop": Provide(provide_shop_tenant), "consumer": Provide(require_consumer)}

    @get("/{order_no:str}", responses=problems(401, 404), summary="One of the consumer's orders")
    async def read(self, order_no: FromPath[str], shop: Shop, consumer: Caller, db: DbSession) -> OrderRead:
        """Another consumer's order is not found."""
        return await OrderService(db).read(shop.id, order_no, consumer_id=consumer.subject_id)


class HqOrderController(Controller):
    """HQ lists every order."""

    path = "/v1/hq/orders"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/", responses=problems(401, 403, 422), summary="Orders, newest first")
    async def list_orders(
        self,
        principal: Caller,
        db: DbSession,
        status: FromQuery[OrderStatus | None] = None,
        store: FromQuery[str | None] = None,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> OrderPage:
        """Filter by status and by the store the order was placed through."""
        return await OrderService(db).page(
            principal.tenant_id, cursor=cursor, limit=check_limit(limit), status=status, store=store
        )


FulfilmentAction = Literal["ship", "ready", "deliver", "pickup"]


def _check_action(action: str) -> str:
    """A second line behind the path parameter's enum."""
    if action not in ("ship", "ready", "deliver", "pickup"):
        raise ValidationFailed("action must be one of ship, ready, deliver, pickup")
    return action


class _FulfilmentActions(Controller):
    """Shared by the HQ, store and distributor fulfilment routes."""

    @post(
        "/fulfilments/{fulfilment_id:int}/{action:str}",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
        summary="Ship, mark ready, deliver or hand over a fulfilment",
    )
    async def act(
        self,
        fulfilment_id: FromPath[int],
        action: FromPath[FulfilmentAction],
        principal: Caller,
        db: DbSession,
        data: JSONBody[Shipment | None] = None,
    ) -> FulfilmentRead:
        """``ship`` and ``pickup`` take the goods out of the location's stock; ``ship`` may carry the tracking."""
        return await FulfilmentService(db).fulfil(
            principal.tenant_id, fulfilment_id, _check_action(action), principal, data
        )


class HqFulfilmentController(_FulfilmentActions):
    """HQ acts on any fulfilment."""

    path = "/v1/hq"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}


class DistributorFulfilmentController(_FulfilmentActions):
    """A distributor acts on fulfilments at its warehouses."""

    path = "/v1/distributor"
    tags = ["distributor"]
    dependencies = {"principal": Provide(require_staff("distributor"))}


class StoreOrderController(_FulfilmentActions):
    """A store sees the orders it is credited with or fulfils, and acts on its own fulfilments."""

    path = "/v1/store"
    tags = ["store"]
    dependencies = {"principal": Provide(require_staff("store"))}

    @get("/orders", responses=problems(401, 403, 422), summary="Orders credited to or fulfilled by this store")
    async def list_orders(
        self,
        principal: Caller,
        db: DbSession,
        status: FromQuery[OrderStatus | None] = None,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> OrderPage:
        """Newest first."""
        return await OrderService(db).page(
            principal.tenant_id, cursor=cursor, limit=check_limit(limit), status=status, store_id=principal.store_id
        )
