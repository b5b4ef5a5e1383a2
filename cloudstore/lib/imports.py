"""Bulk input shared by the catalog, store and inventory domains: tenant-file entries and CSV files.

CSV files are read whole and checked before anything is written: every bad line is reported with its line
number (the header is line 1), and one bad line means nothing from the file is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "CsvRecord",
    "ImportFailed",
    "ImportSummary",
    "LineError",
    "Progress",
    "check_cell",
    "file_entry",
    "parse_int",
    "read_csv",
    "run_in_tenant",
)

S = TypeVar("S", bound=msgspec.Struct)
T = TypeVar("T")

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while an import runs."""

MAX_REPORTED_ERRORS = 100


def file_entry(kind: type[S], raw: dict[str, Any], section: str, index: int) -> S:
    """Decode one entry of a tenant file section; a bad entry is a 422 naming the section, position and code."""
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        key = raw.get("code") if isinstance(raw, dict) else None
        where = f"{section}[{index}]" + (f" ({key})" if key else "")
        raise ValidationFailed(f"tenant file: {where}: {exc}") from exc


class LineError(msgspec.Struct, frozen=True):
    """What is wrong with one line of an imported file."""

    line: int
    error: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.error}"


class ImportFailed(ValidationFailed):
    """An import was refused; nothing was written. ``errors`` names each bad line."""

    def __init__(self, errors: list[LineError]) -> None:
        shown = errors[:MAX_REPORTED_ERRORS]
        more = f" (and {len(errors) - len(shown)} more)" if len(errors) > len(shown) else ""
        super().__init__(
            f"{len(errors)} bad line(s); nothing was imported: " + "; ".join(map(str, shown[:5])) + more,
            errors=[msgspec.to_builtins(e) for e in shown],
        )
        self.errors = errors


class CsvRecord(msgspec.Struct, frozen=True):
    """One data line of a CSV file: its line number and its cells by (lower-case) column name."""

    line: int
    cells: dict[str, str]
    error: str | None = None


def read_csv(content: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Iterator[CsvRecord]:
    """The data lines of ``content``, cells stripped; blank lines are skipped.

    A line with more cells than the header comes with ``error`` set.

    Raises:
        ImportFailed: the header lacks a required column or names an unknown or repeated one.
    """
    reader = csv.reader(io.StringIO(content.removeprefix("\ufeff"), newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    problems = [f"missing column {c!r}" for c in required if c not in header]
    problems += [f"unknown column {c!r}" for c in header if c not in required and c not in optional]
    problems += [f"column {c!r} appears twice" for c in sorted({c for c in header if header.count(c) > 1})]
    if problems:
        expected = ",".join(required) + "".join(f"[,{c}]" for c in optional)
        raise ImportFailed([LineError(1, f"{'; '.join(problems)} (expected {expected})")])
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            error = f"{len(cells)} cells but the header has {len(header)}"
            yield CsvRecord(line=reader.line_num, cells={}, error=error)
            continue
        padded = [c.strip() for c in cells] + [""] * (len(header) - len(cells))
        yield CsvRecord(line=reader.line_num, cells=dict(zip(header, padded, strict=True)))


def parse_int(value: str, column: str, *, minimum: int, maximum: int) -> int:
    """A whole number from a cell; a ``ValueError`` says what is wrong with it."""
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{column} must be a whole number, not {value!r}") from None
    if not minimum <= number <= maximum:
        raise ValueError(f"{column} must be between {minimum} and {maximum}, not {number}")
    return number


def check_cell(value: Any, kind: Any, column: str) -> Any:
    """``value`` converted to ``kind`` (an annotated type); a ``ValueError`` names the column if it does not fit."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        reason = str(exc).split(" - at ")[0]
        raise ValueError(f"{column} {value!r}: {reason}") from None


class ImportSummary(msgspec.Struct):
    """What an import did: how many lines it read and how many objects it created, updated or left alone."""

    lines: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcomes: list[str]) -> None:
        """Count ``created`` / ``updated`` / ``unchanged`` outcomes."""
        for outcome in outcomes:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return f"{self.lines} line(s): {self.created} created, {self.updated} updated, {self.unchanged} unchanged"


async def run_in_tenant(database_url: str, tenant: str, work: Callable[[AsyncSession, int], Awaitable[T]]) -> T:
    """Run ``work(session, tenant_id)`` in one transaction as the runtime role, scoped to tenant ``tenant``.

    The transaction commits only if ``work`` returns: an import that fails writes nothing.
    """
    from cloudstore.lib.db import Database, set_tenant

    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.sessions() as session, session.begin():
            found = (await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant})).scalar()
            if found is None:
                raise NotFound("tenant", tenant)
            await set_tenant(session, int(found))
            return await work(session, int(found))
    finally:
        await db.dispose()
