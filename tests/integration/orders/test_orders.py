"""Placing, paying and fulfilling orders through the API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from litestar import Litestar
from sqlalchemy import event, text

from cloudstore.inventory import reservations
from cloudstore.lib import db as db_module
from cloudstore.lib.db import GENERIC_PLANS, set_tenant
from cloudstore.lib.idempotency import IdempotencyTicket, Reply
from cloudstore.orders import placing
from tests.integration.network import (
    FAR_SHENZHEN_ADDRESS,
    Network,
    pay,
    place,
    signed_notification,
    stock,
)
from tests.support import Api, consumer, on_citus, problem

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.db import Part


async def test_store_covers_everything_in_one_shipment(api: Api, app: Litestar, network: Network) -> None:
    r = await place(api, network, [{"sku": "TEA-1", "qty": 2}, {"sku": "TEA-2", "qty": 1}], key="k1")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "pending_payment"
    assert body["total"] == 2 * 1290 + 2590
    assert [(f["location"], f["kind"]) for f in body["fulfilments"]] == [("SZ-NS-01", "delivery")]
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 2)


async def test_far_address_ships_from_regional_warehouse(api: Api, app: Litestar, network: Network) -> None:
    r = await place(api, network, [{"sku": "POT-1", "qty": 1}], key="k2", delivery=FAR_SHENZHEN_ADDRESS)
    assert r.status_code == 201, r.text
    assert [f["location"] for f in r.json()["fulfilments"]] == ["WH-SZ"]
    order_no = r.json()["order_no"]
    hq = await api.get(f"/v1/hq/orders/{order_no}", token=network.tenant.hq_token)
    trace = {t["location"]: t for t in hq.json()["routing_trace"]}
    assert trace["SZ-NS-01"]["decision"] == "passed"
    assert "radius" in trace["SZ-NS-01"]["reason"]
    assert trace["WH-SZ"]["decision"] == "chosen"
    assert trace["WH-GZ"]["decision"] == "passed"


async def test_short_stock_is_409_and_reserves_nothing(api: Api, app: Litestar, network: Network) -> None:
    r = await place(api, network, [{"sku": "TEA-1", "qty": 1}, {"sku": "GIFT-1", "qty": 4}], key="k3")
    body = problem(r, 409, "insufficient_stock")
    assert [s["sku"] for s in body["short"]] == ["GIFT-1"]
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 0)
    assert await stock(app, network, "WH-CN", "GIFT-1") == (3, 0)


async def test_same_sku_on_two_lines_is_checked_against_the_sum(api: Api, app: Litestar, network: Network) -> None:
    # 3 + 1 = 4 GIFT-1 but the most any location has is 3 (central; Guangzhou does not serve Shenzhen).
    r = await place(api, network, [{"sku": "GIFT-1", "qty": 3}, {"sku": "GIFT-1", "qty": 1}], key="k4")
    problem(r, 409, "insufficient_stock")
    r = await place(api, network, [{"sku": "GIFT-1", "qty": 2}, {"sku": "GIFT-1", "qty": 1}], key="k5")
    assert r.status_code == 201, r.text
    assert await stock(app, network, "WH-CN", "GIFT-1") == (3, 3)


async def test_validation_errors(api: Api, network: Network) -> None:
    problem(await place(api, network, [], key="v1"), 422, "validation_failed")
    problem(await place(api, network, [{"sku": "TEA-1", "qty": 0}], key="v2"), 422, "validation_failed")
    problem(await place(api, network, [{"sku": "NOPE", "qty": 1}], key="v3"), 422, "validation_failed")
    problem(await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="v4", store="NO-STORE"), 404, "not_found")
    problem(await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="v5", store=None), 422, "validation_failed")
    r = await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="v6", delivery={"mode": "delivery"})
    problem(r, 422, "validation_failed")
    r = await api.post(
        f"/v1/shop/{network.tenant.slug}/orders",
        token=network.consumer_token,
        json={"lines": [{"sku": "TEA-1", "qty": 1}], "delivery": {"mode": "pickup"}, "store": "SZ-NS-01"},
    )
    problem(r, 400, "idempotency_key_required")


async def test_idempotent_replay_and_conflict(api: Api, app: Litestar, network: Network) -> None:
    lines = [{"sku": "TEA-1", "qty": 1}]
    first = await place(api, network, lines, key="same")
    again = await place(api, network, lines, key="same")
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again.headers.get("idempotent-replayed") == "true"
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 1)
    problem(await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="same"), 422, "idempotency_conflict")


async def test_a_key_answered_before_is_replayed_even_while_its_cart_is_known_short(
    api: Api, app: Litestar, network: Network
) -> None:
    # All 3 GIFT-1 (only the central warehouse has any) taken under one key, then the same cart refused as short
    # (and remembered so for a moment).
    lines = [{"sku": "GIFT-1", "qty": 3}]
    first = await place(api, network, lines, key="all-of-it")
    assert first.status_code == 201, first.text
    problem(await place(api, network, lines, key="too-late"), 409, "insufficient_stock")
    again = await place(api, network, lines, key="all-of-it")
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers.get("idempotent-replayed") == "true"
    # The refused key stored nothing: asked again it is refused again, not replayed.
    late = await place(api, network, lines, key="too-late")
    problem(late, 409, "insufficient_stock")
    assert late.headers.get("idempotent-replayed") is None
    assert await stock(app, network, "WH-CN", "GIFT-1") == (3, 3)


async def test_pay_fulfil_complete(api: Api, app: Litestar, network: Network) -> None:
    r = await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="p1")
    order = r.json()
    await pay(api, network, order["order_no"], order["total"])
    got = (
        await api.get(f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}", token=network.consumer_token)
    ).json()
    assert got["status"] == "paid"
    fid = order["fulfilments"][0]["id"]
    hq = network.tenant.hq_token
    problem(await api.post(f"/v1/hq/fulfilments/{fid}/deliver", token=hq), 409, "invalid_state")
    r = await api.post(f"/v1/hq/fulfilments/{fid}/ship", token=hq)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "shipped"
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (3, 0)
    r = await api.post(f"/v1/hq/fulfilments/{fid}/deliver", token=hq)
    assert r.json()["status"] == "delivered"
    got = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=hq)).json()
    assert got["status"] == "completed"
    problem(await api.post(f"/v1/hq/fulfilments/{fid}/explode", token=hq), 422, "validation_failed")


async def test_notifications_repeat_mismatch_and_forgery(api: Api, network: Network) -> None:
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="n1")).json()
    r = await api.post(
        f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}/pay",
        token=network.consumer_token,
        json={"provider": "local"},
        headers={"Idempotency-Key": "pay-n1"},
    )
    payment_id = r.json()["payment_id"]
    body, headers = signed_notification(payment_id, order["order_no"], order["total"] + 1)
    problem(await api.post("/v1/payments/local/notify", content=body, headers=headers), 409, "amount_mismatch")
    body, headers = signed_notification(payment_id, order["order_no"], order["total"])
    forged = {**headers, "X-Local-Signature": "0" * 64}
    problem(await api.post("/v1/payments/local/notify", content=body, headers=forged), 401, "invalid_signature")
    st = (
        await api.get(f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}", token=network.consumer_token)
    ).json()
    assert st["status"] == "pending_payment"
    first = await api.post("/v1/payments/local/notify", content=body, headers=headers)
    second = await api.post("/v1/payments/local/notify", content=body, headers=headers)
    assert first.json()["message"] == "paid"
    assert second.status_code == 200
    assert second.json()["message"] == "duplicate"


async def test_other_consumers_and_tenants_see_not_found(api: Api, network: Network, other_tenant) -> None:  # type: ignore[no-untyped-def]
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="o1")).json()
    token, _ = await consumer(api, network.tenant, "someone-else")
    problem(await api.get(f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}", token=token), 404, "not_found")
    problem(await api.get(f"/v1/hq/orders/{order['order_no']}", token=other_tenant.hq_token), 404, "not_found")
    mine = (await api.get(f"/v1/shop/{network.tenant.slug}/orders", token=token)).json()
    assert mine["items"] == []


async def test_a_response_stored_under_the_key_after_the_claim_rolls_the_order_back(
    api: Api, app: Litestar, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another request under the same key commits its response in the instant between this one's claim and its
    # write: the order's statement stores nothing, so the order rolls back whole and the client is told to retry,
    # and the retry replays the response that committed.
    claimed: list[IdempotencyTicket] = []
    settle, record = Reply.settle, placing.record

    def settle_and_note(self: Reply, row: Any) -> None:
        settle(self, row)
        claimed.append(self.ticket)

    async def commit_the_other_first(session: AsyncSession, tenant_id: int, *args: Any, **kwargs: Any) -> Any:
        (ticket,) = claimed
        async with app.state.db.sessions() as other, other.begin():
            await set_tenant(other, tenant_id)
            await other.execute(
                text(
                    "INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, status_code, body) "
                    "VALUES (:t, :s, :k, :h, 201, :b)"
                ),
                {"t": tenant_id, "s": ticket.scope, "k": ticket.key, "h": ticket.request_hash, "b": b'{"other":1}'},
            )
        return await record(session, tenant_id, *args, **kwargs)

    monkeypatch.setattr(Reply, "settle", settle_and_note)
    monkeypatch.setattr(placing, "record", commit_the_other_first)
    lines = [{"sku": "TEA-1", "qty": 2}]
    problem(await place(api, network, lines, key="raced"), 409, "idempotency_conflict")
    monkeypatch.undo()
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 0)
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, network.tenant_id)
        placed = await s.scalar(text("SELECT count(*) FROM orders WHERE consumer_id = :c"), {"c": network.consumer_id})
    assert placed == 0
    again = await place(api, network, lines, key="raced")
    assert (again.status_code, again.content) == (201, b'{"other":1}')
    assert again.headers.get("idempotent-replayed") == "true"


async def test_an_order_that_loses_the_race_for_its_stock_claims_its_key_again_and_is_placed(
    api: Api, app: Litestar, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first attempt to reserve finds the stock gone (as when another order took it since the snapshot): the
    # journey rolls back to its savepoint, and when that savepoint came before the snapshot (in the transaction's
    # first round trip) it claims the idempotency key again before planning on locked rows.
    reserve, reserve_part, attempts = reservations.reserve_if_available, reservations.reserve_part, []
    statements: list[str] = []

    async def lose_first(session: AsyncSession, tenant_id: int, takes: Any) -> bool:  # Citus: its own statement
        attempts.append(takes)
        return False if len(attempts) == 1 else await reserve(session, tenant_id, takes)

    def lose_first_part(tenant_id: int, takes: Any) -> Part:  # one server: a part of the order's statement
        attempts.append(takes)
        if len(attempts) == 1:  # asks for more than there is, as if another order had taken it
            takes = [reservations.Take(t.location_id, t.sku_id, t.qty + 1000) for t in takes]
        return reserve_part(tenant_id, takes)

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    monkeypatch.setattr(reservations, "reserve_if_available", lose_first)
    monkeypatch.setattr(reservations, "reserve_part", lose_first_part)
    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        first = await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="lost-once")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert first.status_code == 201, first.text
    assert len(attempts) == 1  # the second reservation is on locked rows (reserve, not reserve_if_available)
    citus = await on_citus(app)
    rolled_back = next(i for i, sql in enumerate(statements) if sql.startswith("ROLLBACK TO SAVEPOINT"))
    claims = [i for i, sql in enumerate(statements) if "pg_try_advisory_xact_lock" in sql]
    assert claims[0] < rolled_back
    assert [i for i in claims if i > rolled_back] == ([] if citus else [rolled_back + 1]), statements
    # on one server the attempt that lost was the order's own statement, and the order is written once after it
    orders_written = [i for i, sql in enumerate(statements) if "INSERT INTO orders" in sql]
    assert orders_written == ([rolled_back + 3] if citus else [rolled_back - 1, rolled_back + 4]), statements
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 2)
    again = await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="lost-once")
    assert (again.status_code, again.content) == (201, first.content)
    assert await stock(app, network, "SZ-NS-01", "TEA-1") == (5, 2)


async def test_placing_and_quoting_ask_for_generic_plans_and_listing_does_not(
    api: Api, app: Litestar, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Listing filters by optional parameters (``:c IS NULL OR …``), which only a custom plan folds away.
    # Not on Citus (which replays the scope on its workers), and generic plans only where statements stay
    # prepared (not behind a transaction-mode pooler).
    citus = await on_citus(app)
    generic = not citus and db_module.prepared_statements_default()
    sent: list[str] = []
    send = db_module._send_scope

    async def note(adapted: Any, sql: str, *, fuse: bool) -> None:
        sent.append(sql)
        await send(adapted, sql, fuse=fuse)

    monkeypatch.setattr(db_module, "_send_scope", note)
    assert (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="plans")).status_code == 201
    placing, sent[:] = list(sent), []
    quoted = await api.post(
        f"/v1/shop/{network.tenant.slug}/quote",
        token=network.consumer_token,
        json={"lines": [{"sku": "TEA-1", "qty": 1}], "delivery": {"mode": "pickup"}, "store": "SZ-NS-01"},
    )
    assert quoted.status_code == 200, quoted.text
    quoting, sent[:] = list(sent), []
    listed = await api.get(f"/v1/shop/{network.tenant.slug}/orders", token=network.consumer_token)
    assert listed.status_code == 200, listed.text
    if generic:
        assert any(GENERIC_PLANS in sql and "SAVEPOINT" in sql for sql in placing), placing
        assert any(GENERIC_PLANS in sql for sql in quoting), quoting
    else:
        assert not any(GENERIC_PLANS in sql for sql in placing + quoting), (placing, quoting)
        assert any("SAVEPOINT" in sql for sql in placing) != citus, placing
    assert not any("SAVEPOINT" in sql for sql in quoting), quoting  # a quote writes nothing to roll back
    assert sent
    assert not any(GENERIC_PLANS in sql or "SAVEPOINT" in sql for sql in sent), sent
