"""Signing staff in to the console and rendering its pages: the session cookie, CSRF tokens and error pages.

The session is the staff access token the API issues (``POST /v1/auth/token``'s, signed by the server's
key), kept in an HTTP-only, SameSite cookie scoped to ``/console``. Every page checks it as the API's guard
checks a bearer token, in the round trip that scopes the request's transaction to the tenant: an expired
token, a disabled account or a changed password (the credentials epoch) sends the user back to sign in.

Every POST form carries a CSRF token derived from the session (an HMAC of it under the server's key), so a
page of another site cannot post in the user's name; the sign-in form carries a random one it also sets as a
cookie (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from cloudstore.auth.tokens import Principal
from cloudstore.http.deps import DbSession
from cloudstore.http.problems import exception_handlers as problem_handlers
from cloudstore.lib.db import scope_to_staff
from cloudstore.lib.errors import Forbidden, Unauthorized
from cloudstore.web.console.nav import nav_for
from cloudstore.web.requests import ERROR_TITLES, error_status, page_cookie

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from litestar.datastructures import Cookie, FormMultiDict, State
    from litestar.types import ExceptionHandlersMap

    from cloudstore.auth.tokens import Role

__all__ = (
    "COOKIE_PATH",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "ConsoleSignIn",
    "ConsoleUser",
    "CsrfRefused",
    "Staff",
    "console_handlers",
    "console_page",
    "csrf_of",
    "forget_cookie",
    "login_nonce",
    "posted_form",
    "render",
    "safe_next",
    "session_cookie",
)

_log = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
COOKIE_PATH = "/console"

ROLE_NAMES = {"hq": "品牌总部", "distributor": "经销商", "store": "门店"}


class ConsoleUser(msgspec.Struct, frozen=True, kw_only=True):
    """The signed-in staff member of a console page, the page's path and the CSRF token its forms carry."""

    principal: Principal
    path: str
    csrf: str

    @property
    def tenant_id(self) -> int:
        """The user's tenant."""
        return self.principal.tenant_id


# The handler parameter type for the user ``console_page`` admits.
Staff: TypeAlias = NamedDependency[ConsoleUser]


class ConsoleSignIn(Exception):
    """The page needs a (new) sign-in: go to ``location``; ``forget`` drops a session that no longer holds."""

    def __init__(self, location: str, *, forget: bool = False) -> None:
        super().__init__(location)
        self.location = location
        self.forget = forget


class CsrfRefused(Forbidden):
    """A form posted without this session's CSRF token."""

    code = "csrf"


def csrf_of(secret: str, session_token: str) -> str:
    """The CSRF token of a session: stable while the session lasts, unknowable without the server's key."""
    return hmac.new(secret.encode(), b"console-csrf:" + session_token.encode(), hashlib.sha256).hexdigest()[:40]


def login_nonce() -> str:
    """A fresh random CSRF token for the sign-in form."""
    return secrets.token_urlsafe(24)


def safe_next(given: str | None) -> str:
    """Where to go after signing in: a console path, never another site."""
    if given and (given == COOKIE_PATH or given.startswith(COOKIE_PATH + "/")) and "//" not in given:
        return given
    return COOKIE_PATH


def session_cookie(request: Request[Any, Any, Any], token: str, lasts_s: int) -> Cookie:
    """The session cookie holding ``token`` for ``lasts_s`` seconds (as long as the token)."""
    return page_cookie(request, SESSION_COOKIE, token, COOKIE_PATH, max_age=max(lasts_s, 0))


def forget_cookie(request: Request[Any, Any, Any], key: str = SESSION_COOKIE) -> Cookie:
    """A cookie that removes ``key``."""
    return page_cookie(request, key, "", COOKIE_PATH, max_age=0)


def _sign_in_first(request: Request[Any, Any, Any], *, forget: bool = False) -> ConsoleSignIn:
    query = "" if request.url.path == COOKIE_PATH else "?" + urlencode({"next_path": request.url.path})
    return ConsoleSignIn(f"{COOKIE_PATH}/login{query}", forget=forget)


def console_page(*roles: Role) -> Callable[..., Coroutine[Any, Any, ConsoleUser]]:
    """A dependency admitting a signed-in staff member of one of ``roles``, scoping the session to their tenant.

    Signed out, expired, disabled or re-passworded: back to the sign-in page. Another role: a 403 page.
    """

    async def user(request: Request[Any, Any, Any], state: State, db: DbSession) -> ConsoleUser:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise _sign_in_first(request)
        try:
            principal: Principal = state.tokens.verify(token)
        except Unauthorized:
            raise _sign_in_first(request, forget=True) from None
        if principal.is_consumer or principal.key:
            raise _sign_in_first(request, forget=True)
        if not await scope_to_staff(db, principal.tenant_id, principal.subject_id, principal.epoch):
            raise _sign_in_first(request, forget=True)
        if principal.role not in roles:
            raise Forbidden(f"这个页面仅供{'、'.join(ROLE_NAMES[r] for r in roles)}使用")
        return ConsoleUser(principal=principal, path=request.url.path, csrf=csrf_of(state.settings.secret_key, token))

    return user


async def posted_form(request: Request[Any, Any, Any], user: ConsoleUser) -> FormMultiDict:
    """The posted form, once its CSRF token is this session's; else :class:`CsrfRefused`."""
    form = await request.form()
    given = form.get("csrf")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), user.csrf.encode()):
        raise CsrfRefused("表单已过期或来自其他网站，请刷新页面后重试")
    return form


def render(
    user: ConsoleUser, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Template:
    """A console page for ``user``: ``template`` with the navigation, the user and the CSRF token."""
    role = user.principal.role
    shared = {
        "user": user.principal,
        "role_name": ROLE_NAMES.get(role, role),
        "nav": nav_for(role, user.path),
        "csrf": user.csrf,
    }
    return Template(template_name=template, context=shared | (context or {}), status_code=status_code)


def _console_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A console page for any error, with its status; a page that needs a sign-in redirects to it instead."""
    if isinstance(exc, ConsoleSignIn):
        return Redirect(exc.location, status_code=303, cookies=[forget_cookie(request)] if exc.forget else [])
    status, detail = error_status(exc, "console page")
    context = {
        "title": ERROR_TITLES.get(status, "出错了"),
        "detail": detail,
        "status": status,
        "code": getattr(exc, "code", None),
    }
    return Template(template_name="console/error.html", context=context, status_code=status)


def console_handlers() -> ExceptionHandlersMap:
    """A console controller's error handlers: every error the app maps to problem+json renders as a page."""
    return dict.fromkeys((*problem_handlers, ConsoleSignIn), _console_error)
