"""The append-only ledger: release after the after-sales window, reversals, settlements, and who sees what."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cloudstore.lib.db import set_tenant
from cloudstore.lib.jobs import Worker
from tests.integration.referrals.helpers import (
    Net,
    complete_order,
    insert_order,
    ledger_rows,
    pay_order,
    refund_lines,
    seed_net,
    session_for,
    set_policy,
)
from tests.support import Api, TenantHandle, consumer, problem

RATES = {"store_bp": 500, "distributor_bp": 200, "koc_bp": 300, "frozen_days": 7}


class Shop:
    """A tenant with the network, a KOC of store SA and a consumer bound to it."""

    def __init__(self, net: Net, koc: str, consumer_id: int, consumer_token: str) -> None:
        self.net = net
        self.koc = koc
        self.consumer_id = consumer_id
        self.consumer_token = consumer_token


@pytest.fixture
async def shop(api: Api, app: Litestar, tenant: TenantHandle) -> Shop:
    net = await seed_net(api, app, tenant)
    await set_policy(api, tenant, "commission", RATES)
    k = (await api.post("/v1/store/kocs", token=net.store_a_token, json={"name": "k"})).json()["code"]
    token, cid = await consumer(api, tenant, "buyer")
    r = await api.post(f"/v1/shop/{tenant.slug}/touches", token=token, json={"store": "SA", "koc": k})
    assert r.status_code == 201
    return Shop(net, k, cid, token)


async def paid_order(app: Litestar, shop: Shop, lines: list[tuple[str, int]]) -> tuple[int, str]:
    oid, no = await insert_order(app, shop.net, consumer_id=shop.consumer_id, store="SA", koc=shop.koc, lines=lines)
    await pay_order(app, shop.net, oid)
    return oid, no


async def make_release_due(app: Litestar, net: Net, order_id: int) -> None:
    """The after-sales window has passed: the release job is due now."""
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        await s.execute(
            text("UPDATE jobs SET run_at = now() WHERE dedupe_key = :k"), {"k": f"referrals.release:{order_id}"}
        )


async def release(app: Litestar, worker: Worker, net: Net, order_id: int) -> None:
    await complete_order(app, net, order_id)
    await make_release_due(app, net, order_id)
    await worker.run_pending()


def by_status(rows: list[tuple[str, str, int, str, str]], status: str) -> list[tuple[str, int]]:
    return [(r[0], r[2]) for r in rows if r[3] == status]


async def test_release_waits_for_the_after_sales_window(api: Api, app: Litestar, worker: Worker, shop: Shop) -> None:
    oid, _ = await paid_order(app, shop, [("TEA-1", 10)])  # 12900 fen of goods
    completed_at = await complete_order(app, shop.net, oid)
    async with session_for(app) as s, s.begin():
        await set_tenant(s, shop.net.tenant_id)
        job = (
            await s.execute(
                text("SELECT kind, run_at, status FROM jobs WHERE dedupe_key = :k"), {"k": f"referrals.release:{oid}"}
            )
        ).one()
    assert (job.kind, job.run_at, job.status) == ("referrals.release", completed_at + timedelta(days=7), "queued")
    await worker.run_pending()
    assert {r[3] for r in await ledger_rows(app, shop.net, oid)} == {"pending"}
    await make_release_due(app, shop.net, oid)
    await worker.run_pending()
    rows = await ledger_rows(app, shop.net, oid)
    assert by_status(rows, "available") == [("store", 645), ("distributor", 258), ("koc", 387)]


async def test_partial_refund_before_release_reverses_pro_rata_and_stays_pending(
    api: Api, app: Litestar, worker: Worker, shop: Shop
) -> None:
    oid, _ = await paid_order(app, shop, [("TEA-1", 3), ("POT-1", 1)])  # 3870 + 19900 = 23770
    await refund_lines(app, shop.net, oid, {1: 1})  # one TEA-1 back: 22480 still paid
    rows = await ledger_rows(app, shop.net, oid)
    assert rows == [
        ("store", "SA", 23770 * 500 // 10000, "pending", "commission"),
        ("distributor", "DA", 23770 * 200 // 10000, "pending", "commission"),
        ("koc", shop.koc, 23770 * 300 // 10000, "pending", "commission"),
        ("store", "SA", 22480 * 500 // 10000 - 23770 * 500 // 10000, "pending", "reversal"),
        ("distributor", "DA", 22480 * 200 // 10000 - 23770 * 200 // 10000, "pending", "reversal"),
        ("koc", shop.koc, 22480 * 300 // 10000 - 23770 * 300 // 10000, "pending", "reversal"),
    ]
    await release(app, worker, shop.net, oid)
    rows = await ledger_rows(app, shop.net, oid)
    assert {r[3] for r in rows} == {"available"}
    assert sum(r[2] for r in rows if r[0] == "store") == 22480 * 500 // 10000


async def test_refund_after_release_is_available_at_once(api: Api, app: Litestar, worker: Worker, shop: Shop) -> None:
    oid, _ = await paid_order(app, shop, [("TEA-1", 2), ("TEA-2", 1)])  # 2580 + 2590
    await release(app, worker, shop.net, oid)
    await refund_lines(app, shop.net, oid, {2: 1})
    rows = await ledger_rows(app, shop.net, oid)
    assert [r for r in rows if r[4] == "reversal"] == [
        ("store", "SA", 2580 * 500 // 10000 - 5170 * 500 // 10000, "available", "reversal"),
        ("distributor", "DA", 2580 * 200 // 10000 - 5170 * 200 // 10000, "available", "reversal"),
        ("koc", shop.koc, 2580 * 300 // 10000 - 5170 * 300 // 10000, "available", "reversal"),
    ]
    # refunding the rest brings every beneficiary to exactly zero
    await refund_lines(app, shop.net, oid, {1: 2})
    totals: dict[str, int] = {}
    for kind, _, amount, _, _ in await ledger_rows(app, shop.net, oid):
        totals[kind] = totals.get(kind, 0) + amount
    assert totals == {"store": 0, "distributor": 0, "koc": 0}


async def test_a_policy_change_does_not_reprice_orders_already_paid(
    api: Api, app: Litestar, worker: Worker, shop: Shop
) -> None:
    oid, _ = await paid_order(app, shop, [("TEA-1", 5)])
    await set_policy(
        api, shop.net.tenant, "commission", {"store_bp": 0, "distributor_bp": 0, "koc_bp": 3000, "frozen_days": 0}
    )
    await refund_lines(app, shop.net, oid, {1: 2})
    rows = await ledger_rows(app, shop.net, oid)
    store = [r[2] for r in rows if r[0] == "store"]
    assert store == [6450 * 500 // 10000, 3870 * 500 // 10000 - 6450 * 500 // 10000]
    # ... and its release keeps the after-sales window it was sold with (7 days, not 0)
    completed_at = await complete_order(app, shop.net, oid)
    async with session_for(app) as s, s.begin():
        await set_tenant(s, shop.net.tenant_id)
        run_at = (
            await s.execute(text("SELECT run_at FROM jobs WHERE dedupe_key = :k"), {"k": f"referrals.release:{oid}"})
        ).scalar_one()
    assert run_at == completed_at + timedelta(days=7)


async def test_ledger_entries_cannot_be_edited_or_deleted(app: Litestar, worker: Worker, shop: Shop) -> None:
    oid, _ = await paid_order(app, shop, [("TEA-1", 1)])
    for statement in (
        "UPDATE ledger_entries SET amount = amount + 1 WHERE order_id = :o",
        "UPDATE ledger_entries SET beneficiary_code = 'X' WHERE order_id = :o",
        "UPDATE ledger_entries SET status = 'settled' WHERE order_id = :o",
        "DELETE FROM ledger_entries WHERE order_id = :o",
    ):
        async with session_for(app) as s, s.begin():
            await set_tenant(s, shop.net.tenant_id)
            with pytest.raises(DBAPIError, match="ledger_entries"):
                await s.execute(text(statement), {"o": oid})
            await s.rollback()


# --- settlement -------------------------------------------------------------------------------------------------


async def settle(api: Api, net: Net, **body: Any) -> Any:
    return await api.post("/v1/hq/settlements", token=net.tenant.hq_token, json=body)


async def test_settlement_pays_available_commission_per_beneficiary(
    api: Api, app: Litestar, worker: Worker, shop: Shop
) -> None:
    net = shop.net
    o1, _ = await paid_order(app, shop, [("TEA-1", 10)])  # 12900
    o2, _ = await paid_order(app, shop, [("TEA-2", 2)])  # 5180, stays pending
    await release(app, worker, net, o1)
    problem(await settle(api, net, beneficiary_kind="store", beneficiary="SB"), 409, "invalid_state")
    r = await settle(api, net, beneficiary_kind="store")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["beneficiary_kind"], body["beneficiary"], body["total"], body["entry_count"]) == (
        "store",
        None,
        645,
        1,
    )
    assert body["payouts"] == [{"beneficiary_kind": "store", "beneficiary": "SA", "amount": 645, "entry_count": 1}]
    assert body["created_by"].startswith("staff:")
    r = await settle(api, net)
    assert r.status_code == 201, r.text
    assert r.json()["payouts"] == [
        {"beneficiary_kind": "distributor", "beneficiary": "DA", "amount": 258, "entry_count": 1},
        {"beneficiary_kind": "koc", "beneficiary": shop.koc, "amount": 387, "entry_count": 1},
    ]
    problem(await settle(api, net), 409, "invalid_state")  # nothing left available
    assert by_status(await ledger_rows(app, net, o2), "pending") == [("store", 259), ("distributor", 103), ("koc", 155)]
    assert {r[3] for r in await ledger_rows(app, net, o1)} == {"settled"}
    # settled entries never move again, even when the release job would run
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        with pytest.raises(DBAPIError, match="ledger_entries"):
            await s.execute(text("UPDATE ledger_entries SET status = 'available' WHERE order_id = :o"), {"o": o1})
        await s.rollback()
    listed = (await api.get("/v1/hq/settlements", token=net.tenant.hq_token)).json()
    assert [s["total"] for s in listed["items"]] == [645, 645]
    one = (await api.get(f"/v1/hq/settlements/{body['settlement_no']}", token=net.tenant.hq_token)).json()
    assert one == body


async def test_a_refund_after_settlement_is_a_debt_netted_in_the_next_settlement(
    api: Api, app: Litestar, worker: Worker, shop: Shop
) -> None:
    net = shop.net
    o1, no1 = await paid_order(app, shop, [("TEA-1", 10)])  # store 645
    await release(app, worker, net, o1)
    assert (await settle(api, net)).status_code == 201
    await refund_lines(app, net, o1, {1: 4})  # 6 left: store 387, reversal -258
    page = (
        await api.get(
            "/v1/hq/ledger", token=net.tenant.hq_token, params={"beneficiary_kind": "store", "beneficiary": "SA"}
        )
    ).json()
    assert page["balances"] == {"pending": 0, "available": -258, "settled": 645}
    assert page["items"][0] == {
        **page["items"][0],
        "order_no": no1,
        "amount": -258,
        "status": "available",
        "kind": "reversal",
        "settlement_no": None,
    }
    # the store owes money: settling it alone is refused, a general run skips it
    problem(await settle(api, net, beneficiary_kind="store", beneficiary="SA"), 409, "invalid_state")
    problem(await settle(api, net), 409, "invalid_state")  # the others owe too, nothing is payable
    o2, _ = await paid_order(app, shop, [("TEA-1", 10)])
    await release(app, worker, net, o2)
    r = await settle(api, net, beneficiary_kind="store", beneficiary="SA")
    assert r.status_code == 201, r.text
    assert (r.json()["total"], r.json()["entry_count"]) == (645 - 258, 2)
    page = (
        await api.get(
            "/v1/hq/ledger", token=net.tenant.hq_token, params={"beneficiary_kind": "store", "beneficiary": "SA"}
        )
    ).json()
    assert page["balances"] == {"pending": 0, "available": 0, "settled": 645 + 387}


async def test_settlement_up_to_a_time(api: Api, app: Litestar, worker: Worker, shop: Shop) -> None:
    net = shop.net
    o1, _ = await paid_order(app, shop, [("TEA-1", 10)])
    await release(app, worker, net, o1)
    cut = datetime.now(UTC)
    o2, _ = await paid_order(app, shop, [("TEA-1", 20)])
    await release(app, worker, net, o2)
    r = await settle(api, net, beneficiary_kind="koc", beneficiary=shop.koc, up_to=cut.isoformat())
    assert r.status_code == 201, r.text
    assert (r.json()["total"], r.json()["up_to"] is not None) == (387, True)
    problem(await settle(api, net, up_to="2020-01-01T00:00:00"), 422, "validation_failed")  # no time zone


async def test_settlements_run_at_once_pay_each_entry_once(api: Api, app: Litestar, worker: Worker, shop: Shop) -> None:
    for _ in range(3):
        oid, _ = await paid_order(app, shop, [("TEA-1", 10)])
        await release(app, worker, shop.net, oid)
    answers = await asyncio.gather(*(settle(api, shop.net) for _ in range(4)))
    paid = [r.json() for r in answers if r.status_code == 201]
    assert all(r.status_code in (201, 409) for r in answers), [r.text for r in answers]
    assert sum(s["total"] for s in paid) == 3 * (645 + 258 + 387)
    assert sum(s["entry_count"] for s in paid) == 9
    rows = await ledger_rows(app, shop.net)
    assert {r[3] for r in rows} == {"settled"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"beneficiary": "SA"}, 422, "validation_failed"),
        ({"beneficiary_kind": "shop"}, 422, "validation_failed"),
        ({"beneficiary_kind": "store", "beneficiary": "NOPE"}, 404, "not_found"),
        ({"up_to": "yesterday"}, 422, "validation_failed"),
        ({"extra": True}, 422, "validation_failed"),
    ],
)
async def test_invalid_settlements(api: Api, shop: Shop, body: dict[str, Any], status: int, code: str) -> None:
    problem(await settle(api, shop.net, **body), status, code)


# --- reading the ledger -----------------------------------------------------------------------------------------


async def test_hq_ledger_filters_pages_and_balances(api: Api, app: Litestar, worker: Worker, shop: Shop) -> None:
    net, hq = shop.net, shop.net.tenant.hq_token
    o1, no1 = await paid_order(app, shop, [("TEA-1", 10)])
    _, no2 = await paid_order(app, shop, [("TEA-2", 2)])
    await release(app, worker, net, o1)
    page = (await api.get("/v1/hq/ledger", token=hq)).json()
    assert page["balances"] == {"pending": 259 + 103 + 155, "available": 645 + 258 + 387, "settled": 0}
    assert [(i["order_no"], i["beneficiary"]) for i in page["items"]] == [
        (no2, shop.koc),
        (no2, "DA"),
        (no2, "SA"),
        (no1, shop.koc),
        (no1, "DA"),
        (no1, "SA"),
    ]
    seen = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        p = (await api.get("/v1/hq/ledger", token=hq, params=params)).json()
        seen += p["items"]
        cursor = p["next_cursor"]
        if not cursor:
            break
    assert seen == page["items"]
    koc = (await api.get("/v1/hq/ledger", token=hq, params={"beneficiary_kind": "koc", "beneficiary": shop.koc})).json()
    assert [i["amount"] for i in koc["items"]] == [155, 387]
    assert koc["balances"] == {"pending": 155, "available": 387, "settled": 0}
    kind = (await api.get("/v1/hq/ledger", token=hq, params={"beneficiary_kind": "distributor"})).json()
    assert {i["beneficiary"] for i in kind["items"]} == {"DA"}
    avail = (await api.get("/v1/hq/ledger", token=hq, params={"status": "available"})).json()
    assert {i["order_no"] for i in avail["items"]} == {no1}
    assert avail["balances"] == page["balances"]  # status filters entries, not balances
    by_order = (await api.get("/v1/hq/ledger", token=hq, params={"order_no": no2})).json()
    assert len(by_order["items"]) == 3


async def test_ledger_queries_that_name_nothing(
    api: Api, app: Litestar, shop: Shop, other_tenant: TenantHandle
) -> None:
    hq = shop.net.tenant.hq_token
    other = await seed_net(api, app, other_tenant)
    ko = (await api.post("/v1/store/kocs", token=other.store_a_token, json={"name": "o"})).json()["code"]
    for params, status, code in [
        ({"beneficiary": "SA"}, 422, "validation_failed"),
        ({"beneficiary_kind": "nope"}, 422, "validation_failed"),
        ({"status": "paid"}, 422, "validation_failed"),
        ({"beneficiary_kind": "store", "beneficiary": "NOPE"}, 404, "not_found"),
        ({"beneficiary_kind": "koc", "beneficiary": ko}, 404, "not_found"),  # another tenant's KOC
        ({"order_no": "O-nope"}, 404, "not_found"),
        ({"limit": 101}, 422, "validation_failed"),
    ]:
        problem(await api.get("/v1/hq/ledger", token=hq, params=params), status, code)
    problem(await api.get("/v1/hq/ledger", token=shop.net.store_a_token), 403, "forbidden")
    problem(await api.get("/v1/hq/ledger", token=shop.consumer_token), 401, "unauthorized")


async def test_another_tenants_settlement_is_not_found(
    api: Api, app: Litestar, worker: Worker, shop: Shop, other_tenant: TenantHandle
) -> None:
    o1, _ = await paid_order(app, shop, [("TEA-1", 10)])
    await release(app, worker, shop.net, o1)
    no = (await settle(api, shop.net)).json()["settlement_no"]
    problem(await api.get(f"/v1/hq/settlements/{no}", token=other_tenant.hq_token), 404, "not_found")
    # the other tenant cannot settle our KOC either
    problem(
        await api.post(
            "/v1/hq/settlements", token=other_tenant.hq_token, json={"beneficiary_kind": "koc", "beneficiary": shop.koc}
        ),
        404,
        "not_found",
    )
    assert (await api.get("/v1/hq/settlements", token=other_tenant.hq_token)).json()["items"] == []
    problem(await api.post("/v1/hq/settlements", token=shop.net.store_a_token, json={}), 403, "forbidden")
    # nothing of ours shows in the other tenant's ledger
    assert (await api.get("/v1/hq/ledger", token=other_tenant.hq_token)).json()["items"] == []


async def test_each_beneficiary_sees_its_own_earnings(api: Api, app: Litestar, worker: Worker, shop: Shop) -> None:
    net = shop.net
    kol_token, kol_id = await consumer(api, net.tenant, "kol")
    kb = (await api.post("/v1/store/kocs", token=net.store_b_token, json={"name": "b", "consumer_id": kol_id})).json()[
        "code"
    ]
    o1, no1 = await paid_order(app, shop, [("TEA-1", 10)])
    _, buyer = await consumer(api, net.tenant, "other-buyer")
    o2, no2 = await insert_order(app, net, consumer_id=buyer, store="SB", koc=kb, lines=[("TEA-2", 1)])
    await pay_order(app, net, o2)
    await release(app, worker, net, o1)

    store_a = (await api.get("/v1/store/earnings", token=net.store_a_token)).json()
    assert (store_a["beneficiary_kind"], store_a["beneficiary"]) == ("store", "SA")
    assert store_a["balances"] == {"pending": 0, "available": 645, "settled": 0}
    assert [i["order_no"] for i in store_a["items"]] == [no1]
    store_b = (await api.get("/v1/store/earnings", token=net.store_b_token)).json()
    assert [(i["order_no"], i["amount"]) for i in store_b["items"]] == [(no2, 2590 * 500 // 10000)]
    dist = (await api.get("/v1/distributor/earnings", token=net.distributor_a_token)).json()
    assert (dist["beneficiary"], dist["balances"]["available"]) == ("DA", 258)
    mine = (await api.get(f"/v1/shop/{net.tenant.slug}/me/earnings", token=kol_token)).json()
    assert (mine["beneficiary_kind"], mine["beneficiary"]) == ("koc", kb)
    assert mine["balances"] == {"pending": 2590 * 300 // 10000, "available": 0, "settled": 0}
    # a consumer who is not a KOC has no earnings
    problem(await api.get(f"/v1/shop/{net.tenant.slug}/me/earnings", token=shop.consumer_token), 404, "not_found")
    problem(await api.get("/v1/store/earnings", token=net.tenant.hq_token), 403, "forbidden")
    problem(await api.get("/v1/distributor/earnings", token=net.store_a_token), 403, "forbidden")
    problem(
        await api.get("/v1/store/earnings", token=net.store_a_token, params={"cursor": "x"}), 422, "validation_failed"
    )
