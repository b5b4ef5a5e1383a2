"""A consumer scans the QR code on a bottle: the printed URL opens the authenticity page in a phone browser."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from playwright.async_api import expect

from tests.support import Api, TenantHandle, seed_catalog

if TYPE_CHECKING:
    from playwright.async_api import Page

    from cloudstore.lib.jobs import Worker
    from tests.browser.conftest import Shots


async def test_a_genuine_unit_shows_its_product_and_first_scan(
    live_api: Api, tenant: TenantHandle, page: Page, worker: Worker, shots: Shots
) -> None:
    await seed_catalog(live_api, tenant)
    hq = tenant.hq_token
    r = await live_api.post("/v1/hq/code-batches", token=hq, json={"sku": "LJ-100", "units": 2})
    assert r.status_code == 202, r.text
    batch_no = r.json()["batch_no"]
    await worker.run_pending()
    r = await live_api.get(f"/v1/hq/code-batches/{batch_no}/codes.csv", token=hq)
    lines = list(csv.DictReader(io.StringIO(r.text)))
    r = await live_api.post("/v1/hq/code-shipments", token=hq, json={"store": "S-NS", "codes": [lines[0]["code"]]})
    assert r.status_code == 201, r.text

    await page.goto(lines[0]["url"])  # what the QR code on the bottle carries
    await expect(page.get_by_test_id("code-result")).to_have_text("正品验证通过")
    await expect(page.get_by_test_id("code-product")).to_contain_text("LJ-100")
    await expect(page.get_by_test_id("code-first")).to_contain_text("first scan")
    await shots.take(page, "code-genuine")
    await page.reload()
    await expect(page.get_by_test_id("code-first")).to_contain_text("首次扫码时间")
    await expect(page.get_by_test_id("code-counts")).to_contain_text("共被扫码 2 次")

    code = lines[1]["code"]
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")  # the check symbol no longer holds
    await page.goto(lines[1]["url"].replace(code, mistyped))
    await expect(page.get_by_test_id("code-result")).to_have_text("未知的码")
    await shots.take(page, "code-unknown")
