"""The ``[[codes]]`` section of tenant files: small code batches, generated at once and shipped to a store.

A batch is matched by its ``batch_no``: one that exists is left as it is (its codes are never drawn again).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import msgspec
from sqlalchemy import text

from cloudstore.codes.schemas import ShipmentCreate
from cloudstore.codes.service.batches import write_codes
from cloudstore.codes.service.shipments import ShipmentService
from cloudstore.lib.errors import ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings
    from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile

__all__ = ("CodeBatchFileEntry", "apply_codes")

Ref = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class CodeBatchFileEntry(msgspec.Struct, forbid_unknown_fields=True):
    """One batch of a tenant file: at most 1,000 units (generated in the applying transaction), and the store
    all of it ships to."""

    batch_no: Ref
    sku: Ref
    units: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    store: Ref
    units_per_case: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


async def apply_codes(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Generate the file's batches that do not exist yet and ship each to its store."""
    del settings
    for i, raw in enumerate(doc.codes):
        try:
            entry = msgspec.convert(raw, CodeBatchFileEntry)
        except msgspec.ValidationError as exc:
            raise ValidationFailed(f"tenant file: codes[{i}]: {exc}") from exc
        exists = (
            await session.execute(
                text("SELECT 1 FROM code_batches WHERE tenant_id = :t AND batch_no = :no"),
                {"t": tenant_id, "no": entry.batch_no},
            )
        ).first()
        if exists is not None:
            report.count("codes", "unchanged")
            continue
        sku_id = (
            await session.execute(
                text("SELECT id FROM skus WHERE tenant_id = :t AND code = :c"), {"t": tenant_id, "c": entry.sku}
            )
        ).scalar_one_or_none()
        if sku_id is None:
            raise ValidationFailed(f"tenant file: codes[{i}]: no SKU {entry.sku!r}")
        now = datetime.now(UTC)
        cases = math.ceil(entry.units / entry.units_per_case) if entry.units_per_case else 0
        batch_id = (
            await session.execute(
                text(
                    "INSERT INTO code_batches (tenant_id, batch_no, sku_id, units, units_per_case, cases, generated, "
                    "status, created_at, finished_at) "
                    "VALUES (:t, :no, :sku, :units, :upc, :cases, :units, 'ready', :now, :now) RETURNING id"
                ),
                {
                    "t": tenant_id,
                    "no": entry.batch_no,
                    "sku": sku_id,
                    "units": entry.units,
                    "upc": entry.units_per_case,
                    "cases": cases,
                    "now": now,
                },
            )
        ).scalar_one()
        await write_codes(session, tenant_id, int(batch_id), entry.units, entry.units_per_case, cases, 0)
        codes = (
            (
                await session.execute(
                    text("SELECT code FROM codes WHERE tenant_id = :t AND batch_id = :b AND case_code IS NULL"),
                    {"t": tenant_id, "b": batch_id},
                )
            )
            .scalars()
            .all()
        )
        await ShipmentService(session).ship(tenant_id, ShipmentCreate(codes=list(codes), store=entry.store), now)
        report.count("codes", "created")
