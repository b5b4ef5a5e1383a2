"""Request dependencies: the one database session per request, and who is calling for which tenant."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import msgspec
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from cloudstore.auth.tokens import Principal
from cloudstore.lib.db import scope_to_slug, scope_to_staff
from cloudstore.lib.errors import Forbidden, Unauthorized
from cloudstore.lib.paging import DEFAULT_LIMIT, MAX_LIMIT

if TYPE_CHECKING:
    from litestar import Request
    from litestar.datastructures import State

    from cloudstore.auth.tokens import Role

__all__ = (
    "Caller",
    "DbSession",
    "Limit",
    "Shop",
    "ShopTenant",
    "bearer_token",
    "provide_db",
    "provide_shop_tenant",
    "require_consumer",
    "require_staff",
)


class ShopTenant(msgspec.Struct, frozen=True):
    """The tenant named in a ``/v1/shop/{tenant}`` path."""

    id: int
    slug: str


# Handler parameter types for the dependencies every route uses.
DbSession: TypeAlias = NamedDependency[AsyncSession]
Caller: TypeAlias = NamedDependency[Principal]
# A page size, bounded in the OpenAPI document as check_limit bounds it in code.
Limit: TypeAlias = Annotated[
    int | None,
    QueryParameter(
        ge=1,
        le=MAX_LIMIT,
        description=f"Page size, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
        schema_extra={"type": "integer", "oneOf": None},
    ),
]
Shop: TypeAlias = NamedDependency[ShopTenant]


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One session and one transaction per request: committed when the handler succeeds, else rolled back."""
    session: AsyncSession = state.db.sessions()
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    else:
        await session.commit()
    finally:
        await session.close()


def bearer_token(request: Request[Any, Any, Any]) -> str:
    """The token from ``Authorization: Bearer …``."""
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("this route needs an Authorization: Bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def require_staff(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that admits staff with one of ``roles`` and scopes the session to their tenant."""

    async def staff(request: Request[Any, Any, Any], state: State, db: DbSession) -> Principal:
        principal: Principal = state.tokens.verify(bearer_token(request))
        if principal.is_consumer:
            raise Unauthorized("a staff token is required")
        if principal.role not in roles:
            raise Forbidden(f"this route is for {' or '.join(roles)} staff")
        if not await scope_to_staff(db, principal.tenant_id, principal.subject_id, principal.epoch):
            raise Unauthorized("the access token has been revoked")
        return principal

    return staff


async def provide_shop_tenant(tenant: FromPath[str], state: State, db: DbSession) -> ShopTenant:
    """Resolve the path's tenant slug and scope the session to it."""
    return ShopTenant(id=await scope_to_slug(db, tenant, state.tenant_ids), slug=tenant)


async def require_consumer(request: Request[Any, Any, Any], state: State, shop: Shop) -> Principal:
    """A consumer of the path's tenant; a token of another tenant is refused."""
    principal: Principal = state.tokens.verify(bearer_token(request))
    if not principal.is_consumer:
        raise Unauthorized("a consumer token is required")
    if principal.tenant_id != shop.id:
        raise Unauthorized("the access token is for another tenant")
    return principal
