"""Codes under contention: simultaneous first scans reward once; racing shipments of a case assign it once.
And what a scan costs, counted at the driver."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event

from tests.integration.codes.helpers import make_batch, rows, scan, ship
from tests.support import consumer

if TYPE_CHECKING:
    from litestar import Litestar

    from tests.integration.network import Network
    from tests.support import Api

pytestmark = pytest.mark.slow


async def test_fifty_simultaneous_first_scans_give_one_reward(app: Litestar, api: Api, network: Network) -> None:
    r = await api.post(
        "/v1/hq/coupons",
        token=network.tenant.hq_token,
        json={"code": "FIRST", "name": "首扫礼", "kind": "amount_off", "value": 300, "total": None, "per_consumer": 5},
    )
    assert r.status_code == 201, r.text
    r = await api.put(
        "/v1/hq/policies/codes",
        token=network.tenant.hq_token,
        json={"bind_on_scan": True, "reward": {"kind": "coupon", "coupon": "FIRST"}},
    )
    batch = await make_batch(app, api, network, 1)
    assert (await ship(api, network, batch.units, store=network.store)).status_code == 201
    tokens = [(await consumer(api, network.tenant, f"crowd-{i}"))[0] for i in range(50)]
    results = await asyncio.gather(*(scan(api, network, t, batch.units[0]) for t in tokens))
    assert [r.status_code for r in results] == [200] * 50
    bodies = [r.json() for r in results]
    assert sum(1 for b in bodies if b.get("reward")) == 1
    assert sum(1 for b in bodies if b["first_scan"]) == 1
    assert sorted(b["scans"] for b in bodies) == list(range(1, 51))
    given = await rows(
        app,
        network.tenant_id,
        "SELECT count(*) AS n FROM consumer_coupons cc JOIN coupons c ON c.tenant_id = cc.tenant_id "
        "AND c.id = cc.coupon_id WHERE cc.tenant_id = :t AND c.code = 'FIRST'",
    )
    assert given[0].n == 1
    [unit] = await rows(
        app, network.tenant_id, "SELECT scans, scanners FROM codes WHERE tenant_id = :t AND level = 'unit'"
    )
    assert (unit.scans, unit.scanners) == (50, 50)


async def test_two_shipments_of_one_case_racing_assign_it_once(app: Litestar, api: Api, network: Network) -> None:
    batch = await make_batch(app, api, network, 12, 12)
    [case] = batch.cases
    for _ in range(3):
        shipped = await rows(
            app, network.tenant_id, "SELECT count(*) AS n FROM codes WHERE tenant_id = :t AND shipment_id IS NOT NULL"
        )
        if shipped[0].n:
            break
        results = await asyncio.gather(
            ship(api, network, [case], store=network.store), ship(api, network, [case], distributor="D-SZ")
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [201, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409)
        assert case in loser.json()["detail"]
        winner = next(r for r in results if r.status_code == 201).json()
        assigned = await rows(
            app,
            network.tenant_id,
            "SELECT DISTINCT s.shipment_no, c.store_id IS NOT NULL AS to_store FROM codes c "
            "JOIN code_shipments s ON s.tenant_id = c.tenant_id AND s.id = c.shipment_id WHERE c.tenant_id = :t",
        )
        assert [a.shipment_no for a in assigned] == [winner["shipment_no"]]
        assert assigned[0].to_store == (winner["store"] is not None)
        count = await rows(app, network.tenant_id, "SELECT count(*) AS n FROM code_shipments WHERE tenant_id = :t")
        assert count[0].n == 1


async def test_a_scan_takes_at_most_four_statements(app: Litestar, api: Api, network: Network) -> None:
    r = await api.post(
        "/v1/hq/coupons",
        token=network.tenant.hq_token,
        json={"code": "GIFT", "name": "礼", "kind": "amount_off", "value": 100, "total": 10, "per_consumer": 1},
    )
    await api.put(
        "/v1/hq/policies/codes",
        token=network.tenant.hq_token,
        json={"bind_on_scan": True, "reward": {"kind": "coupon", "coupon": "GIFT"}},
    )
    batch = await make_batch(app, api, network, 2)
    await ship(api, network, batch.units, store=network.store)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.db.engine.sync_engine
    await scan(api, network, network.consumer_token, batch.units[1])  # the tenant's id is cached from here on
    event.listen(engine, "before_cursor_execute", count)
    try:
        r = await scan(api, network, network.consumer_token, batch.units[0], region="440305")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r.json()["reward"] is not None  # the longest path: first scan, touch, binding, reward
    work = [s for s in statements if "SET LOCAL" not in s]
    assert len(work) <= 4, "\n---\n".join(work)
    assert len(statements) - len(work) <= 2, statements  # the transaction's scope: role, then tenant
