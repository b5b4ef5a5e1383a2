"""HQ's catalog: products (draft → published → archived), SKUs and price bands."""

from __future__ import annotations

from typing import Any

from tests.support import Api, TenantHandle, problem, seed_catalog

LONGJING: dict[str, Any] = {
    "code": "GT-LJ",
    "title": "西湖龙井 明前特级",
    "category": "绿茶",
    "description": "豆花香",
    "images": ["https://img.example.com/lj.jpg"],
    "skus": [
        {"code": "GT-LJ-100", "spec": "100g罐装", "price": 26800, "min_price": 24800, "max_price": 29800},
        {"code": "GT-LJ-250", "spec": "250g礼盒装", "price": 62800},
    ],
}


def sku(code: str, spec: str, price: int, low: int, high: int, sort: int, active: bool = True) -> dict[str, Any]:
    return {
        "code": code,
        "spec": spec,
        "price": price,
        "min_price": low,
        "max_price": high,
        "active": active,
        "sort": sort,
    }


async def test_create_a_draft(api: Api, tenant: TenantHandle) -> None:
    r = await api.post("/v1/hq/products", token=tenant.hq_token, json=LONGJING)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "code": "GT-LJ",
        "title": "西湖龙井 明前特级",
        "category": "绿茶",
        "description": "豆花香",
        "images": ["https://img.example.com/lj.jpg"],
        "status": "draft",
        "published_at": None,
        "skus": [
            sku("GT-LJ-100", "100g罐装", 26800, 24800, 29800, 0),
            sku("GT-LJ-250", "250g礼盒装", 62800, 62800, 62800, 1),  # the band defaults to the list price
        ],
    }
    assert (await api.get("/v1/hq/products/GT-LJ", token=tenant.hq_token)).json() == r.json()


async def test_codes_are_unique_per_tenant(api: Api, tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    assert (await api.post("/v1/hq/products", token=hq, json=LONGJING)).status_code == 201
    problem(await api.post("/v1/hq/products", token=hq, json=LONGJING), 409, "conflict")
    same_sku = {**LONGJING, "code": "GT-LJ2"}
    body = problem(await api.post("/v1/hq/products", token=hq, json=same_sku), 409, "conflict")
    assert "GT-LJ-100" in body["detail"]
    # Another tenant may use the same codes.
    assert (await api.post("/v1/hq/products", token=other_tenant.hq_token, json=LONGJING)).status_code == 201


async def test_product_validation(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    first = LONGJING["skus"][0]
    cases = [
        {**LONGJING, "skus": []},
        {**LONGJING, "skus": [{**first, "price": 0}]},
        {**LONGJING, "skus": [{**first, "price": 30000}]},  # above max_price
        {**LONGJING, "skus": [{**first, "min_price": 27000}]},  # min above the price
        {**LONGJING, "skus": [first, {**first, "spec": "again"}]},  # the same SKU twice
        {**LONGJING, "images": ["ftp://x"]},
        {**LONGJING, "title": ""},
        {**LONGJING, "status": "published"},  # only publishing publishes
    ]
    for body in cases:
        problem(await api.post("/v1/hq/products", token=hq, json=body), 422, "validation_failed")
    r = await api.post("/v1/hq/products", token=hq, json={**LONGJING, "skus": [{**first, "max_price": 26000}]})
    assert problem(r, 422, "validation_failed")["band"] == {"min_price": 24800, "max_price": 26000}
    assert (await api.get("/v1/hq/products", token=hq)).json()["items"] == []


async def test_publish_and_archive(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    await api.post("/v1/hq/products", token=hq, json=LONGJING)
    r = await api.post("/v1/hq/products/GT-LJ/publish", token=hq)
    assert r.status_code == 200
    published_at = r.json()["published_at"]
    assert (r.json()["status"], published_at is not None) == ("published", True)
    r = await api.post("/v1/hq/products/GT-LJ/publish", token=hq)  # again: nothing changes
    assert (r.status_code, r.json()["published_at"]) == (200, published_at)
    r = await api.post("/v1/hq/products/GT-LJ/archive", token=hq)
    assert (r.status_code, r.json()["status"]) == (200, "archived")
    assert (await api.post("/v1/hq/products/GT-LJ/archive", token=hq)).status_code == 200
    problem(await api.post("/v1/hq/products/GT-LJ/publish", token=hq), 409, "invalid_state")
    problem(await api.post("/v1/hq/products/GT-XX/publish", token=hq), 404, "not_found")
    problem(await api.post("/v1/hq/products/GT-XX/archive", token=hq), 404, "not_found")


async def test_update_product_and_skus(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    await api.post("/v1/hq/products", token=hq, json=LONGJING)
    r = await api.patch("/v1/hq/products/GT-LJ", token=hq, json={"title": "龙井 雨前", "images": []})
    assert (r.status_code, r.json()["title"], r.json()["images"], r.json()["description"]) == (
        200,
        "龙井 雨前",
        [],
        "豆花香",
    )
    r = await api.post("/v1/hq/products/GT-LJ/skus", token=hq, json={"code": "GT-LJ-50", "spec": "50g", "price": 13800})
    assert r.status_code == 201, r.text
    assert r.json() == sku("GT-LJ-50", "50g", 13800, 13800, 13800, 2)
    problem(
        await api.post("/v1/hq/products/GT-LJ/skus", token=hq, json={"code": "GT-LJ-50", "spec": "x", "price": 1}),
        409,
        "conflict",
    )
    r = await api.patch(
        "/v1/hq/products/GT-LJ/skus/GT-LJ-50", token=hq, json={"max_price": 15800, "sort": 0, "spec": "50g 试饮装"}
    )
    assert r.json() == sku("GT-LJ-50", "50g 试饮装", 13800, 13800, 15800, 0)
    body = problem(
        await api.patch("/v1/hq/products/GT-LJ/skus/GT-LJ-50", token=hq, json={"price": 16000}),
        422,
        "validation_failed",
    )
    assert body["band"] == {"min_price": 13800, "max_price": 15800}
    problem(await api.patch("/v1/hq/products/GT-LJ/skus/NOPE", token=hq, json={"price": 1}), 404, "not_found")
    problem(await api.patch("/v1/hq/products/GT-XX", token=hq, json={"title": "x"}), 404, "not_found")
    skus = (await api.get("/v1/hq/products/GT-LJ", token=hq)).json()["skus"]
    assert [s["code"] for s in skus] == ["GT-LJ-100", "GT-LJ-50", "GT-LJ-250"]


async def test_a_published_product_keeps_an_active_sku(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    await api.post("/v1/hq/products", token=hq, json=LONGJING)
    await api.post("/v1/hq/products/GT-LJ/publish", token=hq)
    r = await api.patch("/v1/hq/products/GT-LJ/skus/GT-LJ-250", token=hq, json={"active": False})
    assert (r.status_code, r.json()["active"]) == (200, False)
    problem(
        await api.patch("/v1/hq/products/GT-LJ/skus/GT-LJ-100", token=hq, json={"active": False}), 409, "invalid_state"
    )
    await api.post(
        "/v1/hq/products", token=hq, json={**LONGJING, "code": "P2", "skus": [{"code": "S2", "spec": "x", "price": 5}]}
    )
    await api.patch("/v1/hq/products/P2/skus/S2", token=hq, json={"active": False})  # fine while a draft
    problem(await api.post("/v1/hq/products/P2/publish", token=hq), 409, "invalid_state")


async def test_list_filters_and_pages(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant, stock={})
    hq = tenant.hq_token
    await api.post("/v1/hq/products/P-CUP/archive", token=hq)

    async def codes(**params: Any) -> list[str]:
        r = await api.get("/v1/hq/products", token=hq, params=params)
        assert r.status_code == 200, r.text
        return [p["code"] for p in r.json()["items"]]

    assert await codes() == ["P-LJ", "P-DHP", "P-PE", "P-BC", "P-HC", "P-CUP", "P-NEW"]
    assert await codes(status="draft") == ["P-NEW"]
    assert await codes(status="archived") == ["P-CUP"]
    assert await codes(category="绿茶") == ["P-LJ"]
    assert await codes(q="普洱") == ["P-PE"]
    first = (await api.get("/v1/hq/products", token=hq, params={"limit": 3})).json()
    assert [p["code"] for p in first["items"]] == ["P-LJ", "P-DHP", "P-PE"]
    rest = await codes(limit=10, cursor=first["next_cursor"])
    assert rest == ["P-BC", "P-HC", "P-CUP", "P-NEW"]
    problem(await api.get("/v1/hq/products", token=hq, params={"status": "sold"}), 422, "validation_failed")
    r = await api.get("/v1/hq/categories", token=hq)
    assert r.json() == {
        "items": [
            {"name": "乌龙茶", "published": 1, "products": 1},
            {"name": "普洱", "published": 1, "products": 1},
            {"name": "白茶", "published": 1, "products": 1},
            {"name": "红茶", "published": 0, "products": 1},
            {"name": "绿茶", "published": 1, "products": 1},
            {"name": "花茶", "published": 1, "products": 1},
        ]
    }


async def test_another_tenants_products_are_not_found(
    api: Api, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    await api.post("/v1/hq/products", token=tenant.hq_token, json=LONGJING)
    other = other_tenant.hq_token
    problem(await api.get("/v1/hq/products/GT-LJ", token=other), 404, "not_found")
    problem(await api.patch("/v1/hq/products/GT-LJ", token=other, json={"title": "x"}), 404, "not_found")
    problem(await api.post("/v1/hq/products/GT-LJ/publish", token=other), 404, "not_found")
    problem(await api.post("/v1/hq/products/GT-LJ/archive", token=other), 404, "not_found")
    problem(await api.patch("/v1/hq/products/GT-LJ/skus/GT-LJ-100", token=other, json={"price": 1}), 404, "not_found")
    problem(
        await api.post("/v1/hq/products/GT-LJ/skus", token=other, json={"code": "Z", "spec": "z", "price": 1}),
        404,
        "not_found",
    )
    assert (await api.get("/v1/hq/products", token=other)).json() == {"items": [], "next_cursor": None}
    assert (await api.get("/v1/hq/products/GT-LJ", token=tenant.hq_token)).json()["status"] == "draft"
