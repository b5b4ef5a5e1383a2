"""Stock CSV import: ``location,sku,on_hand`` sets the on-hand quantity of each SKU at each location.

Every change is a stock movement with reason ``import`` (the file name is its reference). A file with any bad
line (malformed, repeated pair, unknown code, below what is reserved) writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from cloudstore.auth.schemas import Code
from cloudstore.inventory.service import BelowReserved, Level, StockService
from cloudstore.lib.imports import (
    ImportFailed,
    ImportSummary,
    LineError,
    check_cell,
    parse_int,
    read_csv,
    run_in_tenant,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.imports import Progress

__all__ = ("COLUMNS", "StockLine", "import_stock", "import_stock_file", "parse_stock_csv")

COLUMNS = ("location", "sku", "on_hand")
CHUNK = 2000
ON_HAND_MAX = 1_000_000_000


class StockLine(msgspec.Struct, frozen=True):
    """One line of a stock file."""

    line: int
    location: str
    sku: str
    on_hand: int


def parse_stock_csv(content: str, progress: Progress | None = None) -> list[StockLine]:
    """The lines of a stock CSV file.

    Raises:
        ImportFailed: naming every malformed line and every repeated (location, sku) pair.
    """
    records = list(read_csv(content, COLUMNS))
    errors: list[LineError] = []
    lines: list[StockLine] = []
    seen: dict[tuple[str, str], int] = {}
    for done, record in enumerate(records, 1):
        if progress is not None and (done % 500 == 0 or done == len(records)):
            progress(done, len(records))
        if record.error:
            errors.append(LineError(record.line, record.error))
            continue
        cells = record.cells
        try:
            location = check_cell(cells["location"], Code, "location")
            sku = check_cell(cells["sku"], Code, "sku")
            on_hand = parse_int(cells["on_hand"], "on_hand", minimum=0, maximum=ON_HAND_MAX)
        except ValueError as exc:
            errors.append(LineError(record.line, str(exc)))
            continue
        if (location, sku) in seen:
            errors.append(LineError(record.line, f"{sku} at {location} is already on line {seen[location, sku]}"))
            continue
        seen[location, sku] = record.line
        lines.append(StockLine(record.line, location, sku, on_hand))
    if errors:
        raise ImportFailed(errors)
    return lines


def _unknown(line: StockLine, loc_ids: dict[str, int], sku_ids: dict[str, int]) -> str:
    parts = [f"location {line.location!r}"] if line.location not in loc_ids else []
    parts += [f"SKU {line.sku!r}"] if line.sku not in sku_ids else []
    return "unknown " + " and ".join(parts)


async def import_stock(
    session: AsyncSession,
    tenant_id: int,
    lines: list[StockLine],
    *,
    reference: str | None,
    actor: str = "cli",
    progress: Progress | None = None,
) -> ImportSummary:
    """Set on-hand for every line (in the caller's transaction), a chunk at a time."""
    service = StockService(session)
    loc_ids, sku_ids = await service.resolve(tenant_id, {x.location for x in lines}, {x.sku for x in lines})
    unknown = [
        LineError(x.line, _unknown(x, loc_ids, sku_ids))
        for x in lines
        if x.location not in loc_ids or x.sku not in sku_ids
    ]
    if unknown:
        raise ImportFailed(unknown)
    line_of = {(x.location, x.sku): x.line for x in lines}
    summary = ImportSummary(lines=len(lines))
    for start in range(0, len(lines), CHUNK):
        chunk = lines[start : start + CHUNK]
        levels = [Level(loc_ids[x.location], sku_ids[x.sku], x.location, x.sku, x.on_hand) for x in chunk]
        try:
            outcomes, _ = await service.write(tenant_id, levels, actor=actor, reason="import", reference=reference)
        except BelowReserved as exc:
            raise ImportFailed(
                [
                    LineError(line_of[lv.location, lv.sku], f"on_hand {lv.on_hand} is below the {reserved} reserved")
                    for lv, reserved in exc.short
                ]
            ) from exc
        summary.add(list(outcomes))
        if progress is not None:
            progress(start + len(chunk), len(lines))
    return summary


async def import_stock_file(
    database_url: str,
    tenant: str,
    lines: list[StockLine],
    *,
    reference: str | None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import parsed lines into ``tenant`` in one transaction of their own."""

    async def work(session: AsyncSession, tenant_id: int) -> ImportSummary:
        return await import_stock(session, tenant_id, lines, reference=reference, progress=progress)

    return await run_in_tenant(database_url, tenant, work)
