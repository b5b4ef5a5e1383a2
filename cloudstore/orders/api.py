"""Order routes for consumers, HQ, stores and distributors."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_consumer, require_staff
from cloudstore.http.deps import DbSession, Limit, Shop, provide_shop_tenant
from cloudstore.http.idempotent import IdempotencyKey, idempotent
from cloudstore.http.problems import problems
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.paging import check_limit, decode_cursor, encode_cursor
from cloudstore.orders.schemas import (
    AttributionView,
    CommissionView,
    FulfilmentRead,
    HqOrderRead,
    OrderCreate,
    OrderCreated,
    OrderPage,
    OrderRead,
    PaymentRead,
    PayRequest,
    RefundCreate,
    RefundRead,
    Shipment,
)
from cloudstore.orders.service import OrderService
from cloudstore.payments.service import PaymentService

__all__ = (
    "DistributorFulfilmentController",
    "HqFulfilmentController",
    "HqOrderController",
    "ShopOrderController",
    "StoreOrderController",
)

Action = Literal["ship", "ready", "deliver", "pickup"]
OrderStatus = Literal["pending_payment", "paid", "completed", "cancelled", "expired", "refunded"]


async def _page(service: OrderService, limit: int | None, cursor: str | None, **filters: Any) -> OrderPage:
    before = decode_cursor(cursor, int)
    items, last = await service.page(limit=check_limit(limit), before=before[0] if before else None, **filters)
    return OrderPage(items=items, next_cursor=encode_cursor(last) if last is not None else None)


class ShopOrderController(Controller):
    """A consumer's orders."""

    path = "/v1/shop/{tenant:str}/orders"
    tags = ["shop"]  # noqa: RUF012
    dependencies = {"shop": Provide(provide_shop_tenant), "consumer": Provide(require_consumer)}  # noqa: RUF012

    @post(
        "/",
        status_code=201,
        responses=problems(400, 401, 404, 409, 422),
        summary="Place an order (Idempotency-Key required)",
    )
    async def place(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OrderCreate],
        shop: Shop,
        consumer: Caller,
        db: DbSession,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[OrderCreated]:
        """Route the order, reserve all its stock or none, and hold it for payment."""
        return await idempotent(
            request,
            db,
            tenant_id=shop.id,
            scope=f"{consumer.actor}:orders",
            status_code=201,
            key=idempotency_key,
            run=lambda: OrderService(db, shop.id).place(consumer.subject_id, data),
        )

    @get("/", responses=problems(401, 404, 422), summary="The consumer's orders")
    async def list_orders(
        self,
        shop: Shop,
        consumer: Caller,
        db: DbSession,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> OrderPage:
        """Newest first."""
        return await _page(OrderService(db, shop.id), limit, cursor, consumer_id=consumer.subject_id)

    @get("/{order_no:str}", responses=problems(401, 404), summary="One of the consumer's orders")
    async def read(self, order_no: FromPath[str], shop: Shop, consumer: Caller, db: DbSession) -> OrderRead:
        """Another consumer's order is not found."""
        return await OrderService(db, shop.id).read(order_no, consumer_id=consumer.subject_id)

    @post(
        "/{order_no:str}/pay",
        status_code=200,
        responses=problems(400, 401, 404, 409, 422, 503),
        summary="Start paying (Idempotency-Key required)",
    )
    async def pay(
        self,
        request: Request[Any, Any, Any],
        order_no: FromPath[str],
        data: JSONBody[PayRequest],
        shop: Shop,
        consumer: Caller,
        db: DbSession,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[PaymentRead]:
        """Create a payment with the provider; ``params`` go to ``wx.requestPayment``."""
        service = PaymentService(db, shop.id, request.app.state.payment_providers)
        return await idempotent(
            request,
            db,
            tenant_id=shop.id,
            scope=f"{consumer.actor}:pay:{order_no}",
            status_code=200,
            key=idempotency_key,
            run=lambda: service.start(order_no, consumer.subject_id, data.provider),
        )

    @post("/{order_no:str}/cancel", status_code=200, responses=problems(401, 404, 409, 503), summary="Cancel")
    async def cancel(
        self, request: Request[Any, Any, Any], order_no: FromPath[str], shop: Shop, consumer: Caller, db: DbSession
    ) -> OrderRead:
        """Cancel while unpaid, or paid but not shipped (then refunded in full); the stock is released."""
        await PaymentService(db, shop.id, request.app.state.payment_providers).cancel_paid(
            order_no, consumer.subject_id
        )
        return await OrderService(db, shop.id).read(order_no, consumer_id=consumer.subject_id)


class HqOrderController(Controller):
    """HQ reads every order and refunds."""

    path = "/v1/hq/orders"
    tags = ["hq"]  # noqa: RUF012
    dependencies = {"principal": Provide(require_staff("hq"))}  # noqa: RUF012

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
        return await _page(OrderService(db, principal.tenant_id), limit, cursor, status=status, store=store)

    @get("/{order_no:str}", responses=problems(401, 403, 404), summary="An order with routing, attribution, ledger")
    async def read(self, order_no: FromPath[str], principal: Caller, db: DbSession) -> HqOrderRead:
        """The order, its fulfilments, the routing trace, who is credited and the commission entries."""
        service = OrderService(db, principal.tenant_id)
        o, lines, fulfilments, trace = await service.read_for_hq(order_no)
        attribution, commissions = await _attribution(db, principal.tenant_id, o)
        return HqOrderRead(
            order_no=o.order_no,
            status=o.status,
            store=o.store_code,
            koc=o.koc_code,
            mode=o.mode,
            delivery=o.delivery,
            goods_total=o.goods_total,
            total=o.total,
            refunded_total=o.refunded_total,
            lines=lines,
            fulfilments=fulfilments,
            routing_trace=trace,
            attribution=attribution,
            commissions=commissions,
            created_at=o.created_at,
            expires_at=o.expires_at,
            paid_at=o.paid_at,
            completed_at=o.completed_at,
        )

    @post(
        "/{order_no:str}/refunds",
        status_code=201,
        responses=problems(400, 401, 403, 404, 409, 422, 503),
        summary="Refund lines or the whole order (Idempotency-Key required)",
    )
    async def refund(
        self,
        request: Request[Any, Any, Any],
        order_no: FromPath[str],
        data: JSONBody[RefundCreate],
        principal: Caller,
        db: DbSession,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RefundRead]:
        """Money goes back through the provider; commissions are reversed pro rata."""
        service = PaymentService(db, principal.tenant_id, request.app.state.payment_providers)
        return await idempotent(
            request,
            db,
            tenant_id=principal.tenant_id,
            scope=f"{principal.actor}:refund:{order_no}",
            status_code=201,
            key=idempotency_key,
            run=lambda: service.refund(order_no, data),
        )


async def _attribution(db: Any, tenant_id: int, o: Any) -> tuple[AttributionView, list[CommissionView]]:
    try:
        from cloudstore.referrals.service import order_attribution
    except ImportError:
        return AttributionView(store=None, distributor=None, koc=None), []
    attribution, commissions = await order_attribution(db, tenant_id, o.id)
    return (
        AttributionView(
            store=attribution.store,
            distributor=attribution.distributor,
            koc=attribution.koc,
            source=getattr(attribution, "source", None),
        ),
        [
            CommissionView(
                beneficiary_kind=c.beneficiary_kind,
                beneficiary=c.beneficiary,
                amount=c.amount,
                status=c.status,
                kind=c.kind,
            )
            for c in commissions
        ],
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
        return await OrderService(db, principal.tenant_id).fulfil(fulfilment_id, _check_action(action), principal, data)


class HqFulfilmentController(_FulfilmentActions):
    """HQ acts on any fulfilment."""

    path = "/v1/hq"
    tags = ["hq"]  # noqa: RUF012
    dependencies = {"principal": Provide(require_staff("hq"))}  # noqa: RUF012


class DistributorFulfilmentController(_FulfilmentActions):
    """A distributor acts on fulfilments at its warehouses."""

    path = "/v1/distributor"
    tags = ["distributor"]  # noqa: RUF012
    dependencies = {"principal": Provide(require_staff("distributor"))}  # noqa: RUF012


class StoreOrderController(_FulfilmentActions):
    """A store sees the orders it is credited with or fulfils, and acts on its own fulfilments."""

    path = "/v1/store"
    tags = ["store"]  # noqa: RUF012
    dependencies = {"principal": Provide(require_staff("store"))}  # noqa: RUF012

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
        return await _page(
            OrderService(db, principal.tenant_id), limit, cursor, status=status, store_id=principal.store_id
        )
