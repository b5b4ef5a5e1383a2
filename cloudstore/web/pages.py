"""The H5 cloud storefront a share link opens: ``/s/{tenant}/{store}[?koc=CODE]`` and the pages under it.

Each handler reads a form or a query, calls the service the JSON route calls (storefront reads, touches,
consumer sign-in, order placement, payment) and renders a template. A shopper's sign-in is the consumer token
the API issues, kept in an HTTP-only cookie; the cart and the links opened in this visit are cookies too
(:mod:`cloudstore.web.visit`). Every error a shopper can cause renders as a page with its status, never a 500.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from sqlalchemy.exc import DBAPIError

from cloudstore.auth.service import AuthService
from cloudstore.checkout.pay import apply_notification, start_payment
from cloudstore.checkout.place import place_order
from cloudstore.checkout.quote import quote_order
from cloudstore.http.deps import DbSession, Shop, provide_shop_tenant
from cloudstore.http.problems import exception_handlers as problem_handlers
from cloudstore.lib.db import scope_to_slug
from cloudstore.lib.errors import DomainError, InsufficientStock, NotFound, Unauthorized, ValidationFailed
from cloudstore.lib.idempotency import StoredResponse, begin_idempotent, finish_idempotent
from cloudstore.orders.reading import OrderService
from cloudstore.orders.schemas import DeliveryIn, LineIn, OrderCreate, OrderCreated
from cloudstore.payments.gateways.local import (
    LOCAL_SIGNATURE_HEADER,
    encode_local_notification,
    sign_local_notification,
)
from cloudstore.payments.service import scoped_notification
from cloudstore.pricing.service import CouponService
from cloudstore.referrals.schemas import TouchCreate
from cloudstore.referrals.service import TouchService
from cloudstore.stores.links import share_links
from cloudstore.stores.storefront import StorefrontService
from cloudstore.web.service import offered_coupons, price_cart, served_regions, shelves_of
from cloudstore.web.templating import STATIC_DIR
from cloudstore.web.visit import (
    CART_COOKIE,
    TOKEN_COOKIE,
    VISIT_COOKIE,
    LinkOpened,
    decode_cart,
    decode_visit,
    encode_cart,
    encode_visit,
    put_item,
)

if TYPE_CHECKING:
    from litestar.datastructures import State
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.auth.tokens import Principal
    from cloudstore.stores.schemas import ShopStore
    from cloudstore.web.visit import CartItem

__all__ = ("StorefrontPages", "static_assets")

_log = logging.getLogger(__name__)

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PAGE_SIZE = 20

static_assets = create_static_files_router(
    path="/static",
    directories=[STATIC_DIR],
    include_in_schema=False,
    # Versioned with the code; an hour keeps repeat visits light without pinning an old file for long.
    cache_control=CacheControlHeader(public=True, max_age=3600),
    name="static",
)


class _SignInFirst(Exception):
    """The page needs a signed-in shopper; ``location`` is the sign-in page that comes back here."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A shopper-facing page for any error, with the status it stands for (unexpected faults are logged).

    A page that needs a signed-in shopper sends a signed-out one to the sign-in page instead.
    """
    if isinstance(exc, _SignInFirst):
        return Redirect(exc.location, status_code=303)
    if isinstance(exc, DomainError):
        status, detail = exc.status, exc.detail
    elif isinstance(exc, ValidationException):
        status, detail = 422, "请求的内容不正确"
    elif isinstance(exc, HTTPException):
        status, detail = exc.status_code, str(exc.detail)
    elif isinstance(exc, DBAPIError):
        _log.warning("page failed on the database", exc_info=exc)
        status, detail = 503, "服务暂时不可用，请稍后再试"
    else:
        _log.exception("page failed", exc_info=exc)
        status, detail = 500, "服务暂时不可用"
    titles = {401: "请先登录", 404: "没有找到", 409: "暂时无法完成", 422: "信息有误"}
    context = {
        "title": titles.get(status, "出错了"),
        "detail": detail,
        "status": status,
        "base": _base(request.path_params.get("tenant", ""), request.path_params.get("store", "")),
        "code": getattr(exc, "code", None),
    }
    return Template(template_name="error.html", context=context, status_code=status)


def _base(tenant: str, store: str) -> str:
    return f"/s/{quote(tenant, safe='')}/{quote(store, safe='')}"


def _code(value: str | None, what: str) -> str:
    if value is None or not _CODE.match(value):
        raise ValidationFailed(f"{what} is not a valid code")
    return value


def _qty(value: str | None) -> int:
    try:
        qty = int(value or "")
    except ValueError:
        raise ValidationFailed("数量必须是整数") from None
    if not 0 <= qty <= 999:
        raise ValidationFailed("数量必须在 0 到 999 之间")
    return qty


def _consumer(request: Request[Any, Any, Any], state: State, tenant: str) -> Principal | None:
    """The signed-in shopper of ``tenant``, or None (an expired or foreign token counts as signed out)."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        return None
    try:
        principal: Principal = state.tokens.verify(token)
    except Unauthorized:
        return None
    return principal if principal.is_consumer and principal.tenant == tenant else None


def _cookie(request: Request[Any, Any, Any], key: str, value: str, path: str, **extra: Any) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        **extra,
    )


def _next_path(base: str, given: str | None, default: str) -> str:
    """Where to go after a form: only a path of this storefront, never another site."""
    if given and (given == base or given.startswith(base + "/") or given.startswith(base + "?")):
        return given
    return default


async def _record_touches(
    session: AsyncSession, tenant_id: int, consumer_id: int, links: list[LinkOpened]
) -> list[LinkOpened]:
    """Touch every link of this visit not yet recorded, through the touch service (the API's)."""
    recorded: list[LinkOpened] = []
    for link in links:
        if link.recorded:
            recorded.append(link)
            continue
        try:
            await TouchService(session).touch(tenant_id, consumer_id, TouchCreate(store=link.store, koc=link.koc))
        except NotFound:
            continue  # the store or KOC in that link is gone: nothing to credit, so the link is forgotten
        recorded.append(LinkOpened(link.store, link.koc, recorded=True))
    return recorded


def _opened(links: list[LinkOpened], store: str, koc: str | None) -> tuple[list[LinkOpened], bool]:
    """The visit's links once ``store``'s page was opened (with ``koc`` from the link, or none).

    Opening a KOC's link is new once per visit; opening the store without one counts only when no link of the
    store was opened yet, so moving between the storefront's own pages never adds a touch.
    """
    if koc is not None:
        seen = any(o.store == store and o.koc == koc for o in links)
    else:
        seen = any(o.store == store for o in links)
    if seen:
        return links, False
    return [*links, LinkOpened(store, koc, recorded=False)], True


def _visit_koc(links: list[LinkOpened], store: str) -> str | None:
    """The KOC of the latest recorded link of ``store`` in this visit: the order is placed through it."""
    return next((o.koc for o in reversed(links) if o.store == store and o.recorded and o.koc), None)


class StorefrontPages(Controller):
    """The pages of one store's cloud storefront."""

    path = "/s/{tenant:str}/{store:str}"
    include_in_schema = False
    dependencies = {"shop": Provide(provide_shop_tenant)}  # noqa: RUF012
    # Every error class the app maps to problem+json renders as a page here instead.
    exception_handlers = dict.fromkeys((*problem_handlers, _SignInFirst), _error_page)

    def _common(self, request: Request[Any, Any, Any], state: State, tenant: str, store: ShopStore) -> dict[str, Any]:
        cart = decode_cart(request.cookies.get(CART_COOKIE))
        return {
            "tenant": tenant,
            "store": store,
            "base": _base(tenant, store.code),
            "consumer": _consumer(request, state, tenant),
            "cart_units": sum(i.qty for i in cart),
            "local": state.settings.local_providers_enabled,
        }

    # --- browsing (read-only: one Core connection, as the JSON storefront routes) ----------------------------

    @get("/", name="storefront")
    async def storefront(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        state: State,
        koc: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """The store, its pinned products and both shelves; a KOC's link is a touch, once per visit."""
        if koc is not None:
            koc = _code(koc, "koc")
        async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
            storefront = StorefrontService(conn, state.settings)
            shop_store = await storefront.shop_store(tenant_id, store)
            page = await storefront.browse(tenant_id, store, category=category, q=q, cursor=cursor, limit=_PAGE_SIZE)
        context = self._common(request, state, tenant, shop_store)
        links, new = _opened(decode_visit(request.cookies.get(VISIT_COOKIE)), store, koc)
        consumer = context["consumer"]
        if new and consumer is not None:
            async with state.db.sessions() as session, session.begin():
                await scope_to_slug(session, tenant, state.tenant_ids)
                links = await _record_touches(session, tenant_id, consumer.subject_id, links)
        more = None
        if page.next_cursor:
            more = "?" + urlencode(
                {k: v for k, v in (("category", category), ("q", q)) if v} | {"cursor": page.next_cursor}
            )
        context |= {
            "shelves": shelves_of(page.items),
            "category": category,
            "q": (q or "").strip(),
            "more": more,
            "links": share_links(state.settings, tenant, store),
        }
        cookies = [_cookie(request, VISIT_COOKIE, encode_visit(links), f"/s/{quote(tenant, safe='')}")] if new else []
        return Template(template_name="storefront.html", context=context, cookies=cookies)

    @get("/p/{code:str}", name="product")
    async def product(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        code: FromPath[str],
        state: State,
    ) -> Template:
        """One product: its SKUs with their price and shelf, to choose one and add it to the cart."""
        async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
            storefront = StorefrontService(conn, state.settings)
            shop_store = await storefront.shop_store(tenant_id, store)
            product = await storefront.product(tenant_id, store, code)
        context = self._common(request, state, tenant, shop_store)
        chosen = next((s.code for s in product.skus if s.shelf != "sold_out"), None)
        context |= {"product": product, "chosen": chosen}
        return Template(template_name="product.html", context=context)

    @get("/cart", name="cart")
    async def cart(
        self, request: Request[Any, Any, Any], tenant: FromPath[str], store: FromPath[str], state: State
    ) -> Template:
        """The cart at the store's current prices and shelves."""
        items = decode_cart(request.cookies.get(CART_COOKIE))
        async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
            storefront = StorefrontService(conn, state.settings)
            shop_store = await storefront.shop_store(tenant_id, store)
            view = await price_cart(storefront, tenant_id, store, items)
        context = self._common(request, state, tenant, shop_store)
        context["cart"] = view
        return Template(template_name="cart.html", context=context)

    @post("/cart", name="cart-put", status_code=303)
    async def put_in_cart(
        self, request: Request[Any, Any, Any], tenant: FromPath[str], store: FromPath[str], state: State
    ) -> Redirect:
        """Add a SKU (``add=1``) or set its quantity; a sold-out SKU cannot be added."""
        form = await request.form()
        product, sku = _code(form.get("product"), "product"), _code(form.get("sku"), "SKU")
        qty, add = _qty(form.get("qty", "1")), form.get("add") == "1"
        items = decode_cart(request.cookies.get(CART_COOKIE))
        if qty > 0:
            async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
                found = await StorefrontService(conn, state.settings).product(tenant_id, store, product)
            on_sale = next((s for s in found.skus if s.code == sku), None)
            if on_sale is None:
                raise NotFound("SKU", sku)
            if on_sale.shelf == "sold_out":
                raise InsufficientStock([{"sku": sku, "shelf": "sold_out"}])
        items = put_item(items, product, sku, qty, add=add)
        base = _base(tenant, store)
        cookie = _cookie(request, CART_COOKIE, encode_cart(items), base)
        return Redirect(_next_path(base, form.get("next"), f"{base}/cart"), status_code=303, cookies=[cookie])

    # --- signing in ------------------------------------------------------------------------------------------

    @get("/login", name="login")
    async def login_page(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        state: State,
        next_path: FromQuery[str | None] = None,
    ) -> Template:
        """Outside production: sign in by a name (the local identity provider); else: open the mini-program."""
        async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
            shop_store = await StorefrontService(conn, state.settings).shop_store(tenant_id, store)
        context = self._common(request, state, tenant, shop_store)
        context |= {
            "next": _next_path(context["base"], next_path, context["base"]),
            "links": share_links(state.settings, tenant, store),
            "wechat": state.settings.wechat.login_configured,
        }
        return Template(template_name="login.html", context=context)

    @post("/login", name="login-post", status_code=303)
    async def login(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Redirect:
        """Sign in through the consumer login service, then touch the links this visit opened."""
        if not state.settings.local_providers_enabled:
            raise NotFound("sign-in by name")
        form = await request.form()
        name = (form.get("name") or "").strip()
        if not _NAME.match(name):
            raise ValidationFailed("名字只能包含字母、数字、下划线或连字符（1–64 个）")
        code = f"local:{name}"
        token = await AuthService(db, state.tokens, state.passwords).consumer_token(
            tenant_id=shop.id, tenant=shop.slug, code=code, provider=state.identity_for(code)
        )
        links = await _record_touches(db, shop.id, token.consumer_id, decode_visit(request.cookies.get(VISIT_COOKIE)))
        tenant_path = f"/s/{quote(tenant, safe='')}"
        lasts = {} if token.expires_at is None else {"expires": int(token.expires_at.timestamp())}
        cookies = [
            _cookie(request, TOKEN_COOKIE, token.access_token, tenant_path, **lasts),
            _cookie(request, VISIT_COOKIE, encode_visit(links), tenant_path),
        ]
        base = _base(tenant, store)
        return Redirect(_next_path(base, form.get("next"), base), status_code=303, cookies=cookies)

    @post("/logout", name="logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], tenant: FromPath[str], store: FromPath[str]) -> Redirect:
        """Forget the sign-in."""
        gone = _cookie(request, TOKEN_COOKIE, "", f"/s/{quote(tenant, safe='')}", max_age=0)
        return Redirect(_base(tenant, store), status_code=303, cookies=[gone])

    # --- checkout, payment and orders (a session, as the JSON routes) ----------------------------------------

    def _signed_in(self, request: Request[Any, Any, Any], state: State, tenant: str, store: str) -> Principal:
        consumer = _consumer(request, state, tenant)
        if consumer is None:
            raise _SignInFirst(f"{_base(tenant, store)}/login?{urlencode({'next_path': request.url.path})}")
        return consumer

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
        consumer = self._signed_in(request, state, tenant, store)
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
                order = _order(items, chosen, store, request)
                quote = await quote_order(db, shop.id, consumer.subject_id, order)
            except DomainError as exc:
                quote_error = exc.detail
        context = self._common(request, state, tenant, shop_store)
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
        consumer = self._signed_in(request, state, tenant, store)
        form = await request.form()
        items = decode_cart(request.cookies.get(CART_COOKIE))
        if not items:
            raise ValidationFailed("购物车是空的")
        order = _order(items, form, store, request)
        expected = (form.get("expected_total") or "").strip()
        if expected:
            if not expected.isdigit():
                raise ValidationFailed("结算金额有误，请重新打开结算页")
            order = msgspec.structs.replace(order, expected_total=int(expected))
        created = await _place_once(db, shop.id, consumer, order, form.get("form_key"))
        base = _base(tenant, store)
        emptied = _cookie(request, CART_COOKIE, "", base, max_age=0)
        return Redirect(f"{base}/orders/{quote(created.order_no, safe='')}", status_code=303, cookies=[emptied])

    @get("/coupons", name="coupons")
    async def coupons(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Template:
        """The brand's and this store's coupons still to be had, and the shopper's own."""
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        now = datetime.now(UTC)
        context = self._common(request, state, tenant, shop_store)
        mine = None
        if context["consumer"] is not None:
            mine = await CouponService(db).mine(shop.id, context["consumer"].subject_id, now, cursor=None, limit=50)
        context |= {"offered": await offered_coupons(db, shop.id, store, now), "mine": mine.items if mine else []}
        return Template(template_name="coupons.html", context=context)

    @post("/coupons/{code:str}/claim", name="coupon-claim", status_code=303)
    async def claim_coupon(
        self,
        request: Request[Any, Any, Any],
        tenant: FromPath[str],
        store: FromPath[str],
        code: FromPath[str],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> Redirect:
        """Claim a coupon through the coupon service (the API's), then show the shopper's coupons."""
        consumer = self._signed_in(request, state, tenant, store)
        await CouponService(db).claim(shop.id, consumer.subject_id, _code(code, "coupon"), datetime.now(UTC))
        return Redirect(f"{_base(tenant, store)}/coupons", status_code=303)

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
        consumer = self._signed_in(request, state, tenant, store)
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        orders = await OrderService(db).page(shop.id, cursor=None, limit=50, consumer_id=consumer.subject_id)
        context = self._common(request, state, tenant, shop_store)
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
        """One of the shopper's orders: its lines, status, fulfilments and their tracking."""
        consumer = self._signed_in(request, state, tenant, store)
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        found = await OrderService(db).read(shop.id, order_no, consumer_id=consumer.subject_id)
        context = self._common(request, state, tenant, shop_store)
        context["order"] = found
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
        consumer = self._signed_in(request, state, tenant, store)
        provider = "local" if state.settings.local_providers_enabled else "wechat"
        providers = request.app.state.payment_providers
        payment = await start_payment(db, shop.id, providers, order_no, consumer.subject_id, provider)
        base = _base(tenant, store)
        if provider == "local":
            cashier = f"{base}/orders/{quote(order_no, safe='')}/cashier?{urlencode({'payment': payment.payment_id})}"
            return Redirect(cashier, status_code=303)
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        context = self._common(request, state, tenant, shop_store)
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
        consumer = self._signed_in(request, state, tenant, store)
        if not state.settings.local_providers_enabled:
            raise NotFound("cashier")
        shop_store = await StorefrontService(db, state.settings).shop_store(shop.id, store)
        found = await OrderService(db).read(shop.id, order_no, consumer_id=consumer.subject_id)
        context = self._common(request, state, tenant, shop_store)
        context |= {"order": found, "payment_id": _code(payment, "payment")}
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
        consumer = self._signed_in(request, state, tenant, store)
        if not state.settings.local_providers_enabled:
            raise NotFound("cashier")
        form = await request.form()
        payment_id = _code(form.get("payment"), "payment")
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
        return Redirect(f"{_base(tenant, store)}/orders/{quote(order_no, safe='')}", status_code=303)


def _order(items: list[CartItem], form: Any, store: str, request: Request[Any, Any, Any]) -> OrderCreate:
    """The order body the checkout form describes: the cart, the delivery choice and the chosen coupon."""
    if not items:
        raise ValidationFailed("购物车是空的")
    coupon = (form.get("coupon") or "").strip()
    if coupon and not coupon.isdigit():
        raise ValidationFailed("优惠券有误")
    return OrderCreate(
        lines=[LineIn(sku=i.sku, qty=i.qty) for i in items],
        delivery=_delivery(form),
        store=store,
        koc=_visit_koc(decode_visit(request.cookies.get(VISIT_COOKIE)), store),
        coupon=int(coupon) if coupon else None,
    )


def _delivery(form: Any) -> DeliveryIn:
    """The checkout form's delivery choice, validated as the JSON route validates it."""
    mode = form.get("mode")
    raw: dict[str, Any] = {"mode": mode}
    if mode == "delivery":
        for field in ("region", "address", "contact", "phone"):
            value = (form.get(field) or "").strip()
            if value:
                raw[field] = value
        for field in ("lat", "lng"):
            value = (form.get(field) or "").strip()
            if value:
                try:
                    raw[field] = float(value)
                except ValueError:
                    raise ValidationFailed("坐标必须是数字") from None
    try:
        return msgspec.convert(raw, DeliveryIn)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(f"配送信息不完整或有误：{exc}") from exc


async def _place_once(
    db: AsyncSession, tenant_id: int, consumer: Principal, order: OrderCreate, form_key: str | None
) -> OrderCreated:
    """Place ``order`` under the checkout form's key, so a form posted twice places it once."""
    if not form_key:
        raise ValidationFailed("结算表单已失效，请重新打开结算页")
    body = msgspec.json.encode(order)
    claim = await begin_idempotent(
        db, tenant_id=tenant_id, scope=f"{consumer.actor}:web-orders", key=form_key, body=body
    )
    if isinstance(claim, StoredResponse):
        replayed: OrderCreated = msgspec.json.decode(claim.body, type=OrderCreated)
        return replayed
    created = await place_order(db, tenant_id, consumer.subject_id, order)
    await finish_idempotent(db, claim, status_code=201, body=msgspec.json.encode(created))
    return created
