"""Benchmark one item, one code: generating a batch, exporting its CSV, and scans beside the storefront page.

Run from the repository root: ``scripts/bench/codes`` (``--help`` for options, ``--quick`` for a short run).

1. Creates a throw-away database (``--database-url``'s server, default ``DATABASE_URL``, else an embedded
   PostgreSQL; distributed on a Citus coordinator), seeds one tenant (a distributor, 20 stores, one SKU,
   consumers with tokens, an HQ account) and starts cloudstore under uvicorn with its worker off.
2. Generation: ``POST /v1/hq/code-batches`` of ``--units`` unit codes in cases of ``--per-case``, then the
   ``codes.generate`` jobs run by a :class:`~cloudstore.lib.jobs.Worker` in this process until the batch is
   ``ready``; the time from the request to ``ready``.
3. Export: ``GET …/codes.csv`` read as a stream; the server's resident memory (``VmRSS``) sampled every 50 ms
   during the download, before and at its peak.
4. Scans: a case of the batch shipped to every store; ``--concurrency`` clients scan units for ``--duration``
   seconds, then the same clients load the storefront's JSON page for as long (one after the other, same
   server, same run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    HEADER,
    Result,
    add_database_url_option,
    consumer_tokens,
    drop_database,
    insert_consumers,
    new_database,
    serve,
)

from cloudstore.auth.passwords import PasswordHashing
from cloudstore.codes.service import GENERATE_JOB, generate
from cloudstore.lib.db import Database, _asyncpg_args
from cloudstore.lib.jobs import Worker

TENANT = "bench"
SECRET = "bench-secret-key-" + "c" * 40
PASSWORD = "bench-password-1"


async def seed(url: str, consumers: int) -> tuple[int, list[str], list[str]]:
    """Seed the tenant; returns (tenant id, store codes, consumer tokens)."""
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        tid = await conn.fetchval("INSERT INTO tenants (slug, name) VALUES ($1, '压测品牌') RETURNING id", TENANT)
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tid))
        await conn.execute(
            "INSERT INTO staff (tenant_id, username, password_hash, role) VALUES ($1, 'hq', $2, 'hq')",
            tid,
            await PasswordHashing(fast=True).hash(PASSWORD),
        )
        dist = await conn.fetchval(
            "INSERT INTO distributors (tenant_id, code, name, regions) "
            "VALUES ($1, 'D1', '经销', '{4403}') RETURNING id",
            tid,
        )
        stores = []
        for i in range(20):
            code = f"S{i:03d}"
            loc = await conn.fetchval(
                "INSERT INTO locations (tenant_id, code, name, kind, lat, lng) VALUES ($1, $2, $2, 'store', 22.53, "
                "113.93) RETURNING id",
                tid,
                code,
            )
            await conn.execute(
                "INSERT INTO stores (tenant_id, code, name, location_id, distributor_id, region, address) "
                "VALUES ($1, $2, $2, $3, $4, '440305', '南山')",
                tid,
                code,
                loc,
                dist,
            )
            stores.append(code)
        for p in range(30):
            pid = await conn.fetchval(
                "INSERT INTO products (tenant_id, code, title, category, status, published_at) "
                "VALUES ($1, $2, $3, '绿茶', 'published', now()) RETURNING id",
                tid,
                f"P{p:03d}",
                f"龙井 {p}",
            )
            await conn.execute(
                "INSERT INTO skus (tenant_id, product_id, code, spec, price, min_price, max_price) "
                "VALUES ($1, $2, $3, '100g', 1990, 1990, 1990)",
                tid,
                pid,
                f"K{p:03d}",
            )
        ids = await insert_consumers(conn, tid, consumers)
    finally:
        await conn.close()
    tokens = consumer_tokens(tid, TENANT, ids, SECRET)
    return tid, stores, tokens


def server_pid(port: str) -> int:
    """The pid of the uvicorn process listening on ``port`` (found by its command line)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"uvicorn" in cmd and port.encode() in cmd:
                return int(entry.name)
    raise RuntimeError("server process not found")


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def generate_batch(url: str, base: str, hq: str, units: int, per_case: int) -> tuple[str, float]:
    """Request the batch and run its jobs here; returns (batch number, seconds from request to ready)."""
    db = Database(url)
    worker = Worker(db.sessions, {GENERATE_JOB: generate})
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        started = time.perf_counter()
        r = await client.post(
            "/v1/hq/code-batches",
            json={"sku": "K000", "units": units, "units_per_case": per_case},
            headers={"Authorization": f"Bearer {hq}"},
        )
        r.raise_for_status()
        batch_no = r.json()["batch_no"]
        await worker.run_pending()
        seconds = time.perf_counter() - started
        r = await client.get(f"/v1/hq/code-batches/{batch_no}", headers={"Authorization": f"Bearer {hq}"})
        body = r.json()
        if body["status"] != "ready" or body["generated"] != units:
            raise SystemExit(f"batch not ready: {body}")
    await db.dispose()
    return batch_no, seconds


async def export(
    base: str, hq: str, batch_no: str, pid: int, keep_cases: int
) -> tuple[int, int, float, float, float, list[str], list[str]]:
    """Stream the CSV; returns (lines, bytes, seconds, RSS before, RSS peak, the first ``keep_cases`` case codes,
    the unit codes packed in them).
    """
    before = rss_mib(pid)
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mib(pid))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    lines = size = 0
    cases: list[str] = []
    kept: set[str] = set()
    units: list[str] = []
    started = time.perf_counter()
    async with (
        httpx.AsyncClient(base_url=base, timeout=600) as client,
        client.stream(
            "GET", f"/v1/hq/code-batches/{batch_no}/codes.csv", headers={"Authorization": f"Bearer {hq}"}
        ) as r,
    ):
        r.raise_for_status()
        async for line in r.aiter_lines():
            lines += 1
            size += len(line) + 1
            level, code, _, case = line.split(",")
            if level == "case" and len(cases) < keep_cases:
                cases.append(code)
                kept.add(code)
            elif level == "unit" and case in kept:
                units.append(code)
    seconds = time.perf_counter() - started
    done.set()
    await sampler
    return lines, size, seconds, before, peak, cases, units


async def timed(name: str, base: str, tokens: list[str], make: object, *, concurrency: int, duration: float) -> Result:
    """Keep ``concurrency`` requests from ``make(client, i)`` in flight for ``duration`` seconds."""
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker(w: int, until: float) -> None:
            i = w
            while time.perf_counter() < until:
                started = time.perf_counter()
                try:
                    r = await make(client, i)  # type: ignore[operator]
                    ok = r.status_code == 200
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


async def run(args: argparse.Namespace) -> None:
    """Seed, serve, measure, report."""
    db = await new_database("cloudstore-bench-codes", args.database_url)
    try:
        _, stores, tokens = await seed(db.url, 500)
        logs = Path(tempfile.mkdtemp(prefix="cloudstore-bench-logs-"))
        env = {
            "DATABASE_URL": db.url,
            "CLOUDSTORE_ENV": "dev",
            "CLOUDSTORE_SECRET_KEY": SECRET,
            "CLOUDSTORE_RUN_WORKER": "0",
            "CLOUDSTORE_ACCESS_LOG": "0",
            "CLOUDSTORE_LOG_LEVEL": "WARNING",
            "CLOUDSTORE_DB_POOL_SIZE": str(args.pool),
            "CLOUDSTORE_DB_MAX_OVERFLOW": "0",
        }
        with serve("cloudstore.app:app_from_env", env, logs / "cloudstore.log") as base:
            pid = server_pid(base.rsplit(":", 1)[1])
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                r = await client.post("/v1/auth/token", json={"tenant": TENANT, "username": "hq", "password": PASSWORD})
                r.raise_for_status()
                hq = r.json()["access_token"]
            batch_no, gen_s = await generate_batch(db.url, base, hq, args.units, args.per_case)
            lines, size, csv_s, rss0, rss_peak, cases, scan_units = await export(
                base, hq, batch_no, pid, keep_cases=len(stores) * 100
            )
            async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                for i, store in enumerate(stores):
                    chunk = cases[i * 100 : (i + 1) * 100]
                    r = await client.post(
                        "/v1/hq/code-shipments",
                        json={"store": store, "codes": chunk},
                        headers={"Authorization": f"Bearer {hq}"},
                    )
                    r.raise_for_status()
            random.Random(7).shuffle(scan_units)

            def scan(client: httpx.AsyncClient, i: int) -> object:
                return client.post(
                    f"/v1/shop/{TENANT}/scans",
                    json={"code": scan_units[i % len(scan_units)], "region": "440305"},
                    headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
                )

            def page(client: httpx.AsyncClient, i: int) -> object:
                return client.get(f"/v1/shop/{TENANT}/stores/{stores[i % len(stores)]}/products")

            c = args.concurrency
            await timed("warm-up", base, tokens, scan, concurrency=c, duration=2)
            results = [
                await timed(f"scans c={c}", base, tokens, scan, concurrency=c, duration=args.duration),
                await timed(f"storefront page c={c}", base, tokens, page, concurrency=c, duration=args.duration),
            ]
        where = f"Citus ({len(db.servers) - 1} workers)" if db.citus else "single server"
        print(f"\none item, one code on {where}; {os.cpu_count()} CPUs; command: {' '.join(sys.argv)}")
        print(
            f"generation: {args.units:,} unit codes in cases of {args.per_case} "
            f"({lines - 1 - args.units:,} case codes): {gen_s:.1f} s from the request to ready "
            f"({args.units / gen_s:,.0f} unit codes/s)"
        )
        print(
            f"CSV export: {lines:,} lines, {size / 2**20:.0f} MiB in {csv_s:.1f} s; "
            f"server RSS {rss0:.0f} MiB before, {rss_peak:.0f} MiB at its peak (+{rss_peak - rss0:.0f} MiB)"
        )
        print(f"scans and the storefront page, {args.duration:g} s each, one after the other; pool {args.pool}")
        print(HEADER)
        for res in results:
            print(res.row())
    finally:
        await drop_database(db)


def main() -> None:
    """Options and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--per-case", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per timed run")
    parser.add_argument("--pool", type=int, default=20, help="database connections in the server's pool")
    parser.add_argument("--quick", action="store_true", help="100,000 units, 5 s runs")
    add_database_url_option(parser)
    args = parser.parse_args()
    if args.quick:
        args.units, args.duration = 100_000, 5.0
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
