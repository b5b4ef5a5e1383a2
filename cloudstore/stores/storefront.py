"""Cloud storefronts: what a store's staff curate and what consumers browse, on two shelves.

A storefront shows the tenant's whole published catalog (active SKUs) minus the products the store hid, pinned
products first, then by product id. Each SKU is on a shelf (DESIGN.md "Dual shelves"):

* ``in_store`` when the store's own location has available stock (on hand - reserved > 0);
* ``cloud`` when not, but an active regional warehouse serving the store's region (a regional code is a
  prefix of the store's: ``44`` covers ``440305``) or an active central warehouse has some;
* ``sold_out`` otherwise: still listed, unless the tenant's order policy says ``hide_sold_out``.

The price is the store's own (kept inside HQ's band) or else the SKU's list price.

A page is one SQL statement whatever its size (after the request's ``set_config`` of the tenant). It resolves
the store, its serving warehouses and the ``hide_sold_out`` order policy (read from ``tenant_policies``),
pages the products by ``(pinned first, id)`` in two index-ordered branches that stop at the page size, and
returns the page as one JSON array, each SKU's shelf found by primary-key probes of ``stock_levels``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

from cloudstore.catalog.service import like_pattern
from cloudstore.lib.errors import NotFound, ValidationFailed
from cloudstore.lib.paging import MAX_LIMIT, cut_page, page_start
from cloudstore.stores.links import share_links
from cloudstore.stores.schemas import (
    ShopProductDetail,
    ShopProductPage,
    ShopStore,
    StorefrontItemRead,
    StorefrontItemUpdate,
    StorefrontRead,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = ("StorefrontService", "storefront_sql")

_PAGE_DECODER = msgspec.json.Decoder(ShopProductPage)
_RAW_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


class _Pinned(msgspec.Struct):
    pinned: bool


_PINNED = msgspec.json.Decoder(_Pinned)
_DETAILS = msgspec.json.Decoder(list[ShopProductDetail])
_PRICES = msgspec.json.Decoder(dict[str, int])

# The store (active only), the warehouses serving it, and whether sold-out SKUs are hidden.
_CONTEXT = """
st AS MATERIALIZED (
    SELECT s.id, s.location_id, s.region
    FROM stores s
    WHERE s.tenant_id = :t AND s.code = :store AND s.status = 'active'
),
wh AS MATERIALIZED (
    SELECT COALESCE(array_agg(l.id), CAST('{}' AS bigint[])) AS ids
    FROM st, locations l
    WHERE l.tenant_id = :t AND l.status = 'active' AND l.kind IN ('regional', 'central')
      AND (l.kind = 'central'
           OR EXISTS (SELECT 1 FROM unnest(l.regions) AS r(prefix) WHERE starts_with(st.region, r.prefix)))
),
pol AS MATERIALIZED (
    SELECT COALESCE(
        (SELECT CAST(tp.orders ->> 'hide_sold_out' AS boolean) FROM tenant_policies tp WHERE tp.tenant_id = :t),
        false) AS hide_sold_out
)"""

# A product has an active SKU with stock at the store or at a serving warehouse (only when sold-out is hidden).
_ON_SOME_SHELF = """(NOT (SELECT hide_sold_out FROM pol) OR EXISTS (
            SELECT 1 FROM skus k
            WHERE k.tenant_id = :t AND k.product_id = p.id AND k.active AND EXISTS (
                SELECT 1 FROM stock_levels sl
                WHERE sl.tenant_id = :t AND sl.sku_id = k.id AND sl.on_hand > sl.reserved
                  AND sl.location_id = ANY(array_append((SELECT ids FROM wh), (SELECT location_id FROM st))))))"""

# In the store (its own location has some available), else on the cloud shelf (a serving warehouse has some).
_SHELF = """CASE
            WHEN EXISTS (SELECT 1 FROM stock_levels sl
                         WHERE sl.tenant_id = :t AND sl.location_id = st.location_id AND sl.sku_id = k.id
                           AND sl.on_hand > sl.reserved) THEN 'in_store'
            WHEN EXISTS (SELECT 1 FROM stock_levels sl
                         WHERE sl.tenant_id = :t AND sl.location_id = ANY(wh.ids) AND sl.sku_id = k.id
                           AND sl.on_hand > sl.reserved) THEN 'cloud'
            ELSE 'sold_out' END"""

_COLUMNS = "p.id, p.code, p.title, p.category, p.description, p.images"

# Pinned products (from the store's curation rows), then the rest in id order (the products primary key):
# each branch is an ordered index scan that stops after :n rows, so a page costs the same whatever the catalog.
_PAGE = """
    (SELECT {columns}, true AS pinned, 0 AS rank
     FROM storefront_items fi
     JOIN products p ON p.tenant_id = :t AND p.id = fi.product_id
     WHERE fi.tenant_id = :t AND fi.store_id = (SELECT id FROM st) AND fi.pinned AND NOT fi.hidden
       AND p.status = 'published'{filters}
       AND CAST(:after_rank AS integer) <= 0
       AND p.id > CASE WHEN CAST(:after_rank AS integer) < 0 THEN 0 ELSE CAST(:after_id AS bigint) END
       AND {on_shelf}
     ORDER BY p.id LIMIT {rows})
    UNION ALL
    (SELECT {columns}, false AS pinned, 1 AS rank
     FROM products p
     WHERE p.tenant_id = :t AND p.status = 'published'{filters}
       AND p.id > CASE WHEN CAST(:after_rank AS integer) < 1 THEN 0 ELSE CAST(:after_id AS bigint) END
       AND NOT EXISTS (SELECT 1 FROM storefront_items fi
                       WHERE fi.tenant_id = :t AND fi.store_id = (SELECT id FROM st) AND fi.product_id = p.id
                         AND (fi.pinned OR fi.hidden))
       AND {on_shelf}
     ORDER BY p.id LIMIT {rows})
    ORDER BY rank, id LIMIT {rows}"""

_DETAIL = """
    SELECT {columns}, fi.pinned IS TRUE AS pinned, CASE WHEN fi.pinned THEN 0 ELSE 1 END AS rank
    FROM products p
    LEFT JOIN storefront_items fi ON fi.tenant_id = :t AND fi.store_id = (SELECT id FROM st) AND fi.product_id = p.id
    WHERE p.tenant_id = :t AND p.code = :code AND p.status = 'published' AND fi.hidden IS NOT TRUE
      AND {on_shelf}"""


def storefront_sql(*, rows: int = 21, category: bool = False, search: bool = False, detail: bool = False) -> str:
    """The storefront statement for pages of ``rows`` products (a page and one more, to know if another follows).

    Parameters: ``:t`` tenant id, ``:store`` store code, then ``:category`` and ``:pattern`` when filtered; a page
    takes ``:after_rank`` and ``:after_id`` (the cursor, ``-1, 0`` for the first page); ``detail`` takes
    ``:code`` instead. The result is one row, ``items`` (the products as a JSON array, pinned first, null when
    there are none) and ``ids`` (their ids, in the same order), or no row when there is no such active store.

    ``rows`` is written into the SQL rather than bound: with ``LIMIT $n`` PostgreSQL cannot cost the cached
    generic plan and would re-plan this statement (milliseconds) on every execution.
    """
    if not 1 <= rows <= MAX_LIMIT + 1:
        raise ValueError(rows)
    filters = ""
    if category:
        filters += "\n       AND p.category = :category"
    if search:
        filters += "\n       AND p.title ILIKE :pattern"
    template = _DETAIL if detail else _PAGE
    page = template.format(columns=_COLUMNS, filters=filters, on_shelf=_ON_SOME_SHELF, rows=int(rows))
    extra = ", 'description', page.description, 'images', page.images" if detail else ""
    return f"""
WITH {_CONTEXT},
page AS ({page}
)
SELECT CAST(json_agg(json_build_object(
           'code', page.code, 'title', page.title, 'category', page.category, 'pinned', page.pinned,
           'image', page.images[1], 'skus', COALESCE(sku_docs.doc, '[]'){extra})
           ORDER BY page.rank, page.id) FILTER (WHERE page.id IS NOT NULL) AS text) AS items,
       array_agg(page.id ORDER BY page.rank, page.id) FILTER (WHERE page.id IS NOT NULL) AS ids
FROM st CROSS JOIN wh CROSS JOIN pol
LEFT JOIN page ON true
LEFT JOIN LATERAL (
    SELECT json_agg(json_build_object(
               'code', k.code, 'spec', k.spec, 'price', COALESCE(sp.price, k.price), 'shelf', sh.shelf)
               ORDER BY k.sort, k.id) AS doc
    FROM skus k
    LEFT JOIN store_sku_prices sp ON sp.tenant_id = :t AND sp.store_id = st.id AND sp.sku_id = k.id
    CROSS JOIN LATERAL (SELECT {_SHELF} AS shelf) sh
    WHERE k.tenant_id = :t AND k.product_id = page.id AND k.active
      AND (NOT pol.hide_sold_out OR sh.shelf <> 'sold_out')
) sku_docs ON true
GROUP BY st.id"""  # noqa: S608 - assembled from constant fragments only


_STATEMENTS: dict[tuple[int, bool, bool, bool], TextClause] = {}


def _statement(*, rows: int, category: bool, search: bool, detail: bool) -> TextClause:
    key = (rows, category, search, detail)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        sql = storefront_sql(rows=rows, category=category, search=search, detail=detail)
        stmt = _STATEMENTS[key] = text(sql)
    return stmt


_SHOP_STORE = text(
    """
    SELECT s.code, s.name, s.address, s.region, l.lat, l.lng, s.pickup,
           ARRAY(SELECT DISTINCT p.category
                 FROM products p
                 LEFT JOIN storefront_items fi ON fi.tenant_id = :t AND fi.store_id = s.id AND fi.product_id = p.id
                 WHERE p.tenant_id = :t AND p.status = 'published' AND fi.hidden IS NOT TRUE
                 ORDER BY 1) AS categories
    FROM stores s JOIN locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
    WHERE s.tenant_id = :t AND s.code = :store AND s.status = 'active'
    """
)
_OWN_STORE = text(
    """
    SELECT s.id, s.code, s.name,
           (SELECT k.id FROM kocs k
            WHERE k.tenant_id = :t AND k.store_id = s.id AND k.code = :koc AND k.active) AS koc_id
    FROM stores s WHERE s.tenant_id = :t AND s.id = :s AND s.status = 'active'
    """
)
_CURATED = text(
    """
    WITH curated AS (
        SELECT fi.product_id FROM storefront_items fi WHERE fi.tenant_id = :t AND fi.store_id = :s
        UNION
        SELECT k.product_id FROM store_sku_prices sp JOIN skus k ON k.tenant_id = sp.tenant_id AND k.id = sp.sku_id
        WHERE sp.tenant_id = :t AND sp.store_id = :s
    )
    SELECT p.code, fi.hidden IS TRUE AS hidden, fi.pinned IS TRUE AS pinned,
           CAST(COALESCE(
               (SELECT json_object_agg(k.code, sp.price ORDER BY k.code)
                FROM store_sku_prices sp JOIN skus k ON k.tenant_id = sp.tenant_id AND k.id = sp.sku_id
                WHERE sp.tenant_id = :t AND sp.store_id = :s AND k.product_id = p.id),
               '{}') AS text) AS prices
    FROM curated c
    JOIN products p ON p.tenant_id = :t AND p.id = c.product_id
    LEFT JOIN storefront_items fi ON fi.tenant_id = :t AND fi.store_id = :s AND fi.product_id = p.id
    WHERE p.status = 'published' AND (CAST(:product AS bigint) IS NULL OR p.id = :product)
    ORDER BY p.id
    """
)


class StorefrontService:
    """A store's storefront: curation by its staff, browsing by consumers."""

    def __init__(self, session: AsyncSession | AsyncConnection, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    # --- consumers ------------------------------------------------------------------------------------------

    async def browse(
        self,
        tenant_id: int,
        store: str,
        *,
        category: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> ShopProductPage:
        """One page of ``store``'s storefront (one SQL statement)."""
        page = await self.browse_json(tenant_id, store, category=category, q=q, cursor=cursor, limit=limit)
        return _PAGE_DECODER.decode(page)

    async def browse_json(
        self,
        tenant_id: int,
        store: str,
        *,
        category: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> bytes:
        """:meth:`browse`, as the JSON body itself.

        PostgreSQL builds each product's JSON; the page is spliced from those pieces without decoding them,
        which is most of what serving the busiest route costs in Python.
        """
        after = page_start(cursor, int, int, first=(-1, 0))
        q = (q or "").strip() or None
        params: dict[str, Any] = {"t": tenant_id, "store": store, "after_rank": after[0], "after_id": after[1]}
        if category:
            params["category"] = category
        if q is not None:
            params["pattern"] = like_pattern(q)
        stmt = _statement(rows=limit + 1, category=bool(category), search=q is not None, detail=False)
        row = (await self.session.execute(stmt, params)).first()
        if row is None:
            raise NotFound("store", store)
        items, ids = row
        pieces = _RAW_ITEMS.decode(items) if items else []
        page, next_cursor = cut_page(
            list(zip(pieces, ids or (), strict=False)),
            limit,
            key=lambda item: (0 if _PINNED.decode(item[0]).pinned else 1, item[1]),
        )
        body = b",".join(piece for piece, _id in page)
        return b'{"items":[' + body + b'],"next_cursor":' + msgspec.json.encode(next_cursor) + b"}"

    async def product(self, tenant_id: int, store: str, code: str) -> ShopProductDetail:
        """One product as ``store``'s storefront shows it; hidden, draft or archived ones are not found."""
        stmt = _statement(rows=1, category=False, search=False, detail=True)
        row = (await self.session.execute(stmt, {"t": tenant_id, "store": store, "code": code})).first()
        if row is None:
            raise NotFound("store", store)
        if row.items is None:
            raise NotFound("product", code)
        return _DETAILS.decode(row.items)[0]

    async def shop_store(self, tenant_id: int, store: str) -> ShopStore:
        """The store as consumers see it, with the categories on its storefront."""
        row = (await self.session.execute(_SHOP_STORE, {"t": tenant_id, "store": store})).first()
        if row is None:
            raise NotFound("store", store)
        return ShopStore(
            code=row.code,
            name=row.name,
            address=row.address,
            region=row.region,
            lat=row.lat,
            lng=row.lng,
            pickup=row.pickup,
            categories=list(row.categories),
        )

    # --- store staff ----------------------------------------------------------------------------------------

    async def _own_store(self, tenant_id: int, store_id: int | None, koc: str | None = None) -> Any:
        if store_id is None:
            raise NotFound("store")
        row = (await self.session.execute(_OWN_STORE, {"t": tenant_id, "s": store_id, "koc": koc})).first()
        if row is None:
            raise NotFound("store")
        return row

    async def share_code(self, tenant_id: int, store_id: int | None, koc: str | None) -> str:
        """The code of the caller's store, after checking ``koc`` (if given) is one of its active KOCs."""
        row = await self._own_store(tenant_id, store_id, koc)
        if koc is not None and row.koc_id is None:
            raise NotFound("KOC", koc)
        return str(row.code)

    async def _curated(self, tenant_id: int, store_id: int, product_id: int | None) -> list[StorefrontItemRead]:
        rows = await self.session.execute(_CURATED, {"t": tenant_id, "s": store_id, "product": product_id})
        return [
            StorefrontItemRead(product_code=r.code, hidden=r.hidden, pinned=r.pinned, price=_PRICES.decode(r.prices))
            for r in rows
        ]

    async def storefront(self, tenant_id: int, tenant: str, store_id: int | None) -> StorefrontRead:
        """The caller's storefront: links, QR code route and every product it curates."""
        store = await self._own_store(tenant_id, store_id)
        links = share_links(self.settings, tenant, store.code)
        return StorefrontRead(
            store=store.code,
            name=store.name,
            storefront_url=links.h5_url,
            miniprogram_path=links.miniprogram_path,
            qr_url=f"{self.settings.public_base_url.rstrip('/')}/v1/store/qr",
            items=await self._curated(tenant_id, store.id, None),
        )

    async def curate(
        self, tenant_id: int, store_id: int | None, product_code: str, data: StorefrontItemUpdate
    ) -> StorefrontItemRead:
        """Hide, pin or price one published product on the caller's storefront; prices must sit in HQ's band."""
        store = await self._own_store(tenant_id, store_id)
        product_id = (
            await self.session.execute(
                text("SELECT id FROM products WHERE tenant_id = :t AND code = :c AND status = 'published'"),
                {"t": tenant_id, "c": product_code},
            )
        ).scalar_one_or_none()
        if product_id is None:
            raise NotFound("product", product_code)
        prices = data.price if data.price is not msgspec.UNSET else {}
        sku_ids = await self._check_prices(tenant_id, product_id, product_code, prices)
        params = {"t": tenant_id, "s": store.id, "p": product_id}
        if data.hidden is not msgspec.UNSET or data.pinned is not msgspec.UNSET:
            hidden = None if data.hidden is msgspec.UNSET else data.hidden
            pinned = None if data.pinned is msgspec.UNSET else data.pinned
            await self.session.execute(
                text(
                    """
                    INSERT INTO storefront_items (tenant_id, store_id, product_id, hidden, pinned)
                    VALUES (:t, :s, :p, COALESCE(:hidden, false), COALESCE(:pinned, false))
                    ON CONFLICT (tenant_id, store_id, product_id) DO UPDATE
                    SET hidden = COALESCE(:hidden, storefront_items.hidden),
                        pinned = COALESCE(:pinned, storefront_items.pinned), updated_at = EXCLUDED.updated_at
                    """
                ),
                {**params, "hidden": hidden, "pinned": pinned},
            )
        setting = [{**params, "k": sku_ids[c], "price": p} for c, p in prices.items() if p is not None]
        dropping = [{**params, "k": sku_ids[c]} for c, p in prices.items() if p is None]
        if setting:
            await self.session.execute(
                text(
                    """
                    INSERT INTO store_sku_prices (tenant_id, store_id, sku_id, price) VALUES (:t, :s, :k, :price)
                    ON CONFLICT (tenant_id, store_id, sku_id) DO UPDATE
                    SET price = EXCLUDED.price, updated_at = EXCLUDED.updated_at
                    """
                ),
                setting,
            )
        if dropping:
            await self.session.execute(
                text("DELETE FROM store_sku_prices WHERE tenant_id = :t AND store_id = :s AND sku_id = :k"), dropping
            )
        found = await self._curated(tenant_id, store.id, product_id)
        return found[0] if found else StorefrontItemRead(product_code, hidden=False, pinned=False, price={})

    async def _check_prices(
        self, tenant_id: int, product_id: int, product_code: str, prices: dict[str, int | None]
    ) -> dict[str, int]:
        """Each priced SKU is an active SKU of the product and each price lies in its band; their ids by code."""
        if not prices:
            return {}
        skus = {
            r.code: r
            for r in await self.session.execute(
                text(
                    "SELECT id, code, min_price, max_price FROM skus "
                    "WHERE tenant_id = :t AND product_id = :p AND active AND code = ANY(:codes)"
                ),
                {"t": tenant_id, "p": product_id, "codes": list(prices)},
            )
        }
        for code, price in prices.items():
            sku = skus.get(code)
            if sku is None:
                raise ValidationFailed(f"{code!r} is not an active SKU of product {product_code!r}")
            if price is not None and not sku.min_price <= price <= sku.max_price:
                raise ValidationFailed(
                    f"price {price} for SKU {code!r} is outside the band HQ allows: "
                    f"{sku.min_price} to {sku.max_price} fen",
                    band={"min_price": sku.min_price, "max_price": sku.max_price},
                )
        return {code: int(sku.id) for code, sku in skus.items()}
