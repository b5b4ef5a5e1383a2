"""Tenant-file sections for the store network: distributors (20), locations (30), stores (40)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.imports import file_entry
from cloudstore.stores.schemas import (
    DistributorCreate,
    DistributorUpdate,
    LocationCreate,
    LocationUpdate,
    StoreCreate,
    StoreUpdate,
)
from cloudstore.stores.service.distributors import DistributorService
from cloudstore.stores.service.locations import LocationService
from cloudstore.stores.service.stores import StoreService
from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = ("apply_distributors", "apply_locations", "apply_stores")


def _same(current: msgspec.Struct, wanted: msgspec.Struct) -> bool:
    """Whether every field of ``wanted`` already has that value in ``current``."""
    have = msgspec.to_builtins(current)
    return all(have.get(k) == v for k, v in msgspec.to_builtins(wanted).items())


async def apply_distributors(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Create or update the file's distributors (matched by code)."""
    del settings
    service = DistributorService(session)
    for i, raw in enumerate(doc.distributors):
        data = file_entry(DistributorCreate, raw, "distributors", i)
        found = await service.find(tenant_id, data.code)
        if found is None:
            await service.create(tenant_id, data)
            report.count("distributors", "created")
        elif _same(found[1], data):
            report.count("distributors", "unchanged")
        else:
            await service.update(tenant_id, data.code, DistributorUpdate(name=data.name, regions=data.regions))
            report.count("distributors", "updated")


async def apply_locations(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Create or update the file's warehouses (matched by code)."""
    del settings
    service = LocationService(session)
    for i, raw in enumerate(doc.locations):
        data = file_entry(LocationCreate, raw, "locations", i)
        found = await service.find(tenant_id, data.code)
        if found is None:
            await service.create(tenant_id, data)
            report.count("locations", "created")
        elif found[1].kind != data.kind:
            raise ValidationFailed(
                f"tenant file: location {data.code!r} is a {found[1].kind} location, not {data.kind}"
            )
        elif _same(found[1], data):
            report.count("locations", "unchanged")
        else:
            update = LocationUpdate(
                name=data.name, lat=data.lat, lng=data.lng, regions=data.regions, distributor_code=data.distributor_code
            )
            await service.update(tenant_id, data.code, update)
            report.count("locations", "updated")


async def apply_stores(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Create or update the file's stores (matched by code)."""
    service = StoreService(session, settings)
    for i, raw in enumerate(doc.stores):
        data = file_entry(StoreCreate, raw, "stores", i)
        found = await service.find(tenant_id, doc.slug, data.code)
        if found is None:
            await service.create(tenant_id, doc.slug, data)
            report.count("stores", "created")
        elif _same(found, data):
            report.count("stores", "unchanged")
        else:
            update = msgspec.convert({k: v for k, v in msgspec.to_builtins(data).items() if k != "code"}, StoreUpdate)
            await service.update(tenant_id, doc.slug, data.code, update)
            report.count("stores", "updated")
