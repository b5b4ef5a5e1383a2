"""Catalog CSV import: ``product_code,title,category,sku_code,spec,price,min_price,max_price[,description]``.

One line per SKU; the lines of one product repeat its code, title and category. Prices are whole fen; an empty
``min_price`` or ``max_price`` means the list price. Products are matched by code: new ones are created (as
drafts, or published with ``publish``), existing ones updated; applying the same file again changes nothing.
A file with any bad line writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from cloudstore.auth.schemas import Code
from cloudstore.catalog.schemas import ProductCreate, SkuCreate
from cloudstore.catalog.service import SkuTaken, band, upsert_products
from cloudstore.lib.errors import ValidationFailed
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

__all__ = ("COLUMNS", "CatalogRow", "import_catalog", "import_catalog_file", "parse_catalog_csv")

COLUMNS = ("product_code", "title", "category", "sku_code", "spec", "price", "min_price", "max_price")
OPTIONAL = ("description",)
PRICE_MAX = 100_000_000
_PRODUCT_FIELDS = {"code": "product_code", "title": "title", "category": "category", "description": "description"}


class CatalogRow(msgspec.Struct):
    """One product from the file, with the line each of its SKUs came from."""

    product: ProductCreate
    line: int
    sku_lines: dict[str, int]


_COLUMN_OF = {"code": "product_code", "skus": "sku", "min_price": "min_price", "max_price": "max_price"}


def _reason(exc: msgspec.ValidationError, column_of: dict[str, str]) -> str:
    """A msgspec error as ``column: what is wrong``."""
    message, _, where = str(exc).partition(" - at `$.")
    field = where.rstrip("`").split(".")[0].split("[")[0]
    return f"{column_of.get(field, field)}: {message}" if field else message


def _sku(cells: dict[str, str]) -> SkuCreate:
    """The SKU on one line; a ``ValueError`` says what is wrong with it."""
    data = {
        "code": cells["sku_code"],
        "spec": cells["spec"],
        "price": parse_int(cells["price"], "price", minimum=1, maximum=PRICE_MAX),
        "min_price": parse_int(cells["min_price"], "min_price", minimum=1, maximum=PRICE_MAX)
        if cells["min_price"]
        else None,
        "max_price": parse_int(cells["max_price"], "max_price", minimum=1, maximum=PRICE_MAX)
        if cells["max_price"]
        else None,
    }
    try:
        sku = msgspec.convert(data, SkuCreate)
        band(sku)
    except msgspec.ValidationError as exc:
        raise ValueError(_reason(exc, {"code": "sku_code"})) from None
    except ValidationFailed as exc:
        raise ValueError(exc.detail.partition(": ")[2] or exc.detail) from None
    return sku


def parse_catalog_csv(content: str, progress: Progress | None = None) -> list[CatalogRow]:
    """The products in a catalog CSV file.

    Raises:
        ImportFailed: naming every bad line (malformed value, band that does not hold the price, a SKU listed
            twice, a product whose lines disagree on title or category).
    """
    records = list(read_csv(content, COLUMNS, OPTIONAL))
    errors: list[LineError] = []
    rows: dict[str, CatalogRow] = {}
    sku_seen: dict[str, int] = {}
    for done, record in enumerate(records, 1):
        if progress is not None and (done % 500 == 0 or done == len(records)):
            progress(done, len(records))
        if record.error:
            errors.append(LineError(record.line, record.error))
            continue
        cells = {**dict.fromkeys(OPTIONAL, ""), **record.cells}
        try:
            code = check_cell(cells["product_code"], Code, "product_code")
            sku = _sku(cells)
        except ValueError as exc:
            errors.append(LineError(record.line, str(exc)))
            continue
        if sku.code in sku_seen:
            errors.append(LineError(record.line, f"SKU {sku.code!r} is already on line {sku_seen[sku.code]}"))
            continue
        sku_seen[sku.code] = record.line
        row = rows.get(code)
        if row is None:
            fields = {field: cells[column] for field, column in _PRODUCT_FIELDS.items()}
            try:
                product = msgspec.convert({**fields, "skus": [msgspec.to_builtins(sku)]}, ProductCreate)
            except msgspec.ValidationError as exc:
                errors.append(LineError(record.line, _reason(exc, _COLUMN_OF)))
                continue
            rows[code] = CatalogRow(product=product, line=record.line, sku_lines={sku.code: record.line})
            continue
        first = row.product
        if (cells["title"], cells["category"]) != (first.title, first.category):
            errors.append(LineError(record.line, f"product {code!r}: title or category differs from line {row.line}"))
            continue
        if len(first.skus) >= 50:
            errors.append(LineError(record.line, f"product {code!r} has more than 50 SKUs"))
            continue
        first.skus.append(sku)
        row.sku_lines[sku.code] = record.line
    if errors:
        raise ImportFailed(errors)
    return list(rows.values())


async def import_catalog(
    session: AsyncSession, tenant_id: int, rows: list[CatalogRow], *, publish: bool = False
) -> ImportSummary:
    """Create or update the products (in the caller's transaction); counts are per product."""
    summary = ImportSummary(lines=sum(len(r.sku_lines) for r in rows))
    try:
        outcomes = await upsert_products(
            session, tenant_id, [(r.product, "published" if publish else None) for r in rows]
        )
    except SkuTaken as exc:
        line = next(r.sku_lines[exc.sku] for r in rows if exc.sku in r.sku_lines)
        raise ImportFailed([LineError(line, exc.detail)]) from exc
    summary.add(list(outcomes.values()))
    return summary


async def import_catalog_file(
    database_url: str, tenant: str, rows: list[CatalogRow], *, publish: bool = False
) -> ImportSummary:
    """Import parsed rows into ``tenant`` in one transaction of their own."""

    async def work(session: AsyncSession, tenant_id: int) -> ImportSummary:
        return await import_catalog(session, tenant_id, rows, publish=publish)

    return await run_in_tenant(database_url, tenant, work)
