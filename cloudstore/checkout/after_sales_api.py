"""Routes of the after-sales journeys: the consumer's requests, and HQ's and stores' decisions on them."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.aftersales import service as after_sales
from cloudstore.aftersales.schemas import AfterSaleCreate, AfterSalePage, AfterSaleRead, AfterSaleStatus, ReceiptIn
from cloudstore.aftersales.service import Scope
from cloudstore.auth.guards import Caller, require_consumer, require_staff
from cloudstore.checkout import after_sales as journey
from cloudstore.http.deps import DbSession, Limit, Shop, provide_shop_tenant
from cloudstore.http.idempotent import OptionalIdempotencyKey, idempotent
from cloudstore.http.problems import problems
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.paging import check_limit
from cloudstore.orders.reading import order_header

__all__ = ("HqAfterSaleController", "ShopAfterSaleController", "StoreAfterSaleController")

AfterSaleAction = Literal["approve", "reject", "receive", "refund"]


class ShopAfterSaleController(Controller):
    """A consumer asks for a refund or a return of a paid order's units, follows it, and may withdraw it."""

    path = "/v1/shop/{tenant:str}"
    tags = ["shop"]
    dependencies = {"shop": Provide(provide_shop_tenant), "consumer": Provide(require_consumer)}

    @post(
        "/orders/{order_no:str}/after-sales",
        status_code=201,
        responses=problems(400, 401, 404, 409, 422),
        summary="Ask for a refund of unshipped units or a return of shipped ones (Idempotency-Key recommended)",
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        order_no: FromPath[str],
        data: JSONBody[AfterSaleCreate],
        shop: Shop,
        consumer: Caller,
        db: DbSession,
        idempotency_key: OptionalIdempotencyKey = None,
    ) -> Response[Any]:
        """Only for paid orders; ``return`` only for units shipped or picked up, ``refund_only`` for the others;
        never more units than were bought less those refunded or in open after-sales (422).

        The same ``Idempotency-Key`` with the same body replays the first answer; with another body it is 422
        ``idempotency_conflict`` (409 while the first is still running). Without a key each request asks anew.
        """
        if idempotency_key is None:
            made = await journey.request(db, shop.id, consumer.subject_id, order_no, data)
            return Response(content=msgspec.json.encode(made), status_code=201, media_type=MediaType.JSON)
        return await idempotent(
            request,
            db,
            tenant_id=shop.id,
            scope=f"{consumer.actor}:after-sales:{order_no}",
            status_code=201,
            key=idempotency_key,
            run=lambda _: journey.request(db, shop.id, consumer.subject_id, order_no, data),
        )

    @get("/orders/{order_no:str}/after-sales", responses=problems(401, 404, 422), summary="An order's after-sales")
    async def list_for_order(
        self,
        order_no: FromPath[str],
        shop: Shop,
        consumer: Caller,
        db: DbSession,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> AfterSalePage:
        """The consumer's after-sales of one of their orders, newest first."""
        o = await order_header(db, shop.id, order_no, consumer_id=consumer.subject_id)
        return await after_sales.page(
            db, shop.id, Scope(consumer_id=consumer.subject_id), limit=check_limit(limit), cursor=cursor, order_id=o.id
        )

    @post(
        "/after-sales/{after_sale_id:int}/cancel",
        status_code=200,
        responses=problems(401, 404, 409),
        summary="Withdraw an after-sale while it is only requested",
    )
    async def cancel(self, after_sale_id: FromPath[int], shop: Shop, consumer: Caller, db: DbSession) -> AfterSaleRead:
        """Another consumer's after-sale is not found; once decided it can no longer be withdrawn (409)."""
        return await journey.cancel(db, shop.id, consumer.subject_id, after_sale_id)


def _check_action(action: str) -> str:
    """A second line behind the path parameter's enum."""
    if action not in ("approve", "reject", "receive", "refund"):
        raise ValidationFailed("action must be one of approve, reject, receive, refund")
    return action


class _AfterSaleDecisions(Controller):
    """Shared by the HQ and store routes: the store form sees only after-sales of its fulfilments."""

    @get("/", responses=problems(401, 403, 422), summary="After-sales, newest first")
    async def list_after_sales(
        self,
        principal: Caller,
        db: DbSession,
        status: FromQuery[AfterSaleStatus | None] = None,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> AfterSalePage:
        """Filter by status."""
        scope = await journey.staff_scope(db, principal)
        return await after_sales.page(
            db, principal.tenant_id, scope, limit=check_limit(limit), cursor=cursor, status=status
        )

    @post(
        "/{after_sale_id:int}/{action:str}",
        status_code=200,
        responses=problems(400, 401, 403, 404, 409, 422, 503),
        summary="Approve, reject, receive or refund an after-sale",
    )
    async def act(
        self,
        request: Request[Any, Any, Any],
        after_sale_id: FromPath[int],
        action: FromPath[AfterSaleAction],
        principal: Caller,
        db: DbSession,
        data: JSONBody[ReceiptIn | None] = None,
    ) -> AfterSaleRead:
        """``approve`` refunds a ``refund_only`` at once (its units' stock is released); a ``return`` is then
        received (``{"location","lines":[{"sku","qty","restock"}]}``, restocked units back on hand as a ``return``
        movement) and refunded. Asking again for a step already done answers the same and does nothing."""
        providers = request.app.state.payment_providers
        return await journey.act(
            db, principal.tenant_id, providers, principal, after_sale_id, _check_action(action), data
        )


class HqAfterSaleController(_AfterSaleDecisions):
    """HQ decides on every after-sale (a location-bound API key on those of its location)."""

    path = "/v1/hq/after-sales"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}


class StoreAfterSaleController(_AfterSaleDecisions):
    """A store decides on the after-sales of its fulfilments and receives returns at its own location."""

    path = "/v1/store/after-sales"
    tags = ["store"]
    dependencies = {"principal": Provide(require_staff("store"))}
