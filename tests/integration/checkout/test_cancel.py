"""Cancelling an order: unpaid, or paid and not shipped (refunded in full); the stock comes back."""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from cloudstore.lib.jobs import Worker
from tests.integration.network import Network, pay, place, stock
from tests.support import Api, problem


async def test_cancel_releases_stock_and_expiry(api: Api, app: Litestar, network: Network, worker: Worker) -> None:
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="c1")).json()
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 2)
    r = await api.post(
        f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}/cancel", token=network.consumer_token
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 0)
    problem(
        await api.post(
            f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}/cancel", token=network.consumer_token
        ),
        409,
        "invalid_state",
    )
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="c2")).json()
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, network.tenant_id)
        await s.execute(text("UPDATE jobs SET run_at = now() - interval '1 second' WHERE kind = 'orders.expire'"))
    await worker.run_pending()
    got = (
        await api.get(f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}", token=network.consumer_token)
    ).json()
    assert got["status"] == "expired"
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 0)


async def test_cancelling_a_paid_unshipped_order_refunds_it_and_frees_the_stock(api: Api, network: Network) -> None:
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="cp")).json()
    await pay(api, network, order["order_no"], order["total"])
    r = await api.post(
        f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}/cancel", token=network.consumer_token
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["refunded_total"]) == ("cancelled", order["total"])
    got = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=network.tenant.hq_token)).json()
    assert [f["status"] for f in got["fulfilments"]] == ["cancelled"]
    # The two units are back: a new order can take all five the store holds.
    again = await place(api, network, [{"sku": "TEA-1", "qty": 5}], key="cp2", delivery={"mode": "pickup"})
    assert again.status_code == 201, again.text
