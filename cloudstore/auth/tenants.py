"""A new tenant and its first HQ account: tenancy writes the tenant, auth the account (the staff table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from cloudstore.tenancy.schemas import TenantRead
from cloudstore.tenancy.service import TenantService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("create_first_hq", "create_tenant")


async def create_first_hq(session: AsyncSession, tenant_id: int, username: str, password_hash: str) -> None:
    """Add a new tenant's first HQ account (the session is scoped to the tenant)."""
    await session.execute(
        text("INSERT INTO staff (tenant_id, username, password_hash, role) VALUES (:t, :u, :h, 'hq')"),
        {"t": tenant_id, "u": username, "h": password_hash},
    )


async def create_tenant(
    session: AsyncSession, *, slug: str, name: str, admin_username: str, admin_password_hash: str
) -> TenantRead:
    """Create a tenant with default policies and its first HQ account.

    Raises:
        Conflict: a tenant with this slug exists.
    """
    tenant_id = await TenantService(session).create(slug=slug, name=name)
    await create_first_hq(session, tenant_id, admin_username, admin_password_hash)
    return TenantRead(slug=slug, name=name)
