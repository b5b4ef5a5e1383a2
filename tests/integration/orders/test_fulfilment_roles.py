"""Who may move which fulfilment, and what stores see."""

from __future__ import annotations

from tests.integration.network import FAR_SHENZHEN_ADDRESS, Network, pay, place
from tests.support import Api, problem


async def _staff_token(api: Api, net: Network, username: str, **binding: str) -> str:
    body = {"username": username, "password": "staff-pass-1", **binding}
    r = await api.post("/v1/hq/staff", token=net.tenant.hq_token, json=body)
    assert r.status_code == 201, r.text
    r = await api.post(
        "/v1/auth/token", json={"tenant": net.tenant.slug, "username": username, "password": "staff-pass-1"}
    )
    return str(r.json()["access_token"])


async def test_stores_and_distributors_act_only_on_their_own(api: Api, network: Network) -> None:
    nanshan = await _staff_token(api, network, "ns-clerk", role="store", store_code="SZ-NS-01")
    futian = await _staff_token(api, network, "ft-clerk", role="store", store_code="SZ-FT-01")
    dist = await _staff_token(api, network, "sz-dist", role="distributor", distributor_code="D-SZ")

    at_store = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="r1")).json()
    await pay(api, network, at_store["order_no"], at_store["total"])
    at_warehouse = (
        await place(api, network, [{"sku": "POT-1", "qty": 1}], key="r2", delivery=FAR_SHENZHEN_ADDRESS)
    ).json()
    await pay(api, network, at_warehouse["order_no"], at_warehouse["total"])
    store_f = at_store["fulfilments"][0]["id"]
    wh_f = at_warehouse["fulfilments"][0]["id"]
    assert at_warehouse["fulfilments"][0]["location"] == "WH-SZ"

    problem(await api.post(f"/v1/store/fulfilments/{store_f}/ship", token=futian), 404, "not_found")
    problem(await api.post(f"/v1/store/fulfilments/{wh_f}/ship", token=nanshan), 404, "not_found")
    problem(await api.post(f"/v1/distributor/fulfilments/{store_f}/ship", token=dist), 404, "not_found")
    problem(await api.post(f"/v1/hq/fulfilments/{store_f}/ship", token=nanshan), 403, "forbidden")
    r = await api.post(f"/v1/store/fulfilments/{store_f}/ship", token=nanshan)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "shipped"
    r = await api.post(f"/v1/distributor/fulfilments/{wh_f}/ship", token=dist)
    assert r.status_code == 200, r.text

    # The Nanshan store sees both orders: one it fulfils, one placed through its storefront.
    mine = (await api.get("/v1/store/orders", token=nanshan)).json()
    assert {o["order_no"] for o in mine["items"]} == {at_store["order_no"], at_warehouse["order_no"]}
    assert (await api.get("/v1/store/orders", token=futian)).json()["items"] == []


async def test_pickup_order_is_readied_and_handed_over(api: Api, network: Network) -> None:
    nanshan = await _staff_token(api, network, "ns-clerk2", role="store", store_code="SZ-NS-01")
    order = (await place(api, network, [{"sku": "TEA-2", "qty": 1}], key="pk", delivery={"mode": "pickup"})).json()
    assert [(f["location"], f["kind"]) for f in order["fulfilments"]] == [("SZ-NS-01", "pickup")]
    fid = order["fulfilments"][0]["id"]
    problem(await api.post(f"/v1/store/fulfilments/{fid}/ready", token=nanshan), 409, "invalid_state")  # unpaid
    await pay(api, network, order["order_no"], order["total"])
    problem(await api.post(f"/v1/store/fulfilments/{fid}/ship", token=nanshan), 409, "invalid_state")
    assert (await api.post(f"/v1/store/fulfilments/{fid}/ready", token=nanshan)).json()["status"] == "ready_for_pickup"
    assert (await api.post(f"/v1/store/fulfilments/{fid}/pickup", token=nanshan)).json()["status"] == "picked_up"
    got = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=network.tenant.hq_token)).json()
    assert got["status"] == "completed"


async def test_pickup_of_an_item_the_store_lacks_is_refused(api: Api, network: Network) -> None:
    r = await place(api, network, [{"sku": "POT-1", "qty": 1}], key="pk2", delivery={"mode": "pickup"})
    problem(r, 409, "insufficient_stock")
