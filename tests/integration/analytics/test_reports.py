"""Store sales reports: credited to the store whoever ships."""

from __future__ import annotations

from tests.integration.network import FAR_SHENZHEN_ADDRESS, Network, pay, place
from tests.support import Api, TenantHandle, problem


async def test_store_is_credited_for_warehouse_shipments(
    api: Api, network: Network, other_tenant: TenantHandle
) -> None:
    hq = network.tenant.hq_token
    r = await api.put("/v1/hq/policies/commission", token=hq, json={"store_bp": 500, "distributor_bp": 100})
    assert r.status_code == 200, r.text
    own = (await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="a1")).json()
    await pay(api, network, own["order_no"], own["total"])
    cloud = (await place(api, network, [{"sku": "POT-1", "qty": 1}], key="a2", delivery=FAR_SHENZHEN_ADDRESS)).json()
    await pay(api, network, cloud["order_no"], cloud["total"])
    unpaid = await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="a3")
    assert unpaid.status_code == 201

    report = (await api.get("/v1/hq/reports/stores", token=hq)).json()
    assert report["items"] == [
        {
            "store": "SZ-NS-01",
            "distributor": "D-SZ",
            "orders": 2,
            "net_sales": 2 * 1290 + 19900,
            "in_store_sales": 2 * 1290,
            "cloud_shelf_sales": 19900,
            "commission": 129 + 995,  # 5% of each order, rounded down
        }
    ]
    assert report["total_net_sales"] == 2 * 1290 + 19900
    assert (await api.get("/v1/hq/reports/stores", token=other_tenant.hq_token)).json()["items"] == []
    problem(
        await api.get(
            "/v1/hq/reports/stores", token=hq, params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
        ),
        422,
        "validation_failed",
    )
    problem(await api.get("/v1/hq/reports/stores", token=hq, params={"since": "yesterday"}), 422, "validation_failed")
