"""Tenant-file section for referrals: KOCs (70)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import ValidationFailed
from cloudstore.referrals.schemas import KocFileEntry
from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = ("apply_kocs",)


async def apply_kocs(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Create or update the file's KOCs, matched by code (a file names its KOCs' codes so links stay stable)."""
    del settings
    for i, raw in enumerate(doc.kocs):
        try:
            entry = msgspec.convert(raw, KocFileEntry)
        except msgspec.ValidationError as exc:
            raise ValidationFailed(f"tenant file: kocs[{i}]: {exc}") from exc
        store_id = (
            await session.execute(
                text("SELECT id FROM stores WHERE tenant_id = :t AND code = :c"), {"t": tenant_id, "c": entry.store}
            )
        ).scalar_one_or_none()
        if store_id is None:
            raise ValidationFailed(f"tenant file: kocs[{i}] ({entry.code}): store {entry.store!r} does not exist")
        values = {"t": tenant_id, "c": entry.code, "s": store_id, "n": entry.name, "p": entry.phone, "a": entry.active}
        current = (
            await session.execute(
                text("SELECT store_id, name, phone, active FROM kocs WHERE tenant_id = :t AND code = :c"), values
            )
        ).first()
        if current is None:
            await session.execute(
                text(
                    "INSERT INTO kocs (tenant_id, code, store_id, name, phone, active) VALUES (:t, :c, :s, :n, :p, :a)"
                ),
                values,
            )
            report.count("kocs", "created")
        elif tuple(current) == (store_id, entry.name, entry.phone, entry.active):
            report.count("kocs", "unchanged")
        else:
            await session.execute(
                text(
                    "UPDATE kocs SET store_id = :s, name = :n, phone = :p, active = :a "
                    "WHERE tenant_id = :t AND code = :c"
                ),
                values,
            )
            report.count("kocs", "updated")
