"""Staff in the console, in a real browser: a store signs in and ships an order with a tracking number, which
the shopper then sees on the storefront's order page; a store approves a refund on its after-sales page; the
console's pages fit a phone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import expect

from tests.browser.conftest import PHONE, local_only
from tests.integration.network import signed_notification
from tests.support import STAFF_PASSWORD, Api, TenantHandle, consumer, seed_catalog, staff_token

if TYPE_CHECKING:
    from playwright.async_api import Browser, Locator, Page

    from tests.browser.conftest import Shots

_NANSHAN = {"mode": "delivery", "region": "440305", "lat": 22.54, "lng": 113.935, "address": "南山区科技园",
            "contact": "小明", "phone": "13800000000"}  # fmt: skip


async def _paid_order(api: Api, tenant: TenantHandle, shopper: str) -> str:
    """A paid delivery order of one in-store item at S-NS, placed and paid through the shop API."""
    token, _ = await consumer(api, tenant, shopper)
    r = await api.post(
        f"/v1/shop/{tenant.slug}/orders",
        token=token,
        json={"lines": [{"sku": "DHP-100", "qty": 1}], "delivery": _NANSHAN, "store": "S-NS"},
        headers={"Idempotency-Key": f"console-{shopper}"},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert [f["location"] for f in order["fulfilments"]] == ["S-NS"], order
    r = await api.post(
        f"/v1/shop/{tenant.slug}/orders/{order['order_no']}/pay",
        token=token,
        json={"provider": "local"},
        headers={"Idempotency-Key": f"pay-{order['order_no']}"},
    )
    assert r.status_code == 200, r.text
    body, headers = signed_notification(r.json()["payment_id"], order["order_no"], order["total"])
    r = await api.post("/v1/payments/local/notify", content=body, headers=headers)
    assert r.status_code == 200, r.text
    return str(order["order_no"])


async def _sign_in(page: Page, live_url: str, tenant: str, username: str, password: str) -> None:
    await page.goto(f"{live_url}/console")
    await expect(page.get_by_role("heading", level=1)).to_have_text("员工登录")
    await page.get_by_label("租户（品牌）").fill(tenant)
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()


async def _drawn(img: Locator) -> bool:
    """The image loaded and has a size (``decode`` waits for it)."""
    width: int = await img.evaluate("img => img.decode().then(() => img.naturalWidth)")
    return width > 0


async def _fits(page: Page) -> bool:
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width <= (page.viewport_size or PHONE)["width"]


async def test_a_store_ships_an_order_and_the_shopper_sees_the_tracking_number(
    live_api: Api, tenant: TenantHandle, browser: Browser, page: Page, live_url: str, shots: Shots
) -> None:
    api = live_api
    await seed_catalog(api, tenant)
    await staff_token(api, tenant, username="ns-owner", role="store", store="S-NS")
    order_no = await _paid_order(api, tenant, "xiaoming")

    await _sign_in(page, live_url, tenant.slug, "ns-owner", "wrong-password")
    await expect(page.get_by_test_id("login-error")).to_have_text("租户、用户名或密码不正确")
    await shots.take(page, "console-login")
    await page.get_by_label("密码").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("南山店")
    await expect(page.get_by_test_id("storefront-url")).to_have_text(f"{live_url}/s/{tenant.slug}/S-NS")
    assert await _fits(page)
    await shots.take(page, "console-store-home")

    nav = page.get_by_role("navigation", name="管理舱导航")
    await nav.get_by_role("link", name="店铺二维码").click()
    poster = page.get_by_test_id("poster")
    await expect(poster.get_by_role("heading", level=1)).to_have_text("南山店")
    qr = poster.get_by_role("img", name="店铺二维码")
    await expect(qr).to_be_visible()
    assert await _drawn(qr)  # the SVG loaded and drew
    await shots.take(page, "console-poster")

    await nav.get_by_role("link", name="KOC").click()
    await page.get_by_label("名字").fill("小林")
    await page.get_by_role("button", name="添加 KOC").click()
    koc = page.get_by_test_id("kocs").locator(".koc")
    await expect(koc).to_have_count(1)
    await expect(koc).to_contain_text("小林")
    assert await _drawn(koc.get_by_role("img"))
    await shots.take(page, "console-kocs")

    await nav.get_by_role("link", name="订单").click()
    await page.get_by_role("link", name=order_no).click()
    await expect(page.get_by_test_id("order-status")).to_have_text("已支付")
    fulfilment = page.locator(".fulfilment")
    await expect(fulfilment.locator(".fstatus")).to_have_text("待发货")
    await shots.take(page, "console-order")
    await fulfilment.get_by_label("承运商").fill("顺丰")
    await fulfilment.get_by_label("运单号").fill("SF1234567890")
    await fulfilment.get_by_role("button", name="发货").click()
    await expect(fulfilment.locator(".fstatus")).to_have_text("已发货")
    await expect(fulfilment.get_by_test_id("tracking")).to_have_text("顺丰 SF1234567890")
    await expect(fulfilment.get_by_role("button", name="已送达")).to_be_visible()
    assert await _fits(page)
    await shots.take(page, "console-shipped")

    await nav.get_by_role("link", name="收益").click()
    await expect(page.get_by_test_id("balances")).to_be_visible()
    await shots.take(page, "console-earnings")
    await page.get_by_role("button", name="退出").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("员工登录")

    # The shopper, on the storefront's order page in a browser of their own.
    shopper = await browser.new_context(viewport=PHONE, locale="zh-CN")
    await shopper.route("**/*", local_only)
    shopper.set_default_timeout(15_000)
    try:
        mine = await shopper.new_page()
        await mine.goto(f"{live_url}/s/{tenant.slug}/S-NS/login")
        await mine.get_by_label("你的名字").fill("xiaoming")
        await mine.get_by_role("button", name="登录").click()
        await expect(mine.get_by_role("heading", level=1)).to_have_text("南山店")  # signed in, back at the store
        await mine.goto(f"{live_url}/s/{tenant.slug}/S-NS/orders/{order_no}")
        shipped = mine.locator(".fulfilment")
        await expect(shipped.locator(".status")).to_have_text("已发货")
        await expect(shipped).to_contain_text("顺丰 SF1234567890")
    finally:
        await shopper.close()


async def test_hq_sees_the_network_and_an_orders_trail(
    live_api: Api, tenant: TenantHandle, page: Page, live_url: str, shots: Shots
) -> None:
    api = live_api
    await seed_catalog(api, tenant)
    order_no = await _paid_order(api, tenant, "xiaohong")
    await _sign_in(page, live_url, tenant.slug, tenant.admin_username, tenant.admin_password)
    await expect(page.get_by_test_id("hq-home")).to_be_visible()
    await expect(page.get_by_test_id("chart-days").locator("svg")).to_have_count(1)  # drawn before the picture
    await shots.take(page, "console-hq-home")
    nav = page.get_by_role("navigation", name="管理舱导航")
    await nav.get_by_role("link", name="门店").click()
    stores = page.get_by_test_id("stores")
    await expect(stores.get_by_role("link", name="南山店")).to_have_attribute("href", "/console/stores/S-NS")
    await expect(stores.locator("tbody tr")).to_have_count(3)
    await shots.take(page, "console-stores")
    await nav.get_by_role("link", name="订单").click()
    await page.get_by_role("link", name=order_no).click()
    await expect(page.get_by_test_id("trace")).to_contain_text("S-NS")
    await expect(page.get_by_test_id("order-status")).to_have_text("已支付")
    await shots.take(page, "console-hq-order")
    # A store page is not HQ's.
    response = await page.goto(f"{live_url}/console/poster")
    assert response is not None
    assert response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("没有权限")


async def test_a_store_approves_a_refund_on_its_after_sales_page(
    live_api: Api, tenant: TenantHandle, page: Page, live_url: str, shots: Shots
) -> None:
    api = live_api
    await seed_catalog(api, tenant)
    await staff_token(api, tenant, username="ns-after-sales", role="store", store="S-NS")
    order_no = await _paid_order(api, tenant, "xiaoli")
    token, _ = await consumer(api, tenant, "xiaoli")
    r = await api.post(
        f"/v1/shop/{tenant.slug}/orders/{order_no}/after-sales",
        token=token,
        json={"kind": "refund_only", "lines": [{"sku": "DHP-100", "qty": 1}], "reason": "买错了规格"},
        headers={"Idempotency-Key": f"after-sale-{order_no}"},
    )
    assert r.status_code == 201, r.text
    after_sale = r.json()

    await _sign_in(page, live_url, tenant.slug, "ns-after-sales", STAFF_PASSWORD)
    await expect(page.get_by_role("heading", level=1)).to_have_text("南山店")
    await page.get_by_role("navigation", name="管理舱导航").get_by_role("link", name="售后").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("售后")
    item = page.get_by_test_id(f"after-sale-{after_sale['id']}")
    await expect(item.get_by_test_id("after-sale-status")).to_have_text("待审核")
    await expect(item).to_contain_text(order_no)
    await expect(item).to_contain_text("买错了规格")
    assert await _fits(page)
    await item.get_by_role("button", name="同意并退款").click()
    await expect(page.get_by_test_id("notice")).to_contain_text(f"售后 #{after_sale['id']}")
    await expect(item.get_by_test_id("after-sale-status")).to_have_text("已退款")
    await expect(item.get_by_role("button")).to_have_count(0)
    assert await _fits(page)
    await shots.take(page, "console-store-after-sales")
    seen = await api.get(f"/v1/shop/{tenant.slug}/orders/{order_no}/after-sales", token=token)
    assert [(x["id"], x["status"]) for x in seen.json()["items"]] == [(after_sale["id"], "refunded")]
