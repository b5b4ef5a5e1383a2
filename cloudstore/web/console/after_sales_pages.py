"""The console's after-sales page: a store's (those with a fulfilment at its location, as
``/v1/store/after-sales`` sees them) or HQ's (all of the tenant's), with the decisions each one's state allows.

Listing calls :func:`cloudstore.aftersales.service.page` under :func:`cloudstore.checkout.after_sales.staff_scope`,
and every action :func:`cloudstore.checkout.after_sales.act`, exactly as the JSON routes do; a store receives a
return at its own location.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from cloudstore.aftersales import service as after_sales
from cloudstore.aftersales.schemas import ReceiptIn
from cloudstore.checkout import after_sales as journey
from cloudstore.http.deps import DbSession
from cloudstore.lib.errors import NotFound, ValidationFailed
from cloudstore.web.console.reads import receiving_places, store_code_of
from cloudstore.web.console.session import ConsoleUser, Staff, console_handlers, console_page, posted_form, render
from cloudstore.web.console.store_pages import PAGE_SIZE

if TYPE_CHECKING:
    from litestar.datastructures import FormMultiDict, State
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.aftersales.schemas import AfterSaleRead

__all__ = ("AFTER_SALE_STATUSES", "AfterSalePages", "after_sale_actions")

AFTER_SALE_STATUSES = ("requested", "approved", "received", "refunded", "rejected", "cancelled")
_ACTIONS = ("approve", "reject", "receive", "refund")


def after_sale_actions(a: AfterSaleRead) -> tuple[str, ...]:
    """The decisions staff may offer on an after-sale in its state."""
    if a.status == "requested":
        return ("approve", "reject")
    if a.status == "approved" and a.kind == "return":
        return ("receive",)
    if a.status == "received":
        return ("refund",)
    return ()


def _checked_status(status: str | None) -> str | None:
    if status in (None, ""):
        return None
    if status not in AFTER_SALE_STATUSES:
        raise ValidationFailed("unknown after-sale status")
    return status


async def _receipt(db: AsyncSession, user: ConsoleUser, after_sale_id: int, form: FormMultiDict) -> ReceiptIn:
    """Every unit of the return received at the store's own location (HQ names one); ticked lines restocked."""
    scope = await journey.staff_scope(db, user.principal)
    a = await after_sales.read(db, user.tenant_id, after_sale_id, scope)
    if user.principal.role == "store":
        location = await store_code_of(db, user.tenant_id, user.principal.store_id)
    else:
        location = str(form.get("location") or "").strip()
    restock = {str(v) for v in form.getall("restock", [])}
    lines = [{"sku": x.sku, "qty": x.qty, "restock": str(i) in restock} for i, x in enumerate(a.lines)]
    try:
        return msgspec.convert({"location": location, "lines": lines}, ReceiptIn)
    except msgspec.ValidationError:
        raise ValidationFailed("请选择收货的库存地点") from None


class AfterSalePages(Controller):
    """``/console/after-sales``: the list, and the decisions on each after-sale."""

    path = "/console/after-sales"
    include_in_schema = False
    exception_handlers = console_handlers()
    dependencies = {"user": Provide(console_page("hq", "store"))}  # noqa: RUF012

    @get("/", name="console-after-sales")
    async def list_after_sales(
        self,
        user: Staff,
        db: DbSession,
        status: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        done: FromQuery[str | None] = None,
        after_sale: FromQuery[int | None] = None,
    ) -> Template:
        """After-sales newest first, by status: a store's own, HQ's all."""
        status = _checked_status(status)
        scope = await journey.staff_scope(db, user.principal)
        page = await after_sales.page(db, user.tenant_id, scope, limit=PAGE_SIZE, cursor=cursor, status=status)
        actions = {a.id: after_sale_actions(a) for a in page.items}
        receiving = [a.order_no for a in page.items if "receive" in actions[a.id]]
        places = await receiving_places(db, user.tenant_id, receiving) if user.principal.role == "hq" else {}
        context = {
            "after_sales": page.items,
            "more": page.next_cursor,
            "status": status,
            "statuses": AFTER_SALE_STATUSES,
            "actions": actions,
            "places": places,
            "done": done if done in _ACTIONS and after_sale is not None else None,
            "done_id": after_sale,
        }
        return render(user, "console/after_sales.html", context)

    @post("/{after_sale_id:int}/{action:str}", name="console-after-sale-act", status_code=303)
    async def act(
        self,
        request: Request[Any, Any, Any],
        after_sale_id: FromPath[int],
        action: FromPath[str],
        user: Staff,
        db: DbSession,
        state: State,
    ) -> Redirect:
        """Approve, reject, receive (with restock) or refund, as ``POST /v1/{hq,store}/after-sales/{id}/{action}``."""
        form = await posted_form(request, user)
        if action not in _ACTIONS:
            raise NotFound("action", action)
        back = _checked_status(str(form.get("status") or ""))
        receipt = await _receipt(db, user, after_sale_id, form) if action == "receive" else None
        await journey.act(db, user.tenant_id, state.payment_providers, user.principal, after_sale_id, action, receipt)
        query = {"status": back} if back else {}
        query |= {"done": action, "after_sale": str(after_sale_id)}
        return Redirect(f"/console/after-sales?{urlencode(query)}", status_code=303)
