"""The demo tenant's codes: a small batch generated and shipped to one store, so a newcomer can scan one."""

from __future__ import annotations

import csv
import io
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from cloudstore.tenancy.tenantfile import apply_tenant_file, parse_file
from cloudstore.wiring import TENANT_FILE_SECTIONS
from tests.support import TenantHandle, consumer

if TYPE_CHECKING:
    from litestar import Litestar

    from cloudstore.lib.settings import Settings
    from tests.support import Api

DEMO = Path(__file__).resolve().parents[3] / "tenants" / "demo.toml"


async def test_the_demo_ships_a_batch_whose_codes_scan_genuine(api: Api, app: Litestar, settings: Settings) -> None:
    doc = msgspec.structs.replace(parse_file(DEMO), slug=f"demo-{secrets.token_hex(4)}")
    async with app.state.db.sessions() as session, session.begin():
        first = await apply_tenant_file(session, doc, settings, TENANT_FILE_SECTIONS)
    assert first.counts["codes"]["created"] == 1
    async with app.state.db.sessions() as session, session.begin():
        second = await apply_tenant_file(session, doc, settings, TENANT_FILE_SECTIONS)
    assert second.counts["codes"] == {"created": 0, "updated": 0, "unchanged": 1}

    r = await api.post(
        "/v1/auth/token", json={"tenant": doc.slug, "username": doc.admin.username, "password": doc.admin.password}
    )
    hq = r.json()["access_token"]
    r = await api.get("/v1/hq/code-batches/DEMO-LJ-001", token=hq)
    assert (r.json()["status"], r.json()["units"], r.json()["cases"]) == ("ready", 24, 2)
    lines = list(
        csv.DictReader(io.StringIO((await api.get("/v1/hq/code-batches/DEMO-LJ-001/codes.csv", token=hq)).text))
    )
    units = [line for line in lines if line["level"] == "unit"]
    assert len(units) == 24
    r = await api.get(f"/v1/hq/codes/{units[0]['code']}", token=hq)
    assert r.json()["store"] == "SZ-LH-01"
    handle = TenantHandle(slug=doc.slug, hq_token=hq, admin_username=doc.admin.username, admin_password="")
    token, _ = await consumer(api, handle, "newcomer")
    r = await api.post(f"/v1/shop/{doc.slug}/scans", token=token, json={"code": units[0]["code"]})
    assert (r.json()["result"], r.json()["store"], r.json()["binding"]) == ("genuine", "SZ-LH-01", "SZ-LH-01")
