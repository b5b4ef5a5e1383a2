"""The demo tenant file: catalog, network and stock applied from TOML, idempotently."""

from __future__ import annotations

import secrets
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.settings import Settings
from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile, apply_tenant_file, parse_file
from cloudstore.wiring import TENANT_FILE_SECTIONS
from tests.support import Api

DEMO = Path(__file__).resolve().parents[3] / "tenants" / "demo.toml"
TABLES = ("distributors", "locations", "stores", "products", "skus", "stock_levels")


async def apply(app: Litestar, settings: Settings, doc: TenantFile) -> ApplyReport:
    async with app.state.db.sessions() as session, session.begin():
        return await apply_tenant_file(session, doc, settings, TENANT_FILE_SECTIONS)


async def snapshot(engine: AsyncEngine, slug: str) -> dict[str, object]:
    """Row counts and the latest updated_at per table, and the number of stock movements."""
    out: dict[str, object] = {}
    async with engine.connect() as conn:
        tid = (await conn.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})).scalar_one()
        for table in TABLES:
            row = (
                await conn.execute(
                    text(f"SELECT count(*), max(updated_at) FROM {table} WHERE tenant_id = :t"),  # noqa: S608
                    {"t": tid},
                )
            ).one()
            out[table] = tuple(row)
        out["movements"] = (
            await conn.execute(text("SELECT count(*) FROM stock_movements WHERE tenant_id = :t"), {"t": tid})
        ).scalar_one()
    return out


async def test_demo_applies_once_and_then_changes_nothing(
    api: Api, app: Litestar, settings: Settings, owner_engine: AsyncEngine
) -> None:
    doc = msgspec.structs.replace(parse_file(DEMO), slug=f"demo-{secrets.token_hex(4)}")
    first = await apply(app, settings, doc)
    assert {k: v["created"] for k, v in first.counts.items() if k != "policies"} == {
        "tenant": 1,
        "distributors": 2,
        "locations": 3,
        "stores": 10,
        "products": 31,
        "stock": len(doc.stock),
        "pricing": 3,
        "staff": 6,
        "codes": 1,
    }
    before = await snapshot(owner_engine, doc.slug)
    assert before["movements"] == sum(1 for s in doc.stock if s["on_hand"] > 0)
    second = await apply(app, settings, doc)
    assert second.changed == 0
    assert second.counts["products"] == {"created": 0, "updated": 0, "unchanged": 31}
    assert second.counts["stock"] == {"created": 0, "updated": 0, "unchanged": len(doc.stock)}
    assert await snapshot(owner_engine, doc.slug) == before

    # The storefront shows both shelves, and the draft is not on it.
    r = await api.get(f"/v1/shop/{doc.slug}/stores/SZ-NS-01/products", params={"limit": 100})
    body = r.json()
    shelves = {s["shelf"] for p in body["items"] for s in p["skus"]}
    assert {"in_store", "cloud"} <= shelves
    assert len(body["items"]) == 30
    assert "BT-YH9" not in {p["code"] for p in body["items"]}
    r = await api.get(f"/v1/shop/{doc.slug}/stores/SZ-NS-01/products", params={"q": "龙井"})
    assert [p["title"] for p in r.json()["items"]] == ["西湖龙井 明前特级", "春节茶礼 龙井红茶双罐"]
    # Staff from the file can sign in.
    for username, password, role in (("hq", "chayun-hq-2026", "hq"), ("sz-ns-01", "store-pass-2026", "store")):
        r = await api.post("/v1/auth/token", json={"tenant": doc.slug, "username": username, "password": password})
        assert (r.status_code, r.json().get("role")) == (200, role)


async def test_changed_entries_are_updated(app: Litestar, settings: Settings, api: Api) -> None:
    doc = msgspec.structs.replace(parse_file(DEMO), slug=f"demo-{secrets.token_hex(4)}")
    await apply(app, settings, doc)
    products = [dict(p) for p in doc.products]
    products[0] = {**products[0], "title": "西湖龙井 新茶"}
    stock = [dict(s) for s in doc.stock]
    stock[0] = {**stock[0], "on_hand": stock[0]["on_hand"] + 1}
    stores = [dict(s) for s in doc.stores]
    stores[0] = {**stores[0], "address": "新地址"}
    changed = msgspec.structs.replace(doc, products=products, stock=stock, stores=stores)
    report = await apply(app, settings, changed)
    assert (report.counts["products"]["updated"], report.counts["stock"]["updated"]) == (1, 1)
    assert report.counts["stores"]["updated"] == 1
    assert report.changed == 3


@pytest.mark.parametrize(
    ("section", "entry", "message"),
    [
        ("stores", {"code": "S-1", "name": "x"}, "tenant file: stores[0] (S-1): Object missing required field"),
        ("products", {"code": "P 1"}, "tenant file: products[0] (P 1):"),
        ("stock", {"location": "WH-X", "sku": "S", "on_hand": -1}, "tenant file: stock[0]: Expected `int` >= 0"),
    ],
)
async def test_bad_entries_name_their_section(
    app: Litestar, settings: Settings, section: str, entry: dict[str, object], message: str
) -> None:
    doc = msgspec.structs.replace(parse_file(DEMO), slug=f"demo-{secrets.token_hex(4)}", **{section: [entry]})
    with pytest.raises(ValidationFailed) as caught:
        await apply(app, settings, doc)
    assert caught.value.detail.startswith(message)
