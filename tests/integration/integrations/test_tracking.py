"""Carrier and tracking number: reported with ship by whoever fulfils, shown to the consumer, sent as a webhook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from standardwebhooks import Webhook

from tests.integration.integrations.helpers import add_endpoint, paid_order
from tests.integration.integrations.receiver import receiver
from tests.integration.integrations.test_api_keys import new_key
from tests.support import problem, staff_token

if TYPE_CHECKING:
    from litestar import Litestar

    from cloudstore.lib.jobs import Worker
    from tests.integration.network import Network
    from tests.support import Api

SHIPMENT = {"carrier": "SF", "tracking_no": "SF1234567890"}


async def _fulfilment_id(api: Api, net: Network, order_no: str) -> int:
    r = await api.get(f"/v1/hq/orders/{order_no}", token=net.tenant.hq_token)
    [f] = r.json()["fulfilments"]
    fid: int = f["id"]
    return fid


async def test_a_key_ships_with_tracking_and_the_consumer_sees_it(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    key = (await new_key(api, network.tenant, ["fulfilments:write"], location=network.store))["key"]
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url, ["fulfilment.shipped", "fulfilment.delivered"])
        order_no = await paid_order(api, network, "track-key")
        fid = await _fulfilment_id(api, network, order_no)
        r = await api.post(f"/v1/hq/fulfilments/{fid}/ship", token=key, json=SHIPMENT)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["carrier"], r.json()["tracking_no"]) == ("shipped", "SF", "SF1234567890")
        r = await api.post(f"/v1/hq/fulfilments/{fid}/deliver", token=key)
        assert r.status_code == 200, r.text
        await worker.run_pending()
        events = [Webhook(endpoint["secret"]).verify(x.body, x.headers) for x in wms.received]
    assert [e["type"] for e in events] == ["fulfilment.shipped", "fulfilment.delivered"]
    shipped = events[0]["data"]
    assert (shipped["order_no"], shipped["location"], shipped["carrier"], shipped["tracking_no"]) == (
        order_no,
        network.store,
        "SF",
        "SF1234567890",
    )

    r = await api.get(f"/v1/shop/{network.tenant.slug}/orders/{order_no}", token=network.consumer_token)
    [f] = r.json()["fulfilments"]
    assert (f["status"], f["carrier"], f["tracking_no"]) == ("delivered", "SF", "SF1234567890")


async def test_the_store_reports_tracking_and_bad_input_is_422(api: Api, network: Network) -> None:
    token = await staff_token(api, network.tenant, username="ns-owner", role="store", store=network.store)
    order_no = await paid_order(api, network, "track-store")
    fid = await _fulfilment_id(api, network, order_no)
    for bad in ({"carrier": "SF"}, {**SHIPMENT, "tracking_no": "a b"}, {**SHIPMENT, "weight": 3}):
        r = await api.post(f"/v1/store/fulfilments/{fid}/ship", token=token, json=bad)
        problem(r, 422, "validation_failed")
    r = await api.post(f"/v1/store/fulfilments/{fid}/deliver", token=token, json=SHIPMENT)
    problem(r, 422, "validation_failed")
    r = await api.post(f"/v1/store/fulfilments/{fid}/ship", token=token, json={"carrier": "ZTO", "tracking_no": "Z9"})
    assert r.status_code == 200, r.text
    assert (r.json()["carrier"], r.json()["tracking_no"]) == ("ZTO", "Z9")
    r = await api.get(f"/v1/hq/orders/{order_no}", token=network.tenant.hq_token)
    assert r.json()["fulfilments"][0]["tracking_no"] == "Z9"


async def test_shipping_without_tracking_still_works(api: Api, network: Network) -> None:
    order_no = await paid_order(api, network, "track-none")
    fid = await _fulfilment_id(api, network, order_no)
    r = await api.post(f"/v1/hq/fulfilments/{fid}/ship", token=network.tenant.hq_token)
    assert r.status_code == 200, r.text
    assert "tracking_no" not in r.json()
