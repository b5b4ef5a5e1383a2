"""Staff accounts from tenant files: the first HQ account (``admin``) and the ``staff`` section."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from cloudstore.auth.passwords import PasswordHashing
from cloudstore.auth.schemas import StaffCreate
from cloudstore.auth.service import AuthService
from cloudstore.auth.tenants import create_first_hq
from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = ("apply_admin", "apply_staff")


async def apply_admin(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Give a tenant this file has just created its first HQ account; a tenant that existed keeps its own."""
    if not report.created_tenant:
        return
    hashing = PasswordHashing(fast=settings.env == "test")
    await create_first_hq(session, tenant_id, doc.admin.username, await hashing.hash(doc.admin.password))


async def apply_staff(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Create missing staff accounts; existing ones (matched by username) are left as they are."""
    existing = set(
        (await session.execute(text("SELECT username FROM staff WHERE tenant_id = :t"), {"t": tenant_id})).scalars()
    )
    service: AuthService | None = None
    for entry in doc.staff:
        if entry.username in existing:
            report.count("staff", "unchanged")
            continue
        if service is None:
            service = AuthService(session, tokens=None, passwords=PasswordHashing(fast=settings.env == "test"))  # type: ignore[arg-type]
        await service.create_staff(
            tenant_id,
            StaffCreate(
                username=entry.username,
                password=entry.password,
                role=entry.role,  # type: ignore[arg-type]
                store_code=entry.store,
                distributor_code=entry.distributor,
            ),
        )
        report.count("staff", "created")
