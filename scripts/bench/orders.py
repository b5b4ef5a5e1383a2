"""Benchmark order placement: throughput, a flash sale, and reservations on one hot stock row.

Run from the repository root: ``scripts/bench/orders`` (``--help`` for options, ``--quick`` for a short run).

1. Creates a throw-away database (``--database-url``'s server, default ``DATABASE_URL``, else an embedded
   PostgreSQL; on a Citus coordinator on every node, distributed after the migration by
   ``cloudstore db distribute``), migrates it and seeds one tenant: 20 Shenzhen stores, a regional and a central
   warehouse, 200 SKUs with ample stock, a flash-sale SKU with exactly 100 units, a hot SKU at one store, and
   2,100 consumers with tokens.
2. Starts cloudstore under uvicorn (uvloop, httptools) on a 127.0.0.1 port.
3. Orders: ``--concurrency`` clients place 1-3 line delivery orders for ``--duration`` seconds.
   Flash sale: 2,000 buyers each order one unit of the flash SKU at the same moment; exactly 100 must get
   201 and the rest 409 ``insufficient_stock``, with 0 other answers.
   Hot row: pickup orders of the hot SKU at one store (every order reserves the same stock row), at 1 and at
   32 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import HEADER, Result, add_database_url_option, drop_database, new_database, serve

from cloudstore.auth.tokens import Principal, TokenCodec
from cloudstore.lib.db import _asyncpg_args

TENANT = "bench"
SECRET = "bench-secret-key-" + "b" * 40
ADDRESS = {
    "mode": "delivery",
    "region": "440305",
    "lat": 22.54,
    "lng": 113.935,
    "address": "南山区科技园",
    "contact": "测试",
    "phone": "13800000000",
}


async def seed(url: str, consumers: int) -> tuple[list[str], list[str]]:
    """Seed the tenant; returns (store codes, consumer tokens)."""
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        tid = await conn.fetchval("INSERT INTO tenants (slug, name) VALUES ($1, '压测品牌') RETURNING id", TENANT)
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tid))
        await conn.execute(
            "INSERT INTO tenant_policies (tenant_id, orders) VALUES ($1, '{\"payment_ttl_minutes\": 1440}')", tid
        )
        dist = await conn.fetchval(
            "INSERT INTO distributors (tenant_id, code, name, regions) "
            "VALUES ($1, 'D1', '经销', '{4403}') RETURNING id",
            tid,
        )
        wh = await conn.fetchval(
            "INSERT INTO locations (tenant_id, code, name, kind, lat, lng, regions) "
            "VALUES ($1, 'WH-SZ', '深圳仓', 'regional', 22.6, 114.0, '{4403}') RETURNING id",
            tid,
        )
        central = await conn.fetchval(
            "INSERT INTO locations (tenant_id, code, name, kind, lat, lng) "
            "VALUES ($1, 'WH-CN', '总仓', 'central', 23.0, 113.7) RETURNING id",
            tid,
        )
        stores, store_locs = [], []
        rng = random.Random(3)
        for i in range(20):
            code = f"S{i:03d}"
            lat, lng = 22.52 + rng.random() * 0.05, 113.90 + rng.random() * 0.1
            loc = await conn.fetchval(
                "INSERT INTO locations (tenant_id, code, name, kind, lat, lng) VALUES ($1, $2, $2, 'store', $3, $4) "
                "RETURNING id",
                tid,
                code,
                lat,
                lng,
            )
            await conn.execute(
                "INSERT INTO stores (tenant_id, code, name, location_id, distributor_id, region, address, "
                "delivery_radius_km) VALUES ($1, $2, $2, $3, $4, '440305', '南山', 8)",
                tid,
                code,
                loc,
                dist,
            )
            stores.append(code)
            store_locs.append(loc)
        sku_ids = {}
        for p in range(70):
            pid = await conn.fetchval(
                "INSERT INTO products (tenant_id, code, title, category, status, published_at) "
                "VALUES ($1, $2, $3, '绿茶', 'published', now()) RETURNING id",
                tid,
                f"P{p:03d}",
                f"龙井 {p}",
            )
            n = 3 if p < 66 else 1
            for s in range(n):
                code = f"K{p:03d}-{s}" if p < 66 else ("FLASH-1" if p == 66 else f"HOT-{p - 66}")
                sku_ids[code] = await conn.fetchval(
                    "INSERT INTO skus (tenant_id, product_id, code, spec, price, min_price, max_price) "
                    "VALUES ($1, $2, $3, '100g', 1990, 1990, 1990) RETURNING id",
                    tid,
                    pid,
                    code,
                )
        rows = []
        for code, sid in sku_ids.items():
            if code.startswith("K"):
                rows.append((tid, wh, sid, 10_000_000, 0))
                rows.append((tid, central, sid, 10_000_000, 0))
                rows.extend((tid, loc, sid, 1_000_000, 0) for loc in store_locs[:10])
        rows.append((tid, wh, sku_ids["FLASH-1"], 100, 0))
        rows.append((tid, store_locs[0], sku_ids["HOT-1"], 1_000_000_000, 0))
        await conn.copy_records_to_table(
            "stock_levels", records=rows, columns=["tenant_id", "location_id", "sku_id", "on_hand", "reserved"]
        )
        ids = [
            r["id"]
            for r in await conn.fetch(
                "INSERT INTO consumers (tenant_id, openid) SELECT $1, 'bench-' || g FROM generate_series(1, $2) g "
                "RETURNING id",
                tid,
                consumers,
            )
        ]
    finally:
        await conn.close()
    codec = TokenCodec(SECRET, timedelta(hours=6))
    now = datetime.now(UTC)
    tokens = [
        codec.issue(Principal(tenant_id=tid, tenant=TENANT, subject_id=cid, role="consumer"), now)[0] for cid in ids
    ]
    return stores, tokens


def order_body(rng: random.Random, store: str) -> dict[str, object]:
    """A 1-3 line delivery order of ordinary SKUs."""
    skus = rng.sample([f"K{p:03d}-{s}" for p in range(66) for s in range(3)], rng.randint(1, 3))
    return {"store": store, "lines": [{"sku": s, "qty": rng.randint(1, 3)} for s in skus], "delivery": ADDRESS}


async def timed_orders(
    name: str, base: str, tokens: list[str], bodies: list[dict[str, object]], *, concurrency: int, duration: float
) -> Result:
    """Keep ``concurrency`` order requests in flight for ``duration`` seconds."""
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker(w: int, until: float) -> None:
            i = w
            while time.perf_counter() < until:
                started = time.perf_counter()
                try:
                    r = await client.post(
                        f"/v1/shop/{TENANT}/orders",
                        json=bodies[i % len(bodies)],
                        headers={
                            "Authorization": f"Bearer {tokens[i % len(tokens)]}",
                            "Idempotency-Key": f"{name}-{w}-{i}",
                        },
                    )
                    ok = r.status_code == 201
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                counts["requests"] += 1
                counts["errors"] += not ok
                i += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(worker(w, started + duration) for w in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(name, counts["requests"], counts["errors"], elapsed, latencies)


async def flash_sale(base: str, tokens: list[str], buyers: int) -> tuple[dict[int, int], int, float, list[float]]:
    """Every buyer orders one flash unit at once; returns (status counts, transport errors, seconds, latencies)."""
    limits = httpx.Limits(max_connections=buyers, max_keepalive_connections=buyers)
    statuses: dict[int, int] = {}
    failures = 0
    latencies: list[float] = []
    body = {"store": "S000", "lines": [{"sku": "FLASH-1", "qty": 1}], "delivery": ADDRESS}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        gate = asyncio.Event()

        async def buyer(i: int) -> None:
            nonlocal failures
            await gate.wait()
            started = time.perf_counter()
            try:
                r = await client.post(
                    f"/v1/shop/{TENANT}/orders",
                    json=body,
                    headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": f"flash-{i}"},
                )
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            except httpx.HTTPError:
                failures += 1
            latencies.append((time.perf_counter() - started) * 1000)

        tasks = [asyncio.create_task(buyer(i)) for i in range(buyers)]
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return statuses, failures, elapsed, latencies


async def run(args: argparse.Namespace) -> None:
    """Seed, serve, measure, report."""
    db = await new_database("cloudstore-bench-orders", args.database_url)
    url = db.url
    try:
        stores, tokens = await seed(url, max(args.buyers, 100) + 100)
        logs = Path(tempfile.mkdtemp(prefix="cloudstore-bench-logs-"))
        env = {
            "DATABASE_URL": url,
            "CLOUDSTORE_ENV": "dev",
            "CLOUDSTORE_SECRET_KEY": SECRET,
            "CLOUDSTORE_RUN_WORKER": "0",
            "CLOUDSTORE_ACCESS_LOG": "0",
            "CLOUDSTORE_LOG_LEVEL": "WARNING",
            "CLOUDSTORE_DB_POOL_SIZE": str(args.pool),
            "CLOUDSTORE_DB_MAX_OVERFLOW": "0",
        }
        with serve("cloudstore.app:app_from_env", env, logs / "cloudstore.log") as base:
            rng = random.Random(5)
            bodies = [order_body(rng, rng.choice(stores[:10])) for _ in range(2000)]
            # a short warm-up fills the connection pool and the statement caches
            await timed_orders("warm-up", base, tokens, bodies, concurrency=args.concurrency, duration=2)
            results = [
                await timed_orders(
                    f"orders c={args.concurrency}", base, tokens, bodies, concurrency=args.concurrency,
                    duration=args.duration,
                )
            ]  # fmt: skip
            hot = {"store": "S000", "lines": [{"sku": "HOT-1", "qty": 1}], "delivery": {"mode": "pickup"}}
            for clients in (1, 32):  # one after the other, not at once
                results.append(  # noqa: PERF401
                    await timed_orders(
                        f"hot row c={clients}", base, tokens, [hot], concurrency=clients, duration=args.duration
                    )
                )
            statuses, failures, seconds, latencies = await flash_sale(base, tokens, args.buyers)
        where = f"Citus ({len(db.servers) - 1} workers)" if db.citus else "single server"
        print(
            f"\norders on {where} against one tenant, 20 stores, 200 SKUs; {args.duration:g} s per run; "
            f"pool {args.pool}"
        )
        print(HEADER)
        for r in results:
            print(r.row())
        flash = Result("flash sale", sum(statuses.values()) + failures, failures, seconds, latencies)
        print(
            f"\nflash sale: {args.buyers} buyers, 100 units: "
            f"{statuses.get(201, 0)} × 201, {statuses.get(409, 0)} × 409, "
            f"{sum(v for k, v in statuses.items() if k not in (201, 409)) + failures} other; "
            f"all answered in {seconds:.2f} s (p50 {flash.quantile(0.5):.0f} ms, p99 {flash.quantile(0.99):.0f} ms)"
        )
        others = {k: v for k, v in statuses.items() if k not in (201, 409)}
        if others or failures:
            detail = [f"{v} × {k}" for k, v in sorted(others.items())]
            detail += [f"{failures} × no answer"] if failures else []
            print(f"flash sale other answers: {', '.join(detail)}")
        ok = statuses.get(201, 0) == 100 and statuses.get(409, 0) == args.buyers - 100 and failures == 0
        print("flash sale result:", "exactly 100 sold, 0 errors" if ok else "UNEXPECTED")
        if not ok:
            raise SystemExit(1)
    finally:
        await drop_database(db)


def main() -> None:
    """Options and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per timed run")
    parser.add_argument("--buyers", type=int, default=2000, help="flash-sale buyers")
    parser.add_argument("--pool", type=int, default=20, help="database connections in the server's pool")
    parser.add_argument("--quick", action="store_true", help="5 s runs, 500 flash-sale buyers")
    add_database_url_option(parser)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.buyers = 5.0, 500
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
