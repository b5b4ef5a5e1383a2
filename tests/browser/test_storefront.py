"""A shopper in a phone browser: a KOC's share link, both shelves, cart, sign-in, checkout, the local cashier."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx
from playwright.async_api import expect

from cloudstore.web.templating import yuan
from tests.browser.conftest import PHONE, local_only
from tests.support import Api, TenantHandle, consumer, seed_catalog, staff_token

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

    from tests.browser.conftest import Shots


async def _shop(api: Api, tenant: TenantHandle) -> tuple[str, str]:
    """The seeded brand with commission and ship-to-store on; returns the S-NS store token and a KOC's share URL."""
    await seed_catalog(api, tenant)
    hq = tenant.hq_token
    r = await api.put(
        "/v1/hq/policies/commission",
        token=hq,
        json={"store_bp": 800, "distributor_bp": 300, "koc_bp": 500, "frozen_days": 7},
    )
    assert r.status_code == 200, r.text
    r = await api.put(
        "/v1/hq/policies/routing",
        token=hq,
        json={"tier_order": ["store", "regional", "central"], "max_shipments": 2, "allow_line_split": False,
              "default_radius_km": 5, "ship_to_store": True},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    r = await api.post(
        "/v1/hq/coupons",
        token=hq,
        json={"code": "NEW10", "name": "新客立减10元", "kind": "amount_off", "value": 1000, "total": 100,
              "per_consumer": 1},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    store = await staff_token(api, tenant, username="ns-owner", role="store", store="S-NS")
    r = await api.put("/v1/store/storefront/items/P-PE", token=store, json={"pinned": True})
    assert r.status_code == 200, r.text
    r = await api.post("/v1/store/kocs", token=store, json={"name": "小林"})
    assert r.status_code == 201, r.text
    return store, r.json()["share_url"]


async def _koc(api: Api, store_token: str) -> dict[str, Any]:
    r = await api.get("/v1/store/kocs", token=store_token)
    assert r.status_code == 200, r.text
    (koc,) = r.json()["items"]
    return dict(koc)


async def _fits(page: Page) -> bool:
    """Nothing on the page is wider than the screen (no sideways scrolling)."""
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width <= (page.viewport_size or PHONE)["width"]


async def _sign_in(page: Page, base: str, name: str) -> None:
    """Sign in on the storefront's page as ``name`` and wait until the page says so."""
    await page.goto(f"{base}/login")
    await page.get_by_label("你的名字").fill(name)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_text("已登录")).to_be_visible()


async def _add(page: Page, title: str, spec: str) -> None:
    """Open the product from the page shown, choose ``spec`` and add one; returns once the cart shows it."""
    units = int(await page.get_by_test_id("cart-units").inner_text())
    await page.get_by_role("link", name=title).first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await page.get_by_label(spec).check()
    await page.get_by_role("button", name="加入购物车").click()
    await expect(page.get_by_test_id("cart-units")).to_have_text(str(units + 1))


async def test_a_koc_share_link_leads_to_a_paid_order_credited_to_the_store_and_koc(
    live_api: Api, tenant: TenantHandle, page: Page, live_url: str, shots: Shots
) -> None:
    api = live_api
    store_token, share_url = await _shop(api, tenant)
    assert share_url.startswith(f"{live_url}/s/{tenant.slug}/S-NS?koc=")  # the link follows the server

    await page.goto(share_url)
    await expect(page.get_by_role("heading", level=1)).to_have_text("南山店")
    await expect(page.get_by_text("南山区科技园南区")).to_be_visible()
    in_store = page.locator("[data-shelf=in_store]")
    cloud = page.locator("[data-shelf=cloud]")
    pinned = page.locator("[data-shelf=pinned]")
    await expect(in_store.get_by_role("heading")).to_contain_text("门店现货")
    await expect(in_store.get_by_role("link", name="西湖龙井")).to_be_visible()
    await expect(in_store.get_by_role("link", name="武夷大红袍")).to_be_visible()
    await expect(cloud.get_by_role("heading")).to_contain_text("云仓发货")
    await expect(cloud.get_by_role("link", name="白瓷盖碗")).to_be_visible()
    await expect(pinned.get_by_role("link", name="云南普洱熟茶饼")).to_be_visible()
    await expect(page.locator("[data-shelf=sold_out]").get_by_role("link", name="福鼎白毫银针")).to_contain_text(
        "已售罄"
    )
    await shots.take(page, "storefront")
    assert (await _koc(api, store_token))["touches"] == 0  # not signed in yet: nobody to record

    await _add(page, "武夷大红袍", "100g罐装")  # in the store
    await expect(page.get_by_test_id("cart-units")).to_have_text("1")
    await shots.take(page, "product")
    await page.get_by_role("link", name="南山店").click()
    await _add(page, "白瓷盖碗", "150ml")  # from the central warehouse
    await expect(page.get_by_test_id("cart-units")).to_have_text("2")

    await page.get_by_role("navigation", name="导航").get_by_role("link", name="购物车").click()
    await expect(page.get_by_test_id("goods-total")).to_have_text("¥164.00")  # 128.00 + 36.00
    lines = page.locator(".line")
    await expect(lines.filter(has_text="武夷大红袍")).to_contain_text("门店现货")
    await expect(lines.filter(has_text="白瓷盖碗")).to_contain_text("云仓发货")
    await shots.take(page, "cart")

    await page.get_by_role("link", name="去结算").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    await page.get_by_label("你的名字").fill("xiaoming")
    await shots.take(page, "login")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("结算")
    assert (await _koc(api, store_token))["touches"] == 1  # the link's touch, recorded at sign-in

    quote = page.get_by_test_id("quote")
    await expect(quote.locator(".line").filter(has_text="武夷大红袍")).to_contain_text("门店现货")
    await expect(quote.locator(".line").filter(has_text="白瓷盖碗")).to_contain_text("云仓发货")
    await expect(page.get_by_test_id("quote-total")).to_have_text("¥164.00")

    await page.get_by_role("navigation", name="导航").get_by_role("link", name="领券").click()
    await page.get_by_role("button", name="领取 新客立减10元").click()
    await expect(page.locator("[data-mine=NEW10]")).to_contain_text("可使用")
    await shots.take(page, "coupons")
    await page.goto(f"{live_url}/s/{tenant.slug}/S-NS/checkout")
    await page.get_by_label("到店自提").check()
    await page.get_by_label("NEW10").check()
    await page.get_by_role("button", name="更新金额").click()
    await expect(page.get_by_test_id("quote-goods")).to_have_text("¥164.00")
    await expect(page.get_by_test_id("quote-discount")).to_have_text("-¥10.00")
    await expect(page.get_by_test_id("quote-fee")).to_have_text("¥0.00")  # pickup
    await expect(page.get_by_test_id("quote-total")).to_have_text("¥154.00")
    await expect(quote).to_contain_text("2 个包裹")
    await shots.take(page, "checkout")
    await page.get_by_role("button", name="提交订单").click()
    await expect(page.get_by_test_id("order-status")).to_have_text("待支付")
    await expect(page.get_by_test_id("order-discount")).to_have_text("-¥10.00")
    await expect(page.get_by_test_id("order-total")).to_have_text("¥154.00")
    await expect(page.get_by_test_id("cart-units")).to_have_text("0")
    order_no = (await page.locator("h1 .mono").inner_text()).strip()

    await page.get_by_role("button", name="去支付").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("本地收银台")
    await expect(page.get_by_test_id("pay-amount")).to_have_text("¥154.00")
    await shots.take(page, "cashier")
    await page.get_by_role("button", name="确认支付").click()
    await expect(page.get_by_test_id("order-status")).to_have_text("已支付")
    fulfilments = page.locator(".fulfilment")
    await expect(fulfilments).to_have_count(2)
    await expect(fulfilments.filter(has_text="S-NS")).to_contain_text("DHP-100 × 1")
    await expect(fulfilments.filter(has_text="WH-C")).to_contain_text("CUP-1 × 1")
    await shots.take(page, "order")

    await page.get_by_role("navigation", name="导航").get_by_role("link", name="我的订单").click()
    await expect(page.get_by_role("link", name=order_no)).to_be_visible()
    await expect(page.locator(".line").filter(has_text=order_no)).to_contain_text("已支付")
    await shots.take(page, "orders")

    # Through the API: the order is credited to the store and the KOC, and commission is on the ledger.
    r = await api.get(f"/v1/hq/orders/{order_no}", token=tenant.hq_token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "paid"
    koc = await _koc(api, store_token)
    assert body["attribution"] == {"store": "S-NS", "distributor": "D-SZ", "koc": koc["code"], "source": "link"}
    amounts = {c["beneficiary_kind"]: c["amount"] for c in body["commissions"]}
    paid = 15400  # goods after the coupon: commission is on what was paid for goods
    assert amounts == {"store": paid * 800 // 10000, "distributor": paid * 300 // 10000, "koc": paid * 500 // 10000}
    assert (koc["touches"], koc["orders"]) == (1, 1)


async def test_a_sold_out_item_cannot_be_added_and_a_second_visit_adds_no_touch(
    live_api: Api, tenant: TenantHandle, page: Page, live_url: str, shots: Shots
) -> None:
    api = live_api
    store_token, share_url = await _shop(api, tenant)
    base = f"{live_url}/s/{tenant.slug}/S-NS"
    await _sign_in(page, base, "xiaohong")

    await page.goto(share_url)  # signed in: the touch is recorded as the link opens
    assert (await _koc(api, store_token))["touches"] == 1
    await page.goto(share_url)  # the same link again in this visit
    await page.reload()
    assert (await _koc(api, store_token))["touches"] == 1

    await page.get_by_role("link", name="福鼎白毫银针").click()
    await expect(page.get_by_label("100g罐装")).to_be_disabled()
    await expect(page.get_by_role("button", name="已售罄")).to_be_disabled()
    await shots.take(page, "product-sold-out")
    # Even a form sent around the disabled button is refused by the server, with a page, not a 500.
    response = await page.request.post(
        f"{base}/cart", form={"product": "P-BC", "sku": "BC-100", "qty": "1", "add": "1"}, max_redirects=0
    )
    assert response.status == 409
    assert "库存不足" in await response.text()
    await page.goto(f"{base}/cart")
    await expect(page.get_by_test_id("cart-units")).to_have_text("0")


async def test_errors_are_pages_with_their_status(
    page: Page, live_url: str, tenant: TenantHandle, shots: Shots
) -> None:
    response = await page.goto(f"{live_url}/s/{tenant.slug}/NO-SUCH-STORE")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("没有找到")
    await shots.take(page, "not-found")
    response = await page.goto(f"{live_url}/s/no-such-brand/S-NS?koc=%20bad")
    assert response is not None
    assert response.status in (404, 422)
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"


async def test_delivery_to_an_address_with_the_browsers_location(
    live_api: Api, tenant: TenantHandle, browser: Browser, live_url: str, shots: Shots
) -> None:
    await _shop(live_api, tenant)
    r = await live_api.put(
        "/v1/hq/policies/delivery",
        token=tenant.hq_token,
        json={"basis": "per_order", "rules": [{"regions": ["4403"], "first_fee": 800, "extra_fee": 200}],
              "default_rule": None, "free_over": None, "store_fee": 600, "no_delivery_regions": []},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    context = await browser.new_context(
        viewport={"width": 360, "height": 780},  # the narrowest phones in use
        locale="zh-CN",
        geolocation={"latitude": 22.5401, "longitude": 113.9402},  # Nanshan, inside the store's 5 km
        permissions=["geolocation"],  # the shopper said yes when the browser asked
    )
    await context.route("**/*", local_only)
    page = await context.new_page()
    base = f"{live_url}/s/{tenant.slug}/S-NS"
    try:
        await _sign_in(page, base, "xiaowang")
        await _add(page, "武夷大红袍", "100g罐装")  # the store's own stock
        await page.get_by_role("link", name="南山店").click()
        assert await _fits(page)
        await _add(page, "西湖龙井", "250g礼盒")  # Shenzhen warehouse
        assert await _fits(page)
        await page.goto(f"{base}/checkout")
        assert await _fits(page)
        await page.get_by_label("配送到家").check()
        await page.get_by_label("地区").select_option("440305")
        await page.get_by_label("详细地址").fill("科技园南区 1 栋")
        await page.get_by_label("收货人").fill("王先生")
        await page.get_by_label("手机号").fill("13800138000")
        await page.get_by_role("button", name="使用我的位置").click()
        await expect(page.get_by_label("纬度")).to_have_value("22.540100")
        await expect(page.get_by_label("经度")).to_have_value("113.940200")
        await page.get_by_role("button", name="更新金额").click()
        await expect(page.get_by_label("详细地址")).to_have_value("科技园南区 1 栋")  # the form keeps the choices
        await expect(page.get_by_test_id("quote")).to_contain_text("2 个包裹")
        assert await _fits(page)
        # The fee shown is the quote service's, as the API answers it for the same cart.
        token, _ = await consumer(live_api, tenant, "xiaowang")
        body = {"store": "S-NS", "lines": [{"sku": "DHP-100", "qty": 1}, {"sku": "LJ-250", "qty": 1}],
                "delivery": {"mode": "delivery", "region": "440305", "lat": 22.5401, "lng": 113.9402,
                             "address": "科技园南区 1 栋", "contact": "王先生", "phone": "13800138000"}}  # fmt: skip
        r = await live_api.post(f"/v1/shop/{tenant.slug}/quote", token=token, json=body)
        assert r.status_code == 200, r.text
        quoted = r.json()
        assert quoted["delivery_fee"] > 0
        await expect(page.get_by_test_id("quote-fee")).to_have_text(yuan(quoted["delivery_fee"]))
        await expect(page.get_by_test_id("quote-total")).to_have_text(yuan(quoted["total"]))
        await page.get_by_role("button", name="提交订单").click()
        await expect(page.get_by_test_id("order-status")).to_have_text("待支付")
        assert "/orders/" in page.url
        await expect(page.get_by_text("配送到家").first).to_be_visible()
        fulfilments = page.locator(".fulfilment")
        await expect(fulfilments).to_have_count(2)
        await expect(fulfilments.filter(has_text="S-NS")).to_contain_text("DHP-100 × 1")
        await expect(fulfilments.filter(has_text="WH-SZ")).to_contain_text("LJ-250 × 1")
        await shots.take(page, "order-delivery")
    finally:
        await context.close()


async def test_delivery_without_an_address_is_a_page_saying_so(
    live_api: Api, tenant: TenantHandle, page: Page, live_url: str
) -> None:
    await _shop(live_api, tenant)
    base = f"{live_url}/s/{tenant.slug}/S-NS"
    await _sign_in(page, base, "xiaozhao")
    await _add(page, "武夷大红袍", "100g罐装")
    await page.goto(f"{base}/checkout")
    await page.get_by_label("配送到家").check()
    async with page.expect_response(lambda r: r.url.endswith("/checkout") and r.request.method == "POST") as posted:
        await page.get_by_role("button", name="提交订单").click()
    assert (await posted.value).status == 422
    await expect(page.get_by_role("heading", level=1)).to_have_text("信息有误")
    await page.goto(f"{base}/orders")
    await expect(page.get_by_text("还没有订单")).to_be_visible()


async def test_the_first_page_is_small(live_api: Api, tenant: TenantHandle, live_url: str) -> None:
    """The share link's page and everything it loads, product images aside, in at most 100 KB transferred."""
    await _shop(live_api, tenant)
    async with httpx.AsyncClient(base_url=live_url, headers={"Accept-Encoding": "gzip"}) as client:
        page = await client.get(f"/s/{tenant.slug}/S-NS")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        assert {"/static/pages.css", "/static/pages.js", "/static/vendor/htmx/htmx.min.js"} <= set(assets)
        total = page.num_bytes_downloaded
        for asset in assets:
            r = await client.get(asset)
            assert r.status_code == 200, asset
            total += r.num_bytes_downloaded
    assert total <= 100_000, total


async def test_the_order_page_shows_the_shoppers_after_sales_on_a_phone(
    live_api: Api, tenant: TenantHandle, browser: Browser, live_url: str, shots: Shots
) -> None:
    """A refunded request and one still waiting, with a long reason, fit the narrowest phones."""
    api = live_api
    await _shop(api, tenant)
    token, _ = await consumer(api, tenant, "xiaoli")
    body = {"store": "S-NS", "lines": [{"sku": "LJ-100", "qty": 3}], "delivery": {"mode": "pickup"}}
    r = await api.post(f"/v1/shop/{tenant.slug}/orders", token=token, json=body, headers={"Idempotency-Key": "as-1"})
    assert r.status_code == 201, r.text
    order_no = r.json()["order_no"]
    context = await browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN")
    await context.route("**/*", local_only)
    page = await context.new_page()
    base = f"{live_url}/s/{tenant.slug}/S-NS"
    try:
        await _sign_in(page, base, "xiaoli")
        await page.goto(f"{base}/orders/{order_no}")
        await page.get_by_role("button", name="去支付").click()
        await page.get_by_role("button", name="确认支付").click()
        await expect(page.get_by_test_id("order-status")).to_have_text("已支付")
        await expect(page.get_by_test_id("after-sales")).to_have_count(0)

        asked = []
        for qty, reason in ((1, "买多了"), (2, "礼盒外包装在运输途中受潮变形，想先退掉这两罐，之后再来门店买" * 2)):
            r = await api.post(
                f"/v1/shop/{tenant.slug}/orders/{order_no}/after-sales",
                token=token,
                json={"kind": "refund_only", "lines": [{"sku": "LJ-100", "qty": qty}], "reason": reason},
                headers={"Idempotency-Key": f"as-ask-{qty}"},
            )
            assert r.status_code == 201, r.text
            asked.append(r.json())
        r = await api.post(f"/v1/hq/after-sales/{asked[0]['id']}/approve", token=tenant.hq_token)
        assert r.status_code == 200, r.text

        await page.reload()
        items = page.get_by_test_id("after-sales").locator(".after-sale")
        await expect(items).to_have_count(2)
        waiting, refunded = items.nth(0), items.nth(1)
        await expect(waiting.get_by_test_id("after-sale-status")).to_have_text("待审核")
        await expect(waiting).to_contain_text("西湖龙井")
        await expect(waiting).to_contain_text("× 2")
        await expect(waiting.get_by_test_id("after-sale-amount")).to_have_text(
            f"预计退款 {yuan(asked[1]['refund_amount'])}"
        )
        await expect(refunded.get_by_test_id("after-sale-status")).to_have_text("已退款")
        await expect(refunded.get_by_test_id("after-sale-amount")).to_have_text(
            f"退款 {yuan(asked[0]['refund_amount'])}"
        )
        await expect(refunded).to_contain_text("× 1")
        await expect(refunded).to_contain_text("申请 ")
        assert await _fits(page)
        await shots.take(page, "order-after-sales")
    finally:
        await context.close()
