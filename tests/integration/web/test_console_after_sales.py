"""The console's after-sales page: each store sees and decides only its own, HQ all of the tenant's; every
decision is the API's, behind the session's CSRF token, and a refused one is the console's error page."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from tests.integration.network import Network, pay, place, seed
from tests.integration.web.console import console_client, signed_in
from tests.support import STAFF_PASSWORD, Api, TenantHandle, consumer, staff_token

if TYPE_CHECKING:
    from litestar import Litestar


async def _asked(api: Api, net: Network, key: str, kind: str = "refund_only", *, ship: bool = False) -> dict[str, Any]:
    """A paid delivery order of one unit from the Nanshan store and an after-sale of it (a return once delivered)."""
    r = await place(api, net, [{"sku": "TEA-1", "qty": 1}], key=key)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["fulfilments"][0]["location"] == net.store, order
    await pay(api, net, order["order_no"], order["total"])
    if ship:
        for step in ("ship", "deliver"):
            done = await api.post(
                f"/v1/hq/fulfilments/{order['fulfilments'][0]['id']}/{step}", token=net.tenant.hq_token
            )
            assert done.status_code == 200, done.text
    r = await api.post(
        f"/v1/shop/{net.tenant.slug}/orders/{order['order_no']}/after-sales",
        token=net.consumer_token,
        json={"kind": kind, "lines": [{"sku": "TEA-1", "qty": 1}], "reason": "不想要了"},
        headers={"Idempotency-Key": secrets.token_hex(8)},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _hq_view(api: Api, net: Network, after_sale_id: int) -> dict[str, Any]:
    items = (await api.get("/v1/hq/after-sales", token=net.tenant.hq_token)).json()["items"]
    return dict(next(x for x in items if x["id"] == after_sale_id))


def _forms(html: str, after_sale_id: int) -> list[str]:
    return re.findall(rf'action="/console/after-sales/{after_sale_id}/(\w+)"', html)


async def test_a_store_sees_and_decides_only_its_own(
    app: Litestar, api: Api, network: Network, other_tenant: TenantHandle
) -> None:
    mine = await _asked(api, network, "cas-mine")
    await staff_token(api, network.tenant, username="ns-as", role="store", store=network.store)
    await staff_token(api, network.tenant, username="ft-as", role="store", store=network.other_store)
    # Another tenant's after-sale, at its own Nanshan store.
    their_id = await seed(app, other_tenant.slug)
    token, cid = await consumer(api, other_tenant, "their-shopper")
    theirs_net = Network(tenant=other_tenant, tenant_id=their_id, consumer_token=token, consumer_id=cid)
    theirs = await _asked(api, theirs_net, "cas-theirs")

    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "ft-as", STAFF_PASSWORD)
        page = await c.get("/console/after-sales")
        assert page.status_code == 200
        assert 'href="/console/after-sales" aria-current="page"' in page.text
        assert mine["order_no"] not in page.text
        assert theirs["order_no"] not in page.text
        for a in (mine, theirs):
            r = await c.post(f"/console/after-sales/{a['id']}/approve", data={"csrf": csrf})
            assert r.status_code == 404, r.text
            assert 'data-status="404"' in r.text

    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "ns-as", STAFF_PASSWORD)
        page = await c.get("/console/after-sales")
        assert mine["order_no"] in page.text
        assert theirs["order_no"] not in page.text
        assert _forms(page.text, mine["id"]) == ["approve", "reject"]
        r = await c.post(f"/console/after-sales/{theirs['id']}/reject", data={"csrf": csrf})
        assert r.status_code == 404

    assert (await _hq_view(api, network, mine["id"]))["status"] == "requested"
    their_list = (await api.get("/v1/hq/after-sales", token=other_tenant.hq_token)).json()["items"]
    assert [(x["id"], x["status"]) for x in their_list] == [(theirs["id"], "requested")]


async def test_a_store_approves_a_refund_only_and_the_api_shows_it_refunded(
    app: Litestar, api: Api, network: Network
) -> None:
    a = await _asked(api, network, "cas-approve")
    await staff_token(api, network.tenant, username="ns-ok", role="store", store=network.store)
    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "ns-ok", STAFF_PASSWORD)
        url = f"/console/after-sales/{a['id']}/approve"
        # Without the session's token (another site posting the form): refused, nothing changes.
        assert (await c.post(url, data={})).status_code == 403
        assert (await c.post(url, data={"csrf": "x" * 40})).status_code == 403
        assert (await _hq_view(api, network, a["id"]))["status"] == "requested"
        assert (await c.post(f"/console/after-sales/{a['id']}/explode", data={"csrf": csrf})).status_code == 404
        done = await c.post(url, data={"csrf": csrf, "status": "requested"})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/console/after-sales?status=requested&done=approve&after_sale={a['id']}"
        page = await c.get(done.headers["location"])
        assert 'data-testid="notice"' in page.text
        assert a["order_no"] not in page.text  # no longer requested
        listed = await c.get("/console/after-sales", params={"status": "refunded"})
        assert a["order_no"] in listed.text
        assert _forms(listed.text, a["id"]) == []
        # Rejecting what was approved is the API's conflict, shown as the console's error page.
        again = await c.post(f"/console/after-sales/{a['id']}/reject", data={"csrf": csrf})
        assert again.status_code == 409
        assert 'class="error"' in again.text
        assert (await c.get("/console/after-sales", params={"status": "lost"})).status_code == 422
        assert (await c.get("/console/after-sales", params={"cursor": "%%bad"})).status_code == 422
        assert (await c.get("/console/after-sales", params={"after_sale": "x"})).status_code == 422
        # An id beyond what the database holds is the client's input (422, as the API answers), not a fault.
        huge = await c.post("/console/after-sales/99999999999999999999/approve", data={"csrf": csrf})
        assert huge.status_code == 422
        assert 'class="error"' in huge.text
    seen = await _hq_view(api, network, a["id"])
    assert (seen["status"], seen["refund_amount"]) == ("refunded", a["refund_amount"])
    assert seen["refund_no"]
    order = (await api.get(f"/v1/hq/orders/{a['order_no']}", token=network.tenant.hq_token)).json()
    assert order["refunded_total"] > 0


async def test_hq_sees_all_rejects_and_takes_a_return_through(app: Litestar, api: Api, network: Network) -> None:
    refund_only = await _asked(api, network, "cas-rj")
    ret = await _asked(api, network, "cas-rt", "return", ship=True)
    t = network.tenant
    async with console_client(app) as c:
        csrf = await signed_in(c, t.slug, t.admin_username, t.admin_password)
        page = await c.get("/console/after-sales")
        assert refund_only["order_no"] in page.text
        assert ret["order_no"] in page.text
        assert page.text.index(ret["order_no"]) < page.text.index(refund_only["order_no"])  # newest first
        r = await c.post(f"/console/after-sales/{refund_only['id']}/reject", data={"csrf": csrf})
        assert r.status_code == 303
        assert (await _hq_view(api, network, refund_only["id"]))["status"] == "rejected"
        twice = await c.post(f"/console/after-sales/{refund_only['id']}/approve", data={"csrf": csrf})
        assert twice.status_code == 409
        assert 'class="error"' in twice.text

        assert (await c.post(f"/console/after-sales/{ret['id']}/approve", data={"csrf": csrf})).status_code == 303
        page = await c.get("/console/after-sales", params={"status": "approved"})
        assert _forms(page.text, ret["id"]) == ["receive"]
        # HQ picks where the units arrived: where the order shipped from first, then the active warehouses.
        select = re.search(r'<select name="location".*?</select>', page.text, re.S)
        assert select is not None, page.text
        choices = re.findall(r'<option value="([^"]+)"', select.group(0))
        assert choices[0] == network.store, choices
        assert {"WH-SZ", "WH-CN"} <= set(choices), choices
        # HQ names where the units arrived; a missing location is the console's 422, not a 500.
        bad = await c.post(f"/console/after-sales/{ret['id']}/receive", data={"csrf": csrf})
        assert bad.status_code == 422
        got = await c.post(f"/console/after-sales/{ret['id']}/receive", data={"csrf": csrf, "location": network.store})
        assert got.status_code == 303, got.text
        received = await _hq_view(api, network, ret["id"])
        assert (received["status"], received["location"]) == ("received", network.store)
        assert received["lines"] == [{"sku": "TEA-1", "qty": 1, "restocked": 0}]  # no box ticked
        assert (await c.post(f"/console/after-sales/{ret['id']}/refund", data={"csrf": csrf})).status_code == 303
    assert (await _hq_view(api, network, ret["id"]))["status"] == "refunded"


async def test_a_store_receives_a_return_at_its_own_location_and_restocks(
    app: Litestar, api: Api, network: Network
) -> None:
    ret = await _asked(api, network, "cas-store-rt", "return", ship=True)
    await staff_token(api, network.tenant, username="ns-rt", role="store", store=network.store)
    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "ns-rt", STAFF_PASSWORD)
        assert (await c.post(f"/console/after-sales/{ret['id']}/approve", data={"csrf": csrf})).status_code == 303
        page = await c.get("/console/after-sales")
        assert 'name="location"' not in page.text  # its own location
        form = {"csrf": csrf, "restock": "0", "location": network.other_store}  # a posted location is ignored
        assert (await c.post(f"/console/after-sales/{ret['id']}/receive", data=form)).status_code == 303
        assert (await c.post(f"/console/after-sales/{ret['id']}/refund", data={"csrf": csrf})).status_code == 303
        # Asked again once done: the API's same answer, nothing twice.
        assert (await c.post(f"/console/after-sales/{ret['id']}/refund", data={"csrf": csrf})).status_code == 303
    seen = await _hq_view(api, network, ret["id"])
    assert (seen["status"], seen["location"]) == ("refunded", network.store)
    assert seen["lines"] == [{"sku": "TEA-1", "qty": 1, "restocked": 1}]


async def test_a_distributor_has_no_after_sales_page(app: Litestar, api: Api, network: Network) -> None:
    await staff_token(api, network.tenant, username="d-as", role="distributor", distributor="D-SZ")
    async with console_client(app) as c:
        csrf = await signed_in(c, network.tenant.slug, "d-as", STAFF_PASSWORD)
        assert "/console/after-sales" not in (await c.get("/console")).text
        assert (await c.get("/console/after-sales")).status_code == 403
        assert (await c.post("/console/after-sales/1/approve", data={"csrf": csrf})).status_code == 403
