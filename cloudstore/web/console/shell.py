"""The console's shell: signing in and out, and the home page of each role.

Signing in goes through the staff sign-in service the API's ``POST /v1/auth/token`` uses; its token becomes
the session cookie (:mod:`cloudstore.web.console.session`).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from cloudstore.auth.service import AuthService
from cloudstore.http.deps import DbSession
from cloudstore.lib.errors import Unauthorized
from cloudstore.lib.paging import check_limit
from cloudstore.stores.service import StoreService
from cloudstore.stores.storefront import StorefrontService
from cloudstore.web.console.analytics_pages import dashboard
from cloudstore.web.console.session import (
    LOGIN_COOKIE,
    ConsoleUser,
    CsrfRefused,
    Staff,
    console_handlers,
    console_page,
    forget_cookie,
    login_nonce,
    posted_form,
    render,
    safe_next,
    session_cookie,
)
from cloudstore.web.requests import page_cookie

if TYPE_CHECKING:
    from litestar.datastructures import State
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("ConsoleShell", "hq_home")

_FIELD_MAX = {"tenant": 64, "username": 64, "password": 128}


async def hq_home(user: ConsoleUser, db: AsyncSession, state: State) -> Template:
    """HQ's home page: the analytics dashboard, with where to go."""
    return await dashboard(user, db)


async def _store_home(user: ConsoleUser, db: AsyncSession, state: State) -> Template:
    storefront = await StorefrontService(db, state.settings).storefront(
        user.tenant_id, user.principal.tenant, user.principal.store_id
    )
    return render(user, "console/store_home.html", {"storefront": storefront})


async def _distributor_home(user: ConsoleUser, db: AsyncSession, state: State) -> Template:
    page = await StoreService(db, state.settings).list_stores(
        user.tenant_id,
        user.principal.tenant,
        distributor_id=user.principal.distributor_id if user.principal.distributor_id is not None else -1,
        cursor=None,
        limit=check_limit(None),
    )
    return render(user, "console/distributor_home.html", {"stores": page.items, "more": page.next_cursor})


_HOMES = {"hq": hq_home, "store": _store_home, "distributor": _distributor_home}


def _login_page(
    request: Request[Any, Any, Any], *, next_path: str, status: int = 200, error: str | None = None, **fields: str
) -> Template:
    nonce = login_nonce()
    context = {"csrf": nonce, "next": next_path, "error": error, "fields": fields}
    return Template(
        template_name="console/login.html",
        context=context,
        status_code=status,
        cookies=[page_cookie(request, LOGIN_COOKIE, nonce, "/console")],
    )


class ConsoleShell(Controller):
    """``/console``: sign-in, sign-out and each role's home page."""

    path = "/console"
    include_in_schema = False
    exception_handlers = console_handlers()

    @get("/", name="console-home", dependencies={"user": Provide(console_page("hq", "distributor", "store"))})
    async def home(self, user: Staff, db: DbSession, state: State) -> Template:
        """The home page of the signed-in user's role."""
        return await _HOMES[user.principal.role](user, db, state)

    @get("/login", name="console-login")
    async def login_page(self, request: Request[Any, Any, Any], next_path: FromQuery[str | None] = None) -> Template:
        """The sign-in form: tenant, username and password."""
        return _login_page(request, next_path=safe_next(next_path))

    @post("/login", name="console-login-post", status_code=303)
    async def login(self, request: Request[Any, Any, Any], state: State, db: DbSession) -> Redirect | Template:
        """Sign in through the staff sign-in service; every wrong answer looks the same."""
        form = await request.form()
        nonce, given = request.cookies.get(LOGIN_COOKIE) or "", form.get("csrf")
        if not nonce or not isinstance(given, str) or not hmac.compare_digest(nonce.encode(), given.encode()):
            raise CsrfRefused("表单已过期，请刷新页面后重试")
        fields = {k: str(form.get(k) or "").strip() for k in _FIELD_MAX}
        fields["password"] = str(form.get("password") or "")
        next_path = safe_next(form.get("next"))
        shown = {"tenant": fields["tenant"][:64], "username": fields["username"][:64]}
        if not all(fields.values()) or any(len(fields[k]) > n for k, n in _FIELD_MAX.items()):
            return _login_page(request, next_path=next_path, status=422, error="请填写租户、用户名和密码", **shown)
        try:
            token = await AuthService(db, state.tokens, state.passwords).staff_token(
                fields["tenant"], fields["username"], fields["password"]
            )
        except Unauthorized:
            return _login_page(request, next_path=next_path, status=401, error="租户、用户名或密码不正确", **shown)
        cookies = [
            session_cookie(request, token.access_token, int((token.expires_at - datetime.now(UTC)).total_seconds())),
            forget_cookie(request, LOGIN_COOKIE),
        ]
        return Redirect(next_path, status_code=303, cookies=cookies)

    @post(
        "/logout",
        name="console-logout",
        status_code=303,
        dependencies={"user": Provide(console_page("hq", "distributor", "store"))},
    )
    async def logout(self, request: Request[Any, Any, Any], user: Staff) -> Redirect:
        """End the session (the form carries the CSRF token, so no other site can sign the user out)."""
        await posted_form(request, user)
        return Redirect("/console/login", status_code=303, cookies=[forget_cookie(request)])
