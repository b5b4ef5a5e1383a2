"""HQ refunds lines of a paid order before they ship; the refunded units leave the fulfilment."""

from __future__ import annotations

from tests.integration.network import Network, pay, place
from tests.support import Api, problem


async def test_partial_refund_before_shipping_releases_those_units(api: Api, network: Network) -> None:
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 3}], key="pr")).json()
    await pay(api, network, order["order_no"], order["total"])
    hq = network.tenant.hq_token
    r = await api.post(
        f"/v1/hq/orders/{order['order_no']}/refunds",
        token=hq,
        json={"lines": [{"sku": "TEA-1", "qty": 2}]},
        headers={"Idempotency-Key": "pr-1"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == 2 * 1290
    got = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=hq)).json()
    assert got["fulfilments"][0]["lines"] == [{"sku": "TEA-1", "qty": 1}]
    assert got["status"] == "paid"
    body = problem(
        await api.post(
            f"/v1/hq/orders/{order['order_no']}/refunds",
            token=hq,
            json={"lines": [{"sku": "TEA-1", "qty": 2}]},
            headers={"Idempotency-Key": "pr-2"},
        ),
        422,
        "validation_failed",
    )
    assert "only 1 left" in body["detail"]
    r = await api.post(
        f"/v1/hq/orders/{order['order_no']}/refunds",
        token=hq,
        json={"all": True},
        headers={"Idempotency-Key": "pr-3"},
    )
    assert r.status_code == 201
    got = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=hq)).json()
    assert (got["status"], got["refunded_total"]) == ("refunded", 3 * 1290)
    assert got["fulfilments"][0]["status"] == "cancelled"


async def test_refunding_all_of_one_unshipped_sku_keeps_the_others(api: Api, network: Network) -> None:
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 2}, {"sku": "TEA-2", "qty": 1}], key="ra")).json()
    await pay(api, network, order["order_no"], order["total"])
    hq = network.tenant.hq_token
    r = await api.post(
        f"/v1/hq/orders/{order['order_no']}/refunds",
        token=hq,
        json={"lines": [{"sku": "TEA-1", "qty": 2}]},
        headers={"Idempotency-Key": "ra-1"},
    )
    assert r.status_code == 201, r.text
    got = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=hq)).json()
    assert got["fulfilments"][0]["lines"] == [{"sku": "TEA-2", "qty": 1}]
    assert got["status"] == "paid"
