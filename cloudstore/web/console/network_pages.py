"""The console pages HQ sees across the network (stores, KOCs, orders with their routing trace and ledger
entries, coupons), the distributor's stores, and the store's views that share their paths.

Each handler calls the service the matching JSON route calls; a store's view of the same path is
:mod:`cloudstore.web.console.store_pages`'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from cloudstore.checkout.orders import hq_order
from cloudstore.http.deps import DbSession
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.paging import MAX_LIMIT
from cloudstore.orders.reading import OrderService
from cloudstore.pricing.service import CouponService
from cloudstore.referrals.service import KocService
from cloudstore.stores.service import StoreService
from cloudstore.web.console.reads import store_id_of
from cloudstore.web.console.session import Staff, console_handlers, console_page, render
from cloudstore.web.console.store_pages import (
    ORDER_STATUSES,
    PAGE_SIZE,
    add_store_koc,
    checked_status,
    store_kocs,
    store_order,
    store_orders,
)
from cloudstore.web.requests import checked_code

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = ("NetworkPages",)

_STORE_STATUSES = ("active", "archived", "all")


def _optional_code(value: str | None, what: str) -> str | None:
    value = (value or "").strip()
    return checked_code(value, what) if value else None


class NetworkPages(Controller):
    """Stores, KOCs, orders and coupons: HQ's whole network, a distributor's stores, a store's own."""

    path = "/console"
    include_in_schema = False
    exception_handlers = console_handlers()

    @get("/stores", name="console-stores", dependencies={"user": Provide(console_page("hq", "distributor"))})
    async def stores(
        self,
        user: Staff,
        db: DbSession,
        state: State,
        status: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """HQ: every store (by status and region); a distributor: the stores it supplies."""
        if status not in (None, "", *_STORE_STATUSES):
            raise ValidationFailed("unknown store status")
        region = (region or "").strip() or None
        if region is not None and not (region.isdigit() and len(region) <= 6):
            raise ValidationFailed("region is a GB/T 2260 code prefix")
        service = StoreService(db, state.settings)
        if user.principal.role == "hq":
            page = await service.list_stores(
                user.tenant_id,
                user.principal.tenant,
                cursor=cursor,
                limit=PAGE_SIZE,
                status=status or None,
                region=region,
            )
        else:
            page = await service.list_stores(
                user.tenant_id,
                user.principal.tenant,
                cursor=cursor,
                limit=PAGE_SIZE,
                distributor_id=user.principal.distributor_id if user.principal.distributor_id is not None else -1,
            )
        context = {"stores": page.items, "more": page.next_cursor, "status": status or "", "region": region or ""}
        return render(user, "console/stores.html", context)

    @get("/kocs", name="console-kocs", dependencies={"user": Provide(console_page("hq", "store"))})
    async def kocs(
        self,
        user: Staff,
        db: DbSession,
        state: State,
        store: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """A store: its KOCs with their QR codes. HQ: the KOCs of the store it picks."""
        if user.principal.role == "store":
            return await store_kocs(user, db, state, cursor)
        code = _optional_code(store, "store")
        kocs, more = [], None
        if code is not None:
            page = await KocService(db, state.settings).list(
                user.tenant_id, user.principal.tenant, await store_id_of(db, user.tenant_id, code), cursor=cursor,
                limit=PAGE_SIZE,
            )  # fmt: skip
            kocs, more = page.items, page.next_cursor
        # The picker offers the first stores; any other is reached by its code (or from the stores page).
        stores = await StoreService(db, state.settings).list_stores(
            user.tenant_id, user.principal.tenant, cursor=None, limit=MAX_LIMIT
        )
        context = {"store": code or "", "kocs": kocs, "more": more, "stores": stores.items}
        return render(user, "console/hq_kocs.html", context)

    @post("/kocs", name="console-koc-create", status_code=303, dependencies={"user": Provide(console_page("store"))})
    async def add_koc(self, request: Request[Any, Any, Any], user: Staff, db: DbSession, state: State) -> Redirect:
        """A store registers a KOC (name, optional phone), as ``POST /v1/store/kocs`` does."""
        return await add_store_koc(request, user, db, state)

    @get("/orders", name="console-orders", dependencies={"user": Provide(console_page("hq", "store"))})
    async def orders(
        self,
        user: Staff,
        db: DbSession,
        status: FromQuery[str | None] = None,
        store: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        """Orders newest first: HQ's all (by status and store), a store's its own."""
        status = checked_status(status)
        if user.principal.role == "store":
            return await store_orders(user, db, status, cursor)
        code = _optional_code(store, "store")
        page = await OrderService(db).page(user.tenant_id, cursor=cursor, limit=PAGE_SIZE, status=status, store=code)
        context = {"orders": page.items, "more": page.next_cursor, "status": status, "statuses": ORDER_STATUSES}
        return render(user, "console/orders.html", context | {"store": code or ""})

    @get("/orders/{order_no:str}", name="console-order", dependencies={"user": Provide(console_page("hq", "store"))})
    async def order(self, order_no: FromPath[str], user: Staff, db: DbSession) -> Template:
        """HQ: the order with its routing trace, attribution and ledger entries. A store: its fulfilments to move."""
        order_no = checked_code(order_no, "order")
        if user.principal.role == "store":
            return await store_order(user, db, order_no)
        return render(user, "console/hq_order.html", {"order": await hq_order(db, user.tenant_id, order_no)})

    @get("/coupons", name="console-coupons", dependencies={"user": Provide(console_page("hq"))})
    async def coupons(self, user: Staff, db: DbSession, cursor: FromQuery[str | None] = None) -> Template:
        """Every coupon of the brand (stores' own with their store), with how many were claimed and used."""
        page = await CouponService(db).list(user.tenant_id, cursor=cursor, limit=PAGE_SIZE)
        return render(user, "console/coupons.html", {"coupons": page.items, "more": page.next_cursor})
