"""HQ manages distributors, warehouses and stores: create, list, read, update, archive."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import Api, TenantHandle, problem, seed_catalog, staff_token

DIST = {"code": "D-SZ", "name": "深圳茶韵商贸", "regions": ["4403"]}
NANSHAN = {
    "code": "SZ-NS-01",
    "name": "南山科技园店",
    "distributor_code": "D-SZ",
    "region": "440305",
    "lat": 22.5333,
    "lng": 113.9304,
    "address": "南山区深南大道9966号",
    "delivery_radius_km": 5,
}


async def hq_post(api: Api, tenant: TenantHandle, path: str, body: dict[str, Any]) -> Any:
    r = await api.post(path, token=tenant.hq_token, json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def test_distributor_lifecycle(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    assert await hq_post(api, tenant, "/v1/hq/distributors", DIST) == {**DIST, "status": "active"}
    problem(await api.post("/v1/hq/distributors", token=hq, json=DIST), 409, "conflict")
    r = await api.patch("/v1/hq/distributors/D-SZ", token=hq, json={"regions": ["4403", "4419"]})
    assert r.status_code == 200
    assert r.json() == {**DIST, "regions": ["4403", "4419"], "status": "active"}
    r = await api.post("/v1/hq/distributors/D-SZ/archive", token=hq)
    assert (r.status_code, r.json()["status"]) == (200, "archived")
    r = await api.post("/v1/hq/distributors/D-SZ/archive", token=hq)
    assert (r.status_code, r.json()["status"]) == (200, "archived")
    r = await api.get("/v1/hq/distributors/D-SZ", token=hq)
    assert r.json() == {**DIST, "regions": ["4403", "4419"], "status": "archived"}
    problem(await api.get("/v1/hq/distributors/D-XX", token=hq), 404, "not_found")
    problem(await api.patch("/v1/hq/distributors/D-XX", token=hq, json={"name": "x"}), 404, "not_found")
    problem(await api.post("/v1/hq/distributors/D-XX/archive", token=hq), 404, "not_found")


async def test_distributor_validation(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    for body in (
        {**DIST, "regions": ["44030"]},  # 5 digits
        {**DIST, "code": "有 空格"},
        {**DIST, "name": ""},
        {**DIST, "extra": 1},
        {"code": "D-1"},
    ):
        problem(await api.post("/v1/hq/distributors", token=hq, json=body), 422, "validation_failed")
    problem(await api.patch("/v1/hq/distributors/D-SZ", token=hq, json={"code": "X"}), 422, "validation_failed")


async def test_lists_page_with_cursor_and_filter(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    for i in range(5):
        await hq_post(api, tenant, "/v1/hq/distributors", {"code": f"D-{i}", "name": f"经销商{i}"})
    await api.post("/v1/hq/distributors/D-3/archive", token=hq)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = (await api.get("/v1/hq/distributors", token=hq, params=params)).json()
        seen += [d["code"] for d in body["items"]]
        assert len(body["items"]) <= 2
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["D-0", "D-1", "D-2", "D-3", "D-4"]
    r = await api.get("/v1/hq/distributors", token=hq, params={"status": "archived"})
    assert [d["code"] for d in r.json()["items"]] == ["D-3"]
    for params in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}, {"status": "gone"}):
        problem(await api.get("/v1/hq/distributors", token=hq, params=params), 422, "validation_failed")


async def test_warehouses(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    await hq_post(api, tenant, "/v1/hq/distributors", DIST)
    regional = {"code": "WH-SZ", "name": "深圳仓", "kind": "regional", "regions": ["4403"], "lat": 22.6, "lng": 114.0}
    assert await hq_post(api, tenant, "/v1/hq/locations", {**regional, "distributor_code": "D-SZ"}) == {
        **regional,
        "distributor_code": "D-SZ",
        "status": "active",
    }
    central = {"code": "WH-C", "name": "总仓", "kind": "central", "lat": 23.0, "lng": 113.7}
    assert (await hq_post(api, tenant, "/v1/hq/locations", central))["regions"] == []
    problem(await api.post("/v1/hq/locations", token=hq, json=regional), 409, "conflict")
    bad = [
        {**regional, "code": "WH-2", "regions": []},  # a regional warehouse serves some region
        {**central, "code": "WH-3", "regions": ["44"]},  # the central one serves all
        {**regional, "code": "WH-4", "kind": "store"},  # stores come with their store
        {**regional, "code": "WH-5", "lat": 91},
        {**regional, "code": "WH-6", "distributor_code": "D-NONE"},
    ]
    for body in bad:
        problem(await api.post("/v1/hq/locations", token=hq, json=body), 422, "validation_failed")
    r = await api.patch("/v1/hq/locations/WH-SZ", token=hq, json={"regions": ["44"], "distributor_code": None})
    assert r.status_code == 200, r.text
    assert (r.json()["regions"], r.json()["distributor_code"]) == (["44"], None)
    problem(await api.patch("/v1/hq/locations/WH-SZ", token=hq, json={"regions": []}), 422, "validation_failed")
    r = await api.post("/v1/hq/locations/WH-SZ/archive", token=hq)
    assert r.json()["status"] == "archived"
    r = await api.get("/v1/hq/locations", token=hq, params={"kind": "central"})
    assert [x["code"] for x in r.json()["items"]] == ["WH-C"]


async def test_store_is_also_a_location(api: Api, tenant: TenantHandle, owner_engine: AsyncEngine) -> None:
    hq = tenant.hq_token
    await hq_post(api, tenant, "/v1/hq/distributors", DIST)
    created = await hq_post(api, tenant, "/v1/hq/stores", NANSHAN)
    assert created == {
        **NANSHAN,
        "delivery_radius_km": 5.0,
        "pickup": True,
        "status": "active",
        "storefront_url": f"https://shop.example.com/s/{tenant.slug}/SZ-NS-01",
    }
    r = await api.get("/v1/hq/locations/SZ-NS-01", token=hq)
    assert r.json() == {
        "code": "SZ-NS-01",
        "name": "南山科技园店",
        "kind": "store",
        "regions": [],
        "lat": 22.5333,
        "lng": 113.9304,
        "distributor_code": "D-SZ",
        "status": "active",
    }
    async with owner_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT s.location_id = l.id, l.kind FROM stores s JOIN tenants t ON t.id = s.tenant_id "
                    "JOIN locations l ON l.tenant_id = s.tenant_id AND l.code = s.code "
                    "WHERE t.slug = :slug AND s.code = 'SZ-NS-01'"
                ),
                {"slug": tenant.slug},
            )
        ).one()
    assert tuple(row) == (True, "store")
    # A store's location changes only through its store; its code is taken for warehouses too.
    problem(await api.patch("/v1/hq/locations/SZ-NS-01", token=hq, json={"name": "x"}), 409, "invalid_state")
    problem(await api.post("/v1/hq/locations/SZ-NS-01/archive", token=hq), 409, "invalid_state")
    warehouse = {"code": "SZ-NS-01", "name": "x", "kind": "central", "lat": 1, "lng": 1}
    problem(await api.post("/v1/hq/locations", token=hq, json=warehouse), 409, "conflict")
    problem(await api.post("/v1/hq/stores", token=hq, json=NANSHAN), 409, "conflict")


async def test_store_update_moves_its_location_and_archive_closes_it(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    await hq_post(api, tenant, "/v1/hq/distributors", DIST)
    await hq_post(api, tenant, "/v1/hq/distributors", {"code": "D-2", "name": "二号"})
    await hq_post(api, tenant, "/v1/hq/stores", NANSHAN)
    patch = {"name": "南山旗舰店", "lat": 22.54, "distributor_code": "D-2", "delivery_radius_km": None, "pickup": False}
    r = await api.patch("/v1/hq/stores/SZ-NS-01", token=hq, json=patch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in patch} == patch
    assert (body["lng"], body["region"]) == (113.9304, "440305")
    location = (await api.get("/v1/hq/locations/SZ-NS-01", token=hq)).json()
    assert (location["name"], location["lat"], location["distributor_code"]) == ("南山旗舰店", 22.54, "D-2")
    problem(await api.patch("/v1/hq/stores/SZ-NS-01", token=hq, json={"region": "4403"}), 422, "validation_failed")
    problem(
        await api.patch("/v1/hq/stores/SZ-NS-01", token=hq, json={"distributor_code": "D-9"}), 422, "validation_failed"
    )
    r = await api.post("/v1/hq/stores/SZ-NS-01/archive", token=hq)
    assert r.json()["status"] == "archived"
    assert (await api.get("/v1/hq/locations/SZ-NS-01", token=hq)).json()["status"] == "archived"
    problem(await api.get(f"/v1/shop/{tenant.slug}/stores/SZ-NS-01/products"), 404, "not_found")


async def test_store_validation(api: Api, tenant: TenantHandle) -> None:
    hq = tenant.hq_token
    await hq_post(api, tenant, "/v1/hq/distributors", DIST)
    for body in (
        {**NANSHAN, "distributor_code": "D-NONE"},
        {**NANSHAN, "region": "4403"},
        {**NANSHAN, "lng": 181},
        {**NANSHAN, "delivery_radius_km": -1},
        {k: v for k, v in NANSHAN.items() if k != "distributor_code"},
    ):
        problem(await api.post("/v1/hq/stores", token=hq, json=body), 422, "validation_failed")


async def test_store_list_filters(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant, stock={})
    hq = tenant.hq_token

    async def codes(**params: Any) -> list[str]:
        r = await api.get("/v1/hq/stores", token=hq, params=params)
        assert r.status_code == 200, r.text
        return [s["code"] for s in r.json()["items"]]

    assert await codes() == ["S-NS", "S-FT", "S-TH"]
    assert await codes(region="4403") == ["S-NS", "S-FT"]
    assert await codes(distributor="D-GZ") == ["S-TH"]
    await api.post("/v1/hq/stores/S-FT/archive", token=hq)
    assert await codes(status="active") == ["S-NS", "S-TH"]


async def test_hq_routes_need_an_hq_token(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant, stock={})
    store = await staff_token(api, tenant, username="ns-staff", role="store", store="S-NS")
    for path in ("/v1/hq/distributors", "/v1/hq/locations", "/v1/hq/stores", "/v1/hq/products", "/v1/hq/stock"):
        problem(await api.get(path), 401, "unauthorized")
        problem(await api.get(path, token="not-a-token"), 401, "unauthorized")
        problem(await api.get(path, token=store), 403, "forbidden")


async def test_another_tenants_network_is_not_found(api: Api, tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant, stock={})
    other = other_tenant.hq_token
    for path in ("/v1/hq/distributors/D-SZ", "/v1/hq/locations/WH-SZ", "/v1/hq/stores/S-NS"):
        problem(await api.get(path, token=other), 404, "not_found")
        problem(await api.patch(path, token=other, json={"name": "mine now"}), 404, "not_found")
        problem(await api.post(path + "/archive", token=other), 404, "not_found")
    for path in ("/v1/hq/distributors", "/v1/hq/locations", "/v1/hq/stores"):
        assert (await api.get(path, token=other)).json() == {"items": [], "next_cursor": None}
    # Another tenant's distributor cannot be referenced either.
    body = {**NANSHAN, "distributor_code": "D-SZ"}
    problem(await api.post("/v1/hq/stores", token=other, json=body), 422, "validation_failed")
    assert (await api.get("/v1/hq/stores/S-NS", token=tenant.hq_token)).json()["name"] == "南山店"
