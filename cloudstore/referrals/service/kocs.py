"""A store's KOCs: registration under a fresh code, their share links, and what each brought."""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import Conflict, NotFound, ValidationFailed
from cloudstore.lib.paging import cut_page, page_start
from cloudstore.referrals.schemas import KocCreate, KocPage, KocRead, KocUpdate
from cloudstore.stores.links import share_links

if TYPE_CHECKING:
    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = ("KocService", "new_koc_code")

_CODE_ATTEMPTS = 8


def new_koc_code() -> str:
    """A fresh KOC code: ``K`` and 8 base32 characters (40 random bits), URL-safe and easy to read out."""
    return "K" + base64.b32encode(secrets.token_bytes(5)).decode()


_KOC_COLUMNS = """
    SELECT k.id, k.code, k.name, k.phone, k.consumer_id, k.active, k.created_at, s.code AS store_code,
      (SELECT count(*) FROM touches t WHERE t.tenant_id = k.tenant_id AND t.koc_id = k.id
         AND t.outcome NOT IN ('self_referral', 'loop')) AS touches,
      (SELECT count(*) FROM orders o WHERE o.tenant_id = k.tenant_id AND o.credited_koc_id = k.id) AS orders,
      (SELECT CAST(COALESCE(sum((l.amount - l.discount) - (l.amount - l.discount) * l.refunded_qty / l.qty), 0)
         AS bigint)
         FROM orders o JOIN order_lines l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
         WHERE o.tenant_id = k.tenant_id AND o.credited_koc_id = k.id) AS sales,
      (SELECT CAST(COALESCE(sum(e.amount), 0) AS bigint) FROM ledger_entries e
         WHERE e.tenant_id = k.tenant_id AND e.beneficiary_kind = 'koc' AND e.beneficiary_id = k.id) AS earnings
    FROM kocs k JOIN stores s ON s.tenant_id = k.tenant_id AND s.id = k.store_id
    WHERE k.tenant_id = :t AND k.store_id = :s
"""


class KocService:
    """A store's KOCs: registration, links, and what each brought."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def _read(self, tenant: str, row: Row[Any]) -> KocRead:
        links = share_links(self.settings, tenant, row.store_code, row.code)
        return KocRead(
            code=row.code,
            name=row.name,
            phone=row.phone,
            consumer_id=row.consumer_id,
            active=row.active,
            share_url=links.h5_url,
            qr_url=f"{self.settings.public_base_url.rstrip('/')}/v1/store/qr?{urlencode({'koc': row.code})}",
            miniprogram_path=links.miniprogram_path,
            touches=int(row.touches),
            orders=int(row.orders),
            sales=int(row.sales),
            earnings=int(row.earnings),
            created_at=row.created_at,
        )

    async def _row(self, tenant_id: int, store_id: int, code: str) -> Row[Any]:
        row = (
            await self.session.execute(
                text(_KOC_COLUMNS + " AND k.code = :c"), {"t": tenant_id, "s": store_id, "c": code}
            )
        ).first()
        if row is None:
            raise NotFound("KOC", code)
        return row

    async def create(self, tenant_id: int, tenant: str, store_id: int, data: KocCreate) -> KocRead:
        """Register a KOC for the store under a fresh code.

        Raises:
            ValidationFailed: ``consumer_id`` is not a consumer of this tenant.
            Conflict: that consumer is already a KOC.
        """
        if data.consumer_id is not None:
            await self._check_consumer(tenant_id, data.consumer_id)
        code = await self._insert(tenant_id, store_id, data)
        return self._read(tenant, await self._row(tenant_id, store_id, code))

    async def _check_consumer(self, tenant_id: int, consumer_id: int) -> None:
        row = (
            await self.session.execute(
                text(
                    "SELECT c.id, k.code FROM consumers c "
                    "LEFT JOIN kocs k ON k.tenant_id = c.tenant_id AND k.consumer_id = c.id "
                    "WHERE c.tenant_id = :t AND c.id = :c"
                ),
                {"t": tenant_id, "c": consumer_id},
            )
        ).first()
        if row is None:
            raise ValidationFailed(f"consumer {consumer_id} does not exist")
        if row.code is not None:
            raise Conflict(f"consumer {consumer_id} is already a KOC")

    async def _insert(self, tenant_id: int, store_id: int, data: KocCreate) -> str:
        for _ in range(_CODE_ATTEMPTS):
            code = new_koc_code()
            try:
                async with self.session.begin_nested():
                    await self.session.execute(
                        text(
                            "INSERT INTO kocs (tenant_id, code, store_id, name, phone, consumer_id) "
                            "VALUES (:t, :code, :s, :n, :p, :c)"
                        ),
                        {
                            "t": tenant_id,
                            "code": code,
                            "s": store_id,
                            "n": data.name,
                            "p": data.phone,
                            "c": data.consumer_id,
                        },
                    )
            except IntegrityError as exc:
                if "consumer_id" in str(exc.orig):
                    raise Conflict(f"consumer {data.consumer_id} is already a KOC") from exc
                continue  # the code is taken: draw another
            return code
        raise Conflict("could not allocate a KOC code; try again")

    async def get(self, tenant_id: int, tenant: str, store_id: int, code: str) -> KocRead:
        """One of the store's KOCs; another store's is not found."""
        return self._read(tenant, await self._row(tenant_id, store_id, code))

    async def list(self, tenant_id: int, tenant: str, store_id: int, *, cursor: str | None, limit: int) -> KocPage:
        """The store's KOCs in registration order, with their statistics."""
        after = page_start(cursor, int, first=(0,))[0]
        rows = (
            await self.session.execute(
                text(_KOC_COLUMNS + " AND k.id > :after ORDER BY k.id LIMIT :n"),
                {"t": tenant_id, "s": store_id, "after": after, "n": limit + 1},
            )
        ).all()
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        return KocPage(items=[self._read(tenant, r) for r in page], next_cursor=next_cursor)

    async def update(self, tenant_id: int, tenant: str, store_id: int, code: str, data: KocUpdate) -> KocRead:
        """Change a KOC's name or phone, or (de)activate it."""
        row = await self._row(tenant_id, store_id, code)
        given = {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
        if given:
            sets = ", ".join(f"{f} = :{f}" for f in given)  # field names come from the Struct, not the client
            await self.session.execute(
                text(f"UPDATE kocs SET {sets} WHERE tenant_id = :t AND id = :i"),  # noqa: S608
                {**given, "t": tenant_id, "i": row.id},
            )
        return self._read(tenant, await self._row(tenant_id, store_id, code))
