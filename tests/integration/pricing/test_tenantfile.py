"""The demo tenant file's pricing: a delivery policy, a promotion, an HQ coupon and a store's own coupon."""

from __future__ import annotations

import secrets
from pathlib import Path

import msgspec
from litestar import Litestar

from cloudstore.lib.settings import Settings
from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile, apply_tenant_file, parse_file
from cloudstore.wiring import TENANT_FILE_SECTIONS
from tests.support import Api

DEMO = Path(__file__).resolve().parents[3] / "tenants" / "demo.toml"


async def apply(app: Litestar, settings: Settings, doc: TenantFile) -> ApplyReport:
    async with app.state.db.sessions() as session, session.begin():
        return await apply_tenant_file(session, doc, settings, TENANT_FILE_SECTIONS)


async def test_demo_pricing_applies_idempotently_and_updates_what_changed(
    api: Api, app: Litestar, settings: Settings
) -> None:
    doc = msgspec.structs.replace(parse_file(DEMO), slug=f"demo-{secrets.token_hex(4)}")
    first = await apply(app, settings, doc)
    assert first.counts["pricing"] == {"created": 3, "updated": 1, "unchanged": 0}
    again = await apply(app, settings, doc)
    assert again.counts["pricing"] == {"created": 0, "updated": 0, "unchanged": 4}

    r = await api.post("/v1/auth/token", json={"tenant": doc.slug, "username": "hq", "password": "chayun-hq-2026"})
    hq = r.json()["access_token"]
    policy = (await api.get("/v1/hq/policies/delivery", token=hq)).json()
    assert policy == msgspec.to_builtins(msgspec.convert(doc.pricing["delivery"], dict))
    coupons = {c["code"]: c for c in (await api.get("/v1/hq/coupons", token=hq)).json()["items"]}
    assert coupons["WELCOME-20"]["store"] is None
    assert coupons["NS-GREEN-15"]["store"] == "SZ-NS-01"
    assert coupons["NS-GREEN-15"]["categories"] == ["绿茶"]
    promotions = (await api.get("/v1/hq/promotions", token=hq)).json()["items"]
    assert [p["code"] for p in promotions] == ["WINTER-300-30"]

    pricing = dict(doc.pricing)
    pricing["coupons"] = [{**pricing["coupons"][0], "value": 2500}, pricing["coupons"][1]]
    changed = await apply(app, settings, msgspec.structs.replace(doc, pricing=pricing))
    assert changed.counts["pricing"] == {"created": 0, "updated": 1, "unchanged": 3}
    coupons = {c["code"]: c for c in (await api.get("/v1/hq/coupons", token=hq)).json()["items"]}
    assert coupons["WELCOME-20"]["value"] == 2500
