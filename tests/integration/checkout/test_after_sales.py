"""After-sales: refund-only before shipment, returns after delivery, decisions, idempotent steps, concurrency."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Any

from tests.integration.integrations.helpers import rows
from tests.integration.network import Network, pay, place, stock
from tests.integration.referrals.helpers import set_policy
from tests.support import Api, consumer, problem, staff_token

if TYPE_CHECKING:
    from litestar import Litestar

RATES = {"store_bp": 500, "distributor_bp": 200, "koc_bp": 0, "frozen_days": 7}


async def _paid(api: Api, net: Network, lines: list[dict[str, Any]], key: str, **kw: Any) -> dict[str, Any]:
    r = await place(api, net, lines, key=key, **kw)
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    await pay(api, net, order["order_no"], order["total"])
    return order


async def _ask(api: Api, net: Network, order_no: str, kind: str, lines: list[dict[str, Any]], **kw: Any) -> Any:
    """Ask for an after-sale, with a fresh Idempotency-Key unless ``key`` names one."""
    return await api.post(
        f"/v1/shop/{net.tenant.slug}/orders/{order_no}/after-sales",
        token=kw.get("token", net.consumer_token),
        json={"kind": kind, "lines": lines, "reason": kw.get("reason", "changed my mind")},
        headers={"Idempotency-Key": kw.get("key") or secrets.token_hex(8)},
    )


async def _act(api: Api, token: str, after_sale_id: int, action: str, body: Any = None, *, store: bool = False) -> Any:
    base = "/v1/store/after-sales" if store else "/v1/hq/after-sales"
    kw: dict[str, Any] = {} if body is None else {"json": body}
    return await api.post(f"{base}/{after_sale_id}/{action}", token=token, **kw)


async def _ship_all(api: Api, net: Network, order: dict[str, Any], *, deliver: bool = True) -> None:
    for f in order["fulfilments"]:
        r = await api.post(f"/v1/hq/fulfilments/{f['id']}/ship", token=net.tenant.hq_token)
        assert r.status_code == 200, r.text
        if deliver:
            r = await api.post(f"/v1/hq/fulfilments/{f['id']}/deliver", token=net.tenant.hq_token)
            assert r.status_code == 200, r.text


async def _commission(api: Api, net: Network, order_no: str) -> dict[str, int]:
    got = (await api.get(f"/v1/hq/orders/{order_no}", token=net.tenant.hq_token)).json()
    totals: dict[str, int] = {}
    for c in got["commissions"]:
        totals[c["beneficiary_kind"]] = totals.get(c["beneficiary_kind"], 0) + c["amount"]
    return totals


async def test_refund_only_before_shipment_refunds_on_approval_and_releases_the_reservation(
    api: Api, app: Litestar, network: Network
) -> None:
    await set_policy(api, network.tenant, "commission", RATES)
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 3}], "ro")
    no = order["order_no"]
    assert await stock(app, network, network.store, "TEA-1") == (5, 3)
    assert await _commission(api, network, no) == {
        "store": 3 * 1290 * 500 // 10000,
        "distributor": 3 * 1290 * 200 // 10000,
    }

    r = await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 2}])
    assert r.status_code == 201, r.text
    asked = r.json()
    assert (asked["status"], asked["kind"], asked["refund_amount"]) == ("requested", "refund_only", 2 * 1290)
    assert asked["lines"] == [{"sku": "TEA-1", "qty": 2, "restocked": 0}]
    assert await stock(app, network, network.store, "TEA-1") == (5, 3)  # nothing moves until approved

    hq = network.tenant.hq_token
    r = await _act(api, hq, asked["id"], "approve")
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["refund_amount"]) == ("refunded", 2 * 1290)
    assert done["refund_no"]
    assert await stock(app, network, network.store, "TEA-1") == (5, 1)
    got = (await api.get(f"/v1/hq/orders/{no}", token=hq)).json()
    assert (got["status"], got["refunded_total"]) == ("paid", 2 * 1290)
    assert got["fulfilments"][0]["lines"] == [{"sku": "TEA-1", "qty": 1}]
    # Commission follows what is still paid: one unit's worth.
    assert await _commission(api, network, no) == {"store": 1290 * 500 // 10000, "distributor": 1290 * 200 // 10000}

    # Asked again: the same answer, and nothing refunded twice.
    for action in ("approve", "refund"):
        again = await _act(api, hq, asked["id"], action)
        assert again.status_code == 200, again.text
        assert again.json() == done
    refunds = await rows(app, network.tenant_id, "SELECT refund_no, amount FROM refunds WHERE tenant_id = :t")
    assert [(x.refund_no, x.amount) for x in refunds] == [(done["refund_no"], 2 * 1290)]
    problem(await _act(api, hq, asked["id"], "reject"), 409, "invalid_state")
    problem(
        await _act(api, hq, asked["id"], "receive", {"location": network.store, "lines": []}), 422, "validation_failed"
    )

    listed = await api.get(f"/v1/shop/{network.tenant.slug}/orders/{no}/after-sales", token=network.consumer_token)
    assert [x["id"] for x in listed.json()["items"]] == [asked["id"]]


async def test_refund_only_of_every_unit_returns_the_delivery_fee_too(api: Api, network: Network) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 1}], "ro-all")
    r = await _ask(api, network, order["order_no"], "refund_only", [{"sku": "TEA-1", "qty": 1}])
    done = (await _act(api, network.tenant.hq_token, r.json()["id"], "approve")).json()
    got = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=network.tenant.hq_token)).json()
    assert done["refund_amount"] == order["total"] == got["refunded_total"]
    assert got["status"] == "refunded"


async def test_return_after_delivery_restocks_only_the_good_units(api: Api, app: Litestar, network: Network) -> None:
    await set_policy(api, network.tenant, "commission", RATES)
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 3}], "rt")
    no = order["order_no"]
    problem(await _ask(api, network, no, "return", [{"sku": "TEA-1", "qty": 1}]), 422, "validation_failed")
    await _ship_all(api, network, order)
    assert await stock(app, network, network.store, "TEA-1") == (2, 0)
    problem(await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 1}]), 422, "validation_failed")

    r = await _ask(api, network, no, "return", [{"sku": "TEA-1", "qty": 2}], reason="one leaks")
    assert r.status_code == 201, r.text
    a = r.json()
    hq = network.tenant.hq_token
    problem(await _act(api, hq, a["id"], "refund"), 409, "invalid_state")  # not received yet
    problem(
        await _act(
            api,
            hq,
            a["id"],
            "receive",
            {"location": network.store, "lines": [{"sku": "TEA-1", "qty": 2, "restock": True}]},
        ),
        409,
        "invalid_state",
    )  # not approved yet
    assert (await _act(api, hq, a["id"], "approve")).json()["status"] == "approved"
    assert (await _act(api, hq, a["id"], "approve")).json()["status"] == "approved"

    # The receipt accounts for every unit: one good, one leaking.
    short = {"location": network.store, "lines": [{"sku": "TEA-1", "qty": 1, "restock": True}]}
    problem(await _act(api, hq, a["id"], "receive", short), 422, "validation_failed")
    elsewhere = {"location": "NOPE", "lines": [{"sku": "TEA-1", "qty": 2, "restock": True}]}
    problem(await _act(api, hq, a["id"], "receive", elsewhere), 404, "not_found")
    receipt = {
        "location": network.store,
        "lines": [{"sku": "TEA-1", "qty": 1, "restock": True}, {"sku": "TEA-1", "qty": 1, "restock": False}],
    }
    r = await _act(api, hq, a["id"], "receive", receipt)
    assert r.status_code == 200, r.text
    received = r.json()
    assert (received["status"], received["location"]) == ("received", network.store)
    assert received["lines"] == [{"sku": "TEA-1", "qty": 2, "restocked": 1}]
    assert await stock(app, network, network.store, "TEA-1") == (3, 0)
    assert (await _act(api, hq, a["id"], "receive", receipt)).json() == received  # once only
    assert await stock(app, network, network.store, "TEA-1") == (3, 0)
    moves = (await api.get("/v1/hq/stock/movements", token=hq, params={"location": network.store})).json()["items"]
    returned = [m for m in moves if m["reason"] == "return"]
    assert [(m["sku"], m["delta"], m["on_hand_after"], m["reference"]) for m in returned] == [("TEA-1", 1, 3, no)]

    r = await _act(api, hq, a["id"], "refund")
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["refund_amount"]) == ("refunded", 2 * 1290)
    assert (await _act(api, hq, a["id"], "refund")).json() == done
    got = (await api.get(f"/v1/hq/orders/{no}", token=hq)).json()
    assert (got["status"], got["refunded_total"]) == ("completed", 2 * 1290)
    assert await _commission(api, network, no) == {"store": 1290 * 500 // 10000, "distributor": 1290 * 200 // 10000}
    assert await stock(app, network, network.store, "TEA-1") == (3, 0)  # the refund moves no stock

    # One unit is left to return; no more.
    problem(await _ask(api, network, no, "return", [{"sku": "TEA-1", "qty": 2}]), 422, "validation_failed")
    assert (await _ask(api, network, no, "return", [{"sku": "TEA-1", "qty": 1}])).status_code == 201


async def test_reject_and_cancel(api: Api, network: Network) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 2}], "rj")
    no, hq = order["order_no"], network.tenant.hq_token
    first = (await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 2}])).json()
    # Both units are held by the open request.
    problem(await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 1}]), 422, "validation_failed")
    r = await _act(api, hq, first["id"], "reject")
    assert r.json()["status"] == "rejected"
    assert (await _act(api, hq, first["id"], "reject")).json() == r.json()
    problem(await _act(api, hq, first["id"], "approve"), 409, "invalid_state")
    cancel_url = f"/v1/shop/{network.tenant.slug}/after-sales/{first['id']}/cancel"
    problem(await api.post(cancel_url, token=network.consumer_token), 409, "invalid_state")

    second = (await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 1}])).json()
    other_token, _ = await consumer(api, network.tenant, "someone-else")
    url = f"/v1/shop/{network.tenant.slug}/after-sales/{second['id']}/cancel"
    problem(await api.post(url, token=other_token), 404, "not_found")
    problem(
        await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 1}], token=other_token), 404, "not_found"
    )
    r = await api.post(url, token=network.consumer_token)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert (await api.post(url, token=network.consumer_token)).json() == r.json()
    problem(await _act(api, hq, second["id"], "approve"), 409, "invalid_state")
    listed = (await api.get("/v1/hq/after-sales", token=hq, params={"status": "cancelled"})).json()["items"]
    assert [x["id"] for x in listed] == [second["id"]]
    got = (await api.get(f"/v1/hq/orders/{no}", token=hq)).json()
    assert got["refunded_total"] == 0


async def test_bad_requests_change_nothing(api: Api, network: Network) -> None:
    r = await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="unpaid")
    unpaid = r.json()["order_no"]
    problem(await _ask(api, network, unpaid, "refund_only", [{"sku": "TEA-1", "qty": 1}]), 409, "invalid_state")
    paid = (await _paid(api, network, [{"sku": "TEA-1", "qty": 1}], "paid"))["order_no"]
    problem(await _ask(api, network, paid, "refund_only", [{"sku": "POT-1", "qty": 1}]), 422, "validation_failed")
    problem(await _ask(api, network, paid, "refund_only", [{"sku": "TEA-1", "qty": 2}]), 422, "validation_failed")
    problem(await _ask(api, network, paid, "swap", [{"sku": "TEA-1", "qty": 1}]), 422, "validation_failed")
    problem(await _ask(api, network, "NOPE", "refund_only", [{"sku": "TEA-1", "qty": 1}]), 404, "not_found")
    hq = network.tenant.hq_token
    problem(await _act(api, hq, 999999, "approve"), 404, "not_found")
    assert (await api.get("/v1/hq/after-sales", token=hq)).json()["items"] == []


async def test_stores_see_only_after_sales_of_their_fulfilments(api: Api, network: Network, other_tenant: Any) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 1}], "st")
    a = (await _ask(api, network, order["order_no"], "refund_only", [{"sku": "TEA-1", "qty": 1}])).json()
    nanshan = await staff_token(api, network.tenant, username="ns-as", role="store", store=network.store)
    futian = await staff_token(api, network.tenant, username="ft-as", role="store", store=network.other_store)
    assert [x["id"] for x in (await api.get("/v1/store/after-sales", token=nanshan)).json()["items"]] == [a["id"]]
    assert (await api.get("/v1/store/after-sales", token=futian)).json()["items"] == []
    problem(await _act(api, futian, a["id"], "approve", store=True), 404, "not_found")
    problem(await _act(api, other_tenant.hq_token, a["id"], "approve"), 404, "not_found")
    assert (await api.get("/v1/hq/after-sales", token=other_tenant.hq_token)).json()["items"] == []
    r = await _act(api, nanshan, a["id"], "approve", store=True)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refunded"


async def test_twenty_concurrent_requests_never_exceed_what_was_bought(
    api: Api, app: Litestar, network: Network
) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 3}], "cc")
    no = order["order_no"]
    results = await asyncio.gather(
        *(_ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 1}]) for _ in range(20))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201] * 3 + [422] * 17, codes
    asked = await rows(
        app,
        network.tenant_id,
        "SELECT sum(l.qty) AS n FROM after_sale_lines l WHERE l.tenant_id = :t",
    )
    assert asked[0].n == 3
    # Approving them all at once refunds each once: three units, never more.
    ids = [r.json()["id"] for r in results if r.status_code == 201]
    done = await asyncio.gather(*(_act(api, network.tenant.hq_token, i, "approve") for i in ids * 2))
    assert {r.status_code for r in done} == {200}
    got = (await api.get(f"/v1/hq/orders/{no}", token=network.tenant.hq_token)).json()
    assert got["refunded_total"] == order["total"]
    assert got["status"] == "refunded"
    assert await stock(app, network, network.store, "TEA-1") == (5, 0)


async def _refund(api: Api, net: Network, order_no: str, body: dict[str, Any], key: str) -> Any:
    return await api.post(
        f"/v1/hq/orders/{order_no}/refunds", token=net.tenant.hq_token, json=body, headers={"Idempotency-Key": key}
    )


async def test_a_direct_refund_takes_only_units_no_open_after_sale_holds(
    api: Api, app: Litestar, network: Network
) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 3}], "held")
    no, hq = order["order_no"], network.tenant.hq_token
    asked = (await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 2}])).json()

    body = problem(
        await _refund(api, network, no, {"lines": [{"sku": "TEA-1", "qty": 2}]}, "h1"), 409, "held_by_after_sale"
    )
    assert body["errors"] == [
        {"after_sale": asked["id"], "status": "requested", "kind": "refund_only", "sku": "TEA-1", "qty": 2}
    ]
    assert f"after-sale {asked['id']}" in body["detail"]
    problem(await _refund(api, network, no, {"all": True}, "h2"), 409, "held_by_after_sale")
    body = problem(
        await _refund(api, network, no, {"lines": [{"sku": "TEA-1", "qty": 4}]}, "h3"), 422, "validation_failed"
    )
    assert "only 1 left to refund (2 more held by open after-sales)" in body["detail"]
    got = (await api.get(f"/v1/hq/orders/{no}", token=hq)).json()
    assert got["refunded_total"] == 0
    assert await stock(app, network, network.store, "TEA-1") == (5, 3)

    # The unit nobody asked for may be refunded; the held ones stay for the after-sale's decision.
    r = await _refund(api, network, no, {"lines": [{"sku": "TEA-1", "qty": 1}]}, "h4")
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == 1290
    assert await stock(app, network, network.store, "TEA-1") == (5, 2)
    r = await _act(api, hq, asked["id"], "approve")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["refund_amount"]) == ("refunded", 2 * 1290)
    got = (await api.get(f"/v1/hq/orders/{no}", token=hq)).json()
    assert (got["status"], got["refunded_total"]) == ("refunded", order["total"])
    assert await stock(app, network, network.store, "TEA-1") == (5, 0)
    refunds = await rows(app, network.tenant_id, "SELECT amount FROM refunds WHERE tenant_id = :t ORDER BY id")
    assert sum(x.amount for x in refunds) == order["total"]


async def test_units_a_decided_after_sale_let_go_may_be_refunded_directly(api: Api, network: Network) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 2}], "freed")
    no, hq = order["order_no"], network.tenant.hq_token
    ret = (await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 2}])).json()
    problem(await _refund(api, network, no, {"all": True}, "f1"), 409, "held_by_after_sale")
    assert (await _act(api, hq, ret["id"], "reject")).json()["status"] == "rejected"
    r = await _refund(api, network, no, {"all": True}, "f2")
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == order["total"]


async def test_a_direct_refund_leaves_the_unshipped_units_an_open_refund_only_holds(
    api: Api, app: Litestar, network: Network
) -> None:
    """One unit shipped from the warehouse, one still at the store and asked back: a direct refund of one unit
    refunds the shipped one, so the store's unit is still there when the refund-only is approved."""
    hq = network.tenant.hq_token
    await set_policy(
        api,
        network.tenant,
        "routing",
        {"tier_order": ["store", "regional", "central"], "max_shipments": 2, "allow_line_split": True,
         "default_radius_km": 5},
    )  # fmt: skip
    items = [
        {"location": loc, "sku": "TEA-1", "on_hand": n} for loc, n in ((network.store, 1), ("WH-SZ", 1), ("WH-CN", 0))
    ]
    assert (await api.put("/v1/hq/stock", token=hq, json={"items": items})).status_code == 200
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 2}], "split")
    no = order["order_no"]
    by_location = {f["location"]: f for f in order["fulfilments"]}
    assert set(by_location) == {network.store, "WH-SZ"}, order["fulfilments"]
    r = await api.post(f"/v1/hq/fulfilments/{by_location['WH-SZ']['id']}/ship", token=hq)
    assert r.status_code == 200, r.text
    asked = (await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 1}])).json()

    r = await _refund(api, network, no, {"lines": [{"sku": "TEA-1", "qty": 1}]}, "s1")
    assert r.status_code == 201, r.text
    assert await stock(app, network, network.store, "TEA-1") == (1, 1)  # still held for the refund-only
    r = await _act(api, hq, asked["id"], "approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refunded"
    assert await stock(app, network, network.store, "TEA-1") == (1, 0)
    got = (await api.get(f"/v1/hq/orders/{no}", token=hq)).json()
    assert got["refunded_total"] == 2 * 1290


async def test_a_direct_refund_racing_an_approval_of_the_same_units_never_both_succeed(
    api: Api, app: Litestar, network: Network
) -> None:
    hq = network.tenant.hq_token
    cases = []
    for i in range(6):
        order = await _paid(api, network, [{"sku": "TEA-1", "qty": 1}], f"race-{i}")
        asked = (await _ask(api, network, order["order_no"], "refund_only", [{"sku": "TEA-1", "qty": 1}])).json()
        cases.append((order, asked))
    body = {"lines": [{"sku": "TEA-1", "qty": 1}]}
    results = await asyncio.gather(
        *(
            call
            for i, (order, asked) in enumerate(cases)
            for call in (
                _refund(api, network, order["order_no"], body if i % 2 else {"all": True}, f"race-r{i}"),
                _act(api, hq, asked["id"], "approve"),
            )
        )
    )
    for i, (order, _) in enumerate(cases):
        direct, approval = results[2 * i], results[2 * i + 1]
        assert approval.status_code == 200, approval.text
        assert approval.json()["status"] == "refunded"
        # Refused as held (it came first) or, second, as the order is refunded whole.
        assert (direct.status_code, direct.json()["code"]) in {(409, "held_by_after_sale"), (409, "invalid_state")}
        got = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=hq)).json()
        assert got["refunded_total"] == order["total"]
    refunds = await rows(app, network.tenant_id, "SELECT count(*) AS n FROM refunds WHERE tenant_id = :t")
    assert refunds[0].n == len(cases)


async def test_cancelling_a_paid_order_withdraws_its_requests_and_refunds_once(api: Api, network: Network) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 2}], "cx")
    no, hq = order["order_no"], network.tenant.hq_token
    asked = (await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 1}])).json()
    r = await api.post(f"/v1/shop/{network.tenant.slug}/orders/{no}/cancel", token=network.consumer_token)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    listed = await api.get(f"/v1/shop/{network.tenant.slug}/orders/{no}/after-sales", token=network.consumer_token)
    assert [(x["id"], x["status"]) for x in listed.json()["items"]] == [(asked["id"], "cancelled")]
    problem(await _act(api, hq, asked["id"], "approve"), 409, "invalid_state")
    got = (await api.get(f"/v1/hq/orders/{no}", token=hq)).json()
    assert got["refunded_total"] == order["total"]


async def test_asking_again_with_the_same_key_replays_the_first_answer(
    api: Api, app: Litestar, network: Network
) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 3}], "idem")
    no = order["order_no"]
    lines = [{"sku": "TEA-1", "qty": 1}]
    first = await _ask(api, network, no, "refund_only", lines, key="ask-1")
    again = await _ask(api, network, no, "refund_only", lines, key="ask-1")
    assert first.status_code == again.status_code == 201, again.text
    assert first.content == again.content
    assert again.headers.get("idempotent-replayed") == "true"
    assert first.headers.get("idempotent-replayed") is None
    # Another body under the same key is refused, as for orders; nothing is asked for.
    problem(await _ask(api, network, no, "refund_only", [{"sku": "TEA-1", "qty": 2}], key="ask-1"), 422,
            "idempotency_conflict")  # fmt: skip
    problem(
        await _ask(api, network, no, "refund_only", lines, key="ask-1", reason="other"), 422, "idempotency_conflict"
    )
    asked = await rows(app, network.tenant_id, "SELECT count(*) AS n FROM after_sales WHERE tenant_id = :t")
    assert asked[0].n == 1
    # The key is the caller's for this order: a new key asks again, another consumer's key is theirs alone.
    second = await _ask(api, network, no, "refund_only", lines, key="ask-2")
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    other = await _paid(api, network, [{"sku": "TEA-1", "qty": 1}], "idem-2")
    elsewhere = await _ask(api, network, other["order_no"], "refund_only", lines, key="ask-1")
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["order_no"] == other["order_no"]
    someone, _ = await consumer(api, network.tenant, "idem-other")
    problem(await _ask(api, network, no, "refund_only", lines, key="ask-1", token=someone), 404, "not_found")


async def test_asking_without_a_key_asks_each_time(api: Api, app: Litestar, network: Network) -> None:
    """Clients built before the header keep working: without a key every request is a new ask."""
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 2}], "nokey")
    url = f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}/after-sales"
    body = {"kind": "refund_only", "lines": [{"sku": "TEA-1", "qty": 1}], "reason": "no key"}
    first = await api.post(url, token=network.consumer_token, json=body)
    second = await api.post(url, token=network.consumer_token, json=body)
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["id"] != second.json()["id"]
    assert "idempotent-replayed" not in second.headers
    # Both units are now held: a third ask is refused and changes nothing.
    problem(await api.post(url, token=network.consumer_token, json=body), 422, "validation_failed")
    asked = await rows(app, network.tenant_id, "SELECT count(*) AS n FROM after_sales WHERE tenant_id = :t")
    assert asked[0].n == 2
    # The document offers the header (required for placing an order, optional here).
    doc = (await api.get("/schema/openapi.json")).json()
    for path, required in (
        ("/v1/shop/{tenant}/orders", True),
        ("/v1/shop/{tenant}/orders/{order_no}/after-sales", False),
    ):
        params = doc["paths"][path]["post"]["parameters"]
        header = [p for p in params if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert len(header) == 1, (path, header)
        assert bool(header[0].get("required")) is required, (path, header)


async def test_parallel_asks_with_one_key_ask_once(api: Api, app: Litestar, network: Network) -> None:
    order = await _paid(api, network, [{"sku": "TEA-1", "qty": 3}], "idem-par")
    lines = [{"sku": "TEA-1", "qty": 1}]
    results = await asyncio.gather(
        *(_ask(api, network, order["order_no"], "refund_only", lines, key="par") for _ in range(10))
    )
    assert {r.status_code for r in results} <= {201, 409}
    created = [r for r in results if r.status_code == 201]
    assert len({r.content for r in created}) == 1
    assert all(r.json()["code"] == "idempotency_conflict" for r in results if r.status_code == 409)
    asked = await rows(app, network.tenant_id, "SELECT count(*) AS n FROM after_sales WHERE tenant_id = :t")
    assert asked[0].n == 1
