"""HQ's analytics pages in a real browser: the dashboard draws every chart, a store's profile, its stock suggestions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import expect

from tests.browser.test_console import _sign_in
from tests.integration.network import signed_notification
from tests.support import Api, TenantHandle, consumer, seed_catalog

if TYPE_CHECKING:
    from playwright.async_api import Page

    from tests.browser.conftest import Shots

_NANSHAN = {"mode": "delivery", "region": "440305", "lat": 22.54, "lng": 113.935, "address": "南山区科技园",
            "contact": "小明", "phone": "13800000000"}  # fmt: skip
CHARTS = ("days", "split", "stores", "funnel", "segments")


async def _paid(api: Api, tenant: TenantHandle, shopper: str, sku: str) -> None:
    token, _ = await consumer(api, tenant, shopper)
    r = await api.post(f"/v1/shop/{tenant.slug}/touches", token=token, json={"store": "S-NS"})
    assert r.status_code == 201, r.text
    r = await api.post(
        f"/v1/shop/{tenant.slug}/orders",
        token=token,
        json={"lines": [{"sku": sku, "qty": 1}], "delivery": _NANSHAN, "store": "S-NS"},
        headers={"Idempotency-Key": f"analytics-{shopper}"},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    r = await api.post(
        f"/v1/shop/{tenant.slug}/orders/{order['order_no']}/pay",
        token=token,
        json={"provider": "local"},
        headers={"Idempotency-Key": f"pay-{order['order_no']}"},
    )
    assert r.status_code == 200, r.text
    body, headers = signed_notification(r.json()["payment_id"], order["order_no"], order["total"])
    assert (await api.post("/v1/payments/local/notify", content=body, headers=headers)).status_code == 200


async def test_hq_sees_the_dashboard_a_store_profile_and_its_stock_suggestions(
    live_api: Api, tenant: TenantHandle, page: Page, live_url: str, shots: Shots
) -> None:
    api = live_api
    await seed_catalog(api, tenant)
    await _paid(api, tenant, "xiaoli", "DHP-100")  # the store's own stock
    await _paid(api, tenant, "xiaozhang", "LJ-250")  # the cloud shelf: a warehouse ships it
    assert (await api.post("/v1/hq/analytics/recompute", token=tenant.hq_token)).status_code == 200
    await _sign_in(page, live_url, tenant.slug, tenant.admin_username, tenant.admin_password)
    await expect(page.get_by_test_id("hq-figures")).to_contain_text("2")
    for name in CHARTS:
        chart = page.get_by_test_id(f"chart-{name}")
        await expect(chart.locator("svg")).to_have_count(1)
        # drawn with data: the SVG holds shapes beyond the empty frame
        shapes: int = await chart.evaluate("el => el.querySelectorAll('svg path, svg rect').length")
        assert shapes > 1, name
    await shots.take(page, "console-hq-dashboard")

    await page.get_by_test_id("top-stores").get_by_role("link", name="S-NS", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("S-NS 终端画像")
    await expect(page.get_by_test_id("percentile")).to_have_text("100.0%")
    await expect(page.get_by_test_id("cloud-shelf")).not_to_have_text("¥0.00")
    await shots.take(page, "console-store-profile")

    await page.get_by_role("link", name="定向铺货建议 →").click()
    rows = page.get_by_test_id("suggestions").locator("tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("LJ-250")
    await shots.take(page, "console-stock-suggestions")
