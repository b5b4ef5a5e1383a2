"""Request dependencies: the one database session per request, the shop tenant a path names, the bearer token.

Who may call a route (the guards) is auth's: :mod:`cloudstore.auth.guards`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

import msgspec
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from cloudstore.lib.db import scope_to_slug
from cloudstore.lib.errors import Unauthorized
from cloudstore.lib.paging import DEFAULT_LIMIT, MAX_LIMIT

if TYPE_CHECKING:
    from litestar import Request
    from litestar.datastructures import State

__all__ = (
    "DbSession",
    "Limit",
    "Shop",
    "ShopTenant",
    "bearer_token",
    "provide_checkout_tenant",
    "provide_db",
    "provide_placing_tenant",
    "provide_shop_tenant",
)


class ShopTenant(msgspec.Struct, frozen=True):
    """The tenant named in a ``/v1/shop/{tenant}`` path."""

    id: int
    slug: str


# Handler parameter types for the dependencies every route uses.
DbSession: TypeAlias = NamedDependency[AsyncSession]
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


async def provide_shop_tenant(tenant: FromPath[str], state: State, db: DbSession) -> ShopTenant:
    """Resolve the path's tenant slug and scope the session to it."""
    return ShopTenant(id=await scope_to_slug(db, tenant, state.tenant_ids), slug=tenant)


async def provide_checkout_tenant(tenant: FromPath[str], state: State, db: DbSession) -> ShopTenant:
    """As :func:`provide_shop_tenant`, for quoting: the transaction runs its prepared statements on their generic
    plans (``cloudstore.lib.db.GENERIC_PLANS``)."""
    return ShopTenant(id=await scope_to_slug(db, tenant, state.tenant_ids, generic_plans=True), slug=tenant)


async def provide_placing_tenant(tenant: FromPath[str], state: State, db: DbSession) -> ShopTenant:
    """As :func:`provide_checkout_tenant`, for placing: the same round trip also takes the placing journey's
    savepoint (``cloudstore.lib.db.CHECKOUT_SAVEPOINT``)."""
    tenant_id = await scope_to_slug(db, tenant, state.tenant_ids, generic_plans=True, savepoint=True)
    return ShopTenant(id=tenant_id, slug=tenant)
