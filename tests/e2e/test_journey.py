"""The whole journey: HQ publishes → a store shares a KOC link → a consumer orders a cloud-shelf item with no store
named → the regional warehouse ships → store, distributor and KOC are credited → partial refund → pro-rata
reversal → settlement."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from cloudstore.lib.jobs import Worker
from cloudstore.payments.gateways.local import encode_local_notification
from tests.conftest import LOCAL_PAY_SECRET
from tests.support import Api, TenantHandle, seed_catalog, staff_token

NANSHAN = {
    "mode": "delivery",
    "region": "440305",
    "lat": 22.5400,
    "lng": 113.9350,
    "address": "南山区科技园",
    "contact": "张三",
    "phone": "13800000000",
}
COMMISSION = {
    "store_bp": 600,
    "distributor_bp": 200,
    "koc_bp": 400,
    "frozen_days": 7,
    "by_category": {"普洱": {"store_bp": 1000, "distributor_bp": 300, "koc_bp": 700}},
}


def fee(paid: dict[str, int], kind: str) -> int:
    """The commission rule, written out: one floor over the exact sum of paid × rate."""
    rates: dict[str, Any] = {"绿茶": COMMISSION, "普洱": COMMISSION["by_category"]["普洱"]}  # type: ignore[index]
    return sum(amount * int(rates[category][f"{kind}_bp"]) for category, amount in paid.items()) // 10000


async def notify(api: Api, payment_id: str, order_no: str, amount: int) -> Any:
    body = encode_local_notification(payment_id=payment_id, order_no=order_no, amount=amount, paid_at=datetime.now(UTC))
    signature = hmac.new(LOCAL_PAY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return await api.post(
        "/v1/payments/local/notify",
        content=body,
        headers={"X-Local-Signature": signature, "Content-Type": "application/json"},
    )


async def test_koc_referral_journey(api: Api, app: Litestar, worker: Worker, tenant: TenantHandle) -> None:
    hq, slug = tenant.hq_token, tenant.slug
    # HQ publishes its catalog and network, and sets the referral policies.
    await seed_catalog(api, tenant)
    for kind, doc in (
        ("attribution", {"model": "first_touch", "protection_days": 15, "binding_days": 30}),
        ("commission", COMMISSION),
    ):
        assert (await api.put(f"/v1/hq/policies/{kind}", token=hq, json=doc)).status_code == 200

    # The Nanshan store registers a KOC who is also a consumer of the brand.
    store = await staff_token(api, tenant, username="ns-clerk", role="store", store="S-NS")
    kol = await api.post(f"/v1/shop/{slug}/auth/login", json={"code": "local:kol"})
    kol_token, kol_id = kol.json()["access_token"], kol.json()["consumer_id"]
    r = await api.post("/v1/store/kocs", token=store, json={"name": "小李", "consumer_id": kol_id})
    assert r.status_code == 201, r.text
    koc = r.json()["code"]
    assert r.json()["share_url"].endswith(f"/s/{slug}/S-NS?koc={koc}")

    # A consumer opens the share link and is bound to the store and the KOC.
    login = await api.post(f"/v1/shop/{slug}/auth/login", json={"code": "local:shopper"})
    consumer = login.json()["access_token"]
    r = await api.post(f"/v1/shop/{slug}/touches", token=consumer, json={"store": "S-NS", "koc": koc})
    assert r.status_code == 201, r.text
    assert (r.json()["bound_store"], r.json()["bound_koc"]) == ("S-NS", koc)

    # Later, from the brand's generic entry (no store named), they order two cloud-shelf items.
    shelf = (await api.get(f"/v1/shop/{slug}/stores/S-NS/products")).json()["items"]
    shelves = {s["code"]: s["shelf"] for p in shelf for s in p["skus"]}
    assert (shelves["LJ-250"], shelves["PE-357"]) == ("cloud", "cloud")
    lines = [{"sku": "LJ-250", "qty": 2}, {"sku": "PE-357", "qty": 1}]
    r = await api.post(
        f"/v1/shop/{slug}/orders",
        token=consumer,
        json={"lines": lines, "delivery": NANSHAN},
        headers={"Idempotency-Key": "journey-order"},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    order_no, total = order["order_no"], order["total"]
    assert [(f["location"], f["kind"]) for f in order["fulfilments"]] == [("WH-SZ", "delivery")]

    # Payment, with the provider's notification delivered twice.
    r = await api.post(
        f"/v1/shop/{slug}/orders/{order_no}/pay",
        token=consumer,
        json={"provider": "local"},
        headers={"Idempotency-Key": "journey-pay"},
    )
    assert r.status_code == 200, r.text
    payment_id = r.json()["payment_id"]
    for _ in range(2):
        assert (await notify(api, payment_id, order_no, total)).status_code == 200

    paid = {"绿茶": 2 * 19800, "普洱": 29800}
    expected = {kind: fee(paid, kind) for kind in ("store", "distributor", "koc")}
    detail = (await api.get(f"/v1/hq/orders/{order_no}", token=hq)).json()
    assert detail["status"] == "paid"
    assert {k: detail["attribution"][k] for k in ("store", "distributor", "koc")} == {
        "store": "S-NS",
        "distributor": "D-SZ",
        "koc": koc,
    }
    assert [
        (c["beneficiary_kind"], c["beneficiary"], c["amount"], c["status"], c["kind"]) for c in detail["commissions"]
    ] == [
        ("store", "S-NS", expected["store"], "pending", "commission"),
        ("distributor", "D-SZ", expected["distributor"], "pending", "commission"),
        ("koc", koc, expected["koc"], "pending", "commission"),
    ]

    # The regional warehouse (run by the distributor) ships and delivers; the store is still the one credited.
    distributor = await staff_token(api, tenant, username="sz-dist", role="distributor", distributor="D-SZ")
    fulfilment = detail["fulfilments"][0]["id"]
    for action in ("ship", "deliver"):
        r = await api.post(f"/v1/distributor/fulfilments/{fulfilment}/{action}", token=distributor)
        assert r.status_code == 200, r.text
    detail = (await api.get(f"/v1/hq/orders/{order_no}", token=hq)).json()
    assert detail["status"] == "completed"
    assert detail["attribution"]["store"] == "S-NS"

    # One LJ-250 comes back: the ledger reverses pro rata, still pending (the after-sales window is open).
    r = await api.post(
        f"/v1/hq/orders/{order_no}/refunds",
        token=hq,
        json={"lines": [{"sku": "LJ-250", "qty": 1}]},
        headers={"Idempotency-Key": "journey-refund"},
    )
    assert r.status_code == 201, r.text
    still_paid = {"绿茶": 19800, "普洱": 29800}
    net = {kind: fee(still_paid, kind) for kind in ("store", "distributor", "koc")}
    detail = (await api.get(f"/v1/hq/orders/{order_no}", token=hq)).json()
    reversals = [
        (c["beneficiary_kind"], c["amount"], c["status"]) for c in detail["commissions"] if c["kind"] == "reversal"
    ]
    assert reversals == [(kind, net[kind] - expected[kind], "pending") for kind in ("store", "distributor", "koc")]

    # The after-sales window closes: the release job makes the net commission available.
    async with app.state.db.sessions() as s, s.begin():
        tid = (await s.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})).scalar_one()
        await set_tenant(s, tid)
        moved = await s.execute(text("UPDATE jobs SET run_at = now() WHERE kind = 'referrals.release'"))
        assert moved.rowcount == 1
    await worker.run_pending()
    earnings = (await api.get("/v1/store/earnings", token=store)).json()
    assert earnings["balances"] == {"pending": 0, "available": net["store"], "settled": 0}

    # HQ settles: each beneficiary is paid its net, once.
    r = await api.post("/v1/hq/settlements", token=hq, json={})
    assert r.status_code == 201, r.text
    settlement = r.json()
    assert settlement["total"] == sum(net.values())
    assert {(p["beneficiary_kind"], p["beneficiary"], p["amount"]) for p in settlement["payouts"]} == {
        ("store", "S-NS", net["store"]),
        ("distributor", "D-SZ", net["distributor"]),
        ("koc", koc, net["koc"]),
    }
    ledger = (await api.get("/v1/hq/ledger", token=hq)).json()
    assert ledger["balances"] == {"pending": 0, "available": 0, "settled": sum(net.values())}
    assert {i["settlement_no"] for i in ledger["items"]} == {settlement["settlement_no"]}
    # Everyone sees the same story from their side.
    mine = (await api.get(f"/v1/shop/{slug}/me/earnings", token=kol_token)).json()
    assert mine["balances"] == {"pending": 0, "available": 0, "settled": net["koc"]}
    dist = (await api.get("/v1/distributor/earnings", token=distributor)).json()
    assert dist["balances"]["settled"] == net["distributor"]
    kocs = (await api.get("/v1/store/kocs", token=store)).json()["items"]
    assert [(k["code"], k["touches"], k["orders"], k["sales"], k["earnings"]) for k in kocs] == [
        (koc, 1, 1, sum(still_paid.values()), net["koc"])
    ]
    assert (await api.post("/v1/hq/settlements", token=hq, json={})).status_code == 409  # nothing left to pay
