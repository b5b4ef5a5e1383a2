"""Routes of the checkout journeys: placing, paying, cancelling, refunding, the provider notifications,
HQ's view of an order, and a consumer's scan of a product's code."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_consumer, require_staff
from cloudstore.checkout.cancel import cancel_order
from cloudstore.checkout.orders import hq_order
from cloudstore.checkout.pay import apply_notification, start_payment
from cloudstore.checkout.place import place_order
from cloudstore.checkout.quote import quote_order
from cloudstore.checkout.refund import refund_order
from cloudstore.checkout.scan import scan_code
from cloudstore.checkout.schemas import HqOrderRead
from cloudstore.codes.schemas import ScanCreate, ScanResult
from cloudstore.http.deps import (
    DbSession,
    Limit,
    Shop,
    provide_checkout_tenant,
    provide_placing_tenant,
    provide_shop_tenant,
)
from cloudstore.http.idempotent import IdempotencyKey, idempotent
from cloudstore.http.problems import problems
from cloudstore.lib.errors import DomainError, InvalidSignature, NotFound, ValidationFailed
from cloudstore.lib.paging import check_limit
from cloudstore.orders.reading import OrderService
from cloudstore.orders.schemas import OrderCreate, OrderCreated, OrderPage, OrderRead
from cloudstore.payments.gateways import base as p
from cloudstore.payments.schemas import NotificationAck, PaymentRead, PayRequest, RefundCreate, RefundRead
from cloudstore.payments.service import scoped_notification
from cloudstore.pricing.schemas import QuoteRead

__all__ = (
    "HqCheckoutController",
    "PaymentNotificationController",
    "ShopCheckoutController",
    "ShopQuoteController",
    "ShopScanController",
)

# The notification log keeps the name it has always had, so its readers find it.
_log = logging.getLogger("cloudstore.payments.api")


class ShopCheckoutController(Controller):
    """A consumer places, lists, pays for and cancels orders (one controller: Litestar serves a path from one)."""

    path = "/v1/shop/{tenant:str}/orders"
    tags = ["shop"]
    dependencies = {"shop": Provide(provide_shop_tenant), "consumer": Provide(require_consumer)}

    @post(
        "/",
        dependencies={"shop": Provide(provide_placing_tenant)},
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
        """Route and price the order, reserve all its stock or none, and hold it for payment.

        ``coupon``: one of the consumer's coupon ids (422 ``coupon_not_usable`` if it does not apply or another
        order holds it). ``expected_total``: the quoted total; if the order now costs something else, 409
        ``price_changed`` and nothing is written. An unserved region is 422 ``region_not_served``.
        """
        return await idempotent(
            request,
            db,
            tenant_id=shop.id,
            scope=f"{consumer.actor}:orders",
            status_code=201,
            key=idempotency_key,
            run=lambda reply: place_order(db, shop.id, consumer.subject_id, data, reply=reply),
            journey_claims=True,
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
        return await OrderService(db).page(
            shop.id, cursor=cursor, limit=check_limit(limit), consumer_id=consumer.subject_id
        )

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
        providers = request.app.state.payment_providers
        return await idempotent(
            request,
            db,
            tenant_id=shop.id,
            scope=f"{consumer.actor}:pay:{order_no}",
            status_code=200,
            key=idempotency_key,
            run=lambda _: start_payment(db, shop.id, providers, order_no, consumer.subject_id, data.provider),
        )

    @post("/{order_no:str}/cancel", status_code=200, responses=problems(401, 404, 409, 503), summary="Cancel")
    async def cancel(
        self, request: Request[Any, Any, Any], order_no: FromPath[str], shop: Shop, consumer: Caller, db: DbSession
    ) -> OrderRead:
        """Cancel while unpaid, or paid but not shipped (then refunded in full); the stock is released."""
        await cancel_order(db, shop.id, request.app.state.payment_providers, order_no, consumer.subject_id)
        return await OrderService(db).read(shop.id, order_no, consumer_id=consumer.subject_id)


class ShopQuoteController(Controller):
    """A consumer asks what a cart would cost before placing it."""

    path = "/v1/shop/{tenant:str}"
    tags = ["shop"]
    dependencies = {"shop": Provide(provide_checkout_tenant), "consumer": Provide(require_consumer)}

    @post("/quote", status_code=200, responses=problems(401, 404, 409, 422), summary="Quote a cart")
    async def quote(self, data: JSONBody[OrderCreate], shop: Shop, consumer: Caller, db: DbSession) -> QuoteRead:
        """The order body priced as placing it now would: each line's store price, discount, paid amount and
        shelf, the routing plan, the delivery fee, the best promotion, the coupon asked for, and for each of the
        consumer's coupons whether it applies and if not why. Reads only: nothing is reserved, locked or written.
        An unserved region is 422 ``region_not_served``; stock short is 409 ``insufficient_stock``.
        """
        return await quote_order(db, shop.id, consumer.subject_id, data)


class HqCheckoutController(Controller):
    """HQ reads an order whole and refunds."""

    path = "/v1/hq/orders"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/{order_no:str}", responses=problems(401, 403, 404), summary="An order with routing, attribution, ledger")
    async def read(self, order_no: FromPath[str], principal: Caller, db: DbSession) -> HqOrderRead:
        """The order, its fulfilments, the routing trace, who is credited and the commission entries."""
        return await hq_order(db, principal.tenant_id, order_no)

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
        """Money goes back through the provider; commissions are reversed pro rata.

        Units held by open after-sales are not refunded here: asking for them (or for ``all`` while any are held)
        is 409 ``held_by_after_sale``, ``errors`` naming each hold; decide the after-sale instead.
        """
        providers = request.app.state.payment_providers
        return await idempotent(
            request,
            db,
            tenant_id=principal.tenant_id,
            scope=f"{principal.actor}:refund:{order_no}",
            status_code=201,
            key=idempotency_key,
            run=lambda _: refund_order(db, principal.tenant_id, providers, order_no, data),
        )


async def _handle(request: Request[Any, Any, Any], db: Any, name: str) -> NotificationAck:
    providers = request.app.state.payment_providers
    if name not in providers:
        raise NotFound("payment provider", name)
    body = await request.body()
    try:
        tenant_id, note = await scoped_notification(db, providers[name], dict(request.headers), body, datetime.now(UTC))
    except p.InvalidSignature as exc:
        raise InvalidSignature(str(exc) or "the notification signature does not verify") from exc
    except p.InvalidNotification as exc:
        raise ValidationFailed(str(exc) or "the notification is not usable") from exc
    raw: dict[str, Any] = msgspec.json.decode(body) if body.startswith(b"{") else {}
    try:
        outcome = await apply_notification(db, tenant_id, providers, name, note, raw)
    except p.InvalidNotification as exc:
        _refused(name, note.payment_id, "validation_failed")
        raise ValidationFailed(str(exc) or "the notification is not usable") from exc
    except DomainError as exc:
        # Authentic but not applicable (unknown payment, another order, wrong amount): the transaction rolls
        # back, so nothing changes; the provider gets a 4xx it will not retry as a fault of ours.
        _refused(name, note.payment_id, exc.code)
        raise
    _log.info("payment notification", extra={"provider": name, "payment": note.payment_id, "outcome": outcome})
    return NotificationAck(code="SUCCESS", message=outcome)


def _refused(provider: str, payment_id: str, code: str) -> None:
    _log.warning("payment notification refused", extra={"provider": provider, "payment": payment_id, "code": code})


class PaymentNotificationController(Controller):
    """Asynchronous payment and refund notifications."""

    path = "/v1/payments"
    tags = ["payments"]

    @post(
        "/local/notify",
        status_code=200,
        responses=problems(401, 404, 409, 422),
        summary="Local provider notification (HMAC-signed)",
        security=[],
    )
    async def local_notify(self, request: Request[Any, Any, Any], db: DbSession) -> NotificationAck:
        """Body signed with ``X-Local-Signature``; a repeat is acknowledged and changes nothing."""
        return await _handle(request, db, "local")

    @post(
        "/wechat/notify",
        status_code=200,
        responses=problems(401, 404, 409, 422),
        summary="WeChat Pay v3 notification",
        security=[],
    )
    async def wechat_notify(self, request: Request[Any, Any, Any], db: DbSession) -> Response[NotificationAck]:
        """Verifies the Wechatpay-* signature headers, decrypts ``resource``, then applies it once."""
        return Response(await _handle(request, db, "wechat"), status_code=200)


class ShopScanController(Controller):
    """A consumer scans a product's code."""

    path = "/v1/shop/{tenant:str}"
    tags = ["shop"]
    dependencies = {"shop": Provide(provide_shop_tenant), "consumer": Provide(require_consumer)}

    @post("/scans", status_code=200, responses=problems(401, 404, 422), summary="Scan a product's code")
    async def scan(self, data: JSONBody[ScanCreate], shop: Shop, consumer: Caller, db: DbSession) -> ScanResult:
        """``genuine`` (shipped), ``not_distributed`` or ``unknown`` — a malformed code answers ``unknown`` with the
        same status and shape as a well-formed code that does not exist. With the product, the first scan's time,
        how many scans and distinct scanners; the scan binds the consumer to the store the unit was shipped to
        under the attribution policy (when the code policy says so), and the first scanner gets the reward.
        ``diversion``: the scan lies outside the regions of the distributor the unit went to (a signal only).
        """
        return await scan_code(db, shop.id, consumer.subject_id, data)
