"""Tenant-file section for the catalog: products (50)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudstore.catalog.schemas import ProductFileEntry
from cloudstore.catalog.service.upsert import upsert_products
from cloudstore.lib.imports import file_entry
from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = ("apply_products",)


async def apply_products(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Create or update the file's products and SKUs (matched by code); entries are published by default."""
    del settings
    entries = [file_entry(ProductFileEntry, raw, "products", i) for i, raw in enumerate(doc.products)]
    outcomes = await upsert_products(session, tenant_id, [(e, e.status) for e in entries])
    for outcome in outcomes.values():
        report.count("products", outcome)
