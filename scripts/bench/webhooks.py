"""Webhook delivery benchmark: a burst of events through the outbox, drained by job workers into a receiver.

    scripts/bench/webhooks [--events 1000] [--workers 1 4] [--database-url URL]

For each worker count: a fresh tenant with one endpoint (a real HTTP server on loopback, in this process),
``--events`` ``order.paid`` events written to the outbox in transactions of 100, then that many
:class:`~cloudstore.lib.jobs.Worker` instances draining the queue concurrently. Prints deliveries per second
and checks that every event arrived exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import add_database_url_option, drop_database, new_database

from cloudstore.integrations.delivery import DELIVER_JOB, WebhookSender, deliver, record_event
from cloudstore.lib.db import Database, _asyncpg_args, set_tenant
from cloudstore.lib.events import EventBus, attach
from cloudstore.lib.jobs import Worker


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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    add_database_url_option(parser)
    args = parser.parse_args()
    bench = await new_database("bench-webhooks", args.database_url)
    try:
        for workers in args.workers:
            await run(bench.url, args.events, workers)
    finally:
        await drop_database(bench)


if __name__ == "__main__":
    asyncio.run(main())
