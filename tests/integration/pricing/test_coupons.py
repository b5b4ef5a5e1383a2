"""HQ's delivery policy, promotions and coupons, stores' own coupons, and consumers claiming them."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.network import Network
from tests.support import Api, TenantHandle, consumer, problem, staff_token

POLICY = {
    "basis": "per_shipment",
    "rules": [{"regions": ["4403"], "first_fee": 800, "extra_fee": 200}],
    "default_rule": {"first_fee": 1500, "extra_fee": 500},
    "free_over": 30000,
    "store_fee": 500,
    "no_delivery_regions": ["65"],
}


def coupon_body(code: str, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": f"coupon {code}",
        "kind": "amount_off",
        "value": 500,
        "total": 10,
        "per_consumer": 1,
    }
    body.update(kw)
    return body


async def test_delivery_policy_round_trip_and_validation(api: Api, network: Network) -> None:
    hq = network.tenant.hq_token
    r = await api.get("/v1/hq/policies/delivery", token=hq)
    assert r.status_code == 200
    assert r.json()["default_rule"] == {"first_fee": 0, "extra_fee": 0}
    assert r.json()["rules"] == []
    r = await api.put("/v1/hq/policies/delivery", token=hq, json=POLICY)
    assert r.status_code == 200, r.text
    r = await api.get("/v1/hq/policies/delivery", token=hq)
    assert r.json() == POLICY
    problem(
        await api.put("/v1/hq/policies/delivery", token=hq, json={**POLICY, "rules": [{"regions": ["x"]}]}),
        422,
        "validation_failed",
    )
    problem(
        await api.put("/v1/hq/policies/delivery", token=hq, json={**POLICY, "store_fee": -1}), 422, "validation_failed"
    )
    store = await staff_token(api, network.tenant, username="ns-staff", role="store", store=network.store)
    problem(await api.put("/v1/hq/policies/delivery", token=store, json=POLICY), 403, "forbidden")


async def test_promotions_are_created_listed_and_validated(api: Api, network: Network) -> None:
    hq = network.tenant.hq_token
    body = {
        "code": "M300-30",
        "name": "满300减30",
        "kind": "amount_off",
        "value": 3000,
        "min_goods": 30000,
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z",
    }
    r = await api.post("/v1/hq/promotions", token=hq, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["active"] is True
    assert r.json()["categories"] == []
    problem(await api.post("/v1/hq/promotions", token=hq, json=body), 409, "conflict")
    bad_window = {**body, "code": "W", "valid_until": "2025-01-01T00:00:00Z"}
    problem(await api.post("/v1/hq/promotions", token=hq, json=bad_window), 422, "validation_failed")
    too_much = {**body, "code": "PCT", "kind": "percent_off", "value": 10001}
    problem(await api.post("/v1/hq/promotions", token=hq, json=too_much), 422, "validation_failed")
    problem(
        await api.post("/v1/hq/promotions", token=hq, json={**body, "code": "X", "value": 0}), 422, "validation_failed"
    )
    r = await api.get("/v1/hq/promotions", token=hq)
    assert [p["code"] for p in r.json()["items"]] == ["M300-30"]


async def test_hq_and_store_coupons_and_who_sees_them(api: Api, network: Network) -> None:
    hq = network.tenant.hq_token
    r = await api.post("/v1/hq/coupons", token=hq, json=coupon_body("HQ-5", valid_days=7))
    assert r.status_code == 201, r.text
    assert (r.json()["claimed"], r.json()["used"], r.json()["store"]) == (0, 0, None)
    problem(await api.post("/v1/hq/coupons", token=hq, json=coupon_body("HQ-5")), 409, "conflict")
    problem(
        await api.post("/v1/hq/coupons", token=hq, json=coupon_body("P", kind="percent_off", value=0)),
        422,
        "validation_failed",
    )
    problem(await api.post("/v1/hq/coupons", token=hq, json=coupon_body("N", per_consumer=0)), 422, "validation_failed")
    ns = await staff_token(api, network.tenant, username="ns-staff", role="store", store=network.store)
    ft = await staff_token(api, network.tenant, username="ft-staff", role="store", store=network.other_store)
    r = await api.post("/v1/store/coupons", token=ns, json=coupon_body("NS-8", kind="percent_off", value=2000))
    assert r.status_code == 201, r.text
    assert r.json()["store"] == network.store
    assert r.json()["kind"] == "percent_off"
    r = await api.post("/v1/store/coupons", token=ft, json=coupon_body("FT-SHIP", kind="free_delivery", value=99))
    assert r.status_code == 201
    assert r.json()["value"] == 0
    assert [c["code"] for c in (await api.get("/v1/store/coupons", token=ns)).json()["items"]] == ["NS-8"]
    assert [c["code"] for c in (await api.get("/v1/store/coupons", token=ft)).json()["items"]] == ["FT-SHIP"]
    page = (await api.get("/v1/hq/coupons", token=hq, params={"limit": 2})).json()
    assert [c["code"] for c in page["items"]] == ["HQ-5", "NS-8"]
    rest = (await api.get("/v1/hq/coupons", token=hq, params={"cursor": page["next_cursor"]})).json()
    assert [c["code"] for c in rest["items"]] == ["FT-SHIP"]
    assert rest["next_cursor"] is None


async def test_claiming_and_my_coupons(api: Api, network: Network) -> None:
    hq, shop = network.tenant.hq_token, f"/v1/shop/{network.tenant.slug}"
    await api.post("/v1/hq/coupons", token=hq, json=coupon_body("TWICE", per_consumer=2, valid_days=3))
    await api.post("/v1/hq/coupons", token=hq, json=coupon_body("ONE", total=1))
    await api.post("/v1/hq/coupons", token=hq, json=coupon_body("OLD", valid_until="2020-01-01T00:00:00Z"))
    me = network.consumer_token
    first = await api.post(f"{shop}/coupons/TWICE/claim", token=me)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "available"
    assert first.json()["coupon"] == "TWICE"
    assert first.json()["valid_until"] is not None
    assert (await api.post(f"{shop}/coupons/TWICE/claim", token=me)).status_code == 201
    problem(await api.post(f"{shop}/coupons/TWICE/claim", token=me), 409, "coupon_limit_reached")
    assert (await api.post(f"{shop}/coupons/ONE/claim", token=me)).status_code == 201
    other, _ = await consumer(api, network.tenant, "someone-else")
    problem(await api.post(f"{shop}/coupons/ONE/claim", token=other), 409, "coupon_exhausted")
    problem(await api.post(f"{shop}/coupons/OLD/claim", token=other), 409, "invalid_state")
    problem(await api.post(f"{shop}/coupons/NOPE/claim", token=other), 404, "not_found")
    problem(await api.post(f"{shop}/coupons/ONE/claim"), 401, "unauthorized")
    mine = (await api.get(f"{shop}/me/coupons", token=me)).json()
    assert [(c["coupon"], c["status"]) for c in mine["items"]] == [
        ("ONE", "available"),
        ("TWICE", "available"),
        ("TWICE", "available"),
    ]
    assert (await api.get(f"{shop}/me/coupons", token=other)).json()["items"] == []
    listed = {c["code"]: c for c in (await api.get("/v1/hq/coupons", token=hq)).json()["items"]}
    assert (listed["TWICE"]["claimed"], listed["ONE"]["claimed"], listed["OLD"]["claimed"]) == (2, 1, 0)


async def test_another_tenants_coupons_are_not_found(api: Api, network: Network, other_tenant: TenantHandle) -> None:
    await api.post("/v1/hq/coupons", token=network.tenant.hq_token, json=coupon_body("MINE"))
    outsider, _ = await consumer(api, other_tenant, "outsider")
    problem(await api.post(f"/v1/shop/{other_tenant.slug}/coupons/MINE/claim", token=outsider), 404, "not_found")
    # A token of one tenant on another's path is refused outright.
    problem(await api.post(f"/v1/shop/{network.tenant.slug}/coupons/MINE/claim", token=outsider), 401, "unauthorized")
    assert (await api.get("/v1/hq/coupons", token=other_tenant.hq_token)).json()["items"] == []
    assert (await api.get("/v1/hq/promotions", token=other_tenant.hq_token)).json()["items"] == []
    r = await api.get("/v1/hq/policies/delivery", token=other_tenant.hq_token)
    assert r.json()["rules"] == []


@pytest.mark.slow
async def test_500_concurrent_claims_of_50_coupons(api: Api, network: Network, owner_engine: AsyncEngine) -> None:
    hq, shop = network.tenant.hq_token, f"/v1/shop/{network.tenant.slug}"
    r = await api.post("/v1/hq/coupons", token=hq, json=coupon_body("RUSH", total=50, per_consumer=100))
    assert r.status_code == 201
    tokens = [(await consumer(api, network.tenant, f"rush-{i}"))[0] for i in range(10)]
    results = await asyncio.gather(*(api.post(f"{shop}/coupons/RUSH/claim", token=tokens[i % 10]) for i in range(500)))
    outcomes = Counter((r.status_code, r.json().get("code") if r.status_code != 201 else None) for r in results)
    assert outcomes == {(201, None): 50, (409, "coupon_exhausted"): 450}
    async with owner_engine.connect() as conn:
        claimed, rows = (
            await conn.execute(
                text(
                    "SELECT c.claimed, (SELECT count(*) FROM consumer_coupons cc WHERE cc.tenant_id = c.tenant_id "
                    "AND cc.coupon_id = c.id) FROM coupons c WHERE c.tenant_id = :t AND c.code = 'RUSH'"
                ),
                {"t": network.tenant_id},
            )
        ).one()
    assert (claimed, rows) == (50, 50)


@pytest.mark.slow
async def test_one_consumer_claiming_concurrently_stays_within_the_limit(api: Api, network: Network) -> None:
    hq, shop = network.tenant.hq_token, f"/v1/shop/{network.tenant.slug}"
    await api.post("/v1/hq/coupons", token=hq, json=coupon_body("THREE", total=None, per_consumer=3))
    results = await asyncio.gather(
        *(api.post(f"{shop}/coupons/THREE/claim", token=network.consumer_token) for _ in range(40))
    )
    outcomes = Counter((r.status_code, r.json().get("code") if r.status_code != 201 else None) for r in results)
    assert outcomes == {(201, None): 3, (409, "coupon_limit_reached"): 37}
    mine = (await api.get(f"{shop}/me/coupons", token=network.consumer_token)).json()["items"]
    assert len(mine) == 3
