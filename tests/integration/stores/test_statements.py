"""A storefront page costs the same SQL statements whatever its size: no N+1 over products or SKUs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Litestar
from sqlalchemy import event, text

from cloudstore.catalog.imports import import_catalog, parse_catalog_csv
from cloudstore.lib.db import set_tenant
from tests.support import Api, TenantHandle, seed_catalog


@contextmanager
def statements(app: Litestar) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def add_products(app: Litestar, tenant: TenantHandle, count: int) -> None:
    """``count`` published products with two SKUs each, through the catalog import."""
    lines = ["product_code,title,category,sku_code,spec,price,min_price,max_price"]
    for n in range(count):
        category = "绿茶" if n % 2 else "红茶"
        lines += [
            f"X-{n:03d},测试茶 {n},{category},X-{n:03d}-A,100g,1000,,",
            f"X-{n:03d},测试茶 {n},{category},X-{n:03d}-B,250g,2000,,",
        ]
    rows = parse_catalog_csv("\n".join(lines) + "\n")
    async with app.state.db.sessions() as session, session.begin():
        tenant_id = (
            await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant.slug})
        ).scalar_one()
        await set_tenant(session, tenant_id)
        await import_catalog(session, tenant_id, rows, publish=True)


async def test_storefront_page_is_one_statement_whatever_its_size(
    api: Api, app: Litestar, tenant: TenantHandle
) -> None:
    await seed_catalog(api, tenant)
    await add_products(app, tenant, 60)
    items = [{"location": "S-NS", "sku": f"X-{n:03d}-A", "on_hand": 1} for n in range(0, 60, 3)]
    items += [{"location": "WH-SZ", "sku": f"X-{n:03d}-B", "on_hand": 5} for n in range(0, 60, 2)]
    assert (await api.put("/v1/hq/stock", token=tenant.hq_token, json={"items": items})).status_code == 200
    base = f"/v1/shop/{tenant.slug}/stores/S-NS/products"
    assert (await api.get(base)).status_code == 200  # the tenant's id is cached from now on
    counts = {}
    for query in ({"limit": 1}, {"limit": 50}, {"limit": 100}, {"limit": 100, "category": "绿茶", "q": "测试"}):
        with statements(app) as seen:
            r = await api.get(base, params=query)
        assert r.status_code == 200
        counts[str(query)] = (len(seen), len(r.json()["items"]))
        # The tenant scope (role, tenant, guard) is one simple query sent beside the cursor; the page is one.
        assert "WITH" in seen[0]
        assert "json_agg" in seen[0]
    assert counts == {
        "{'limit': 1}": (1, 1),
        "{'limit': 50}": (1, 50),
        "{'limit': 100}": (1, 66),
        "{'limit': 100, 'category': '绿茶', 'q': '测试'}": (1, 30),
    }
    with statements(app) as seen:
        r = await api.get(f"{base}/X-007")
    assert (r.status_code, len(seen)) == (200, 1)
    assert [s["shelf"] for s in r.json()["skus"]] == ["sold_out", "sold_out"]
    with statements(app) as seen:
        r = await api.get(f"{base}/X-006")
    assert [s["shelf"] for s in r.json()["skus"]] == ["in_store", "cloud"]
