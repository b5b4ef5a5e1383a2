"""Benchmark the analysis models on a large history, and what maintaining them costs a payment.

Run from the repository root: ``scripts/bench/analytics`` (``--help`` for options, ``--quick`` for a short run).

1. Routes. A throw-away database (``--database-url``'s server, default ``DATABASE_URL``, else an embedded
   PostgreSQL; distributed on a Citus coordinator) is migrated and seeded, with set-based ``INSERT … SELECT
   generate_series`` under the tenant's row-level security, with one tenant: 10 distributors, 1,000 stores,
   2,000 KOCs, 200 SKUs, 200,000 consumers with their milestones, 400,000 touches and 1,000,000 paid orders
   over the last 120 days as the analytics rows payment keeps for them (per-order facts, cloud-shelf lines,
   the stores', the tenant's and the KOCs' days summed from those, the stores' bound consumers). The raw order
   tables are not seeded: no analysis route reads them. The consumers are then scored (``POST
   /v1/hq/analytics/recompute``, timed). Each route is called ``--requests`` times at one client (random
   stores, KOCs and windows ending now, 30 days unless named otherwise) and its p50/p95 reported.
2. Maintenance cost. A second database seeded like ``scripts/bench/orders`` (20 stores, 200 SKUs); orders are
   placed and paid (start + signed local notification) by ``--concurrency`` clients for ``--duration`` seconds,
   alternately against the app as wired and against the app without the analytics subscribers
   (``analytics_app.py``), ``--rounds`` times each, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import msgspec
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import add_database_url_option, drop_database, new_database, serve
from orders import order_body
from orders import seed as seed_orders

from cloudstore.auth.tokens import Principal, TokenCodec
from cloudstore.lib.db import _asyncpg_args

TENANT = "bench"
SECRET = "bench-secret-key-" + "b" * 40
PAY_SECRET = "bench-local-pay-secret"
DAYS = 120

SEED_SQL = Path(__file__).with_name("analytics_seed.sql")


def _positional(sql: str) -> str:
    return re.sub(r"(?<!:):now\b", "CAST($2 AS timestamptz)", re.sub(r"(?<!:):t\b", "$1", sql))


async def seed_history(url: str) -> tuple[int, int]:
    """Seed the large tenant; returns its id and its HQ account's."""
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        tid = await conn.fetchval("INSERT INTO tenants (slug, name) VALUES ($1, '压测品牌') RETURNING id", TENANT)
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tid))
        await conn.execute("INSERT INTO tenant_policies (tenant_id) VALUES ($1)", tid)
        hq = await conn.fetchval(
            "INSERT INTO staff (tenant_id, username, password_hash, role) VALUES ($1, 'bench-hq', '-', 'hq') "
            "RETURNING id",
            tid,
        )
        now = datetime.now(UTC)
        text = "\n".join(line for line in SEED_SQL.read_text().splitlines() if not line.startswith("--"))
        statements = [b.strip() for b in text.split(";\n") if b.strip()]
        for sql in statements:
            started = time.perf_counter()
            sql = _positional(sql)
            args = [tid, now] if "$2" in sql else [tid]
            await conn.execute(sql, *args)
            print(f"  seeded {sql.split()[2]:<22} {time.perf_counter() - started:6.1f} s", flush=True)
        await conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
    finally:
        await conn.close()
    return int(tid), int(hq)


def _hq_token(tid: int, staff_id: int) -> str:
    codec = TokenCodec(SECRET, timedelta(hours=6))
    return codec.issue(Principal(tenant_id=tid, tenant=TENANT, subject_id=staff_id, role="hq"), datetime.now(UTC))[0]


def _route_calls(rng: random.Random) -> dict[str, list[tuple[str, dict[str, str]]]]:
    now = datetime.now(UTC)
    month = {"since": (now - timedelta(days=30)).isoformat(), "until": now.isoformat()}
    quarter = {"since": (now - timedelta(days=91)).isoformat(), "until": now.isoformat()}

    def store() -> str:
        return f"S{rng.randint(1, 1000):04d}"

    n = 400
    return {
        "overview (30 days)": [("/v1/hq/analytics/overview", month)] * n,
        "overview (quarter)": [("/v1/hq/analytics/overview", quarter)] * n,
        "store profile": [(f"/v1/hq/analytics/stores/{store()}", month) for _ in range(n)],
        "funnel (tenant, quarter)": [("/v1/hq/analytics/funnel", quarter)] * n,
        "funnel (store, quarter)": [("/v1/hq/analytics/funnel", quarter | {"store": store()}) for _ in range(n)],
        "segments": [("/v1/hq/analytics/segments", {})] * n,
        "consumers (page)": [("/v1/hq/analytics/consumers", {"limit": "50"})] * n,
        "consumers (segment)": [("/v1/hq/analytics/consumers", {"segment": "hibernating", "limit": "50"})] * n,
        "consumers (store)": [("/v1/hq/analytics/consumers", {"store": store(), "limit": "50"}) for _ in range(n)],
        "kocs (tenant)": [("/v1/hq/analytics/kocs", month)] * n,
        "kocs (store)": [("/v1/hq/analytics/kocs", month | {"store": store()}) for _ in range(n)],
        "stock suggestions": [("/v1/hq/analytics/stock-suggestions", month | {"store": store()}) for _ in range(n)],
    }


def _q(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] if len(values) > 1 else values[0]


async def time_routes(base: str, token: str, requests: int) -> list[tuple[str, float, float, int]]:
    """Each route ``requests`` times at one client: (name, p50 ms, p95 ms, errors)."""
    rng = random.Random(11)
    out = []
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for name, calls in _route_calls(rng).items():
            times, errors = [], 0
            for path, params in [calls[0]] * 3 + calls[:requests]:  # three warm-up calls first
                started = time.perf_counter()
                r = await client.get(path, params=params)
                times.append((time.perf_counter() - started) * 1000)
                errors += r.status_code != 200
            times = times[3:]
            out.append((name, _q(times, 0.5), _q(times, 0.95), errors))
    return out


def _notification(payment_id: str, order_no: str, amount: int) -> tuple[bytes, dict[str, str]]:
    body = msgspec.json.encode(
        {"payment_id": payment_id, "order_no": order_no, "amount": amount, "status": "SUCCESS",
         "paid_at": datetime.now(UTC).isoformat()}
    )  # fmt: skip
    sig = hmac.new(PAY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Local-Signature": sig, "Content-Type": "application/json"}


async def paid_orders(
    base: str, tokens: list[str], bodies: list[bytes], *, concurrency: int, duration: float
) -> tuple[int, int, float]:
    """Place and pay orders for ``duration`` seconds: (paid, errors, seconds)."""
    done = errors = 0
    counter = iter(range(10**9))
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker(until: float) -> None:
            nonlocal done, errors
            while time.perf_counter() < until:
                i = next(counter)
                auth = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
                json_type = {"Content-Type": "application/json"}
                key = f"{os.getpid()}-{time.time_ns()}-{i}"
                r = await client.post(f"/v1/shop/{TENANT}/orders", content=bodies[i % len(bodies)],
                                      headers=auth | json_type | {"Idempotency-Key": f"o-{key}"})  # fmt: skip
                if r.status_code != 201:
                    errors += 1
                    continue
                order = r.json()
                r = await client.post(f"/v1/shop/{TENANT}/orders/{order['order_no']}/pay", json={"provider": "local"},
                                      headers=auth | {"Idempotency-Key": f"p-{key}"})  # fmt: skip
                if r.status_code != 200:
                    errors += 1
                    continue
                body, headers = _notification(r.json()["payment_id"], order["order_no"], order["total"])
                r = await client.post("/v1/payments/local/notify", content=body, headers=headers)
                if r.status_code == 200:
                    done += 1
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(started + duration) for _ in range(concurrency)))
        return done, errors, time.perf_counter() - started


def _env(url: str, pool: int) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "CLOUDSTORE_ENV": "dev",
        "CLOUDSTORE_SECRET_KEY": SECRET,
        "CLOUDSTORE_LOCAL_PAY_SECRET": PAY_SECRET,
        "CLOUDSTORE_RUN_WORKER": "0",
        "CLOUDSTORE_ACCESS_LOG": "0",
        "CLOUDSTORE_LOG_LEVEL": "WARNING",
        "CLOUDSTORE_DB_POOL_SIZE": str(pool),
        "CLOUDSTORE_DB_MAX_OVERFLOW": "0",
        "PYTHONPATH": str(Path(__file__).resolve().parent),
    }


async def _seeded(url: str) -> tuple[int, int]:
    """The large tenant's id and its HQ account's, in a database seeded by an earlier ``--keep`` run."""
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        tid = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", TENANT)
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tid))
        hq = await conn.fetchval("SELECT id FROM staff WHERE tenant_id = $1 AND username = 'bench-hq'", tid)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return int(tid), int(hq)


async def run_routes(args: argparse.Namespace) -> None:
    if args.reuse:
        tid, staff_id = await _seeded(args.reuse)
        await _time_routes(args, args.reuse, tid, staff_id, recompute=False)
        return
    db = await new_database("cloudstore-bench-analytics", args.database_url)
    try:
        started = time.perf_counter()
        tid, staff_id = await seed_history(db.url)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        await _time_routes(args, db.url, tid, staff_id, recompute=True)
    finally:
        if args.keep:
            print(f"kept the seeded database: --reuse {db.url}", flush=True)
        else:
            await drop_database(db)


async def _time_routes(args: argparse.Namespace, url: str, tid: int, staff_id: int, *, recompute: bool) -> None:
    logs = Path(tempfile.mkdtemp(prefix="cloudstore-bench-logs-"))
    token = _hq_token(tid, staff_id)
    with serve("cloudstore.app:app_from_env", _env(url, 4), logs / "cloudstore.log") as base:
        if recompute:
            started = time.perf_counter()
            r = await asyncio.to_thread(
                httpx.post,
                base + "/v1/hq/analytics/recompute",
                headers={"Authorization": f"Bearer {token}"},
                timeout=600,
            )
            r.raise_for_status()
            print(f"recompute: {r.json().get('consumers')} consumers scored in {time.perf_counter() - started:.1f} s")
        print(f"\n{'route (one client)':<28}{'p50 ms':>10}{'p95 ms':>10}{'errors':>8}")
        for name, p50, p95, errors in await time_routes(base, token, args.requests):
            print(f"{name:<28}{p50:>10.1f}{p95:>10.1f}{errors:>8}", flush=True)


async def run_cost(args: argparse.Namespace) -> None:
    db = await new_database("cloudstore-bench-analytics-pay", args.database_url)
    try:
        stores, tokens = await seed_orders(db.url, 400)
        rng = random.Random(5)
        bodies = [order_body(rng, rng.choice(stores[:10])) for _ in range(2000)]
        logs = Path(tempfile.mkdtemp(prefix="cloudstore-bench-logs-"))
        targets = {
            "with analytics": "cloudstore.app:app_from_env",
            "without analytics": "analytics_app:app_without_analytics",
        }
        rates: dict[str, list[float]] = {k: [] for k in targets}
        for round_no in range(args.rounds):
            for name, target in targets.items():
                with serve(target, _env(db.url, args.concurrency), logs / f"{round_no}-{name}.log") as base:
                    await paid_orders(base, tokens, bodies, concurrency=args.concurrency, duration=2)  # warm-up
                    done, errors, seconds = await paid_orders(
                        base, tokens, bodies, concurrency=args.concurrency, duration=args.duration
                    )
                rates[name].append(done / seconds)
                print(
                    f"round {round_no + 1} {name:<18} {done / seconds:8.1f} paid orders/s  errors {errors}", flush=True
                )
        with_, without = statistics.median(rates["with analytics"]), statistics.median(rates["without analytics"])
        print(f"\nplace + pay, c={args.concurrency}: with {with_:.1f}/s, without {without:.1f}/s "
              f"(median of {args.rounds}); cost {100 * (1 - with_ / without):.1f} %")  # fmt: skip
    finally:
        await drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_url_option(parser)
    parser.add_argument("--requests", type=int, default=200, help="calls per route (default 200)")
    parser.add_argument("--concurrency", type=int, default=8, help="clients placing and paying (default 8)")
    parser.add_argument("--duration", type=float, default=15, help="seconds per throughput run (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs with and without (default 3)")
    parser.add_argument("--only", choices=["routes", "cost"], help="run one part only")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database of the routes part")
    parser.add_argument("--reuse", metavar="URL", help="time the routes on a database kept by --keep (no seeding)")
    parser.add_argument("--quick", action="store_true", help="50 calls per route, 5-second runs, 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.duration, args.rounds = 50, 5, 2
    if args.only != "cost":
        asyncio.run(run_routes(args))
    if args.only != "routes":
        asyncio.run(run_cost(args))


if __name__ == "__main__":
    main()
