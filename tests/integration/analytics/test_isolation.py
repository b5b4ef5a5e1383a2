"""The analysis routes answer only for the caller's tenant, store or distributor."""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from tests.integration.network import FAR_SHENZHEN_ADDRESS, Network, pay, place
from tests.support import Api, TenantHandle, new_koc, problem, staff_token


async def _sold(api: Api, network: Network) -> None:
    r = await api.post(
        f"/v1/shop/{network.tenant.slug}/touches", token=network.consumer_token, json={"store": network.store}
    )
    assert r.status_code == 201, r.text
    for key, sku, delivery in (("i1", "TEA-1", None), ("i2", "POT-1", FAR_SHENZHEN_ADDRESS)):
        order = (await place(api, network, [{"sku": sku, "qty": 1}], key=key, delivery=delivery)).json()
        await pay(api, network, order["order_no"], order["total"])


async def test_another_tenant_sees_nothing_and_finds_no_store(
    api: Api, network: Network, other_tenant: TenantHandle
) -> None:
    await _sold(api, network)
    hq = network.tenant.hq_token
    mine = (await api.get("/v1/hq/analytics/overview", token=hq)).json()
    assert (mine["orders"], mine["gmv"], mine["in_store_sales"], mine["cloud_shelf_sales"]) == (2, 21190, 1290, 19900)
    suggestions = (
        await api.get("/v1/hq/analytics/stock-suggestions", token=hq, params={"store": network.store})
    ).json()
    assert suggestions["items"] == [{"sku": "POT-1", "units": 1, "orders": 1, "consumers": 1, "goods": 19900}]
    other = other_tenant.hq_token
    theirs = (await api.get("/v1/hq/analytics/overview", token=other)).json()
    assert (theirs["orders"], theirs["gmv"], theirs["paying_consumers"], theirs["bound_consumers"]) == (0, 0, 0, 0)
    for path, params in (
        (f"/v1/hq/analytics/stores/{network.store}", {}),
        ("/v1/hq/analytics/stock-suggestions", {"store": network.store}),
        ("/v1/hq/analytics/funnel", {"store": network.store}),
        ("/v1/hq/analytics/kocs", {"store": network.store}),
        ("/v1/hq/analytics/consumers", {"store": network.store}),
    ):
        problem(await api.get(path, token=other, params=params), 404, "not_found")
    assert (await api.get("/v1/hq/analytics/consumers", token=other)).json()["items"] == []
    assert (await api.get("/v1/hq/analytics/funnel", token=other)).json()["steps"][0] == {
        "step": "touched",
        "consumers": 0,
    }
    assert (await api.get("/v1/hq/analytics/segments", token=other)).json()["segments"] == []


async def test_a_store_sees_only_itself(api: Api, network: Network) -> None:
    await _sold(api, network)
    ns = await staff_token(api, network.tenant, username="ns-staff", role="store", store=network.store)
    ft = await staff_token(api, network.tenant, username="ft-staff", role="store", store=network.other_store)
    own = (await api.get("/v1/store/analytics/profile", token=ns)).json()
    assert (own["store"], own["orders"], own["touches"], own["gmv_percentile"]) == (network.store, 2, 1, 100.0)
    other = (await api.get("/v1/store/analytics/profile", token=ft)).json()
    assert (other["store"], other["orders"], other["gmv"], other["gmv_percentile"]) == (network.other_store, 0, 0, 50.0)
    assert (await api.get("/v1/store/analytics/stock-suggestions", token=ft)).json()["items"] == []
    assert len((await api.get("/v1/store/analytics/stock-suggestions", token=ns)).json()["items"]) == 1
    assert (await api.get("/v1/store/analytics/funnel", token=ft)).json()["steps"][0]["consumers"] == 0
    assert (await api.get("/v1/store/analytics/funnel", token=ns)).json()["steps"][0]["consumers"] == 1
    ns_koc = await new_koc(api, ns, "ns-k")
    problem(await api.get("/v1/store/analytics/funnel", token=ft, params={"koc": ns_koc}), 404, "not_found")
    assert [k["koc"] for k in (await api.get("/v1/store/analytics/kocs", token=ft)).json()["items"]] == []
    problem(await api.get("/v1/hq/analytics/overview", token=ns), 403, "forbidden")


async def test_a_distributor_sees_only_its_stores(app: Litestar, api: Api, network: Network) -> None:
    await _sold(api, network)
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, network.tenant_id)
        await s.execute(
            text("INSERT INTO distributors (tenant_id, code, name, regions) VALUES (:t, 'D-GZ', 'gz', '{4401}')"),
            {"t": network.tenant_id},
        )
    sz = await staff_token(api, network.tenant, username="d-sz", role="distributor", distributor="D-SZ")
    gz = await staff_token(api, network.tenant, username="d-gz", role="distributor", distributor="D-GZ")
    profile = (await api.get(f"/v1/distributor/analytics/stores/{network.store}", token=sz)).json()
    assert (profile["store"], profile["orders"]) == (network.store, 2)
    problem(await api.get(f"/v1/distributor/analytics/stores/{network.store}", token=gz), 404, "not_found")
    assert (await api.get("/v1/distributor/analytics/funnel", token=sz)).json()["steps"][0]["consumers"] == 1
    assert (await api.get("/v1/distributor/analytics/funnel", token=gz)).json()["steps"][0]["consumers"] == 0
    problem(
        await api.get("/v1/distributor/analytics/funnel", token=gz, params={"store": network.store}), 404, "not_found"
    )


async def test_thresholds_are_policy_and_bad_ones_change_nothing(api: Api, network: Network) -> None:
    hq = network.tenant.hq_token
    assert (await api.get("/v1/hq/policies/analytics", token=hq)).json()["recency_days"] == [30, 60, 90, 180]
    r = await api.put("/v1/hq/policies/analytics", token=hq, json={"recency_days": [7, 14, 30, 60]})
    assert r.status_code == 200, r.text
    problem(
        await api.put("/v1/hq/policies/analytics", token=hq, json={"recency_days": [7, 7, 30, 60]}),
        422,
        "validation_failed",
    )
    problem(await api.put("/v1/hq/policies/analytics", token=hq, json={"recency_days": [7]}), 422, "validation_failed")
    assert (await api.get("/v1/hq/policies/analytics", token=hq)).json()["recency_days"] == [7, 14, 30, 60]
    problem(
        await api.get("/v1/hq/analytics/overview", token=hq, params={"since": "2026-01-02T00:00:00"}),
        422,
        "validation_failed",
    )
