"""The staff console's pages: signing in, the session's rules, role and tenant isolation, CSRF, moving a
fulfilment the way the API does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Litestar

from tests.integration.network import FAR_SHENZHEN_ADDRESS, Network, pay, place
from tests.integration.web.console import console_client, csrf_in, sign_in, signed_in
from tests.support import STAFF_PASSWORD, Api, TenantHandle, staff_token

if TYPE_CHECKING:
    from typing import Any


async def _staff(api: Api, net: Network, username: str, role: str, **binding: str) -> None:
    await staff_token(api, net.tenant, username=username, role=role, **binding)


async def _paid_delivery(api: Api, net: Network, key: str) -> dict[str, Any]:
    """A paid delivery order shipped from the Nanshan store."""
    order = (await place(api, net, [{"sku": "TEA-1", "qty": 1}], key=key)).json()
    assert order["fulfilments"][0]["location"] == net.store, order
    await pay(api, net, order["order_no"], order["total"])
    return dict(order)


async def test_sign_in_errors_look_the_same_and_change_nothing(app: Litestar, api: Api, tenant: TenantHandle) -> None:
    async with console_client(app) as c:
        wrong = await sign_in(c, tenant.slug, tenant.admin_username, "not-the-password")
        assert wrong.status_code == 401
        assert "租户、用户名或密码不正确" in wrong.text
        assert "console_session" not in c.cookies
        nobody = await sign_in(c, tenant.slug, "nobody", tenant.admin_password)
        no_tenant = await sign_in(c, "no-such-tenant", tenant.admin_username, tenant.admin_password)
        assert nobody.status_code == no_tenant.status_code == 401
        empty = await sign_in(c, tenant.slug, "", "")
        assert empty.status_code == 422
        huge = await sign_in(c, "t" * 5000, tenant.admin_username, tenant.admin_password)
        assert huge.status_code == 422
        # Without the sign-in form's own token (another site posting it), nothing is even checked.
        page = await c.get("/console/login")
        form = {"tenant": tenant.slug, "username": tenant.admin_username, "password": tenant.admin_password}
        refused = await c.post("/console/login", data=form | {"csrf": "forged"})
        assert refused.status_code == 403
        assert "console_session" not in c.cookies
        ok = await c.post("/console/login", data=form | {"csrf": csrf_in(page.text), "next": "/console/orders"})
        assert ok.status_code == 303
        assert ok.headers["location"] == "/console/orders"
        assert "console_session" in c.cookies
        cookie = next(h for h in ok.headers.get_list("set-cookie") if h.startswith("console_session="))
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "Max-Age=" in cookie
        assert "Path=/console" in cookie


async def test_the_next_page_stays_in_the_console(app: Litestar, tenant: TenantHandle) -> None:
    async with console_client(app) as c:
        page = await c.get("/console/login", params={"next_path": "https://evil.example.com/"})
        assert 'name="next" value="/console"' in page.text
        form = {"csrf": csrf_in(page.text), "tenant": tenant.slug, "username": tenant.admin_username}
        r = await c.post("/console/login", data=form | {"password": tenant.admin_password, "next": "//evil.example"})
        assert r.headers["location"] == "/console"


async def test_signed_out_pages_go_to_sign_in_and_come_back(app: Litestar) -> None:
    async with console_client(app) as c:
        r = await c.get("/console/orders")
        assert r.status_code == 303
        assert r.headers["location"] == "/console/login?next_path=%2Fconsole%2Forders"
        assert (await c.get("/console")).headers["location"] == "/console/login"
        c.cookies.set("console_session", "not-a-token", path="/console")
        r = await c.get("/console/stores")
        assert r.status_code == 303
        assert 'console_session=""' in r.headers["set-cookie"]


async def test_a_store_ships_with_a_tracking_number_the_consumer_sees(
    app: Litestar, api: Api, network: Network
) -> None:
    await _staff(api, network, "ns-console", "store", store="SZ-NS-01")
    order = await _paid_delivery(api, network, "console-ship")
    fid = order["fulfilments"][0]["id"]
    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "ns-console", STAFF_PASSWORD)
        listed = await c.get("/console/orders", params={"status": "paid"})
        assert order["order_no"] in listed.text
        page = await c.get(f"/console/orders/{order['order_no']}")
        assert page.status_code == 200
        assert f'action="/console/fulfilments/{fid}/ship"' in page.text
        form = {"order_no": order["order_no"], "carrier": "顺丰", "tracking_no": "SF1234567890"}
        # A form without the session's token (posted from another site) is refused and changes nothing.
        assert (await c.post(f"/console/fulfilments/{fid}/ship", data=form)).status_code == 403
        assert (await c.post(f"/console/fulfilments/{fid}/ship", data=form | {"csrf": "x" * 40})).status_code == 403
        bad = await c.post(f"/console/fulfilments/{fid}/ship", data=form | {"csrf": csrf, "tracking_no": "no spaces"})
        assert bad.status_code == 422
        seen = await api.get(f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}", token=network.consumer_token)
        assert seen.json()["fulfilments"][0]["status"] == "pending"
        done = await c.post(f"/console/fulfilments/{fid}/ship", data=form | {"csrf": csrf})
        assert done.status_code == 303
        assert done.headers["location"] == f"/console/orders/{order['order_no']}"
        page = await c.get(done.headers["location"])
        assert "SF1234567890" in page.text
        assert f'action="/console/fulfilments/{fid}/deliver"' in page.text
        # Shipping twice is the API's conflict.
        again = await c.post(f"/console/fulfilments/{fid}/ship", data=form | {"csrf": csrf})
        assert again.status_code == 409
    seen = await api.get(f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}", token=network.consumer_token)
    (f,) = seen.json()["fulfilments"]
    assert (f["status"], f["carrier"], f["tracking_no"]) == ("shipped", "顺丰", "SF1234567890")


async def test_a_pickup_is_readied_and_handed_over(app: Litestar, api: Api, network: Network) -> None:
    await _staff(api, network, "ns-pickup", "store", store="SZ-NS-01")
    order = await place(api, network, [{"sku": "TEA-2", "qty": 1}], key="console-pk", delivery={"mode": "pickup"})
    order_no, total, fid = order.json()["order_no"], order.json()["total"], order.json()["fulfilments"][0]["id"]
    await pay(api, network, order_no, total)
    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "ns-pickup", STAFF_PASSWORD)
        form = {"csrf": csrf, "order_no": order_no}
        assert (await c.post(f"/console/fulfilments/{fid}/ship", data=form)).status_code == 409
        assert (await c.post(f"/console/fulfilments/{fid}/ready", data=form)).status_code == 303
        assert (await c.post(f"/console/fulfilments/{fid}/pickup", data=form)).status_code == 303
        assert (await c.post(f"/console/fulfilments/{fid}/explode", data=form)).status_code == 404
    got = await api.get(f"/v1/hq/orders/{order_no}", token=network.tenant.hq_token)
    assert got.json()["status"] == "completed"


async def test_a_store_sees_only_its_own(app: Litestar, api: Api, network: Network) -> None:
    await _staff(api, network, "ft-console", "store", store="SZ-FT-01")
    order = await _paid_delivery(api, network, "console-iso")
    fid = order["fulfilments"][0]["id"]
    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "ft-console", STAFF_PASSWORD)
        assert (await c.get(f"/console/orders/{order['order_no']}")).status_code == 404
        assert order["order_no"] not in (await c.get("/console/orders")).text
        form = {"csrf": csrf, "order_no": order["order_no"], "carrier": "顺丰", "tracking_no": "SF1"}
        assert (await c.post(f"/console/fulfilments/{fid}/ship", data=form)).status_code == 404
        for hq_page in ("/console/coupons", "/console/stores"):
            r = await c.get(hq_page)
            assert r.status_code == 403, hq_page
            assert "没有权限" in r.text
        assert (await c.get("/console/qr.svg", params={"koc": "NOT-MINE"})).status_code == 404
    seen = await api.get(f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}", token=network.consumer_token)
    assert seen.json()["fulfilments"][0]["status"] == "pending"


async def test_hq_sees_the_network_and_the_order_trail(app: Litestar, api: Api, network: Network) -> None:
    order = await _paid_delivery(api, network, "console-hq")
    far = await place(api, network, [{"sku": "POT-1", "qty": 1}], key="console-far", delivery=FAR_SHENZHEN_ADDRESS)
    assert far.status_code == 201, far.text
    t = network.tenant
    async with console_client(app) as c:
        await signed_in(c, t.slug, t.admin_username, t.admin_password)
        home = await c.get("/console")
        assert 'data-testid="hq-home"' in home.text
        stores = await c.get("/console/stores")
        assert 'href="/console/stores/SZ-NS-01"' in stores.text
        assert "SZ-FT-01" in stores.text
        assert (await c.get("/console/stores", params={"status": "bogus"})).status_code == 422
        orders = await c.get("/console/orders")
        assert order["order_no"] in orders.text
        assert far.json()["order_no"] in orders.text
        assert order["order_no"] not in (await c.get("/console/orders", params={"status": "cancelled"})).text
        assert (await c.get("/console/orders", params={"status": "lost"})).status_code == 422
        detail = await c.get(f"/console/orders/{order['order_no']}")
        assert detail.status_code == 200
        assert 'data-testid="trace"' in detail.text
        assert "SZ-NS-01" in detail.text
        assert (await c.get("/console/orders/NO-SUCH-ORDER")).status_code == 404
        kocs = await c.get("/console/kocs", params={"store": "SZ-NS-01"})
        assert kocs.status_code == 200
        assert '<option value="SZ-FT-01">' in kocs.text  # the store picker
        assert (await c.get("/console/kocs", params={"store": "NOPE"})).status_code == 404
        assert (await c.get("/console/coupons")).status_code == 200
        for store_page in ("/console/poster", "/console/earnings", "/console/qr.svg"):
            assert (await c.get(store_page)).status_code == 403, store_page


async def test_another_tenants_orders_and_stores_are_not_found(
    app: Litestar, api: Api, network: Network, other_tenant: TenantHandle
) -> None:
    order = await _paid_delivery(api, network, "console-tenant")
    async with console_client(app) as c:
        await signed_in(c, other_tenant.slug, other_tenant.admin_username, other_tenant.admin_password)
        assert (await c.get(f"/console/orders/{order['order_no']}")).status_code == 404
        assert order["order_no"] not in (await c.get("/console/orders")).text
        assert (await c.get("/console/kocs", params={"store": "SZ-NS-01"})).status_code == 404
        assert "SZ-NS-01" not in (await c.get("/console/stores")).text


async def test_a_distributor_sees_its_stores(app: Litestar, api: Api, network: Network) -> None:
    await _staff(api, network, "sz-console", "distributor", distributor="D-SZ")
    async with console_client(app) as c:
        await signed_in(c, network.tenant.slug, "sz-console", STAFF_PASSWORD)
        home = await c.get("/console")
        stores = await c.get("/console/stores")
        for page in (home, stores):
            assert "SZ-NS-01" in page.text
        for other in ("/console/orders", "/console/coupons", "/console/poster", "/console/kocs"):
            assert (await c.get(other)).status_code == 403, other


async def test_a_store_has_its_link_poster_kocs_and_earnings(app: Litestar, api: Api, network: Network) -> None:
    await _staff(api, network, "ns-home", "store", store="SZ-NS-01")
    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "ns-home", STAFF_PASSWORD)
        home = await c.get("/console")
        assert f"/s/{network.tenant.slug}/SZ-NS-01" in home.text
        poster = await c.get("/console/poster")
        assert 'src="/console/qr.svg"' in poster.text
        qr = await c.get("/console/qr.svg")
        assert qr.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in qr.content
        assert (await c.post("/console/kocs", data={"name": "小林"})).status_code == 403
        assert (await c.post("/console/kocs", data={"csrf": csrf, "name": ""})).status_code == 422
        assert (await c.post("/console/kocs", data={"csrf": csrf, "name": "小林"})).status_code == 303
        kocs = (await api.get("/v1/store/kocs", token=await _token(api, network, "ns-home"))).json()["items"]
        assert [k["name"] for k in kocs] == ["小林"]
        page = await c.get("/console/kocs")
        assert f"/console/qr.svg?koc={kocs[0]['code']}" in page.text
        assert (await c.get("/console/qr.svg", params={"koc": kocs[0]["code"]})).status_code == 200
        earnings = await c.get("/console/earnings")
        assert 'data-testid="balances"' in earnings.text


async def _token(api: Api, net: Network, username: str) -> str:
    r = await api.post(
        "/v1/auth/token", json={"tenant": net.tenant.slug, "username": username, "password": STAFF_PASSWORD}
    )
    return str(r.json()["access_token"])


async def _session_ends_when(app: Litestar, api: Api, network: Network, username: str, change: dict[str, Any]) -> None:
    await _staff(api, network, username, "store", store="SZ-NS-01")
    async with console_client(app) as c:
        await signed_in(c, network.tenant.slug, username, STAFF_PASSWORD)
        assert (await c.get("/console/orders")).status_code == 200
        r = await api.patch(f"/v1/hq/staff/{username}", token=network.tenant.hq_token, json=change)
        assert r.status_code == 200, r.text
        r = await c.get("/console/orders")
        assert r.status_code == 303
        assert r.headers["location"].startswith("/console/login")
        assert "console_session" not in c.cookies


async def test_disabling_the_account_ends_its_session(app: Litestar, api: Api, network: Network) -> None:
    await _session_ends_when(app, api, network, "ns-off", {"active": False})


async def test_a_new_password_ends_the_session(app: Litestar, api: Api, network: Network) -> None:
    await _session_ends_when(app, api, network, "ns-pw", {"password": "another-pass-2026"})


async def test_signing_out_takes_the_sessions_token(app: Litestar, network: Network) -> None:
    t = network.tenant
    async with console_client(app) as c:
        csrf = await signed_in(c, t.slug, t.admin_username, t.admin_password)
        assert (await c.post("/console/logout")).status_code == 403
        assert (await c.get("/console")).status_code == 200
        r = await c.post("/console/logout", data={"csrf": csrf})
        assert r.status_code == 303
        assert (await c.get("/console")).status_code == 303
