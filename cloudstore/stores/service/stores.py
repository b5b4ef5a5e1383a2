"""Stores (b): each owns the stock location with its code and has a cloud storefront."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import Conflict, NotFound
from cloudstore.lib.paging import cut_page, page_start
from cloudstore.stores.links import share_links
from cloudstore.stores.schemas import StoreCreate, StorePage, StoreRead, StoreUpdate
from cloudstore.stores.service.sql import code_id, given, update_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = ("StoreService",)

_STORE = """
    SELECT s.id, s.location_id, s.code, s.name, d.code AS distributor_code, s.region, l.lat, l.lng, s.address,
           s.delivery_radius_km, s.pickup, s.status
    FROM stores s
    JOIN locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
    LEFT JOIN distributors d ON d.tenant_id = s.tenant_id AND d.id = s.distributor_id
    WHERE s.tenant_id = :t
"""
# Store fields that live on the store's location row as well (or only there).
_ON_LOCATION = {"name", "lat", "lng", "distributor_id"}
_ON_STORE = {"name", "distributor_id", "region", "address", "delivery_radius_km", "pickup"}


class StoreService:
    """Stores (b) of one tenant; each store owns the stock location with its code."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def _store(self, tenant: str, row: Row[Any]) -> StoreRead:
        return StoreRead(
            code=row.code,
            name=row.name,
            distributor_code=row.distributor_code,
            region=row.region,
            lat=row.lat,
            lng=row.lng,
            address=row.address,
            delivery_radius_km=row.delivery_radius_km,
            pickup=row.pickup,
            status=row.status,
            storefront_url=share_links(self.settings, tenant, row.code).h5_url,
        )

    async def create(self, tenant_id: int, tenant: str, data: StoreCreate) -> StoreRead:
        """Add a store and its stock location (kind ``store``, same code)."""
        distributor_id = await code_id(self.session, "distributors", tenant_id, data.distributor_code, "distributor")
        try:
            async with self.session.begin_nested():
                location_id = (
                    await self.session.execute(
                        text(
                            "INSERT INTO locations (tenant_id, code, name, kind, lat, lng, distributor_id) "
                            "VALUES (:t, :c, :n, 'store', :lat, :lng, :d) RETURNING id"
                        ),
                        {
                            "t": tenant_id,
                            "c": data.code,
                            "n": data.name,
                            "lat": data.lat,
                            "lng": data.lng,
                            "d": distributor_id,
                        },
                    )
                ).scalar_one()
                await self.session.execute(
                    text(
                        "INSERT INTO stores (tenant_id, code, name, location_id, distributor_id, region, address, "
                        "delivery_radius_km, pickup) VALUES (:t, :c, :n, :l, :d, :r, :a, :km, :p)"
                    ),
                    {
                        "t": tenant_id,
                        "c": data.code,
                        "n": data.name,
                        "l": location_id,
                        "d": distributor_id,
                        "r": data.region,
                        "a": data.address,
                        "km": data.delivery_radius_km,
                        "p": data.pickup,
                    },
                )
        except IntegrityError as exc:
            raise Conflict(f"store or location {data.code!r} already exists") from exc
        return StoreRead(
            code=data.code,
            name=data.name,
            distributor_code=data.distributor_code,
            region=data.region,
            lat=data.lat,
            lng=data.lng,
            address=data.address,
            delivery_radius_km=data.delivery_radius_km,
            pickup=data.pickup,
            status="active",
            storefront_url=share_links(self.settings, tenant, data.code).h5_url,
        )

    async def _row(self, tenant_id: int, code: str) -> Row[Any] | None:
        return (await self.session.execute(text(_STORE + " AND s.code = :c"), {"t": tenant_id, "c": code})).first()

    async def find(self, tenant_id: int, tenant: str, code: str) -> StoreRead | None:
        """The store with ``code``, if any."""
        row = await self._row(tenant_id, code)
        return self._store(tenant, row) if row is not None else None

    async def get(self, tenant_id: int, tenant: str, code: str) -> StoreRead:
        """One store, or not found."""
        row = await self._row(tenant_id, code)
        if row is None:
            raise NotFound("store", code)
        return self._store(tenant, row)

    async def list_stores(
        self,
        tenant_id: int,
        tenant: str,
        *,
        cursor: str | None,
        limit: int,
        status: str | None = None,
        distributor: str | None = None,
        distributor_id: int | None = None,
        region: str | None = None,
    ) -> StorePage:
        """Stores in creation order, filtered by status, distributor (code or id) and region prefix."""
        rows = list(
            (
                await self.session.execute(
                    text(
                        _STORE + " AND s.id > :after"
                        " AND (CAST(:status AS text) IS NULL OR s.status = :status)"
                        " AND (CAST(:dcode AS text) IS NULL OR d.code = :dcode)"
                        " AND (CAST(:did AS bigint) IS NULL OR s.distributor_id = :did)"
                        " AND (CAST(:region AS text) IS NULL OR starts_with(s.region, :region))"
                        " ORDER BY s.id LIMIT :n"
                    ),
                    {
                        "t": tenant_id,
                        "after": page_start(cursor, int, first=(0,))[0],
                        "status": status,
                        "dcode": distributor,
                        "did": distributor_id,
                        "region": region,
                        "n": limit + 1,
                    },
                )
            ).all()
        )
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        return StorePage(items=[self._store(tenant, r) for r in page], next_cursor=next_cursor)

    async def update(self, tenant_id: int, tenant: str, code: str, data: StoreUpdate) -> StoreRead:
        """Change a store; its location follows (name, coordinates, distributor)."""
        row = await self._row(tenant_id, code)
        if row is None:
            raise NotFound("store", code)
        values = given(data)
        if "distributor_code" in values:
            distributor = values.pop("distributor_code")
            values["distributor_id"] = await code_id(
                self.session, "distributors", tenant_id, distributor, "distributor"
            )
        await update_row(self.session, "stores", tenant_id, row.id, {k: v for k, v in values.items() if k in _ON_STORE})
        await update_row(
            self.session,
            "locations",
            tenant_id,
            row.location_id,
            {k: v for k, v in values.items() if k in _ON_LOCATION},
        )
        return await self.get(tenant_id, tenant, code)

    async def archive(self, tenant_id: int, tenant: str, code: str) -> StoreRead:
        """Archive a store and its location: its storefront closes and its stock no longer ships."""
        row = await self._row(tenant_id, code)
        if row is None:
            raise NotFound("store", code)
        if row.status != "archived":
            await update_row(self.session, "stores", tenant_id, row.id, {"status": "archived"})
            await update_row(self.session, "locations", tenant_id, row.location_id, {"status": "archived"})
        return await self.get(tenant_id, tenant, code)
