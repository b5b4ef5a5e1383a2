"""Consumers browse a store's cloud storefront: shelves, visibility, order, prices, filters, paging."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import Api, CatalogSeed, TenantHandle, problem, seed_catalog, staff_token


def shelves(body: dict[str, Any]) -> dict[str, str]:
    """SKU code -> shelf, over a page."""
    return {s["code"]: s["shelf"] for p in body["items"] for s in p["skus"]}


async def page(api: Api, tenant: TenantHandle, store: str, **params: Any) -> dict[str, Any]:
    r = await api.get(f"/v1/shop/{tenant.slug}/stores/{store}/products", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def set_reserved(engine: AsyncEngine, tenant: TenantHandle, location: str, sku: str, reserved: int) -> None:
    """Reserve stock directly (as an order would)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE stock_levels sl SET reserved = :r FROM tenants t, locations l, skus k "
                "WHERE t.slug = :slug AND sl.tenant_id = t.id AND l.tenant_id = t.id AND k.tenant_id = t.id "
                "AND l.code = :loc AND k.code = :sku AND sl.location_id = l.id AND sl.sku_id = k.id"
            ),
            {"r": reserved, "slug": tenant.slug, "loc": location, "sku": sku},
        )


async def test_whole_published_catalog_on_two_shelves(api: Api, tenant: TenantHandle) -> None:
    seed = await seed_catalog(api, tenant)
    body = await page(api, tenant, "S-NS")
    assert body == {
        "items": [
            {"code": "P-LJ", "title": "西湖龙井", "category": "绿茶", "pinned": False, "image": None, "skus": [
                {"code": "LJ-100", "spec": "100g罐装", "price": 8800, "shelf": "in_store"},
                {"code": "LJ-250", "spec": "250g礼盒", "price": 19800, "shelf": "cloud"},
            ]},
            {"code": "P-DHP", "title": "武夷大红袍", "category": "乌龙茶", "pinned": False, "image": None, "skus": [
                {"code": "DHP-100", "spec": "100g罐装", "price": 12800, "shelf": "in_store"},
            ]},
            {"code": "P-PE", "title": "云南普洱熟茶饼", "category": "普洱", "pinned": False, "image": None, "skus": [
                {"code": "PE-357", "spec": "357g饼", "price": 29800, "shelf": "cloud"},
            ]},
            {"code": "P-BC", "title": "福鼎白毫银针", "category": "白茶", "pinned": False, "image": None, "skus": [
                {"code": "BC-100", "spec": "100g罐装", "price": 6800, "shelf": "sold_out"},
            ]},
            {"code": "P-HC", "title": "茉莉花茶", "category": "花茶", "pinned": False, "image": None, "skus": [
                {"code": "HC-50", "spec": "50g袋装", "price": 3800, "shelf": "sold_out"},
            ]},
            {"code": "P-CUP", "title": "白瓷盖碗", "category": "茶具", "pinned": False, "image": None, "skus": [
                {"code": "CUP-1", "spec": "150ml", "price": 3600, "shelf": "cloud"},
            ]},
        ],
        "next_cursor": None,
    }  # fmt: skip
    assert seed.draft not in {p["code"] for p in body["items"]}


async def test_warehouses_count_only_in_the_regions_they_serve(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    # Guangzhou: WH-GZ serves it (LJ-100, HC-50), WH-SZ does not (LJ-250), the central one does (CUP-1).
    assert shelves(await page(api, tenant, "S-TH")) == {
        "LJ-100": "cloud",
        "LJ-250": "sold_out",
        "DHP-100": "sold_out",
        "PE-357": "in_store",
        "BC-100": "sold_out",
        "HC-50": "cloud",
        "CUP-1": "cloud",
    }
    # Futian holds one LJ-100 itself; the rest as for Nanshan, without Nanshan's own DHP-100.
    futian = shelves(await page(api, tenant, "S-FT"))
    assert (futian["LJ-100"], futian["DHP-100"], futian["LJ-250"]) == ("in_store", "sold_out", "cloud")


async def test_a_province_prefix_covers_its_cities(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    r = await api.patch("/v1/hq/locations/WH-GZ", token=tenant.hq_token, json={"regions": ["44"]})
    assert r.status_code == 200
    assert shelves(await page(api, tenant, "S-NS"))["HC-50"] == "cloud"


async def test_reserved_stock_is_not_available(api: Api, tenant: TenantHandle, owner_engine: AsyncEngine) -> None:
    await seed_catalog(api, tenant)
    await set_reserved(owner_engine, tenant, "S-NS", "LJ-100", 5)  # all 5 reserved: the cloud shelf takes over
    await set_reserved(owner_engine, tenant, "S-NS", "DHP-100", 1)  # 1 of 2 left
    await set_reserved(owner_engine, tenant, "WH-C", "CUP-1", 100)
    got = shelves(await page(api, tenant, "S-NS"))
    assert (got["LJ-100"], got["DHP-100"], got["CUP-1"]) == ("sold_out", "in_store", "sold_out")
    await set_reserved(owner_engine, tenant, "S-NS", "LJ-100", 4)
    assert shelves(await page(api, tenant, "S-NS"))["LJ-100"] == "in_store"


async def test_archived_warehouses_and_inactive_skus_leave_the_shelves(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    hq = tenant.hq_token
    assert (await api.post("/v1/hq/locations/WH-SZ/archive", token=hq)).status_code == 200
    r = await api.patch("/v1/hq/products/P-LJ/skus/LJ-250", token=hq, json={"active": False})
    assert r.status_code == 200
    body = await page(api, tenant, "S-NS")
    got = shelves(body)
    assert "LJ-250" not in got
    assert got["PE-357"] == "sold_out"  # only WH-SZ held it


async def test_draft_archived_and_hidden_products_are_invisible(api: Api, tenant: TenantHandle) -> None:
    seed = await seed_catalog(api, tenant)
    hq = tenant.hq_token
    await api.post("/v1/hq/products/P-PE/archive", token=hq)
    store = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    r = await api.put("/v1/store/storefront/items/P-CUP", token=store, json={"hidden": True})
    assert r.status_code == 200
    codes = [p["code"] for p in (await page(api, tenant, "S-NS"))["items"]]
    assert codes == ["P-LJ", "P-DHP", "P-BC", "P-HC"]
    assert "P-CUP" in [p["code"] for p in (await page(api, tenant, "S-FT"))["items"]]  # hidden in Nanshan only
    slug = tenant.slug
    for code in (seed.draft, "P-PE", "P-CUP", "P-NONE"):
        problem(await api.get(f"/v1/shop/{slug}/stores/S-NS/products/{code}"), 404, "not_found")
    await api.post(f"/v1/hq/products/{seed.draft}/publish", token=hq)
    assert (await api.get(f"/v1/shop/{slug}/stores/S-NS/products/{seed.draft}")).status_code == 200


async def test_pinned_first_then_by_product_and_store_prices(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    store = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    for code in ("P-CUP", "P-DHP"):
        r = await api.put(f"/v1/store/storefront/items/{code}", token=store, json={"pinned": True})
        assert r.status_code == 200
    r = await api.put("/v1/store/storefront/items/P-LJ", token=store, json={"price": {"LJ-100": 9900}})
    assert r.status_code == 200, r.text
    body = await page(api, tenant, "S-NS")
    assert [(p["code"], p["pinned"]) for p in body["items"]] == [
        ("P-DHP", True),
        ("P-CUP", True),
        ("P-LJ", False),
        ("P-PE", False),
        ("P-BC", False),
        ("P-HC", False),
    ]
    prices = {s["code"]: s["price"] for p in body["items"] for s in p["skus"]}
    assert (prices["LJ-100"], prices["LJ-250"]) == (9900, 19800)
    other = {s["code"]: s["price"] for p in (await page(api, tenant, "S-FT"))["items"] for s in p["skus"]}
    assert other["LJ-100"] == 8800  # another store keeps the list price


async def test_cursor_walks_every_product_once_across_pins(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    store = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    await api.put("/v1/store/storefront/items/P-HC", token=store, json={"pinned": True})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        body = await page(api, tenant, "S-NS", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [p["code"] for p in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["P-HC", "P-LJ", "P-DHP", "P-PE", "P-BC", "P-CUP"]
    assert pages == 3
    slug = tenant.slug
    for params in ({"limit": 0}, {"limit": 101}, {"cursor": "!!"}, {"cursor": "WzFd"}):  # WzFd = [1]
        problem(await api.get(f"/v1/shop/{slug}/stores/S-NS/products", params=params), 422, "validation_failed")


async def test_filter_by_category_and_search_titles(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    hq = tenant.hq_token
    product = {
        "code": "P-100",
        "title": "100%纯正_老白茶",
        "category": "白茶",
        "skus": [{"code": "X-1", "spec": "饼", "price": 100}],
    }
    assert (await api.post("/v1/hq/products", token=hq, json=product)).status_code == 201
    assert (await api.post("/v1/hq/products/P-100/publish", token=hq)).status_code == 200

    async def codes(**params: Any) -> list[str]:
        return [p["code"] for p in (await page(api, tenant, "S-NS", **params))["items"]]

    assert await codes(category="白茶") == ["P-BC", "P-100"]
    assert await codes(q="龙井") == ["P-LJ"]
    assert await codes(q="  银针 ") == ["P-BC"]
    assert await codes(q="茶", category="花茶") == ["P-HC"]
    assert await codes(q="%") == ["P-100"]  # wildcards are literal
    assert await codes(q="_老") == ["P-100"]
    assert await codes(q="乌龙") == []
    assert await codes(category="不存在") == []


async def test_hide_sold_out_policy(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    r = await api.put(
        "/v1/hq/policies/orders", token=tenant.hq_token, json={"payment_ttl_minutes": 15, "hide_sold_out": True}
    )
    assert r.status_code == 200, r.text
    body = await page(api, tenant, "S-TH")
    assert shelves(body) == {"LJ-100": "cloud", "PE-357": "in_store", "HC-50": "cloud", "CUP-1": "cloud"}
    assert [p["code"] for p in body["items"]] == ["P-LJ", "P-PE", "P-HC", "P-CUP"]  # P-DHP and P-BC are gone
    problem(await api.get(f"/v1/shop/{tenant.slug}/stores/S-TH/products/P-BC"), 404, "not_found")


async def test_product_detail(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    hq = tenant.hq_token
    images = ["https://img.example.com/lj-1.jpg", "https://img.example.com/lj-2.jpg"]
    r = await api.patch("/v1/hq/products/P-LJ", token=hq, json={"description": "明前特级", "images": images})
    assert r.status_code == 200
    r = await api.get(f"/v1/shop/{tenant.slug}/stores/S-TH/products/P-LJ")
    assert r.status_code == 200
    assert r.json() == {
        "code": "P-LJ",
        "title": "西湖龙井",
        "category": "绿茶",
        "pinned": False,
        "image": images[0],
        "skus": [
            {"code": "LJ-100", "spec": "100g罐装", "price": 8800, "shelf": "cloud"},
            {"code": "LJ-250", "spec": "250g礼盒", "price": 19800, "shelf": "sold_out"},
        ],
        "description": "明前特级",
        "images": images,
    }
    assert (await page(api, tenant, "S-TH", limit=1))["items"][0]["image"] == images[0]


async def test_store_summary_lists_its_categories(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    store = await staff_token(api, tenant, username="th-staff", role="store", store="S-TH")
    await api.put("/v1/store/storefront/items/P-CUP", token=store, json={"hidden": True})
    r = await api.get(f"/v1/shop/{tenant.slug}/stores/S-TH")
    assert r.status_code == 200
    assert r.json() == {
        "code": "S-TH",
        "name": "天河店",
        "address": "天河区天河路",
        "region": "440106",
        "lat": 23.1291,
        "lng": 113.3612,
        "pickup": True,
        "categories": sorted(["绿茶", "乌龙茶", "普洱", "白茶", "花茶"]),
    }


async def test_unknown_stores_and_other_tenants_are_not_found(
    api: Api, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    seed: CatalogSeed = await seed_catalog(api, tenant)
    await seed_catalog(api, other_tenant, stock={})
    for path in (
        f"/v1/shop/{tenant.slug}/stores/S-XX/products",
        f"/v1/shop/{tenant.slug}/stores/S-XX/products/P-LJ",
        f"/v1/shop/{tenant.slug}/stores/S-XX",
        f"/v1/shop/{tenant.slug}/stores/WH-SZ/products",  # a warehouse has no storefront
        "/v1/shop/no-such-brand/stores/S-NS/products",
    ):
        problem(await api.get(path), 404, "not_found")
    # The other tenant has the same codes but its own stock: nothing of ours leaks into its shelves.
    assert set(shelves(await page(api, other_tenant, "S-NS")).values()) == {"sold_out"}
    assert seed.stock[("S-NS", "LJ-100")] == 5
