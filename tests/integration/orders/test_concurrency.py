"""Orders under concurrency against a real PostgreSQL: nothing oversold, nothing lost, one outcome."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudstore.checkout.place import place_order
from cloudstore.lib.db import set_tenant
from cloudstore.lib.jobs import Worker
from cloudstore.orders.schemas import OrderCreate
from tests.integration.network import (
    NANSHAN_ADDRESS,
    Network,
    place,
    seed,
    signed_notification,
)
from tests.support import Api, TenantHandle, consumer, on_citus

pytestmark = pytest.mark.slow


async def _totals(app: Litestar, tenant_id: int, sku: str) -> tuple[int, int, int]:
    """(on_hand, reserved, units in live orders) for one SKU across locations."""
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tenant_id)
        on_hand, reserved = (
            await s.execute(
                text(
                    "SELECT sum(on_hand), sum(reserved) FROM stock_levels sl JOIN skus k "
                    "ON k.tenant_id = sl.tenant_id AND k.id = sl.sku_id WHERE k.code = :k"
                ),
                {"k": sku},
            )
        ).one()
        ordered = (
            await s.execute(
                text(
                    "SELECT COALESCE(sum(l.qty), 0) FROM order_lines l JOIN orders o "
                    "ON o.tenant_id = l.tenant_id AND o.id = l.order_id "
                    "WHERE l.sku_code = :k AND o.status NOT IN ('cancelled', 'expired')"
                ),
                {"k": sku},
            )
        ).scalar_one()
    return int(on_hand), int(reserved), int(ordered)


async def test_200_concurrent_orders_sell_exactly_what_exists(api: Api, app: Litestar, tenant: TenantHandle) -> None:
    # 7 + 5 + 8 = 20 units of POT-1 spread over the store, the Shenzhen warehouse and the central one.
    tid = await seed(app, tenant.slug, {"SZ-NS-01": {"POT-1": 7}, "WH-SZ": {"POT-1": 5}, "WH-CN": {"POT-1": 8}})
    token, cid = await consumer(api, tenant, "crowd")
    net = Network(tenant=tenant, tenant_id=tid, consumer_token=token, consumer_id=cid)
    results = await asyncio.gather(
        *(place(api, net, [{"sku": "POT-1", "qty": 1}], key=f"crowd-{i}") for i in range(200))
    )
    statuses = [r.status_code for r in results]
    assert statuses.count(201) == 20
    assert statuses.count(409) == 180
    assert all(r.json()["code"] == "insufficient_stock" for r in results if r.status_code == 409)
    assert await _totals(app, tid, "POT-1") == (20, 20, 20)


async def test_concurrent_cancel_expire_and_pay_leave_one_outcome(
    api: Api, app: Litestar, network: Network, worker: Worker
) -> None:
    for attempt in range(5):
        order = (await place(api, network, [{"sku": "TEA-1", "qty": 2}], key=f"race-{attempt}")).json()
        no = order["order_no"]
        r = await api.post(
            f"/v1/shop/{network.tenant.slug}/orders/{no}/pay",
            token=network.consumer_token,
            json={"provider": "local"},
            headers={"Idempotency-Key": f"race-pay-{attempt}"},
        )
        body, headers = signed_notification(r.json()["payment_id"], no, order["total"])
        async with app.state.db.sessions() as s, s.begin():
            await set_tenant(s, network.tenant_id)
            await s.execute(text("UPDATE jobs SET run_at = now() WHERE kind = 'orders.expire' AND status = 'queued'"))
        outcomes = await asyncio.gather(
            api.post(f"/v1/shop/{network.tenant.slug}/orders/{no}/cancel", token=network.consumer_token),
            api.post("/v1/payments/local/notify", content=body, headers=headers),
            api.post("/v1/payments/local/notify", content=body, headers=headers),
            worker.run_pending(),
        )
        assert all(getattr(o, "status_code", 200) < 500 for o in outcomes)
        await worker.run_pending()  # an orphan payment's refund job, if any
        got = (await api.get(f"/v1/hq/orders/{no}", token=network.tenant.hq_token)).json()
        _, reserved, _ = await _totals(app, network.tenant_id, "TEA-1")
        if got["status"] == "paid":
            assert reserved == 2  # still held for the paid order
        else:
            assert got["status"] in ("cancelled", "expired", "refunded")
            assert reserved == 0
        # Whatever happened, money and order agree: paid orders hold stock, closed orders hold none.
        async with app.state.db.sessions() as s, s.begin():
            await set_tenant(s, network.tenant_id)
            pay_status = (await s.execute(text("SELECT status FROM payments ORDER BY id DESC LIMIT 1"))).scalar_one()
            refunds = (await s.execute(text("SELECT count(*) FROM refunds WHERE status = 'succeeded'"))).scalar_one()
        if got["status"] != "paid" and pay_status == "succeeded":
            assert refunds >= 1  # money that arrived for a closed order went back
        if got["status"] == "paid":
            cancel = outcomes[0]
            assert cancel.status_code in (200, 409)
            await api.post(f"/v1/shop/{network.tenant.slug}/orders/{no}/cancel", token=network.consumer_token)


async def test_ten_identical_notifications_at_once_pay_once(api: Api, app: Litestar, network: Network) -> None:
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="ten")).json()
    r = await api.post(
        f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}/pay",
        token=network.consumer_token,
        json={"provider": "local"},
        headers={"Idempotency-Key": "ten-pay"},
    )
    body, headers = signed_notification(r.json()["payment_id"], order["order_no"], order["total"])
    results = await asyncio.gather(
        *(api.post("/v1/payments/local/notify", content=body, headers=headers) for _ in range(10))
    )
    assert [x.status_code for x in results] == [200] * 10
    assert sorted(x.json()["message"] for x in results) == ["duplicate"] * 9 + ["paid"]
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, network.tenant_id)
        events = (await s.execute(text("SELECT event_key, kind FROM payment_events"))).all()
        assert len(events) == 1, events


async def test_fifty_parallel_identical_orders_have_one_effect(api: Api, app: Litestar, network: Network) -> None:
    lines = [{"sku": "TEA-1", "qty": 1}]
    results = await asyncio.gather(*(place(api, network, lines, key="fifty") for _ in range(50)))
    codes = [r.status_code for r in results]
    assert set(codes) <= {201, 409}
    created = [r for r in results if r.status_code == 201]
    assert len({r.content for r in created}) == 1  # replays are byte for byte the first response
    assert all(r.json()["code"] == "idempotency_conflict" for r in results if r.status_code == 409)
    _, reserved, ordered = await _totals(app, network.tenant_id, "TEA-1")
    assert (reserved, ordered) == (1, 1)
    again = await place(api, network, lines, key="fifty")
    assert again.status_code == 201
    assert again.content == created[0].content


async def test_killed_connection_mid_order_leaves_nothing(
    app: Litestar, network: Network, owner_engine: AsyncEngine
) -> None:
    import msgspec

    data = msgspec.convert(
        {"lines": [{"sku": "TEA-1", "qty": 3}], "delivery": NANSHAN_ADDRESS, "store": "SZ-NS-01"}, OrderCreate
    )
    async with app.state.db.sessions() as s:
        await set_tenant(s, network.tenant_id)
        await place_order(s, network.tenant_id, network.consumer_id, data)
        pid = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with owner_engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(CAST(:p AS int))"), {"p": pid})
        with pytest.raises(Exception):  # noqa: B017, PT011 - the driver reports the dead connection its own way
            await s.commit()
    on_hand, reserved, ordered = await _totals(app, network.tenant_id, "TEA-1")
    assert (reserved, ordered) == (0, 0)
    assert on_hand == 5 + 3 + 50 + 100


async def test_placing_an_order_takes_few_distinct_statements(app: Litestar, api: Api, network: Network) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        # 3 lines from 2 locations: TEA-1 and TEA-2 from the Nanshan store, GIFT-1 only from the central warehouse.
        r = await place(
            api,
            network,
            [{"sku": "TEA-1", "qty": 1}, {"sku": "TEA-2", "qty": 1}, {"sku": "GIFT-1", "qty": 1}],
            key="count-me",
            delivery={**NANSHAN_ADDRESS},
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 201, r.text
    assert len(r.json()["fulfilments"]) == 2, r.json()
    citus = await on_citus(app)
    # the snapshot with the idempotency claim, then the reservation with the order's rows, its expiry job, webhook
    # outbox and stored response (one statement); the savepoint rides in the transaction's first round trip.
    # On Citus the savepoint and the reservation have statements of their own.
    assert len(statements) <= (4 if citus else 2), statements
    assert len(set(statements)) == len(statements), "a statement was repeated"
