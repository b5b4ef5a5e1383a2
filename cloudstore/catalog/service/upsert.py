"""Creating and updating many products at once by code: tenant files and CSV imports.

The current rows are read once, the differences are worked out in Python, and each kind of write is one
``executemany``: a few statements whatever the number of products. Nothing that already matches is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.catalog.schemas import ProductCreate, ProductStatus, SkuCreate, SkuRead
from cloudstore.catalog.service.products import (
    INSERT_SKU,
    PRODUCT,
    Outcome,
    ProductService,
    SkuTaken,
    band,
    check_unique,
    sku_read,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("upsert_products",)

_UPDATE_PRODUCT = text(
    "UPDATE products SET title = :title, category = :category, description = :description, "
    "images = :images, status = :status, updated_at = :now, published_at = CASE "
    "WHEN :status = 'published' THEN COALESCE(published_at, CAST(:now AS timestamptz)) ELSE published_at END "
    "WHERE tenant_id = :t AND id = :id"
)


class _Plan(msgspec.Struct):
    """What to write."""

    outcomes: dict[str, Outcome] = msgspec.field(default_factory=dict)
    new: list[tuple[ProductCreate, ProductStatus]] = msgspec.field(default_factory=list)
    new_skus: list[tuple[int, int, SkuCreate]] = msgspec.field(default_factory=list)  # product id, position, SKU
    changed_products: list[tuple[int, ProductCreate, ProductStatus]] = msgspec.field(default_factory=list)
    changed_skus: list[tuple[int, SkuRead]] = msgspec.field(default_factory=list)
    band_changed: set[int] = msgspec.field(default_factory=set)


def _plan_skus(plan: _Plan, product: ProductCreate, product_id: int, taken: dict[str, Row[Any]]) -> bool:
    """Plan the SKUs of an existing product; whether any changes."""
    changed = False
    for position, sku in enumerate(product.skus):
        low, high = band(sku)
        wanted = SkuRead(sku.code, sku.spec, sku.price, low, high, active=True, sort=position)
        have = taken.get(sku.code)
        if have is None:
            plan.new_skus.append((product_id, position, sku))
            changed = True
        elif have.product_id != product_id:
            raise SkuTaken(sku.code, have.product_code)
        elif sku_read(have) != wanted:
            plan.changed_skus.append((have.id, wanted))
            if (have.min_price, have.max_price) != (low, high):
                plan.band_changed.add(have.id)
            changed = True
    return changed


def _plan(
    products: Sequence[tuple[ProductCreate, ProductStatus | None]],
    existing: dict[str, Row[Any]],
    taken: dict[str, Row[Any]],
) -> _Plan:
    plan = _Plan()
    for product, status in products:
        row = existing.get(product.code)
        if row is None:
            for sku in product.skus:
                if sku.code in taken:
                    raise SkuTaken(sku.code, taken[sku.code].product_code)
            plan.new.append((product, status or "draft"))
            plan.outcomes[product.code] = "created"
            continue
        wanted_status = status or row.status
        have = (row.title, row.category, row.description, list(row.images), row.status)
        changed = have != (product.title, product.category, product.description, product.images, wanted_status)
        if changed:
            plan.changed_products.append((row.id, product, wanted_status))
        changed = _plan_skus(plan, product, row.id, taken) or changed
        plan.outcomes[product.code] = "updated" if changed else "unchanged"
    return plan


async def upsert_products(
    session: AsyncSession, tenant_id: int, products: Sequence[tuple[ProductCreate, ProductStatus | None]]
) -> dict[str, Outcome]:
    """Create or update products and their SKUs by code; each product's outcome.

    A status of ``None`` keeps an existing product's status (a new one starts as a draft). SKUs missing from an
    entry are left as they are; SKUs listed are made active and take the entry's order.

    Raises:
        ValidationFailed: a code is repeated or a band does not hold its price.
        SkuTaken: a SKU code belongs to another product.
    """
    check_unique([p for p, _ in products])
    service = ProductService(session)
    codes = [p.code for p, _ in products]
    existing = {
        r.code: r
        for r in await session.execute(text(PRODUCT + " AND code = ANY(:codes)"), {"t": tenant_id, "codes": codes})
    }
    taken = await service.taken_skus(tenant_id, [s.code for p, _ in products for s in p.skus])
    plan = _plan(products, existing, taken)
    await service.insert_products(tenant_id, plan.new)
    if plan.changed_products:
        now = datetime.now(UTC)  # a parameter: Citus refuses now() inside CASE/COALESCE of a distributed UPDATE
        await session.execute(
            _UPDATE_PRODUCT,
            [
                {
                    "t": tenant_id,
                    "id": product_id,
                    "title": p.title,
                    "category": p.category,
                    "description": p.description,
                    "images": p.images,
                    "status": status,
                    "now": now,
                }
                for product_id, p, status in plan.changed_products
            ],
        )
    if plan.new_skus:
        await session.execute(
            INSERT_SKU,
            [
                {"t": tenant_id, "p": product_id, "code": s.code, "spec": s.spec, "price": s.price,
                 "min_price": band(s)[0], "max_price": band(s)[1], "sort": position}
                for product_id, position, s in plan.new_skus
            ],
        )  # fmt: skip
    await service.write_skus(tenant_id, plan.changed_skus, plan.band_changed)
    return plan.outcomes
