"""Stock per location and SKU: HQ sets on-hand, every change is a movement, reservations are kept."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import Api, TenantHandle, problem, seed_catalog, staff_token


async def movements(engine: AsyncEngine, tenant: TenantHandle) -> list[tuple[str, str, int, int, str, str]]:
    """Every movement row of the tenant: (location, sku, delta, on_hand_after, reason, actor), oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT l.code, k.code, m.delta, m.on_hand_after, m.reason, m.actor FROM stock_movements m "
                "JOIN tenants t ON t.id = m.tenant_id JOIN locations l ON l.tenant_id = t.id AND l.id = m.location_id "
                "JOIN skus k ON k.tenant_id = t.id AND k.id = m.sku_id WHERE t.slug = :slug ORDER BY m.id"
            ),
            {"slug": tenant.slug},
        )
        return [tuple(r) for r in rows]


async def reserve(engine: AsyncEngine, tenant: TenantHandle, location: str, sku: str, qty: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE stock_levels sl SET reserved = :q FROM tenants t, locations l, skus k "
                "WHERE t.slug = :slug AND sl.tenant_id = t.id AND l.tenant_id = t.id AND k.tenant_id = t.id "
                "AND l.code = :loc AND k.code = :sku AND sl.location_id = l.id AND sl.sku_id = k.id"
            ),
            {"q": qty, "slug": tenant.slug, "loc": location, "sku": sku},
        )


def subject(token: str) -> str:
    """The ``sub`` claim of a token."""
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def item(location: str, sku: str, on_hand: int) -> dict[str, Any]:
    return {"location": location, "sku": sku, "on_hand": on_hand}


async def test_set_stock_records_each_change(api: Api, tenant: TenantHandle, owner_engine: AsyncEngine) -> None:
    await seed_catalog(api, tenant, stock={})
    hq = tenant.hq_token
    r = await api.put(
        "/v1/hq/stock", token=hq, json={"items": [item("WH-SZ", "LJ-100", 40), item("S-NS", "LJ-100", 5)]}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "items": [
            {"location": "WH-SZ", "sku": "LJ-100", "on_hand": 40, "reserved": 0, "available": 40},
            {"location": "S-NS", "sku": "LJ-100", "on_hand": 5, "reserved": 0, "available": 5},
        ]
    }
    rows = await movements(owner_engine, tenant)
    actor = f"staff:{subject(hq)}"
    assert rows == [("WH-SZ", "LJ-100", 40, 40, "set", actor), ("S-NS", "LJ-100", 5, 5, "set", actor)]
    # Setting the same quantity is no change; a lower one is a negative delta.
    r = await api.put(
        "/v1/hq/stock", token=hq, json={"items": [item("WH-SZ", "LJ-100", 40), item("S-NS", "LJ-100", 2)]}
    )
    assert r.status_code == 200
    assert (await movements(owner_engine, tenant))[2:] == [("S-NS", "LJ-100", -3, 2, "set", actor)]
    r = await api.get("/v1/hq/stock/movements", token=hq, params={"location": "S-NS", "limit": 1})
    body = r.json()
    assert [(m["delta"], m["on_hand_after"], m["reason"], m["actor"]) for m in body["items"]] == [(-3, 2, "set", actor)]
    older = (await api.get("/v1/hq/stock/movements", token=hq, params={"cursor": body["next_cursor"]})).json()
    assert [(m["location"], m["delta"]) for m in older["items"]] == [("S-NS", 5), ("WH-SZ", 40)]


async def test_on_hand_cannot_go_below_reserved(api: Api, tenant: TenantHandle, owner_engine: AsyncEngine) -> None:
    await seed_catalog(api, tenant)
    hq = tenant.hq_token
    await reserve(owner_engine, tenant, "S-NS", "LJ-100", 3)
    before = await movements(owner_engine, tenant)
    r = await api.put(
        "/v1/hq/stock", token=hq, json={"items": [item("WH-SZ", "PE-357", 99), item("S-NS", "LJ-100", 2)]}
    )
    body = problem(r, 409, "invalid_state")
    assert body["detail"] == "on_hand cannot go below the reserved quantity: LJ-100 at S-NS: 2 < 3 reserved"
    assert await movements(owner_engine, tenant) == before  # nothing written, not even the good line
    r = await api.get("/v1/hq/stock", token=hq, params={"sku": "PE-357", "location": "WH-SZ"})
    assert r.json()["items"][0]["on_hand"] == 10
    r = await api.put("/v1/hq/stock", token=hq, json={"items": [item("S-NS", "LJ-100", 3)]})
    assert r.json()["items"] == [{"location": "S-NS", "sku": "LJ-100", "on_hand": 3, "reserved": 3, "available": 0}]


async def test_set_stock_validation(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant, stock={})
    hq = tenant.hq_token
    cases = [
        {"items": []},
        {"items": [item("WH-SZ", "LJ-100", -1)]},
        {"items": [item("WH-SZ", "LJ-100", 1), item("WH-SZ", "LJ-100", 2)]},
        {"items": [item("WH-XX", "LJ-100", 1)]},
        {"items": [item("WH-SZ", "XX-1", 1)]},
        {"items": [{"location": "WH-SZ", "sku": "LJ-100"}]},
    ]
    for body in cases:
        problem(await api.put("/v1/hq/stock", token=hq, json=body), 422, "validation_failed")
    detail = problem(
        await api.put("/v1/hq/stock", token=hq, json={"items": [item("WH-XX", "XX-1", 1)]}), 422, "validation_failed"
    )["detail"]
    assert detail == "unknown location 'WH-XX', SKU 'XX-1'"
    assert (await api.get("/v1/hq/stock", token=hq)).json() == {"items": [], "next_cursor": None}


async def test_read_stock_with_filters_and_pages(api: Api, tenant: TenantHandle, owner_engine: AsyncEngine) -> None:
    seed = await seed_catalog(api, tenant)
    hq = tenant.hq_token
    await reserve(owner_engine, tenant, "WH-SZ", "LJ-250", 4)
    r = await api.get("/v1/hq/stock", token=hq, params={"location": "WH-SZ"})
    assert r.json() == {
        "items": [
            {"location": "WH-SZ", "sku": "LJ-250", "on_hand": 20, "reserved": 4, "available": 16},
            {"location": "WH-SZ", "sku": "PE-357", "on_hand": 10, "reserved": 0, "available": 10},
        ],
        "next_cursor": None,
    }
    r = await api.get("/v1/hq/stock", token=hq, params={"sku": "LJ-100"})
    assert [(x["location"], x["on_hand"]) for x in r.json()["items"]] == [("WH-GZ", 30), ("S-NS", 5), ("S-FT", 1)]
    walked: list[tuple[str, str]] = []
    cursor = None
    while True:
        body = (
            await api.get("/v1/hq/stock", token=hq, params={"limit": 4} | ({"cursor": cursor} if cursor else {}))
        ).json()
        walked += [(x["location"], x["sku"]) for x in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert sorted(walked) == sorted(seed.stock)
    problem(await api.get("/v1/hq/stock", token=hq, params={"location": "WH-XX"}), 404, "not_found")
    problem(await api.get("/v1/hq/stock", token=hq, params={"sku": "XX-1"}), 404, "not_found")


async def test_distributor_reads_only_its_own_stock_and_stores(api: Api, tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    d_sz = await staff_token(api, tenant, username="d-sz", role="distributor", distributor="D-SZ")
    r = await api.get("/v1/distributor/stock", token=d_sz)
    assert r.status_code == 200, r.text
    assert {(x["location"], x["sku"]) for x in r.json()["items"]} == {
        ("S-NS", "LJ-100"),
        ("S-NS", "DHP-100"),
        ("S-FT", "LJ-100"),
        ("WH-SZ", "LJ-250"),
        ("WH-SZ", "PE-357"),
    }
    r = await api.get("/v1/distributor/stock", token=d_sz, params={"location": "WH-SZ", "sku": "PE-357"})
    assert [x["on_hand"] for x in r.json()["items"]] == [10]
    for location in ("WH-GZ", "S-TH", "WH-C", "WH-XX"):  # another distributor's, HQ's own, unknown
        problem(await api.get("/v1/distributor/stock", token=d_sz, params={"location": location}), 404, "not_found")
    r = await api.get("/v1/distributor/stores", token=d_sz)
    assert [s["code"] for s in r.json()["items"]] == ["S-NS", "S-FT"]
    problem(await api.get("/v1/distributor/stock", token=tenant.hq_token), 403, "forbidden")
    problem(await api.put("/v1/hq/stock", token=d_sz, json={"items": [item("WH-SZ", "LJ-100", 1)]}), 403, "forbidden")


async def test_another_tenants_stock_is_not_found(api: Api, tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    await seed_catalog(api, tenant)
    other = other_tenant.hq_token
    problem(await api.get("/v1/hq/stock", token=other, params={"location": "WH-SZ"}), 404, "not_found")
    problem(await api.get("/v1/hq/stock/movements", token=other, params={"sku": "LJ-100"}), 404, "not_found")
    r = await api.put("/v1/hq/stock", token=other, json={"items": [item("WH-SZ", "LJ-100", 1)]})
    problem(r, 422, "validation_failed")
    assert (await api.get("/v1/hq/stock", token=other)).json()["items"] == []
    assert (await api.get("/v1/hq/stock/movements", token=other)).json()["items"] == []


async def test_concurrent_writers_in_any_order_neither_deadlock_nor_lose_movements(
    api: Api, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    await seed_catalog(api, tenant, stock={})
    hq = tenant.hq_token
    keys = [("WH-SZ", "LJ-100"), ("WH-GZ", "LJ-100"), ("WH-C", "CUP-1"), ("S-NS", "DHP-100")]

    async def put(n: int) -> int:
        order = keys[n % 4 :] + keys[: n % 4]  # every writer starts somewhere else
        r = await api.put("/v1/hq/stock", token=hq, json={"items": [item(loc, sku, n + 1) for loc, sku in order]})
        return r.status_code

    assert await asyncio.gather(*(put(n) for n in range(12))) == [200] * 12
    rows = await movements(owner_engine, tenant)
    # Each key went from 0 through the values written; its deltas add up to where it ended.
    final = {(x["location"], x["sku"]): x["on_hand"] for x in (await api.get("/v1/hq/stock", token=hq)).json()["items"]}
    for key in keys:
        assert sum(delta for loc, sku, delta, *_ in rows if (loc, sku) == key) == final[key]
        after = [on_hand for loc, sku, _, on_hand, *_ in rows if (loc, sku) == key]
        assert after[-1] == final[key]
