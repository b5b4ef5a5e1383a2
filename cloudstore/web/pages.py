"""The H5 cloud storefront a share link opens: ``/s/{tenant}/{store}[?koc=CODE]``, its products and cart,
signing in and coupons.

Each handler reads a form or a query, calls the service the JSON route calls (storefront reads, touches,
consumer sign-in, coupons) and renders a template; what it reads off the request, and the page an error renders
as, are :mod:`cloudstore.web.requests`. Checkout, orders and payment are :mod:`cloudstore.web.order_pages`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

from cloudstore.auth.service import AuthService
from cloudstore.http.deps import DbSession, Shop, provide_shop_tenant
from cloudstore.lib.db import scope_to_slug
from cloudstore.lib.errors import InsufficientStock, NotFound, ValidationFailed
from cloudstore.pricing.service import CouponService
from cloudstore.stores.links import share_links
from cloudstore.stores.storefront import StorefrontService
from cloudstore.web.requests import (
    base_path,
    checked_code,
    checked_qty,
    next_path_in,
    opened,
    page_context,
    page_cookie,
    page_handlers,
    record_touches,
    signed_in,
)
from cloudstore.web.service import offered_coupons, price_cart, shelves_of
from cloudstore.web.templating import STATIC_DIR
from cloudstore.web.visit import (
    CART_COOKIE,
    TOKEN_COOKIE,
    VISIT_COOKIE,
    decode_cart,
    decode_visit,
    encode_cart,
    encode_visit,
    put_item,
)

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("StorefrontPages", "static_assets")

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


class StorefrontPages(Controller):
    """The pages of one store's cloud storefront: browsing, the cart, signing in and coupons."""

    path = "/s/{tenant:str}/{store:str}"
    include_in_schema = False
    dependencies = {"shop": Provide(provide_shop_tenant)}  # noqa: RUF012
    exception_handlers = page_handlers()

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
            koc = checked_code(koc, "koc")
        async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
            storefront = StorefrontService(conn, state.settings)
            shop_store = await storefront.shop_store(tenant_id, store)
            page = await storefront.browse(tenant_id, store, category=category, q=q, cursor=cursor, limit=_PAGE_SIZE)
        context = page_context(request, state, tenant, shop_store)
        links, new = opened(decode_visit(request.cookies.get(VISIT_COOKIE)), store, koc)
        consumer = context["consumer"]
        if new and consumer is not None:
            async with state.db.sessions() as session, session.begin():
                await scope_to_slug(session, tenant, state.tenant_ids)
                links = await record_touches(session, tenant_id, consumer.subject_id, links)
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
        cookies = (
            [page_cookie(request, VISIT_COOKIE, encode_visit(links), f"/s/{quote(tenant, safe='')}")] if new else []
        )
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
        context = page_context(request, state, tenant, shop_store)
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
        context = page_context(request, state, tenant, shop_store)
        context["cart"] = view
        return Template(template_name="cart.html", context=context)

    @post("/cart", name="cart-put", status_code=303)
    async def put_in_cart(
        self, request: Request[Any, Any, Any], tenant: FromPath[str], store: FromPath[str], state: State
    ) -> Redirect:
        """Add a SKU (``add=1``) or set its quantity; a sold-out SKU cannot be added."""
        form = await request.form()
        product, sku = checked_code(form.get("product"), "product"), checked_code(form.get("sku"), "SKU")
        qty, add = checked_qty(form.get("qty", "1")), form.get("add") == "1"
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
        base = base_path(tenant, store)
        cookie = page_cookie(request, CART_COOKIE, encode_cart(items), base)
        return Redirect(next_path_in(base, form.get("next"), f"{base}/cart"), status_code=303, cookies=[cookie])

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
        context = page_context(request, state, tenant, shop_store)
        context |= {
            "next": next_path_in(context["base"], next_path, context["base"]),
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
        links = await record_touches(db, shop.id, token.consumer_id, decode_visit(request.cookies.get(VISIT_COOKIE)))
        tenant_path = f"/s/{quote(tenant, safe='')}"
        # A cookie's ``expires`` given as a number counts seconds from now: say how long it lasts instead.
        lasts = {}
        if token.expires_at is not None:
            lasts["max_age"] = max(0, int((token.expires_at - datetime.now(UTC)).total_seconds()))
        cookies = [
            page_cookie(request, TOKEN_COOKIE, token.access_token, tenant_path, **lasts),
            page_cookie(request, VISIT_COOKIE, encode_visit(links), tenant_path),
        ]
        base = base_path(tenant, store)
        return Redirect(next_path_in(base, form.get("next"), base), status_code=303, cookies=cookies)

    @post("/logout", name="logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any], tenant: FromPath[str], store: FromPath[str]) -> Redirect:
        """Forget the sign-in."""
        gone = page_cookie(request, TOKEN_COOKIE, "", f"/s/{quote(tenant, safe='')}", max_age=0)
        return Redirect(base_path(tenant, store), status_code=303, cookies=[gone])

    # --- coupons -------------------------------------------------------------------------------------------

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
        context = page_context(request, state, tenant, shop_store)
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
        consumer = signed_in(request, state, tenant, store)
        await CouponService(db).claim(shop.id, consumer.subject_id, checked_code(code, "coupon"), datetime.now(UTC))
        return Redirect(f"{base_path(tenant, store)}/coupons", status_code=303)
