"""Stores register KOCs, share their links, and see what each brought."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from tests.integration.referrals.helpers import Net, insert_order, pay_order, seed_net, session_for, set_policy
from tests.support import Api, TenantHandle, consumer, problem


async def test_register_a_koc_with_code_link_and_qr(api: Api, net: Net) -> None:
    r = await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "小王", "phone": "13800138000"})
    assert r.status_code == 201, r.text
    body = r.json()
    code = body["code"]
    assert re.fullmatch(r"K[A-Z2-7]{8}", code)
    slug = net.tenant.slug
    assert body["share_url"] == f"https://shop.example.com/s/{slug}/SA?koc={code}"
    assert body["qr_url"] == f"https://shop.example.com/v1/store/qr?koc={code}"
    assert body["miniprogram_path"] == f"pages/store/index?tenant={slug}&store=SA&koc={code}"
    assert (body["name"], body["phone"], body["consumer_id"], body["active"]) == ("小王", "13800138000", None, True)
    assert (body["touches"], body["orders"], body["sales"], body["earnings"]) == (0, 0, 0, 0)
    # The QR route of the store domain accepts the code.
    qr = await api.get("/v1/store/qr", token=net.store_a_token, params={"koc": code})
    assert qr.status_code == 200
    assert qr.content.startswith(b"\x89PNG")


async def test_codes_are_unique_and_the_list_pages(api: Api, net: Net) -> None:
    codes = []
    for i in range(5):
        r = await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": f"koc {i}"})
        assert r.status_code == 201, r.text
        codes.append(r.json()["code"])
    assert len(set(codes)) == 5
    await api.post("/v1/store/kocs", token=net.store_b_token, json={"name": "B's"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/store/kocs", token=net.store_a_token, params=params)).json()
        assert len(page["items"]) <= 2
        seen += [k["code"] for k in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == codes  # registration order, and only this store's KOCs
    problem(await api.get("/v1/store/kocs", token=net.store_a_token, params={"limit": 0}), 422, "validation_failed")
    problem(await api.get("/v1/store/kocs", token=net.store_a_token, params={"cursor": "!!"}), 422, "validation_failed")


async def test_a_koc_linked_to_a_consumer(api: Api, net: Net, other_tenant: TenantHandle) -> None:
    _, cid = await consumer(api, net.tenant, "kol")
    _, foreign = await consumer(api, other_tenant, "kol")
    r = await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "Kol", "consumer_id": cid})
    assert r.status_code == 201, r.text
    assert r.json()["consumer_id"] == cid
    # once only, in any store
    problem(
        await api.post("/v1/store/kocs", token=net.store_b_token, json={"name": "Kol", "consumer_id": cid}),
        409,
        "conflict",
    )
    # a consumer must exist in this tenant
    for bad in (foreign, 987654321):
        problem(
            await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "x", "consumer_id": bad}),
            422,
            "validation_failed",
        )


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "x" * 101}, {"name": "x", "phone": "abc"}, {"name": "x", "extra": 1}, {"name": 5}],
)
async def test_invalid_registrations_are_422(api: Api, net: Net, body: dict[str, object]) -> None:
    problem(await api.post("/v1/store/kocs", token=net.store_a_token, json=body), 422, "validation_failed")


async def test_another_stores_or_tenants_koc_is_not_found(
    api: Api, net: Net, app: Litestar, other_tenant: TenantHandle
) -> None:
    code = (await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "a"})).json()["code"]
    assert (await api.get(f"/v1/store/kocs/{code}", token=net.store_a_token)).json()["code"] == code
    problem(await api.get(f"/v1/store/kocs/{code}", token=net.store_b_token), 404, "not_found")
    problem(
        await api.patch(f"/v1/store/kocs/{code}", token=net.store_b_token, json={"active": False}), 404, "not_found"
    )
    other = await seed_net(api, app, other_tenant)
    problem(await api.get(f"/v1/store/kocs/{code}", token=other.store_a_token), 404, "not_found")
    listed = (await api.get("/v1/store/kocs", token=other.store_a_token)).json()
    assert listed["items"] == []


async def test_only_store_staff_manage_kocs(api: Api, net: Net) -> None:
    ctoken, _ = await consumer(api, net.tenant, "c1")
    problem(await api.get("/v1/store/kocs"), 401, "unauthorized")
    problem(await api.get("/v1/store/kocs", token=ctoken), 401, "unauthorized")
    problem(await api.get("/v1/store/kocs", token=net.tenant.hq_token), 403, "forbidden")
    problem(await api.post("/v1/store/kocs", token=net.distributor_a_token, json={"name": "x"}), 403, "forbidden")


async def test_update_and_deactivate(api: Api, net: Net) -> None:
    code = (
        await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "a", "phone": "13800000001"})
    ).json()["code"]
    r = await api.patch(f"/v1/store/kocs/{code}", token=net.store_a_token, json={"name": "b", "phone": None})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["phone"], r.json()["active"]) == ("b", None, True)
    r = await api.patch(f"/v1/store/kocs/{code}", token=net.store_a_token, json={"active": False})
    assert r.json()["active"] is False
    problem(
        await api.patch(f"/v1/store/kocs/{code}", token=net.store_a_token, json={"code": "NEW"}),
        422,
        "validation_failed",
    )
    # an inactive KOC's link binds nobody
    ctoken, _ = await consumer(api, net.tenant, "c2")
    problem(
        await api.post(f"/v1/shop/{net.tenant.slug}/touches", token=ctoken, json={"store": "SA", "koc": code}),
        404,
        "not_found",
    )


async def test_list_shows_what_each_koc_brought(api: Api, app: Litestar, net: Net) -> None:
    await set_policy(api, net.tenant, "commission", {"store_bp": 500, "distributor_bp": 200, "koc_bp": 300})
    k1 = (await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "one"})).json()["code"]
    k2 = (await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "two"})).json()["code"]
    slug = net.tenant.slug
    buyers = [await consumer(api, net.tenant, f"buyer{i}") for i in range(3)]
    for token, _ in buyers:
        r = await api.post(f"/v1/shop/{slug}/touches", token=token, json={"store": "SA", "koc": k1})
        assert r.status_code == 201, r.text
    # k1 brought two paid orders (one of them unpaid is not counted); k2 nothing
    for _, cid in buyers[:2]:
        oid, _ = await insert_order(app, net, consumer_id=cid, store="SA", koc=k1, lines=[("TEA-1", 2), ("POT-1", 1)])
        await pay_order(app, net, oid)
    await insert_order(app, net, consumer_id=buyers[2][1], store="SA", koc=k1, lines=[("TEA-1", 1)])
    items = {k["code"]: k for k in (await api.get("/v1/store/kocs", token=net.store_a_token)).json()["items"]}
    sales = 2 * (2 * 1290 + 19900)
    assert (items[k1]["touches"], items[k1]["orders"], items[k1]["sales"]) == (3, 2, sales)
    assert items[k1]["earnings"] == 2 * ((2 * 1290 + 19900) * 300 // 10000)
    assert (items[k2]["touches"], items[k2]["orders"], items[k2]["sales"], items[k2]["earnings"]) == (0, 0, 0, 0)


async def test_sales_are_what_was_paid_after_discounts_and_refunds(api: Api, app: Litestar, net: Net) -> None:
    code = (await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "one"})).json()["code"]
    token, cid = await consumer(api, net.tenant, "buyer")
    r = await api.post(f"/v1/shop/{net.tenant.slug}/touches", token=token, json={"store": "SA", "koc": code})
    assert r.status_code == 201, r.text
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SA", koc=code, lines=[("TEA-1", 3), ("POT-1", 1)])
    # a coupon took 1000 off: 100 from the tea line, 900 from the pot; then one tea was refunded
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        await s.execute(
            text("UPDATE order_lines SET discount = CASE line_no WHEN 1 THEN 100 ELSE 900 END WHERE order_id = :o"),
            {"o": oid},
        )
        await s.execute(text("UPDATE orders SET discount_total = 1000, total = total - 1000 WHERE id = :o"), {"o": oid})
    await pay_order(app, net, oid)
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        await s.execute(text("UPDATE order_lines SET refunded_qty = 1 WHERE order_id = :o AND line_no = 1"), {"o": oid})
    items = {k["code"]: k for k in (await api.get("/v1/store/kocs", token=net.store_a_token)).json()["items"]}
    tea_paid = 3 * 1290 - 100
    assert items[code]["sales"] == (tea_paid - tea_paid * 1 // 3) + (19900 - 900)
