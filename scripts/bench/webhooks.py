"""Webhook delivery benchmark: a burst of events through the outbox, drained by job workers into a receiver.

    scripts/bench/webhooks [--events 1000] [--workers 1 4] [--orders N] [--database-url URL]

For each worker count: a fresh tenant with one endpoint (a real HTTP server on loopback, in this process),
``--events`` ``order.paid`` events written to the outbox in transactions of 100, then that many
:class:`~cloudstore.lib.jobs.Worker` instances draining the queue concurrently. Prints deliveries per second
and checks that every event arrived exactly once.

With ``--orders N`` the events come from real orders instead: the order benchmark's tenant is seeded, cloudstore
serves it (uvicorn, no worker of its own), ``N`` orders are placed and paid over HTTP by 16 clients at once
(each writes ``order.created`` and ``order.paid`` to the outbox in its own transaction: ``2 N`` events), and
the workers then drain the queue; it checks that every order's two events arrived, once.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import add_database_url_option, drop_database, new_database, serve

from cloudstore.integrations.delivery import DELIVER_JOB, WebhookSender, deliver, record_event
from cloudstore.lib.db import Database, _asyncpg_args, set_tenant
from cloudstore.lib.events import EventBus, attach
from cloudstore.lib.jobs import Worker
from cloudstore.payments.gateways.local import encode_local_notification

LOCAL_PAY_SECRET = "bench-local-pay-secret"


class _Receiver:
    def __init__(self) -> None:
        self.ids: list[str] = []
        lock = threading.Lock()
        ids = self.ids

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with lock:
                    ids.append(self.headers["webhook-id"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


async def run(url: str, events: int, workers: int) -> float:
    """One burst with ``workers`` workers; returns deliveries per second."""
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        tid = await conn.fetchval(
            "INSERT INTO tenants (slug, name) VALUES ($1, 'bench') RETURNING id", f"wh-bench-{workers}"
        )
    finally:
        await conn.close()
    receiver = _Receiver()
    db = Database(url, pool_size=workers + 2)
    attach(db.sessions, EventBus({}))
    sender = WebhookSender(allow_private=True)
    try:
        now = datetime.now(UTC)
        async with db.sessions() as s, s.begin():
            await set_tenant(s, tid)
            await s.execute(
                text(
                    "INSERT INTO webhook_endpoints (tenant_id, url, events, secret) "
                    "VALUES (:t, :u, '{order.paid}', 'whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g=')"
                ),
                {"t": tid, "u": receiver.url},
            )
        for start in range(0, events, 100):
            async with db.sessions() as s, s.begin():
                await set_tenant(s, tid)
                for n in range(start, min(events, start + 100)):
                    await record_event(s, tid, "order.paid", {"order_no": f"B{n}"}, now, key=f"b{n}")
        handlers = {DELIVER_JOB: partial(deliver, sender=sender)}
        started = time.monotonic()
        await asyncio.gather(*(Worker(db.sessions, handlers).run_pending(limit=events) for _ in range(workers)))
        elapsed = time.monotonic() - started
    finally:
        await sender.aclose()
        await db.dispose()
        receiver.server.shutdown()
    lost, duplicated = events - len(set(receiver.ids)), len(receiver.ids) - len(set(receiver.ids))
    rate = events / elapsed
    print(f"workers={workers}: {events} events in {elapsed:.1f} s, {rate:.0f}/s, lost {lost}, duplicated {duplicated}")
    return rate


async def _place_and_pay(client: httpx.AsyncClient, token: str, store: str, n: int) -> str:
    """One pickup order placed and paid through the local provider; its number."""
    from orders import TENANT

    auth = {"Authorization": f"Bearer {token}"}
    body = {"store": store, "lines": [{"sku": "HOT-1", "qty": 1}], "delivery": {"mode": "pickup"}}
    r = await client.post(f"/v1/shop/{TENANT}/orders", json=body, headers={**auth, "Idempotency-Key": f"wh-{n}"})
    r.raise_for_status()
    order_no, total = r.json()["order_no"], r.json()["total"]
    r = await client.post(
        f"/v1/shop/{TENANT}/orders/{order_no}/pay",
        json={"provider": "local"},
        headers={**auth, "Idempotency-Key": f"wh-pay-{n}"},
    )
    r.raise_for_status()
    note = encode_local_notification(
        payment_id=r.json()["payment_id"], order_no=order_no, amount=total, paid_at=datetime.now(UTC)
    )
    signature = hmac.new(LOCAL_PAY_SECRET.encode(), note, hashlib.sha256).hexdigest()
    r = await client.post(
        "/v1/payments/local/notify",
        content=note,
        headers={"X-Local-Signature": signature, "Content-Type": "application/json"},
    )
    r.raise_for_status()
    return str(order_no)


async def run_orders(url: str, orders: int, workers: int) -> float:
    """A burst of ``orders`` real orders placed and paid, then drained by ``workers`` workers; deliveries/s."""
    from orders import SECRET, seed

    stores, tokens = await seed(url, 100)
    receiver = _Receiver()
    db = Database(url, pool_size=workers + 2)
    attach(db.sessions, EventBus({}))
    sender = WebhookSender(allow_private=True)
    env = {
        "DATABASE_URL": url,
        "CLOUDSTORE_ENV": "dev",
        "CLOUDSTORE_SECRET_KEY": SECRET,
        "CLOUDSTORE_LOCAL_PAY_SECRET": LOCAL_PAY_SECRET,
        "CLOUDSTORE_RUN_WORKER": "0",
        "CLOUDSTORE_ACCESS_LOG": "0",
        "CLOUDSTORE_LOG_LEVEL": "WARNING",
    }
    try:
        async with db.sessions() as s, s.begin():
            tid = (await s.execute(text("SELECT id FROM tenants WHERE slug = 'bench'"))).scalar_one()
            await set_tenant(s, tid)
            await s.execute(
                text(
                    "INSERT INTO webhook_endpoints (tenant_id, url, events, secret) "
                    "VALUES (:t, :u, '{order.created,order.paid}', 'whsec_YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g=')"
                ),
                {"t": tid, "u": receiver.url},
            )
        log = Path(tempfile.mkdtemp(prefix="cloudstore-bench-webhooks-")) / "cloudstore.log"
        with serve("cloudstore.app:app_from_env", env, log) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                gate = asyncio.Semaphore(16)

                async def one(n: int) -> str:
                    async with gate:
                        return await _place_and_pay(client, tokens[n % len(tokens)], stores[0], n)

                placed = time.monotonic()
                numbers = await asyncio.gather(*(one(n) for n in range(orders)))
                placing = time.monotonic() - placed
        handlers = {DELIVER_JOB: partial(deliver, sender=sender)}
        started = time.monotonic()
        await asyncio.gather(*(Worker(db.sessions, handlers).run_pending(limit=4 * orders) for _ in range(workers)))
        elapsed = time.monotonic() - started
    finally:
        await sender.aclose()
        await db.dispose()
        receiver.server.shutdown()
    events = 2 * orders
    lost, duplicated = events - len(set(receiver.ids)), len(receiver.ids) - len(set(receiver.ids))
    rate = events / elapsed
    print(
        f"{orders} orders placed and paid in {placing:.1f} s ({len(set(numbers))} distinct); workers={workers}: "
        f"{events} events in {elapsed:.1f} s, {rate:.0f}/s, lost {lost}, duplicated {duplicated}"
    )
    if lost or duplicated:
        raise SystemExit(1)
    return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--orders", type=int, default=0, help="events from this many real orders (2 each)")
    add_database_url_option(parser)
    args = parser.parse_args()
    bench = await new_database("bench-webhooks", args.database_url)
    try:
        if args.orders:
            await run_orders(bench.url, args.orders, args.workers[0])
            return
        for workers in args.workers:
            await run(bench.url, args.events, workers)
    finally:
        await drop_database(bench)


if __name__ == "__main__":
    asyncio.run(main())
