"""Stock locations: regional warehouses (serving region prefixes) and the central one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import Conflict, InvalidState, NotFound, ValidationFailed
from cloudstore.lib.paging import cut_page, page_start
from cloudstore.stores.schemas import LocationCreate, LocationPage, LocationRead, LocationUpdate
from cloudstore.stores.service.sql import code_id, given, update_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("LocationService",)

_LOCATION = """
    SELECT l.id, l.code, l.name, l.kind, l.regions, l.lat, l.lng, d.code AS distributor_code, l.status
    FROM locations l LEFT JOIN distributors d ON d.tenant_id = l.tenant_id AND d.id = l.distributor_id
    WHERE l.tenant_id = :t
"""


def _location(row: Row[Any]) -> LocationRead:
    return LocationRead(
        code=row.code,
        name=row.name,
        kind=row.kind,
        regions=list(row.regions),
        lat=row.lat,
        lng=row.lng,
        distributor_code=row.distributor_code,
        status=row.status,
    )


def _check_regions(kind: str, regions: list[str]) -> None:
    if kind == "regional" and not regions:
        raise ValidationFailed("a regional warehouse needs at least one region it serves")
    if kind == "central" and regions:
        raise ValidationFailed("the central warehouse serves every region; give it no regions")


class LocationService:
    """Stock locations: regional and central warehouses (store locations come with their stores)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, tenant_id: int, data: LocationCreate) -> LocationRead:
        """Add a warehouse; a taken code (also a store's) is a conflict."""
        _check_regions(data.kind, data.regions)
        distributor_id = (
            await code_id(self.session, "distributors", tenant_id, data.distributor_code, "distributor")
            if data.distributor_code is not None
            else None
        )
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    text(
                        "INSERT INTO locations (tenant_id, code, name, kind, lat, lng, regions, distributor_id) "
                        "VALUES (:t, :c, :n, :k, :lat, :lng, :r, :d)"
                    ),
                    {
                        "t": tenant_id,
                        "c": data.code,
                        "n": data.name,
                        "k": data.kind,
                        "lat": data.lat,
                        "lng": data.lng,
                        "r": data.regions,
                        "d": distributor_id,
                    },
                )
        except IntegrityError as exc:
            raise Conflict(f"location {data.code!r} already exists") from exc
        return LocationRead(
            code=data.code,
            name=data.name,
            kind=data.kind,
            regions=data.regions,
            lat=data.lat,
            lng=data.lng,
            distributor_code=data.distributor_code,
            status="active",
        )

    async def find(self, tenant_id: int, code: str) -> tuple[int, LocationRead] | None:
        """The location with ``code`` and its id, if any."""
        row = (await self.session.execute(text(_LOCATION + " AND l.code = :c"), {"t": tenant_id, "c": code})).first()
        return (int(row.id), _location(row)) if row is not None else None

    async def get(self, tenant_id: int, code: str) -> LocationRead:
        """One location, or not found."""
        found = await self.find(tenant_id, code)
        if found is None:
            raise NotFound("location", code)
        return found[1]

    async def list_locations(
        self, tenant_id: int, *, kind: str | None, status: str | None, cursor: str | None, limit: int
    ) -> LocationPage:
        """Locations in creation order, filtered by kind and status."""
        rows = list(
            (
                await self.session.execute(
                    text(
                        _LOCATION + " AND l.id > :after"
                        " AND (CAST(:kind AS text) IS NULL OR l.kind = :kind)"
                        " AND (CAST(:status AS text) IS NULL OR l.status = :status)"
                        " ORDER BY l.id LIMIT :n"
                    ),
                    {
                        "t": tenant_id,
                        "after": page_start(cursor, int, first=(0,))[0],
                        "kind": kind,
                        "status": status,
                        "n": limit + 1,
                    },
                )
            ).all()
        )
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        return LocationPage(items=[_location(r) for r in page], next_cursor=next_cursor)

    async def _warehouse(self, tenant_id: int, code: str) -> tuple[int, LocationRead]:
        found = await self.find(tenant_id, code)
        if found is None:
            raise NotFound("location", code)
        if found[1].kind == "store":
            raise InvalidState(f"location {code!r} is a store's; change it through /v1/hq/stores/{code}")
        return found

    async def update(self, tenant_id: int, code: str, data: LocationUpdate) -> LocationRead:
        """Change a warehouse's name, coordinates, regions or distributor."""
        location_id, current = await self._warehouse(tenant_id, code)
        values = given(data)
        _check_regions(current.kind, values.get("regions", current.regions))
        if "distributor_code" in values:
            distributor = values.pop("distributor_code")
            values["distributor_id"] = (
                await code_id(self.session, "distributors", tenant_id, distributor, "distributor")
                if distributor is not None
                else None
            )
        await update_row(self.session, "locations", tenant_id, location_id, values)
        return await self.get(tenant_id, code)

    async def archive(self, tenant_id: int, code: str) -> LocationRead:
        """Archive a warehouse: its stock no longer puts anything on a cloud shelf."""
        location_id, current = await self._warehouse(tenant_id, code)
        if current.status != "archived":
            await update_row(self.session, "locations", tenant_id, location_id, {"status": "archived"})
        return await self.get(tenant_id, code)
