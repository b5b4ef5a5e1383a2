"""The shopper's checkout, orders and payment under ``/s/{tenant}/{store}``: a session each, as the JSON routes.

Each handler reads a form or a query, calls the service the JSON route calls (quoting, order placement, order
and after-sale reads, payment) and renders a template; errors render as pages (:mod:`cloudstore.web.requests`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from cloudstore.aftersales import service as after_sales
from cloudstore.aftersales.service import Scope
from cloudstore.checkout.pay import apply_notification, start_payment
from cloudstore.checkout.quote import quote_order
from cloudstore.http.deps import DbSession, Shop, provide_shop_tenant
from cloudstore.lib.errors import DomainError, NotFound, ValidationFailed
from cloudstore.orders.reading import OrderService
from cloudstore.payments.gateways.local import (
    LOCAL_SIGNATURE_HEADER,
    encode_local_notification,
    sign_local_notification,
)
from cloudstore.payments.service import scoped_notification
from cloudstore.stores.links import share_links
from cloudstore.stores.storefront import StorefrontService
from cloudstore.web.forms import order_from_form, place_once
from cloudstore.web.requests import (
    base_path,
    checked_code,
    page_context,
    page_cookie,
    page_handlers,
    signed_in,
)
from cloudstore.web.service import price_cart, served_regions
from cloudstore.web.visit import CART_COOKIE, decode_cart

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("OrderPages",)

_AFTER_SALES_SHOWN = 50  # an order has a handful; the page shows the newest this many


class OrderPages(Controller):
    """The checkout, orders and payment pages of one store's cloud storefront."""

    path = "/s/{tenant:str}/{store:str}"
    include_in_schema = False
    dependencies = {"shop": Provide(provide_shop_tenant)}  # noqa: RUF012
    exception_handlers = page_handlers()

    @get("/checkout", name="checkout")
    async def checkout_page(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Template:
        """Pickup or delivery, and the quote for the cart as chosen: shelves, fee, promotion and coupons.

        The form's choices come back as the query (``更新金额``), so the quote follows them without JavaScript.
        """
        consumer = signed_in(request, state, tenant, store)
        items = decode_cart(request.cookies.get(CART_COOKIE))
        storefront = StorefrontService(db, state.settings)
        shop_store = await storefront.shop_store(shop.id, store)
        view = await price_cart(storefront, shop.id, store, items)
        chosen = dict(request.query_params)
        chosen.setdefault("mode", "pickup" if shop_store.pickup else "delivery")
        chosen.setdefault("region", shop_store.region)
        quote, quote_error = None, None
        if view.orderable:
            try:
                order = order_from_form(items, chosen, store, request)
                quote = await quote_order(db, shop.id, consumer.subject_id, order)
            except DomainError as exc:
                quote_error = exc.detail
        context = page_context(request, state, tenant, shop_store)
        context |= {
            "cart": view,
            "regions": await served_regions(db, shop.id),
            "form_key": secrets.token_urlsafe(16),
            "chosen": chosen,
            "quote": quote,
            "quote_error": quote_error,
        }
        return Template(template_name="checkout.html", context=context)

    @post("/checkout", name="checkout-post", status_code=303)
    async def place(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Redirect:
        """Place the order through the order service; the same form posted twice places one order."""
        consumer = signed_in(request, state, tenant, store)
        form = await request.form()
        items = decode_cart(request.cookies.get(CART_COOKIE))
        if not items:
            raise ValidationFailed("购物车是空的")
        order = order_from_form(items, form, store, request)
        expected = (form.get("expected_total") or "").strip()
        if expected:
            if not expected.isdigit():
                raise ValidationFailed("结算金额有误，请重新打开结算页")
            order = msgspec.structs.replace(order, expected_total=int(expected))
        created = await place_once(db, shop.id, consumer, order, form.get("form_key"))
        base = base_path(tenant, store)
        emptied = page_cookie(request, CART_COOKIE, "", base, max_age=0)
        return Redirect(f"{base}/orders/{quote(created.order_no, safe='')}", status_code=303, cookies=[emptied])

    @get("/orders", name="orders")
    async def orders(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Template:
        """The shopper's orders, newest first."""
        consumer = signed_in(request, state, tenant, store)
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        orders = await OrderService(db).page(shop.id, cursor=None, limit=50, consumer_id=consumer.subject_id)
        context = page_context(request, state, tenant, shop_store)
        context["orders"] = orders.items
        return Template(template_name="orders.html", context=context)

    @get("/orders/{order_no:str}", name="order")
    async def order(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        order_no: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Template:
        """One of the shopper's orders: its lines, status, fulfilments and their tracking, and the shopper's
        after-sales of it (newest first), as the JSON routes read them."""
        consumer = signed_in(request, state, tenant, store)
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        found = await OrderService(db).read(shop.id, order_no, consumer_id=consumer.subject_id)
        asked = await after_sales.page(
            db, shop.id, Scope(consumer_id=consumer.subject_id), limit=_AFTER_SALES_SHOWN, order_no=order_no
        )
        context = page_context(request, state, tenant, shop_store)
        context |= {
            "order": found,
            "after_sales": asked.items,
            "line_titles": {line.sku: f"{line.title} {line.spec}" for line in found.lines},
        }
        return Template(template_name="order.html", context=context)

    @post("/orders/{order_no:str}/pay", name="pay", status_code=303)
    async def pay(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        order_no: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Redirect | Template:
        """Start paying through the payment service: the local cashier outside production, else WeChat Pay."""
        consumer = signed_in(request, state, tenant, store)
        provider = "local" if state.settings.local_providers_enabled else "wechat"
        providers = request.app.state.payment_providers
        payment = await start_payment(db, shop.id, providers, order_no, consumer.subject_id, provider)
        base = base_path(tenant, store)
        if provider == "local":
            cashier = f"{base}/orders/{quote(order_no, safe='')}/cashier?{urlencode({'payment': payment.payment_id})}"
            return Redirect(cashier, status_code=303)
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        context = page_context(request, state, tenant, shop_store)
        context |= {"links": share_links(state.settings, tenant, store), "order_no": order_no}
        return Template(template_name="wechat_pay.html", context=context)

    @get("/orders/{order_no:str}/cashier", name="cashier")
    async def cashier(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        order_no: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
        payment: FromQuery[str],
    ) -> Template:
        """The local provider's cashier (outside production only): the amount and a button to pay."""
        consumer = signed_in(request, state, tenant, store)
        if not state.settings.local_providers_enabled:
            raise NotFound("cashier")
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        found = await OrderService(db).read(shop.id, order_no, consumer_id=consumer.subject_id)
        context = page_context(request, state, tenant, shop_store)
        context |= {"order": found, "payment_id": checked_code(payment, "payment")}
        return Template(template_name="cashier.html", context=context)

    @post("/orders/{order_no:str}/cashier", name="cashier-post", status_code=303)
    async def cashier_pay(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        order_no: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Redirect:
        """Play the local provider: sign its notification and hand it to the notification service."""
        consumer = signed_in(request, state, tenant, store)
        if not state.settings.local_providers_enabled:
            raise NotFound("cashier")
        form = await request.form()
        payment_id = checked_code(form.get("payment"), "payment")
        found = await OrderService(db).read(shop.id, order_no, consumer_id=consumer.subject_id)
        now = datetime.now(UTC)
        body = encode_local_notification(payment_id=payment_id, order_no=order_no, amount=found.total, paid_at=now)
        signature = sign_local_notification(state.settings.local_pay_secret.encode(), body)
        providers = request.app.state.payment_providers
        tenant_id, note = await scoped_notification(
            db, providers["local"], {LOCAL_SIGNATURE_HEADER: signature}, body, now
        )
        if tenant_id != shop.id:
            raise NotFound("payment", payment_id)
        await apply_notification(db, tenant_id, providers, "local", note, msgspec.json.decode(body))
        return Redirect(f"{base_path(tenant, store)}/orders/{quote(order_no, safe='')}", status_code=303)
