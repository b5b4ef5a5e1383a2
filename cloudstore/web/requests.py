"""What every storefront page reads off its request: the shopper, the cookies, small form fields, and the page
an error renders as.

A shopper's sign-in is the consumer token the API issues, kept in an HTTP-only cookie; the cart and the links
opened in this visit are cookies too (:mod:`cloudstore.web.visit`). Every error a shopper can cause renders as a
page with its status, never a 500.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from sqlalchemy.exc import DBAPIError

from cloudstore.http.problems import exception_handlers as problem_handlers
from cloudstore.http.problems import is_bad_value
from cloudstore.lib.errors import DomainError, NotFound, Unauthorized, ValidationFailed
from cloudstore.referrals.schemas import TouchCreate
from cloudstore.referrals.service import TouchService
from cloudstore.web.visit import CART_COOKIE, TOKEN_COOKIE, LinkOpened, decode_cart

if TYPE_CHECKING:
    from litestar.datastructures import State
    from litestar.types import ExceptionHandlersMap
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.auth.tokens import Principal
    from cloudstore.stores.schemas import ShopStore

__all__ = (
    "ERROR_TITLES",
    "SignInFirst",
    "base_path",
    "checked_code",
    "checked_qty",
    "consumer_of",
    "error_page",
    "error_status",
    "next_path_in",
    "opened",
    "page_context",
    "page_cookie",
    "page_handlers",
    "record_touches",
    "signed_in",
    "visit_koc",
)

_log = logging.getLogger(__name__)

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SignInFirst(Exception):
    """The page needs a signed-in shopper; ``location`` is the sign-in page that comes back here."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


#: A page's heading for each error status (others: 出错了).
ERROR_TITLES = {401: "请先登录", 403: "没有权限", 404: "没有找到", 409: "暂时无法完成", 422: "信息有误"}


def error_status(exc: Exception, what: str) -> tuple[int, str]:
    """The status and the reader's message a page shows for ``exc``; database and unexpected faults are logged."""
    if isinstance(exc, DomainError):
        return exc.status, exc.detail
    if isinstance(exc, ValidationException):
        return 422, "请求的内容不正确"
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, DBAPIError) and is_bad_value(exc):
        return 422, "请求中的数值超出范围"  # as the API answers it: the client's input, not a fault
    if isinstance(exc, DBAPIError):
        _log.warning("%s failed on the database", what, exc_info=exc)
        return 503, "服务暂时不可用，请稍后再试"
    _log.exception("%s failed", what, exc_info=exc)
    return 500, "服务暂时不可用"


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A shopper-facing page for any error, with the status it stands for (unexpected faults are logged).

    A page that needs a signed-in shopper sends a signed-out one to the sign-in page instead.
    """
    if isinstance(exc, SignInFirst):
        return Redirect(exc.location, status_code=303)
    status, detail = error_status(exc, "page")
    context = {
        "title": ERROR_TITLES.get(status, "出错了"),
        "detail": detail,
        "status": status,
        "base": base_path(request.path_params.get("tenant", ""), request.path_params.get("store", "")),
        "code": getattr(exc, "code", None),
    }
    return Template(template_name="error.html", context=context, status_code=status)


def base_path(tenant: str, store: str) -> str:
    return f"/s/{quote(tenant, safe='')}/{quote(store, safe='')}"


def checked_code(value: str | None, what: str) -> str:
    if value is None or not _CODE.match(value):
        raise ValidationFailed(f"{what} is not a valid code")
    return value


def checked_qty(value: str | None) -> int:
    try:
        qty = int(value or "")
    except ValueError:
        raise ValidationFailed("数量必须是整数") from None
    if not 0 <= qty <= 999:
        raise ValidationFailed("数量必须在 0 到 999 之间")
    return qty


def consumer_of(request: Request[Any, Any, Any], state: State, tenant: str) -> Principal | None:
    """The signed-in shopper of ``tenant``, or None (an expired or foreign token counts as signed out)."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        return None
    try:
        principal: Principal = state.tokens.verify(token)
    except Unauthorized:
        return None
    return principal if principal.is_consumer and principal.tenant == tenant else None


def page_cookie(request: Request[Any, Any, Any], key: str, value: str, path: str, **extra: Any) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        **extra,
    )


def next_path_in(base: str, given: str | None, default: str) -> str:
    """Where to go after a form: only a path of this storefront, never another site."""
    if given and (given == base or given.startswith(base + "/") or given.startswith(base + "?")):
        return given
    return default


async def record_touches(
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


def opened(links: list[LinkOpened], store: str, koc: str | None) -> tuple[list[LinkOpened], bool]:
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


def visit_koc(links: list[LinkOpened], store: str) -> str | None:
    """The KOC of the latest recorded link of ``store`` in this visit: the order is placed through it."""
    return next((o.koc for o in reversed(links) if o.store == store and o.recorded and o.koc), None)


def page_handlers() -> ExceptionHandlersMap:
    """A page controller's error handlers: every error class the app maps to problem+json renders as a page."""
    return dict.fromkeys((*problem_handlers, SignInFirst), error_page)


def page_context(request: Request[Any, Any, Any], state: State, tenant: str, store: ShopStore) -> dict[str, Any]:
    """What every page of ``store`` shows: the store, its path, the shopper and the cart's size."""
    cart = decode_cart(request.cookies.get(CART_COOKIE))
    return {
        "tenant": tenant,
        "store": store,
        "base": base_path(tenant, store.code),
        "consumer": consumer_of(request, state, tenant),
        "cart_units": sum(i.qty for i in cart),
        "local": state.settings.local_providers_enabled,
    }


def signed_in(request: Request[Any, Any, Any], state: State, tenant: str, store: str) -> Principal:
    """The signed-in shopper of ``tenant``; a signed-out one is sent to sign in and come back."""
    consumer = consumer_of(request, state, tenant)
    if consumer is None:
        raise SignInFirst(f"{base_path(tenant, store)}/login?{urlencode({'next_path': request.url.path})}")
    return consumer
