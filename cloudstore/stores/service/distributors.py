"""Distributors (B): the businesses that supply a tenant's stores in their regions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import Conflict, NotFound
from cloudstore.lib.paging import cut_page, page_start
from cloudstore.stores.schemas import DistributorCreate, DistributorPage, DistributorRead, DistributorUpdate
from cloudstore.stores.service.sql import given, update_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("DistributorService",)

_DISTRIBUTOR = "SELECT id, code, name, regions, status FROM distributors WHERE tenant_id = :t"


def _distributor(row: Row[Any]) -> DistributorRead:
    return DistributorRead(code=row.code, name=row.name, regions=list(row.regions), status=row.status)


class DistributorService:
    """Distributors (B) of one tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, tenant_id: int, data: DistributorCreate) -> DistributorRead:
        """Add a distributor; a taken code is a conflict."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    text("INSERT INTO distributors (tenant_id, code, name, regions) VALUES (:t, :c, :n, :r)"),
                    {"t": tenant_id, "c": data.code, "n": data.name, "r": data.regions},
                )
        except IntegrityError as exc:
            raise Conflict(f"distributor {data.code!r} already exists") from exc
        return DistributorRead(code=data.code, name=data.name, regions=data.regions, status="active")

    async def find(self, tenant_id: int, code: str) -> tuple[int, DistributorRead] | None:
        """The distributor with ``code`` and its id, if any."""
        row = (await self.session.execute(text(_DISTRIBUTOR + " AND code = :c"), {"t": tenant_id, "c": code})).first()
        return (int(row.id), _distributor(row)) if row is not None else None

    async def get(self, tenant_id: int, code: str) -> DistributorRead:
        """One distributor, or not found."""
        found = await self.find(tenant_id, code)
        if found is None:
            raise NotFound("distributor", code)
        return found[1]

    async def list_distributors(
        self, tenant_id: int, *, status: str | None, cursor: str | None, limit: int
    ) -> DistributorPage:
        """Distributors in creation order, optionally only those with ``status``."""
        rows = list(
            (
                await self.session.execute(
                    text(
                        _DISTRIBUTOR + " AND id > :after AND (CAST(:status AS text) IS NULL OR status = :status)"
                        " ORDER BY id LIMIT :n"
                    ),
                    {"t": tenant_id, "after": page_start(cursor, int, first=(0,))[0], "status": status, "n": limit + 1},
                )
            ).all()
        )
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        return DistributorPage(items=[_distributor(r) for r in page], next_cursor=next_cursor)

    async def update(self, tenant_id: int, code: str, data: DistributorUpdate) -> DistributorRead:
        """Change a distributor's name or regions."""
        found = await self.find(tenant_id, code)
        if found is None:
            raise NotFound("distributor", code)
        await update_row(self.session, "distributors", tenant_id, found[0], given(data))
        return await self.get(tenant_id, code)

    async def archive(self, tenant_id: int, code: str) -> DistributorRead:
        """Mark a distributor archived (its stores keep it as their distributor)."""
        found = await self.find(tenant_id, code)
        if found is None:
            raise NotFound("distributor", code)
        if found[1].status != "archived":
            await update_row(self.session, "distributors", tenant_id, found[0], {"status": "archived"})
        return await self.get(tenant_id, code)
