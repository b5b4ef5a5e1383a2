"""The ``kocs`` section of tenant files: KOCs with fixed codes, applied idempotently."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar

from cloudstore.lib.db import set_tenant
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.settings import Settings
from cloudstore.referrals.tenantfile import apply_kocs
from cloudstore.tenancy.tenantfile import ApplyReport, StaffEntry, TenantFile
from tests.integration.referrals.helpers import Net, session_for
from tests.support import Api


async def apply(app: Litestar, net: Net, settings: Settings, kocs: list[dict[str, Any]]) -> dict[str, int]:
    doc = TenantFile(
        slug=net.tenant.slug, name="Brand", admin=StaffEntry(username="admin", password="x", role="hq"), kocs=kocs
    )
    report = ApplyReport(tenant=net.tenant.slug)
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        await apply_kocs(s, net.tenant_id, doc, report, settings)
    return report.counts.get("kocs", {})


async def test_kocs_from_a_tenant_file(api: Api, app: Litestar, net: Net, settings: Settings) -> None:
    kocs: list[dict[str, Any]] = [
        {"code": "KFILE01", "store": "SA", "name": "文件"},
        {"code": "KFILE02", "store": "SB", "name": "b"},
    ]
    assert await apply(app, net, settings, kocs) == {"created": 2, "updated": 0, "unchanged": 0}
    assert await apply(app, net, settings, kocs) == {"created": 0, "updated": 0, "unchanged": 2}
    kocs[0] |= {"name": "renamed", "active": False}
    assert await apply(app, net, settings, kocs) == {"created": 0, "updated": 1, "unchanged": 1}
    r = await api.get("/v1/store/kocs/KFILE01", token=net.store_a_token)
    assert (r.json()["name"], r.json()["active"]) == ("renamed", False)
    with pytest.raises(ValidationFailed, match="store 'NOPE'"):
        await apply(app, net, settings, [{"code": "KX", "store": "NOPE", "name": "x"}])
    with pytest.raises(ValidationFailed, match=r"kocs\[0\]"):
        await apply(app, net, settings, [{"code": "KX", "name": "x"}])
