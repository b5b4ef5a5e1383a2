"""Turning an API key on a request into the principal it acts as, or refusing it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from cloudstore.auth.tokens import Principal
from cloudstore.integrations.scopes import ROUTE_SCOPES
from cloudstore.integrations.service import hash_key, parse_key
from cloudstore.lib.db import set_tenant
from cloudstore.lib.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from litestar import Request
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("resolve_api_key",)

_KEY = text(
    """
    SELECT k.id, k.scopes, l.code AS location, t.slug
    FROM api_keys k
    JOIN tenants t ON t.id = k.tenant_id
    LEFT JOIN locations l ON l.tenant_id = k.tenant_id AND l.id = k.location_id
    WHERE k.tenant_id = :t AND k.key_hash = :h AND k.revoked_at IS NULL
    """
)


async def resolve_api_key(request: Request[Any, Any, Any], session: AsyncSession, key: str) -> Principal:
    """The principal of a live key whose scopes cover this route; scopes the session to the key's tenant.

    Raises:
        Unauthorized: not a key of ours, or revoked.
        Forbidden: the route takes no key, or needs a scope the key lacks.
    """
    tenant_id = parse_key(key)
    if tenant_id is None:
        raise Unauthorized("the API key is not valid")
    await set_tenant(session, tenant_id)
    row = (await session.execute(_KEY, {"t": tenant_id, "h": hash_key(key)})).first()
    if row is None:
        raise Unauthorized("the API key is not valid or has been revoked")
    needed = ROUTE_SCOPES.get((request.method, str(request.scope.get("path_template", ""))))
    if needed is None:
        raise Forbidden("this route does not accept API keys")
    if needed not in row.scopes:
        raise Forbidden(f"this route needs an API key with the {needed!r} scope")
    return Principal(
        tenant_id=tenant_id, tenant=row.slug, subject_id=row.id, role="hq", location=row.location, key=True
    )
