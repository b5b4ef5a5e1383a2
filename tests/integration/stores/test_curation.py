"""Store staff curate their storefront (hide, pin, price inside HQ's band) and share it by link and QR code."""

from __future__ import annotations

import segno
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import Api, TenantHandle, problem, seed_catalog, staff_token


async def store_prices(engine: AsyncEngine, tenant: TenantHandle) -> dict[tuple[str, str], int]:
    """(store, sku) -> the store's own price, straight from the table."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT s.code, k.code, sp.price FROM store_sku_prices sp JOIN tenants t ON t.id = sp.tenant_id "
                "JOIN stores s ON s.tenant_id = t.id AND s.id = sp.store_id "
                "JOIN skus k ON k.tenant_id = t.id AND k.id = sp.sku_id WHERE t.slug = :slug"
            ),
            {"slug": tenant.slug},
        )
        return {(r[0], r[1]): r[2] for r in rows}


async def test_curate_a_product(api: Api, tenant: TenantHandle, owner_engine: AsyncEngine) -> None:
    await seed_catalog(api, tenant)
    store = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    r = await api.put(
        "/v1/store/storefront/items/P-LJ",
        token=store,
        json={"pinned": True, "price": {"LJ-100": 7900, "LJ-250": 21800}},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "product_code": "P-LJ",
        "hidden": False,
        "pinned": True,
        "price": {"LJ-100": 7900, "LJ-250": 21800},
    }
    # Fields left out keep their value; null drops the store's price.
    r = await api.put("/v1/store/storefront/items/P-LJ", token=store, json={"hidden": True, "price": {"LJ-250": None}})
    assert r.json() == {"product_code": "P-LJ", "hidden": True, "pinned": True, "price": {"LJ-100": 7900}}
    assert await store_prices(owner_engine, tenant) == {("S-NS", "LJ-100"): 7900}
    r = await api.get("/v1/store/storefront", token=store)
    assert r.status_code == 200
    assert r.json() == {
        "store": "S-NS",
        "name": "南山店",
        "storefront_url": f"https://shop.example.com/s/{tenant.slug}/S-NS",
        "miniprogram_path": f"pages/store/index?tenant={tenant.slug}&store=S-NS",
        "qr_url": "https://shop.example.com/v1/store/qr",
        "items": [{"product_code": "P-LJ", "hidden": True, "pinned": True, "price": {"LJ-100": 7900}}],
    }


async def test_price_outside_the_band_is_refused_naming_the_band(
    api: Api, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    seed = await seed_catalog(api, tenant)
    store = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    assert seed.bands["LJ-100"] == (7900, 9900)
    for price in (7899, 9901):
        r = await api.put(
            "/v1/store/storefront/items/P-LJ", token=store, json={"pinned": True, "price": {"LJ-100": price}}
        )
        body = problem(r, 422, "validation_failed")
        assert body["band"] == {"min_price": 7900, "max_price": 9900}
        assert body["detail"] == f"price {price} for SKU 'LJ-100' is outside the band HQ allows: 7900 to 9900 fen"
    # A band of exactly the list price allows only that price.
    body = problem(
        await api.put("/v1/store/storefront/items/P-DHP", token=store, json={"price": {"DHP-100": 12700}}),
        422,
        "validation_failed",
    )
    assert body["band"] == {"min_price": 12800, "max_price": 12800}
    for bad in ({"price": {"DHP-100": 0}}, {"price": {"DHP-100": 1.5}}, {"pinned": "yes"}, {"color": "red"}):
        problem(await api.put("/v1/store/storefront/items/P-DHP", token=store, json=bad), 422, "validation_failed")
    # A SKU of another product, or an unknown one, is not this product's.
    for sku in ("DHP-100", "NOPE"):
        r = await api.put("/v1/store/storefront/items/P-LJ", token=store, json={"price": {sku: 8000}})
        assert "is not an active SKU of product 'P-LJ'" in problem(r, 422, "validation_failed")["detail"]
    # Nothing was written by any refused request.
    assert await store_prices(owner_engine, tenant) == {}
    assert (await api.get("/v1/store/storefront", token=store)).json()["items"] == []


async def test_only_published_products_can_be_curated(api: Api, tenant: TenantHandle) -> None:
    seed = await seed_catalog(api, tenant)
    store = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    await api.post("/v1/hq/products/P-BC/archive", token=tenant.hq_token)
    for code in (seed.draft, "P-BC", "P-NONE"):
        r = await api.put(f"/v1/store/storefront/items/{code}", token=store, json={"pinned": True})
        problem(r, 404, "not_found")


async def test_hq_narrowing_a_band_moves_store_prices_inside(
    api: Api, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    await seed_catalog(api, tenant)
    ns = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    ft = await staff_token(api, tenant, username="ft-staff", role="store", store="S-FT")
    await api.put("/v1/store/storefront/items/P-LJ", token=ns, json={"price": {"LJ-100": 9900}})
    await api.put("/v1/store/storefront/items/P-LJ", token=ft, json={"price": {"LJ-100": 8000}})
    r = await api.patch(
        "/v1/hq/products/P-LJ/skus/LJ-100", token=tenant.hq_token, json={"min_price": 8500, "max_price": 9000}
    )
    assert r.status_code == 200, r.text
    assert await store_prices(owner_engine, tenant) == {("S-NS", "LJ-100"): 9000, ("S-FT", "LJ-100"): 8500}


async def test_a_store_token_only_touches_its_own_store(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    ns = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    await api.put("/v1/store/storefront/items/P-LJ", token=ns, json={"hidden": True})
    ft = await staff_token(api, tenant, username="ft-staff", role="store", store="S-FT")
    assert (await api.get("/v1/store/storefront", token=ft)).json()["items"] == []
    assert (await api.get("/v1/store/storefront", token=ns)).json()["store"] == "S-NS"
    distributor = await staff_token(api, tenant, username="d-sz", role="distributor", distributor="D-SZ")
    for token in (tenant.hq_token, distributor):
        problem(await api.get("/v1/store/storefront", token=token), 403, "forbidden")
        problem(await api.put("/v1/store/storefront/items/P-LJ", token=token, json={}), 403, "forbidden")
    problem(await api.get("/v1/store/qr"), 401, "unauthorized")
    # A store that was archived has no storefront to curate.
    await api.post("/v1/hq/stores/S-FT/archive", token=tenant.hq_token)
    problem(await api.get("/v1/store/storefront", token=ft), 404, "not_found")


async def test_qr_codes(api: Api, tenant: TenantHandle, owner_engine: AsyncEngine) -> None:
    await seed_catalog(api, tenant, stock={})
    store = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    r = await api.get("/v1/store/qr", token=store)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    h5 = f"https://shop.example.com/s/{tenant.slug}/S-NS"
    expected = segno.make(h5, error="m", micro=False)
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(r.content[16:20], "big") == expected.symbol_size(scale=8, border=4)[0]
    r = await api.get("/v1/store/qr", token=store, params={"format": "svg", "target": "miniprogram"})
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.content.startswith(b"<?xml")
    assert b"<svg" in r.content
    # A KOC code must be one of this store's active KOCs (registered by the referrals domain).
    problem(await api.get("/v1/store/qr", token=store, params={"koc": "K-NONE"}), 404, "not_found")
    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO kocs (tenant_id, code, store_id, name) SELECT t.id, 'K-LI', s.id, '李' "
                "FROM tenants t JOIN stores s ON s.tenant_id = t.id WHERE t.slug = :slug AND s.code = :store"
            ),
            {"slug": tenant.slug, "store": "S-FT"},
        )
    problem(await api.get("/v1/store/qr", token=store, params={"koc": "K-LI"}), 404, "not_found")  # Futian's KOC
    ft = await staff_token(api, tenant, username="ft-staff", role="store", store="S-FT")
    r = await api.get("/v1/store/qr", token=ft, params={"koc": "K-LI", "format": "svg"})
    assert r.status_code == 200
    koc_svg = segno.make(f"https://shop.example.com/s/{tenant.slug}/S-FT?koc=K-LI", error="m", micro=False)
    assert f'width="{koc_svg.symbol_size(scale=8)[0]}"'.encode() in r.content
    for params in ({"format": "gif"}, {"target": "app"}):
        problem(await api.get("/v1/store/qr", token=store, params=params), 422, "validation_failed")
