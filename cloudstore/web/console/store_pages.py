"""A store's console pages: its storefront link and printable QR poster, its KOCs with their QR codes, the
orders it fulfils (ship with a carrier and tracking number, ready, delivered, picked up) and its earnings.

Each handler calls the service the matching ``/v1/store/...`` route calls, with the same rules; HQ's views of
KOCs and orders share the paths and live in :mod:`cloudstore.web.console.network_pages`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from cloudstore.http.deps import DbSession
from cloudstore.lib.errors import NotFound, ValidationFailed
from cloudstore.orders.fulfilment import FulfilmentService
from cloudstore.orders.reading import OrderService
from cloudstore.orders.schemas import Shipment
from cloudstore.referrals.schemas import KocCreate
from cloudstore.referrals.service import KocService, LedgerService
from cloudstore.stores.links import share_links
from cloudstore.stores.qr import qr_svg
from cloudstore.stores.storefront import StorefrontService
from cloudstore.web.console.reads import store_code_of, store_sees_order
from cloudstore.web.console.session import ConsoleUser, Staff, console_handlers, console_page, posted_form, render
from cloudstore.web.requests import checked_code

if TYPE_CHECKING:
    from litestar.datastructures import State
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.orders.schemas import FulfilmentRead

__all__ = ("StorePages", "add_store_koc", "fulfilment_actions", "store_kocs", "store_order", "store_orders")

PAGE_SIZE = 50
ORDER_STATUSES = ("pending_payment", "paid", "completed", "cancelled", "expired", "refunded")
_ACTIONS = {
    ("delivery", "pending"): ("ship",),
    ("delivery", "shipped"): ("deliver",),
    ("pickup", "pending"): ("ready",),
    ("pickup", "ready_for_pickup"): ("pickup",),
}


def fulfilment_actions(f: FulfilmentRead, order_status: str, own_location: str | None) -> tuple[str, ...]:
    """The moves a store may offer on a fulfilment: its own location's, of a paid order, in its next state."""
    if order_status != "paid" or f.location != own_location:
        return ()
    return _ACTIONS.get((f.kind, f.status), ())


def checked_status(status: str | None) -> str | None:
    """An order status filter, or none."""
    if status in (None, ""):
        return None
    if status not in ORDER_STATUSES:
        raise ValidationFailed("unknown order status")
    return status


async def store_kocs(user: ConsoleUser, db: AsyncSession, state: State, cursor: str | None) -> Template:
    """The store's KOCs with their QR codes, and a form to register one."""
    page = await KocService(db, state.settings).list(
        user.tenant_id, user.principal.tenant, _store(user), cursor=cursor, limit=PAGE_SIZE
    )
    return render(user, "console/store_kocs.html", {"kocs": page.items, "more": page.next_cursor})


async def store_orders(user: ConsoleUser, db: AsyncSession, status: str | None, cursor: str | None) -> Template:
    """Orders placed through, credited to or fulfilled by the store, newest first."""
    page = await OrderService(db).page(
        user.tenant_id, cursor=cursor, limit=PAGE_SIZE, status=status, store_id=_store(user)
    )
    return render(
        user,
        "console/orders.html",
        {"orders": page.items, "more": page.next_cursor, "status": status, "statuses": ORDER_STATUSES, "store": None},
    )


async def store_order(user: ConsoleUser, db: AsyncSession, order_no: str) -> Template:
    """One of the store's orders, with what it may do to the fulfilments at its own location."""
    if not await store_sees_order(db, user.tenant_id, _store(user), order_no):
        raise NotFound("order", order_no)
    order = await OrderService(db).read(user.tenant_id, order_no)
    own = await store_code_of(db, user.tenant_id, user.principal.store_id)
    actions = {f.id: fulfilment_actions(f, order.status, own) for f in order.fulfilments}
    return render(user, "console/store_order.html", {"order": order, "actions": actions, "own": own})


async def add_store_koc(request: Request[Any, Any, Any], user: ConsoleUser, db: AsyncSession, state: State) -> Redirect:
    """Register a KOC of the store from the form (name, optional phone)."""
    form = await posted_form(request, user)
    phone = str(form.get("phone") or "").strip() or None
    try:
        data = msgspec.convert({"name": str(form.get("name") or "").strip(), "phone": phone}, KocCreate)
    except msgspec.ValidationError:
        raise ValidationFailed("请填写 KOC 的名字（以及正确的手机号）") from None
    await KocService(db, state.settings).create(user.tenant_id, user.principal.tenant, _store(user), data)
    return Redirect("/console/kocs", status_code=303)


def _store(user: ConsoleUser) -> int:
    if user.principal.store_id is None:
        raise NotFound("store")
    return user.principal.store_id


def _shipment(form: Any) -> Shipment | None:
    carrier = str(form.get("carrier") or "").strip()
    tracking = str(form.get("tracking_no") or "").strip()
    if not carrier and not tracking:
        return None
    try:
        return msgspec.convert({"carrier": carrier, "tracking_no": tracking}, Shipment)
    except msgspec.ValidationError:
        raise ValidationFailed("承运商（1–64 个字符）和运单号（1–64 个字母、数字或连字符）要一起填写") from None


class StorePages(Controller):
    """The pages only a store sees."""

    path = "/console"
    include_in_schema = False
    exception_handlers = console_handlers()
    dependencies = {"user": Provide(console_page("store"))}  # noqa: RUF012

    @get("/poster", name="console-poster")
    async def poster(self, user: Staff, db: DbSession, state: State) -> Template:
        """The storefront's link and a printable QR poster."""
        storefront = await StorefrontService(db, state.settings).storefront(
            user.tenant_id, user.principal.tenant, user.principal.store_id
        )
        return render(user, "console/poster.html", {"storefront": storefront})

    @get("/qr.svg", name="console-qr")
    async def qr(self, user: Staff, db: DbSession, state: State, koc: FromQuery[str | None] = None) -> Response[bytes]:
        """The QR code (SVG) of the storefront's H5 link, or of one of the store's KOCs' links."""
        if koc is not None:
            koc = checked_code(koc, "KOC")
        store = await StorefrontService(db, state.settings).share_code(user.tenant_id, user.principal.store_id, koc)
        url = share_links(state.settings, user.principal.tenant, store, koc).h5_url
        return Response(qr_svg(url), media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})

    @post("/fulfilments/{fulfilment_id:int}/{action:str}", name="console-fulfil", status_code=303)
    async def fulfil(
        self,
        request: Request[Any, Any, Any],
        fulfilment_id: FromPath[int],
        action: FromPath[str],
        user: Staff,
        db: DbSession,
    ) -> Redirect:
        """Ship (with a carrier and tracking number), mark ready, delivered or picked up, as the API does."""
        form = await posted_form(request, user)
        if action not in ("ship", "ready", "deliver", "pickup"):
            raise NotFound("action", action)
        order_no = checked_code(str(form.get("order_no") or ""), "order")
        shipment = _shipment(form) if action == "ship" else None
        await FulfilmentService(db).fulfil(user.tenant_id, fulfilment_id, action, user.principal, shipment)
        return Redirect(f"/console/orders/{quote(order_no, safe='')}", status_code=303)

    @get("/earnings", name="console-earnings")
    async def earnings(self, user: Staff, db: DbSession, cursor: FromQuery[str | None] = None) -> Template:
        """The store's commission balances and ledger entries, newest first."""
        earned = await LedgerService(db).earnings(user.tenant_id, "store", _store(user), cursor=cursor, limit=PAGE_SIZE)
        return render(user, "console/earnings.html", {"earnings": earned})
