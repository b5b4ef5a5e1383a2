"""Tenant-file section for inventory: stock (60)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudstore.inventory.schemas import StockSetItem
from cloudstore.inventory.service import StockService
from cloudstore.lib.imports import file_entry
from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = ("apply_stock",)


async def apply_stock(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Set the file's on-hand quantities; a level already at its quantity is left alone (no movement)."""
    del settings
    if not doc.stock:
        return
    service = StockService(session)
    items = [file_entry(StockSetItem, raw, "stock", i) for i, raw in enumerate(doc.stock)]
    levels = await service.levels_for(tenant_id, items)
    outcomes, _ = await service.write(
        tenant_id, levels, actor="tenantfile", reason="import", reference=f"tenantfile:{doc.slug}"
    )
    for outcome in outcomes:
        report.count("stock", outcome)
