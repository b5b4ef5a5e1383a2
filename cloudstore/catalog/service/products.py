"""Products (SPU) and SKUs: HQ creates, reads, changes, publishes and archives them.

A published product always keeps at least one active SKU. Narrowing a SKU's band moves store prices outside
it to its nearest edge, so a store's own price is inside HQ's band at all times.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.catalog.schemas import (
    CategoryList,
    CategoryRead,
    ProductCreate,
    ProductPage,
    ProductRead,
    ProductStatus,
    ProductUpdate,
    SkuCreate,
    SkuRead,
    SkuUpdate,
)
from cloudstore.lib.errors import Conflict, InvalidState, NotFound, ValidationFailed
from cloudstore.lib.paging import cut_page, page_start

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncSession


__all__ = (
    "INSERT_SKU",
    "PRODUCT",
    "Outcome",
    "ProductService",
    "SkuTaken",
    "band",
    "check_unique",
    "like_pattern",
    "sku_read",
)

Outcome = Literal["created", "updated", "unchanged"]

PRODUCT = (
    "SELECT id, code, title, category, description, images, status, published_at FROM products WHERE tenant_id = :t"
)
_SKUS = text(
    "SELECT id, product_id, code, spec, price, min_price, max_price, active, sort FROM skus "
    "WHERE tenant_id = :t AND product_id = ANY(:ids) ORDER BY product_id, sort, id"
)
INSERT_SKU = text(
    "INSERT INTO skus (tenant_id, product_id, code, spec, price, min_price, max_price, sort) "
    "VALUES (:t, :p, :code, :spec, :price, :min_price, :max_price, :sort)"
)
_UPDATE_SKU = text(
    "UPDATE skus SET spec = :spec, price = :price, min_price = :min_price, max_price = :max_price, sort = :sort, "
    "active = :active, updated_at = now() WHERE tenant_id = :t AND id = :id"
)
_CLAMP_STORE_PRICES = text(
    "UPDATE store_sku_prices SET price = LEAST(GREATEST(price, :min_price), :max_price), updated_at = now() "
    "WHERE tenant_id = :t AND sku_id = :id AND (price < :min_price OR price > :max_price)"
)


class SkuTaken(ValidationFailed):
    """A SKU code given for one product already belongs to another."""

    def __init__(self, sku: str, product: str) -> None:
        super().__init__(f"SKU {sku!r} belongs to product {product!r}")
        self.sku = sku


def like_pattern(q: str) -> str:
    """An ILIKE pattern matching ``q`` anywhere, with ``%``, ``_`` and ``\\`` in ``q`` taken literally."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def band(sku: SkuCreate) -> tuple[int, int]:
    """The SKU's ``(min_price, max_price)``: each defaults to the list price; the price must lie inside."""
    low = sku.min_price if sku.min_price is not None else sku.price
    high = sku.max_price if sku.max_price is not None else sku.price
    _check_band(sku.code, sku.price, low, high)
    return low, high


def _check_band(code: str, price: int, low: int, high: int) -> None:
    if not low <= price <= high:
        raise ValidationFailed(
            f"SKU {code!r}: price {price} must lie within min_price {low} and max_price {high}",
            band={"min_price": low, "max_price": high},
        )


def sku_read(row: Row[Any]) -> SkuRead:
    """A SKU row as HQ reads it."""
    return SkuRead(
        code=row.code,
        spec=row.spec,
        price=row.price,
        min_price=row.min_price,
        max_price=row.max_price,
        active=row.active,
        sort=row.sort,
    )


def check_unique(products: Sequence[ProductCreate]) -> None:
    """No product or SKU code is given twice, and every band holds its price (422 otherwise)."""
    seen_products: set[str] = set()
    seen_skus: set[str] = set()
    for product in products:
        if product.code in seen_products:
            raise ValidationFailed(f"product {product.code!r} is given twice")
        seen_products.add(product.code)
        for sku in product.skus:
            if sku.code in seen_skus:
                raise ValidationFailed(f"SKU {sku.code!r} is given twice")
            seen_skus.add(sku.code)
            band(sku)


class ProductService:
    """Products and SKUs of one tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _read(self, tenant_id: int, rows: Sequence[Row[Any]]) -> list[ProductRead]:
        skus: dict[int, list[SkuRead]] = defaultdict(list)
        if rows:
            for s in await self.session.execute(_SKUS, {"t": tenant_id, "ids": [r.id for r in rows]}):
                skus[s.product_id].append(sku_read(s))
        return [
            ProductRead(
                code=r.code,
                title=r.title,
                category=r.category,
                description=r.description,
                images=list(r.images),
                status=r.status,
                published_at=r.published_at,
                skus=skus[r.id],
            )
            for r in rows
        ]

    async def _row(self, tenant_id: int, code: str) -> Row[Any]:
        row = (await self.session.execute(text(PRODUCT + " AND code = :c"), {"t": tenant_id, "c": code})).first()
        if row is None:
            raise NotFound("product", code)
        return row

    async def get(self, tenant_id: int, code: str) -> ProductRead:
        """One product with its SKUs."""
        return (await self._read(tenant_id, [await self._row(tenant_id, code)]))[0]

    async def list_products(
        self,
        tenant_id: int,
        *,
        status: str | None,
        category: str | None,
        q: str | None,
        cursor: str | None,
        limit: int,
    ) -> ProductPage:
        """Products in creation order, filtered by status, category and a title search."""
        after = page_start(cursor, int, first=(0,))[0]
        q = (q or "").strip() or None
        rows = (
            await self.session.execute(
                text(
                    PRODUCT + " AND id > :after"
                    " AND (CAST(:status AS text) IS NULL OR status = :status)"
                    " AND (CAST(:category AS text) IS NULL OR category = :category)"
                    " AND (CAST(:pattern AS text) IS NULL OR title ILIKE :pattern)"
                    " ORDER BY id LIMIT :n"
                ),
                {
                    "t": tenant_id,
                    "after": after,
                    "status": status,
                    "category": category,
                    "pattern": like_pattern(q) if q else None,
                    "n": limit + 1,
                },
            )
        ).all()
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.id,))
        return ProductPage(items=await self._read(tenant_id, page), next_cursor=next_cursor)

    async def categories(self, tenant_id: int) -> CategoryList:
        """Categories of products that are not archived, by name."""
        rows = await self.session.execute(
            text(
                "SELECT category, count(*) FILTER (WHERE status = 'published') AS published, count(*) AS products "
                "FROM products WHERE tenant_id = :t AND status <> 'archived' GROUP BY category ORDER BY category"
            ),
            {"t": tenant_id},
        )
        return CategoryList(
            items=[CategoryRead(name=r.category, published=r.published, products=r.products) for r in rows]
        )

    async def taken_skus(self, tenant_id: int, codes: list[str]) -> dict[str, Row[Any]]:
        """Existing SKUs among ``codes``, with the code of the product each belongs to."""
        rows = await self.session.execute(
            text(
                "SELECT k.id, k.product_id, k.code, k.spec, k.price, k.min_price, k.max_price, k.active, k.sort, "
                "p.code AS product_code FROM skus k "
                "JOIN products p ON p.tenant_id = k.tenant_id AND p.id = k.product_id "
                "WHERE k.tenant_id = :t AND k.code = ANY(:codes)"
            ),
            {"t": tenant_id, "codes": codes},
        )
        return {r.code: r for r in rows}

    async def create(self, tenant_id: int, data: ProductCreate) -> ProductRead:
        """Add a draft product with its SKUs; a taken product or SKU code is a conflict."""
        check_unique([data])
        exists = (
            await self.session.execute(
                text("SELECT 1 FROM products WHERE tenant_id = :t AND code = :c"), {"t": tenant_id, "c": data.code}
            )
        ).first()
        if exists:
            raise Conflict(f"product {data.code!r} already exists")
        taken = await self.taken_skus(tenant_id, [s.code for s in data.skus])
        if taken:
            raise Conflict(f"SKU code(s) already in use: {', '.join(sorted(taken))}")
        try:
            async with self.session.begin_nested():
                await self.insert_products(tenant_id, [(data, "draft")])
        except IntegrityError as exc:
            raise Conflict(f"product {data.code!r} or one of its SKU codes already exists") from exc
        return await self.get(tenant_id, data.code)

    async def insert_products(self, tenant_id: int, products: list[tuple[ProductCreate, ProductStatus]]) -> None:
        """Insert new products and their SKUs (a few statements, whatever the count)."""
        if not products:
            return
        now = datetime.now(UTC)  # a parameter: Citus refuses now() inside a CASE on a distributed table
        await self.session.execute(
            text(
                "INSERT INTO products (tenant_id, code, title, category, description, images, status, published_at) "
                "VALUES (:t, :code, :title, :category, :description, :images, :status, "
                "CASE WHEN :status = 'published' THEN CAST(:now AS timestamptz) END)"
            ),
            [
                {
                    "t": tenant_id,
                    "code": p.code,
                    "title": p.title,
                    "category": p.category,
                    "description": p.description,
                    "images": p.images,
                    "status": status,
                    "now": now,
                }
                for p, status in products
            ],
        )
        ids: dict[str, int] = {
            code: int(row_id)
            for code, row_id in (
                await self.session.execute(
                    text("SELECT code, id FROM products WHERE tenant_id = :t AND code = ANY(:codes)"),
                    {"t": tenant_id, "codes": [p.code for p, _ in products]},
                )
            ).all()
        }
        rows = []
        for p, _ in products:
            for position, sku in enumerate(p.skus):
                low, high = band(sku)
                rows.append(
                    {
                        "t": tenant_id,
                        "p": ids[p.code],
                        "code": sku.code,
                        "spec": sku.spec,
                        "price": sku.price,
                        "min_price": low,
                        "max_price": high,
                        "sort": position,
                    }
                )
        await self.session.execute(INSERT_SKU, rows)

    async def update(self, tenant_id: int, code: str, data: ProductUpdate) -> ProductRead:
        """Change a product's title, category, description or images."""
        row = await self._row(tenant_id, code)
        values = {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
        if values:
            sets = ", ".join(f"{column} = :{column}" for column in values)
            await self.session.execute(
                text(f"UPDATE products SET {sets}, updated_at = now() WHERE tenant_id = :t AND id = :id"),  # noqa: S608
                {**values, "t": tenant_id, "id": row.id},
            )
        return await self.get(tenant_id, code)

    async def publish(self, tenant_id: int, code: str) -> ProductRead:
        """Put a draft on every storefront; publishing a published product changes nothing."""
        row = await self._row(tenant_id, code)
        if row.status == "archived":
            raise InvalidState(f"product {code!r} is archived and cannot be published again")
        if row.status == "draft":
            active = (
                await self.session.execute(
                    text("SELECT count(*) FROM skus WHERE tenant_id = :t AND product_id = :p AND active"),
                    {"t": tenant_id, "p": row.id},
                )
            ).scalar_one()
            if not active:
                raise InvalidState(f"product {code!r} has no active SKU to sell")
            await self._set_status(tenant_id, row.id, "published")
        return await self.get(tenant_id, code)

    async def archive(self, tenant_id: int, code: str) -> ProductRead:
        """Take a product off every storefront for good; archiving twice changes nothing."""
        row = await self._row(tenant_id, code)
        if row.status != "archived":
            await self._set_status(tenant_id, row.id, "archived")
        return await self.get(tenant_id, code)

    async def _set_status(self, tenant_id: int, product_id: int, status: str) -> None:
        await self.session.execute(
            text(
                "UPDATE products SET status = :s, updated_at = :now, published_at = CASE WHEN :s = 'published' "
                "THEN COALESCE(published_at, CAST(:now AS timestamptz)) ELSE published_at END "
                "WHERE tenant_id = :t AND id = :id"
            ),
            # The time is a parameter: Citus refuses now() inside CASE/COALESCE of a distributed UPDATE.
            {"s": status, "t": tenant_id, "id": product_id, "now": datetime.now(UTC)},
        )

    async def add_sku(self, tenant_id: int, code: str, data: SkuCreate) -> SkuRead:
        """Add a SKU to a product (at the end of its list)."""
        row = await self._row(tenant_id, code)
        low, high = band(data)
        if await self.taken_skus(tenant_id, [data.code]):
            raise Conflict(f"SKU {data.code!r} already exists")
        params = {"t": tenant_id, "p": row.id, "code": data.code, "spec": data.spec, "price": data.price}
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    text(
                        "INSERT INTO skus (tenant_id, product_id, code, spec, price, min_price, max_price, sort) "
                        "SELECT :t, :p, :code, :spec, :price, :min_price, :max_price, COALESCE(max(sort) + 1, 0) "
                        "FROM skus WHERE tenant_id = :t AND product_id = :p"
                    ),
                    {**params, "min_price": low, "max_price": high},
                )
        except IntegrityError as exc:
            raise Conflict(f"SKU {data.code!r} already exists") from exc
        return (await self._get_sku(tenant_id, row.id, data.code))[1]

    async def _get_sku(self, tenant_id: int, product_id: int, sku: str) -> tuple[int, SkuRead]:
        found = (
            await self.session.execute(
                text(
                    "SELECT id, code, spec, price, min_price, max_price, active, sort FROM skus "
                    "WHERE tenant_id = :t AND product_id = :p AND code = :c"
                ),
                {"t": tenant_id, "p": product_id, "c": sku},
            )
        ).first()
        if found is None:
            raise NotFound("SKU", sku)
        return int(found.id), sku_read(found)

    async def update_sku(self, tenant_id: int, code: str, sku: str, data: SkuUpdate) -> SkuRead:
        """Change a SKU; its band must still hold its price, and a published product keeps one active SKU."""
        product = await self._row(tenant_id, code)
        sku_id, current = await self._get_sku(tenant_id, product.id, sku)
        merged = msgspec.structs.replace(
            current, **{f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
        )
        _check_band(sku, merged.price, merged.min_price, merged.max_price)
        if current.active and not merged.active and product.status == "published":
            others = (
                await self.session.execute(
                    text(
                        "SELECT count(*) FROM skus WHERE tenant_id = :t AND product_id = :p AND active AND code <> :c"
                    ),
                    {"t": tenant_id, "p": product.id, "c": sku},
                )
            ).scalar_one()
            if not others:
                raise InvalidState(f"SKU {sku!r} is the last active SKU of published product {code!r}")
        await self.write_skus(tenant_id, [(sku_id, merged)], band_changed={sku_id})
        return merged

    async def write_skus(self, tenant_id: int, skus: list[tuple[int, SkuRead]], band_changed: set[int]) -> None:
        """Update SKUs and keep store prices inside the bands that changed."""
        if not skus:
            return
        rows = [{**msgspec.structs.asdict(s), "t": tenant_id, "id": sku_id} for sku_id, s in skus]
        await self.session.execute(_UPDATE_SKU, [{k: v for k, v in r.items() if k != "code"} for r in rows])
        clamps = [
            {"t": tenant_id, "id": r["id"], "min_price": r["min_price"], "max_price": r["max_price"]}
            for r in rows
            if r["id"] in band_changed
        ]
        if clamps:
            await self.session.execute(_CLAMP_STORE_PRICES, clamps)
