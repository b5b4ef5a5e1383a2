"""Route guards: who may call a route, from the bearer token (staff of a role, a consumer, the operator)."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeAlias

from litestar.di import NamedDependency

from cloudstore.auth.tokens import Principal
from cloudstore.http.deps import DbSession, Shop, bearer_token
from cloudstore.lib.db import scope_to_staff
from cloudstore.lib.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from litestar import Request
    from litestar.datastructures import State

    from cloudstore.auth.tokens import Role

__all__ = ("Caller", "require_consumer", "require_operator", "require_staff")

# API keys (``cloudstore.integrations``) start with this; ``state.api_keys`` resolves them (wired in the app).
API_KEY_PREFIX = "csk_"

# The handler parameter type for the principal a guard admits.
Caller: TypeAlias = NamedDependency[Principal]


def require_staff(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits staff with one of ``roles`` and scopes the session to their tenant."""

    async def staff(request: Request[Any, Any, Any], state: State, db: DbSession) -> Principal:
        token = bearer_token(request)
        if token.startswith(API_KEY_PREFIX):
            if "hq" not in roles:
                raise Forbidden("API keys act only on HQ routes")
            key_principal: Principal = await state.api_keys(request, db, token)
            return key_principal
        principal: Principal = state.tokens.verify(token)
        if principal.is_consumer:
            raise Unauthorized("a staff token is required")
        if principal.role not in roles:
            raise Forbidden(f"this route is for {' or '.join(roles)} staff")
        if not await scope_to_staff(db, principal.tenant_id, principal.subject_id, principal.epoch):
            raise Unauthorized("the access token has been revoked")
        return principal

    return staff


async def require_consumer(request: Request[Any, Any, Any], state: State, shop: Shop) -> Principal:
    """A consumer of the path's tenant; a token of another tenant is refused."""
    principal: Principal = state.tokens.verify(bearer_token(request))
    if not principal.is_consumer:
        raise Unauthorized("a consumer token is required")
    if principal.tenant_id != shop.id:
        raise Unauthorized("the access token is for another tenant")
    return principal


async def require_operator(request: Request[Any, Any, Any], state: State) -> None:
    """The platform operator's token, compared in constant time; no token configured means no access."""
    expected: str | None = state.settings.operator_token
    token = bearer_token(request)
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("an operator token is required")
