"""Shipping codes to a store or a distributor (定向铺货): all or none, and each code once.

The codes named and the units of the cases named are locked in code order by one locking read, so two
shipments of the same case queue on its rows; the second then finds them shipped and is refused with
nothing assigned.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import text

from cloudstore.codes.format import parse
from cloudstore.codes.schemas import ShipmentCreate, ShipmentRead
from cloudstore.lib.errors import Conflict, ValidationFailed

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("CodeNotShippable", "ShipmentService")


class CodeNotShippable(Conflict):
    """A code named in a shipment is unknown or already shipped."""

    code = "code_not_shippable"
    title = "Code not shippable"


_LOCK = text(
    """
    SELECT code, level, case_code, shipment_id FROM codes
    WHERE tenant_id = :t AND (code = ANY(CAST(:codes AS text[])) OR case_code = ANY(CAST(:codes AS text[])))
    ORDER BY code
    FOR NO KEY UPDATE
    """
)


class ShipmentService:
    """Assigning codes to the store network."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _target(self, tenant_id: int, data: ShipmentCreate) -> tuple[int | None, int | None]:
        if (data.store is None) == (data.distributor is None):
            raise ValidationFailed("name exactly one of store or distributor")
        if data.store is not None:
            store_id = (
                await self.session.execute(
                    text("SELECT id FROM stores WHERE tenant_id = :t AND code = :c"), {"t": tenant_id, "c": data.store}
                )
            ).scalar_one_or_none()
            if store_id is None:
                raise ValidationFailed(f"no store {data.store!r}")
            return int(store_id), None
        distributor_id = (
            await self.session.execute(
                text("SELECT id FROM distributors WHERE tenant_id = :t AND code = :c"),
                {"t": tenant_id, "c": data.distributor},
            )
        ).scalar_one_or_none()
        if distributor_id is None:
            raise ValidationFailed(f"no distributor {data.distributor!r}")
        return None, int(distributor_id)

    async def ship(self, tenant_id: int, data: ShipmentCreate, now: datetime) -> ShipmentRead:
        """Assign the named codes (a case code with all its units) to the store or distributor.

        Raises:
            ValidationFailed: not exactly one of store and distributor, or no such one.
            CodeNotShippable: a code is unknown, of another tenant, or already shipped (409 naming it).
        """
        store_id, distributor_id = await self._target(tenant_id, data)
        named: list[str] = []
        for raw in data.codes:
            parsed = parse(raw)
            if parsed is None or parsed[0] != tenant_id:
                raise CodeNotShippable(f"code {raw!r} is unknown")
            named.append(parsed[1])
        rows = (await self.session.execute(_LOCK, {"t": tenant_id, "codes": sorted(set(named))})).all()
        found = {r.code for r in rows}
        unknown = [c for c in named if c not in found]
        if unknown:
            raise CodeNotShippable(f"code {unknown[0]!r} is unknown")
        asked = set(named)
        # Name what the caller named: the unit itself, or the case a shipped unit belongs to.
        shipped = sorted({r.code if r.code in asked else r.case_code for r in rows if r.shipment_id is not None})
        if shipped:
            raise CodeNotShippable(f"code {shipped[0]!r} was already shipped")
        units = sum(1 for r in rows if r.level == "unit")
        # 48 random bits: two of even 10,000 shipments in a day share a number about once in 15,000 years.
        shipment_no = f"CS{now:%Y%m%d}-{secrets.token_hex(6).upper()}"
        shipment_id = (
            await self.session.execute(
                text(
                    "INSERT INTO code_shipments (tenant_id, shipment_no, store_id, distributor_id, units, created_at) "
                    "VALUES (:t, :no, :s, :d, :u, :now) RETURNING id"
                ),
                {"t": tenant_id, "no": shipment_no, "s": store_id, "d": distributor_id, "u": units, "now": now},
            )
        ).scalar_one()
        await self.session.execute(
            text(
                "UPDATE codes SET shipment_id = :sh, store_id = :s, distributor_id = :d "
                "WHERE tenant_id = :t AND code = ANY(CAST(:codes AS text[]))"
            ),
            {"t": tenant_id, "sh": shipment_id, "s": store_id, "d": distributor_id, "codes": sorted(found)},
        )
        return ShipmentRead(shipment_no=shipment_no, units=units, store=data.store, distributor=data.distributor)
