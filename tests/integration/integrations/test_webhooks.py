"""Outgoing webhooks against a real local receiver: signatures, retries, 410, rollbacks, address checks."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from sqlalchemy import event, text
from standardwebhooks import Webhook, WebhookVerificationError

from cloudstore.integrations.delivery import DELIVER_JOB, RETRY_SCHEDULE, WebhookSender, deliver, record_event
from cloudstore.lib.db import set_tenant
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.jobs import Worker
from tests.integration.integrations.helpers import add_endpoint, deliveries, due_now, paid_order, rows
from tests.integration.integrations.receiver import receiver
from tests.integration.network import pay, place
from tests.support import problem

EXAMPLE_RECEIVER = Path(__file__).resolve().parents[3] / "scripts" / "webhook_receiver.py"

if TYPE_CHECKING:
    from litestar import Litestar

    from tests.integration.network import Network
    from tests.support import Api


async def test_a_paid_order_is_delivered_signed_per_standard_webhooks(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url)
        assert endpoint["secret"].startswith("whsec_")
        order_no = await paid_order(api, network, "wh-signed")
        await worker.run_pending()

        assert len(wms.received) == 1
        got = wms.received[0]
        payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
        assert payload["type"] == "order.paid"
        assert payload["data"]["order_no"] == order_no
        assert datetime.fromisoformat(payload["timestamp"]).tzinfo is not None
        assert got.path == "/hooks/cloudstore"
        assert got.headers["webhook-id"].startswith("msg_")
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 32).verify(got.body, got.headers)

    [d] = await deliveries(api, network, endpoint["id"])
    assert (d["event"], d["status"], d["attempts"], d["last_status"], d["next_attempt_at"]) == (
        "order.paid",
        "succeeded",
        1,
        200,
        None,
    )


async def test_the_secret_is_shown_once(api: Api, network: Network) -> None:
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url, ["order.paid", "refund.succeeded"])
    r = await api.get("/v1/hq/webhooks", token=network.tenant.hq_token)
    assert r.status_code == 200
    [listed] = r.json()["items"]
    assert listed["id"] == endpoint["id"]
    assert listed["events"] == ["order.paid", "refund.succeeded"]
    assert "secret" not in listed
    assert endpoint["secret"] not in r.text


async def test_a_receiver_failing_twice_gets_one_success_after_three_logged_attempts(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    with receiver() as wms:
        wms.script = [500, 503]
        endpoint = await add_endpoint(api, network, wms.url)
        await paid_order(api, network, "wh-retry")
        await worker.run_pending()
        [d] = await deliveries(api, network, endpoint["id"])
        assert (d["status"], d["attempts"], d["last_status"]) == ("pending", 1, 500)
        due = datetime.fromisoformat(d["next_attempt_at"]) - datetime.now(UTC)
        assert RETRY_SCHEDULE[0].total_seconds() - 2 < due.total_seconds() <= RETRY_SCHEDULE[0].total_seconds()
        # Not due yet: nothing is sent again until the delay has passed.
        await worker.run_pending()
        assert len(wms.received) == 1

        for _ in range(2):
            assert await due_now(app, network.tenant_id) == 1
            await worker.run_pending()

        assert [r.answered for r in wms.received] == [500, 503, 200]
        assert len({r.headers["webhook-id"] for r in wms.received}) == 1  # the same message each time
        assert await due_now(app, network.tenant_id) == 0  # nothing more queued
    [d] = await deliveries(api, network, endpoint["id"])
    assert (d["status"], d["attempts"], d["last_status"]) == ("succeeded", 3, 200)
    attempts = await rows(
        app,
        network.tenant_id,
        "SELECT attempt, status_code FROM webhook_attempts WHERE tenant_id = :t AND delivery_id = :d ORDER BY attempt",
        d=d["id"],
    )
    assert [tuple(a) for a in attempts] == [(1, 500), (2, 503), (3, 200)]


def test_retries_go_on_for_more_than_a_day_with_growing_delays() -> None:
    delays = [d.total_seconds() for d in RETRY_SCHEDULE]
    assert delays == sorted(delays)
    assert sum(delays) > 24 * 3600


async def test_a_rolled_back_transaction_sends_nothing(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url)
        async with app.state.db.sessions() as s:
            await s.begin()
            await set_tenant(s, network.tenant_id)
            await record_event(s, network.tenant_id, "order.paid", {"order_no": "X"}, datetime.now(UTC), key="rb")
            await s.rollback()
        # A payment that fails (the amount does not match) rolls back too.
        r = await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="wh-rollback")
        order_no = r.json()["order_no"]
        with pytest.raises(AssertionError):
            await pay(api, network, order_no, r.json()["total"] + 1)
        await worker.run_pending()
        assert wms.received == []
    assert await deliveries(api, network, endpoint["id"]) == []
    assert (
        await rows(app, network.tenant_id, "SELECT 1 FROM jobs WHERE tenant_id = :t AND kind = :k", k=DELIVER_JOB) == []
    )


async def test_410_disables_the_endpoint(app: Litestar, api: Api, network: Network, worker: Worker) -> None:
    with receiver() as wms:
        wms.script = [410]
        endpoint = await add_endpoint(api, network, wms.url)
        await paid_order(api, network, "wh-gone-1")
        await worker.run_pending()
        [d] = await deliveries(api, network, endpoint["id"])
        assert (d["status"], d["attempts"], d["last_status"]) == ("failed", 1, 410)
        r = await api.get("/v1/hq/webhooks", token=network.tenant.hq_token)
        [listed] = r.json()["items"]
        assert listed["active"] is False
        assert "410" in listed["disabled_reason"]

        await paid_order(api, network, "wh-gone-2")
        await due_now(app, network.tenant_id)
        await worker.run_pending()
        assert len(wms.received) == 1  # a disabled endpoint gets no new events and no retries
        assert len(await deliveries(api, network, endpoint["id"])) == 1
        r = await api.post(
            f"/v1/hq/webhooks/{endpoint['id']}/deliveries/{d['id']}/retry", token=network.tenant.hq_token
        )
        problem(r, 409, "invalid_state")


async def test_manual_retry_sends_a_failed_delivery_again(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    with receiver() as wms:
        wms.script = [500]
        endpoint = await add_endpoint(api, network, wms.url)
        await paid_order(api, network, "wh-manual")
        await worker.run_pending()
        [d] = await deliveries(api, network, endpoint["id"])
        assert d["status"] == "pending"
        r = await api.post(
            f"/v1/hq/webhooks/{endpoint['id']}/deliveries/{d['id']}/retry", token=network.tenant.hq_token
        )
        assert r.status_code == 202, r.text
        assert r.json() == {"id": d["id"], "status": "pending"}
        await worker.run_pending()
        assert [x.answered for x in wms.received] == [500, 200]
        [d] = await deliveries(api, network, endpoint["id"])
        assert (d["status"], d["attempts"]) == ("succeeded", 2)
        # The backoff job queued after the first failure finds the delivery settled and sends nothing.
        await due_now(app, network.tenant_id)
        await worker.run_pending()
        assert len(wms.received) == 2
        r = await api.post(f"/v1/hq/webhooks/{endpoint['id']}/deliveries/999999/retry", token=network.tenant.hq_token)
        problem(r, 404, "not_found")


async def _public(host: str, port: int) -> list[str]:
    return ["8.8.8.8"]


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def _private(host: str, port: int) -> list[str]:
    return ["93.184.216.34", "10.1.2.3"]


async def test_prod_refuses_private_and_loopback_addresses_when_checking() -> None:
    prod = WebhookSender(allow_private=False, resolver=_loopback)
    for url in ("http://127.0.0.1:9/x", "http://[::1]/x", "http://169.254.169.254/latest", "http://wms.example.com/"):
        with pytest.raises(ValidationFailed):
            await prod.check_url(url)
    with pytest.raises(ValidationFailed):
        await WebhookSender(allow_private=False, resolver=_private).check_url("https://wms.example.com/")
    assert await WebhookSender(allow_private=False, resolver=_public).check_url("https://wms.example.com/h") == (
        "wms.example.com",
        "8.8.8.8",
        443,
    )
    assert (await WebhookSender(allow_private=True, resolver=_loopback).check_url("http://wms.test:8080/"))[1:] == (
        "127.0.0.1",
        8080,
    )
    for url in ("ftp://wms.example.com/", "http://user:pw@wms.example.com/", "not a url", "http://h.example:99999/"):
        with pytest.raises(ValidationFailed):
            await WebhookSender(allow_private=True).check_registration(url)
    with pytest.raises(ValidationFailed):
        await prod.check_registration("http://wms.example.com/")
    await prod.aclose()


async def test_prod_refuses_at_delivery_time_a_name_that_now_resolves_to_loopback(
    app: Litestar, api: Api, network: Network
) -> None:
    with receiver() as wms:
        # Registered while the name pointed at the receiver (outside prod), then re-pointed at loopback.
        endpoint = await add_endpoint(api, network, f"http://wms.example.com:{wms.port}/hooks")
        prod = WebhookSender(allow_private=False, resolver=_loopback)
        handlers = {**app.state.worker.handlers, DELIVER_JOB: partial(deliver, sender=prod)}
        await paid_order(api, network, "wh-prod")
        await Worker(app.state.db.sessions, handlers).run_pending()
        await prod.aclose()
        assert wms.received == []
    [d] = await deliveries(api, network, endpoint["id"])
    assert d["status"] == "pending"
    assert d["last_status"] is None
    assert "private or loopback" in d["last_error"]


async def test_registration_is_checked(api: Api, network: Network) -> None:
    token = network.tenant.hq_token
    r = await api.post("/v1/hq/webhooks", token=token, json={"url": "ftp://x.example.com/", "events": ["order.paid"]})
    problem(r, 422, "validation_failed")
    r = await api.post("/v1/hq/webhooks", token=token, json={"url": "http://127.0.0.1/", "events": ["nope"]})
    problem(r, 422, "validation_failed")
    r = await api.post("/v1/hq/webhooks", token=token, json={"url": "http://127.0.0.1/", "events": []})
    problem(r, 422, "validation_failed")
    r = await api.delete("/v1/hq/webhooks/999999", token=token)
    problem(r, 404, "not_found")
    r = await api.get("/v1/hq/webhooks/999999/deliveries", token=token)
    problem(r, 404, "not_found")


async def test_another_tenants_endpoint_is_not_found(api: Api, network: Network, other_tenant: Any) -> None:
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url)
    r = await api.get(f"/v1/hq/webhooks/{endpoint['id']}/deliveries", token=other_tenant.hq_token)
    problem(r, 404, "not_found")
    r = await api.delete(f"/v1/hq/webhooks/{endpoint['id']}", token=other_tenant.hq_token)
    problem(r, 404, "not_found")
    r = await api.delete(f"/v1/hq/webhooks/{endpoint['id']}", token=network.tenant.hq_token)
    assert r.status_code == 204


async def test_the_outbox_is_one_statement_of_applying_a_payment(app: Litestar, api: Api, network: Network) -> None:
    with receiver() as wms:
        await add_endpoint(api, network, wms.url)
        r = await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="wh-count")
        order_no, total = r.json()["order_no"], r.json()["total"]
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            await pay(api, network, order_no, total)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if "webhook" in s]) == 1, statements


async def test_a_burst_of_1000_events_all_arrive(app: Litestar, api: Api, network: Network, worker: Worker) -> None:
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url)
        now = datetime.now(UTC)
        for batch in range(10):
            async with app.state.db.sessions() as s, s.begin():
                await set_tenant(s, network.tenant_id)
                for i in range(100):
                    n = batch * 100 + i
                    await record_event(s, network.tenant_id, "order.paid", {"order_no": f"B{n}"}, now, key=f"b{n}")
        started = time.monotonic()
        ran = await worker.run_pending(limit=5000)
        elapsed = time.monotonic() - started
        got = {msgspec.json.decode(r.body)["data"]["order_no"] for r in wms.received}
    assert ran >= 1000
    assert got == {f"B{n}" for n in range(1000)}
    assert len(wms.received) == 1000
    statuses = await rows(
        app,
        network.tenant_id,
        "SELECT status, count(*) FROM webhook_deliveries WHERE tenant_id = :t AND endpoint_id = :e GROUP BY status",
        e=endpoint["id"],
    )
    assert [tuple(x) for x in statuses] == [("succeeded", 1000)]
    print(f"1000 deliveries in {elapsed:.1f}s ({1000 / elapsed:.0f}/s)")


async def test_the_example_receiver_accepts_a_real_delivery_and_refuses_a_forgery(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = await add_endpoint(api, network, f"http://127.0.0.1:{port}/hooks")
    proc = subprocess.Popen(  # noqa: S603, ASYNC220 - our own script, a short-lived child stopped below
        [sys.executable, str(EXAMPLE_RECEIVER), "--port", str(port), "--secret", endpoint["secret"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    forged = await client.post(
                        f"http://127.0.0.1:{port}/hooks",
                        content=b"{}",
                        headers={
                            "webhook-id": "msg_x",
                            "webhook-timestamp": str(int(time.time())),
                            "webhook-signature": "v1,AAAA",
                        },
                    )
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
        assert forged.status_code == 401
        order_no = await paid_order(api, network, "wh-example")
        await worker.run_pending()
        [d] = await deliveries(api, network, endpoint["id"])
        assert (d["status"], d["last_status"]) == ("succeeded", 204)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    printed = msgspec.json.decode(out.decode().strip().splitlines()[-1])
    assert (printed["type"], printed["data"]["order_no"]) == ("order.paid", order_no)


async def test_order_created_cancelled_and_expired_are_sent(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url, ["order.created", "order.cancelled", "order.expired"])
        cancelled = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="wh-cancel")).json()
        r = await api.post(
            f"/v1/shop/{network.tenant.slug}/orders/{cancelled['order_no']}/cancel", token=network.consumer_token
        )
        assert r.status_code == 200, r.text
        expired = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="wh-expire")).json()
        async with app.state.db.sessions() as s, s.begin():
            await set_tenant(s, network.tenant_id)
            await s.execute(
                text("UPDATE jobs SET run_at = now() WHERE tenant_id = :t AND kind = 'orders.expire'"),
                {"t": network.tenant_id},
            )
        await worker.run_pending()
        await worker.run_pending()  # the deliveries the expiry job wrote
        events = [Webhook(endpoint["secret"]).verify(x.body, x.headers) for x in wms.received]
    seen = sorted((e["type"], e["data"]["order_no"]) for e in events)
    assert seen == sorted(
        [
            ("order.created", cancelled["order_no"]),
            ("order.cancelled", cancelled["order_no"]),
            ("order.created", expired["order_no"]),
            ("order.expired", expired["order_no"]),
        ]
    )
    created = next(e for e in events if e["type"] == "order.created" and e["data"]["order_no"] == expired["order_no"])
    assert created["data"]["total"] == expired["total"]


async def test_concurrent_orders_each_send_created_and_paid_once(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url, ["order.created", "order.paid"])
        numbers = await asyncio.gather(*(paid_order(api, network, f"wh-burst-{i}") for i in range(20)))
        await worker.run_pending()
        events = [Webhook(endpoint["secret"]).verify(x.body, x.headers) for x in wms.received]
    assert sorted((e["type"], e["data"]["order_no"]) for e in events) == sorted(
        [(kind, n) for n in numbers for kind in ("order.created", "order.paid")]
    )


async def test_after_sales_commission_and_settlement_events_are_sent(
    app: Litestar, api: Api, network: Network, worker: Worker
) -> None:
    hq = network.tenant.hq_token
    r = await api.put(
        "/v1/hq/policies/commission",
        token=hq,
        json={"store_bp": 500, "distributor_bp": 200, "koc_bp": 0, "frozen_days": 0},
    )
    assert r.status_code == 200, r.text
    names = [
        "after_sale.requested",
        "after_sale.refunded",
        "refund.succeeded",
        "commission.available",
        "settlement.created",
    ]
    with receiver() as wms:
        endpoint = await add_endpoint(api, network, wms.url, names)
        r = await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="wh-as")
        order = r.json()
        await pay(api, network, order["order_no"], order["total"])
        r = await api.post(
            f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}/after-sales",
            token=network.consumer_token,
            json={"kind": "refund_only", "lines": [{"sku": "TEA-1", "qty": 1}], "reason": "too many"},
            headers={"Idempotency-Key": "wh-as-ask"},
        )
        assert r.status_code == 201, r.text
        after_sale = r.json()
        r = await api.post(f"/v1/hq/after-sales/{after_sale['id']}/approve", token=hq)
        assert r.status_code == 200, r.text
        refund_no = r.json()["refund_no"]
        [f] = order["fulfilments"]
        for action in ("ship", "deliver"):
            assert (await api.post(f"/v1/hq/fulfilments/{f['id']}/{action}", token=hq)).status_code == 200
        async with app.state.db.sessions() as s, s.begin():
            await set_tenant(s, network.tenant_id)
            await s.execute(text("UPDATE jobs SET run_at = now() WHERE kind = 'referrals.release'"))
        await worker.run_pending()
        r = await api.post("/v1/hq/settlements", token=hq, json={})
        assert r.status_code == 201, r.text
        settlement = r.json()
        await worker.run_pending()
        events = [Webhook(endpoint["secret"]).verify(x.body, x.headers) for x in wms.received]
    by_type = {e["type"]: e["data"] for e in events}
    assert sorted(e["type"] for e in events) == sorted(names)
    assert by_type["after_sale.requested"]["id"] == after_sale["id"]
    assert by_type["after_sale.requested"]["lines"] == [{"sku": "TEA-1", "qty": 1}]
    assert by_type["after_sale.refunded"] == {**by_type["after_sale.refunded"], "refund_no": refund_no, "amount": 1290}
    assert by_type["refund.succeeded"]["refund_no"] == refund_no
    left = 1290 * 500 // 10000 + 1290 * 200 // 10000
    assert (by_type["commission.available"]["order_no"], by_type["commission.available"]["amount"]) == (
        order["order_no"],
        left,
    )
    assert by_type["settlement.created"]["settlement_no"] == settlement["settlement_no"]
    assert by_type["settlement.created"]["total"] == settlement["total"] == left
