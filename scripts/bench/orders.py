"""Benchmark order placement: cloudstore against a raw asyncpg baseline, and optionally an older checkout.

Run from the repository root: ``scripts/bench/orders`` (``--help`` for options, ``--quick`` for a short run).

For each server in turn (cloudstore; the baseline, ``orders_baseline.py``, which places the same orders with
the same statements on raw asyncpg; with ``--before DIR`` the cloudstore of another checkout, e.g. a worktree
of an older commit, run from that checkout's ``.venv``):

1. Creates a throw-away database (``--database-url``'s server, default ``DATABASE_URL``, else an embedded
   PostgreSQL; on a Citus coordinator on every node, distributed after the migration by
   ``cloudstore db distribute``), migrates it and seeds one tenant: 20 Shenzhen stores, a regional and a central
   warehouse, 200 SKUs with ample stock, a flash-sale SKU with exactly 100 units, a hot SKU at one store, and
   2,100 consumers with tokens.
2. Starts the server under uvicorn (uvloop, httptools) on a 127.0.0.1 port.
3. Orders: ``--concurrency`` clients place 1-3 line delivery orders for ``--duration`` seconds (closed loop:
   each client sends its next order when the last is answered). Hot row: pickup orders of the hot SKU at one
   store (every order reserves the same stock row), at 1 and at 32 clients. Open loop: orders arrive at a
   constant rate (``--open-share`` of the orders/s of a closed loop run again just before, for half
   ``--duration``), each latency measured from its scheduled
   send time, so queueing counts. Flash sale: 2,000 buyers each order one unit of the flash SKU at the same
   moment; exactly 100 must get 201 and the rest 409 ``insufficient_stock``, with 0 other answers.
   Each run reports the server's CPU time (user + system, its worker processes included) per order placed,
   and the machine's 1-minute load average.

With ``--rounds N``, afterwards: every server up at once on its own fresh database, ``N`` rounds of the
orders run, the servers taking turns within each round (the first of each round rotating), and the median
orders/s of each with the ratios of the medians: on a shared virtual machine whose speed drifts over minutes,
alternating short runs compare the servers under the same conditions better than one long run each.

The client is a minimal asyncio HTTP/1.1 client (``harness.RawClient``), one keep-alive connection per client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import msgspec
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    HEADER,
    RawClient,
    Result,
    add_database_url_option,
    consumer_tokens,
    drop_database,
    freeze_heap,
    insert_consumers,
    new_database,
    serve,
    server_pid,
)

from cloudstore.lib.db import _asyncpg_args, to_async_url

HERE = Path(__file__).resolve().parent
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
        ids = await insert_consumers(conn, tid, consumers)
        # What autovacuum does to freshly loaded tables within a minute; without it the planner takes a tenant's
        # whole stock (or catalog) for a handful of rows and every server scans thousands per order. Named:
        # Citus analyzes the shards of the tables a statement names.
        await conn.execute(
            "ANALYZE tenants, tenant_policies, distributors, locations, stores, products, skus, stock_levels, consumers"
        )
    finally:
        await conn.close()
    tokens = consumer_tokens(tid, TENANT, ids, SECRET)
    return stores, tokens


# The tables the order path writes. The warm-up leaves them with a few hundred rows their statistics do not know
# of; until autovacuum analyzes them (within a minute, on a live database), each connection keeps the plans it
# made for them on near-empty tables, among them the foreign-key checks on ``orders``, which may then scan the
# tenant's orders in another index (``ix_orders_store``) at every order, ever longer as the run goes on.
WRITTEN = "orders, order_lines, fulfilments, fulfilment_lines, jobs, idempotency_keys, webhook_deliveries, stock_levels"


async def analyze_written(url: str) -> None:
    """What autovacuum does to the order path's tables within a minute of the first orders (after the warm-up)."""
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        await conn.execute(f"ANALYZE {WRITTEN}")
    finally:
        await conn.close()


def order_body(rng: random.Random, store: str) -> bytes:
    """A 1-3 line delivery order of ordinary SKUs."""
    skus = rng.sample([f"K{p:03d}-{s}" for p in range(66) for s in range(3)], rng.randint(1, 3))
    lines = [{"sku": s, "qty": rng.randint(1, 3)} for s in skus]
    return json.dumps({"store": store, "lines": lines, "delivery": ADDRESS}).encode()


HOT = json.dumps({"store": "S000", "lines": [{"sku": "HOT-1", "qty": 1}], "delivery": {"mode": "pickup"}}).encode()
FLASH = json.dumps({"store": "S000", "lines": [{"sku": "FLASH-1", "qty": 1}], "delivery": ADDRESS}).encode()
PATH = f"/v1/shop/{TENANT}/orders"
_ERRORS = (OSError, ValueError, IndexError, asyncio.IncompleteReadError)


class Load(msgspec.Struct):
    """What one server is driven with: its URL, process, consumers' tokens, order bodies, a key prefix."""

    base: str
    pid: int
    tokens: list[str]
    bodies: list[bytes]
    prefix: str
    counter: int = 0

    def next(self) -> tuple[bytes, str, str]:
        """The next (body, token, Idempotency-Key header line): every request its own key."""
        i = self.counter
        self.counter += 1
        key = f"Idempotency-Key: {self.prefix}-{i}\r\n"
        return self.bodies[i % len(self.bodies)], self.tokens[i % len(self.tokens)], key


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn's workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == pid:
                        pids.append(int(entry))
    for p in pids:
        with contextlib.suppress(OSError), open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Run(msgspec.Struct):
    """A timed run and the server CPU it took."""

    result: Result
    cpu_ms_per_order: float
    load: str  # the 1-minute load average when it ended

    def row(self) -> str:
        """A results line with the CPU per order and the machine's load."""
        return f"{self.result.row()}{self.cpu_ms_per_order:>10.2f}{self.load:>8}"


ROW_HEADER = f"{HEADER}{'cpu ms/o':>10}{'load':>8}"


def _load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


async def closed_loop(name: str, load: Load, bodies: list[bytes] | None, *, concurrency: int, duration: float) -> Run:
    """Keep ``concurrency`` order requests in flight for ``duration`` seconds (each client waits for its answer)."""
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    clients = [RawClient(load.base) for _ in range(concurrency)]
    cpu = cpu_seconds(load.pid)

    async def worker(w: int, until: float) -> None:
        while (started := time.perf_counter()) < until:
            body, token, key = load.next()
            try:
                ok = await clients[w].request("POST", PATH, body if bodies is None else bodies[0], token, key) == 201
            except _ERRORS:
                ok = False
                await clients[w].close()
            latencies.append((time.perf_counter() - started) * 1000)
            counts["requests"] += 1
            counts["errors"] += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker(w, started + duration) for w in range(concurrency)))
    elapsed = time.perf_counter() - started
    for c in clients:
        await c.close()
    result = Result(name, counts["requests"], counts["errors"], elapsed, latencies)
    return Run(result, _per_order(load.pid, cpu, result), _load_average())


def _per_order(pid: int, cpu_before: float, result: Result) -> float:
    placed = result.requests - result.errors
    return (cpu_seconds(pid) - cpu_before) * 1000 / placed if placed else float("nan")


async def open_loop(name: str, load: Load, *, rate: float, duration: float) -> Run:
    """Send orders at a constant ``rate`` per second for ``duration`` seconds, whether or not earlier ones answered.

    Each latency runs from the request's scheduled send time, so time spent queued behind a slow server (or a
    late client) counts. A request finds an idle keep-alive connection, else opens one.
    """
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    idle: list[tuple[RawClient, float]] = []
    opened: list[RawClient] = []
    cpu = cpu_seconds(load.pid)

    async def send(scheduled: float) -> None:
        client = None
        while idle and client is None:
            client, used = idle.pop()
            if time.perf_counter() - used > 3:  # the server closes a keep-alive connection idle for 5 s
                await client.close()
                client = None
        if client is None:
            client = RawClient(load.base)
            opened.append(client)
        body, token, key = load.next()
        try:
            ok = await client.request("POST", PATH, body, token, key) == 201
        except _ERRORS:
            ok = False
            await client.close()
        latencies.append((time.perf_counter() - scheduled) * 1000)
        counts["requests"] += 1
        counts["errors"] += not ok
        idle.append((client, time.perf_counter()))

    tasks = []
    started = time.perf_counter()
    total = int(rate * duration)
    for i in range(total):
        scheduled = started + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for c in opened:
        await c.close()
    result = Result(name, counts["requests"], counts["errors"], max(elapsed, duration), latencies)
    return Run(result, _per_order(load.pid, cpu, result), _load_average())


async def flash_sale(load: Load, buyers: int) -> tuple[dict[int, int], int, float, list[float]]:
    """Every buyer orders one flash unit at once; returns (status counts, transport errors, seconds, latencies)."""
    statuses: dict[int, int] = {}
    failures = 0
    latencies: list[float] = []
    clients = [RawClient(load.base) for _ in range(buyers)]
    gate = asyncio.Event()

    async def buyer(i: int) -> None:
        nonlocal failures
        await gate.wait()
        started = time.perf_counter()
        try:
            status = await clients[i].request("POST", PATH, FLASH, load.tokens[i], f"Idempotency-Key: flash-{i}\r\n")
            statuses[status] = statuses.get(status, 0) + 1
        except _ERRORS:
            failures += 1
        latencies.append((time.perf_counter() - started) * 1000)

    tasks = [asyncio.create_task(buyer(i)) for i in range(buyers)]
    await asyncio.sleep(0.5)
    started = time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for c in clients:
        await c.close()
    return statuses, failures, elapsed, latencies


class Target(msgspec.Struct):
    """A server to measure: its name, the uvicorn factory, and the checkout it runs from."""

    name: str
    factory: str
    workers: int
    app_dir: Path | None = None


def _server_env(target: Target, url: str, args: argparse.Namespace) -> dict[str, str]:
    if target.factory.startswith("orders_baseline"):
        return {
            "BENCH_DATABASE_URL": url.replace("postgresql+asyncpg://", "postgresql://"),
            "BENCH_SECRET_KEY": SECRET,
            "BENCH_POOL": str(args.pool),
            "PYTHONPATH": str(HERE),
        }
    return {
        "DATABASE_URL": url,
        "CLOUDSTORE_ENV": "dev",
        "CLOUDSTORE_SECRET_KEY": SECRET,
        "CLOUDSTORE_RUN_WORKER": "0",
        "CLOUDSTORE_ACCESS_LOG": "0",
        "CLOUDSTORE_LOG_LEVEL": "WARNING",
        "CLOUDSTORE_DB_POOL_SIZE": str(args.pool),
        "CLOUDSTORE_DB_MAX_OVERFLOW": "0",
    }


class Measured(msgspec.Struct):
    """One server's figures."""

    name: str
    runs: list[Run]
    flash: str
    flash_ok: bool
    throughput: float  # orders/s at --concurrency clients
    workers: int


async def measure(target: Target, args: argparse.Namespace, logs: Path) -> Measured:
    """A fresh seeded database, the server on it, and every run against it."""
    db = await new_database("cloudstore-bench-orders", args.database_url)
    try:
        stores, tokens = await seed(db.url, max(args.buyers, 100) + 100)
        rng = random.Random(5)
        bodies = [order_body(rng, rng.choice(stores[:10])) for _ in range(2000)]
        env = _server_env(target, db.url, args)
        log = logs / f"{target.name.replace(' ', '-')}.log"
        with serve(target.factory, env, log, workers=target.workers, app_dir=target.app_dir) as base:
            pid = server_pid(base)
            prefix = f"{target.name}-{os.getpid()}"
            load = Load(base, pid, tokens[: len(tokens) - args.buyers] or tokens, bodies, prefix)
            freeze_heap()
            # a short warm-up fills the connection pool and the statement caches
            await closed_loop("warm-up", load, None, concurrency=args.concurrency, duration=2)
            await analyze_written(db.url)
            c = args.concurrency
            runs = [await closed_loop(f"orders c={c}", load, None, concurrency=c, duration=args.duration)]
            throughput = runs[0].result.rps
            for clients in (1, 32):  # one after the other, not at once
                runs.append(  # noqa: PERF401
                    await closed_loop(f"hot row c={clients}", load, [HOT], concurrency=clients, duration=args.duration)
                )
            # The saturation rate again, just before the open loop: these VMs drift over a minute, and 70 % of a
            # rate measured in a fast minute can be more than the server can do in a slow one.
            again = await closed_loop(f"orders c={c} again", load, None, concurrency=c, duration=args.duration / 2)
            runs.append(again)
            rate = again.result.rps * args.open_share
            runs.append(await open_loop(f"open {rate:.0f}/s ({args.open_share:.0%})", load, rate=rate,
                                        duration=args.duration))  # fmt: skip
            flash_load = Load(base, pid, tokens[-args.buyers :], [FLASH], "flash")
            statuses, failures, seconds, latencies = await flash_sale(flash_load, args.buyers)
    finally:
        await drop_database(db)
    summary = Result("flash sale", sum(statuses.values()) + failures, failures, seconds, latencies)
    others = sum(v for k, v in statuses.items() if k not in (201, 409)) + failures
    ok = statuses.get(201, 0) == 100 and statuses.get(409, 0) == args.buyers - 100 and failures == 0
    odd = ", ".join(f"{v} × {k}" for k, v in sorted(statuses.items()) if k not in (201, 409))
    flash = (
        f"{args.buyers} buyers, 100 units: {statuses.get(201, 0)} × 201, {statuses.get(409, 0)} × 409, "
        f"{others} other{f' ({odd})' if odd else ''}; "
        f"every buyer answered in {seconds:.2f} s (p50 {summary.quantile(0.5):.0f} ms, "
        f"p99 {summary.quantile(0.99):.0f} ms); load {_load_average()}"
    )
    return Measured(target.name, runs, flash, ok, throughput, target.workers)


async def _check_connections(needed: int, args: argparse.Namespace) -> None:
    """Warn before rounds whose servers' pools, all grown at once, could pass the database's connection limit:
    the last pools to grow would be refused connections and answer errors (counted in the rounds) instead of
    orders. Pools grow only as far as the load takes them, so it may not come to that."""
    if not args.database_url:
        return  # the embedded server: one per database, started with room enough
    conn = await asyncpg.connect(**_asyncpg_args(make_url(to_async_url(args.database_url))))
    try:
        limit = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
        used = int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"))
    finally:
        await conn.close()
    room = limit - reserved - used
    if needed > room:
        print(
            f"warning: the rounds may open up to {needed} database connections (server processes × --pool "
            f"{args.pool}) and the database has room for {room} (max_connections {limit})",
            flush=True,
        )


async def alternate(targets: list[Target], args: argparse.Namespace, logs: Path) -> None:
    """Every server up at once, then ``--rounds`` rounds of the orders run, the servers taking turns."""
    dbs = []
    loads: list[Load] = []
    c = args.concurrency
    await _check_connections(sum(t.workers for t in targets) * args.pool, args)
    try:
        with contextlib.ExitStack() as stack:
            for target in targets:
                db = await new_database("cloudstore-bench-orders", args.database_url)
                dbs.append(db)
                stores, tokens = await seed(db.url, 200)
                rng = random.Random(5)
                bodies = [order_body(rng, rng.choice(stores[:10])) for _ in range(2000)]
                log = logs / f"{target.name.replace(' ', '-')}-rounds.log"
                base = stack.enter_context(
                    serve(target.factory, _server_env(target, db.url, args), log, workers=target.workers,
                          app_dir=target.app_dir)
                )  # fmt: skip
                loads.append(Load(base, server_pid(base), tokens, bodies, f"{target.name}-rounds-{os.getpid()}"))
            freeze_heap()
            for load, db in zip(loads, dbs, strict=True):
                await closed_loop("warm-up", load, None, concurrency=c, duration=2)
                await analyze_written(db.url)
            rps: dict[str, list[float]] = {t.name: [] for t in targets}
            print(f"\nrounds: orders c={c}, {args.duration:g} s each, servers taking turns (orders/s, cpu ms/o, load)")
            for r in range(args.rounds):
                cells = []
                for i in range(len(targets)):
                    k = (i + r) % len(targets)
                    run_ = await closed_loop(f"orders c={c}", loads[k], None, concurrency=c, duration=args.duration)
                    rps[targets[k].name].append(run_.result.rps)
                    errors = f", {run_.result.errors} errors" if run_.result.errors else ""
                    cells.append(
                        f"{targets[k].name} {run_.result.rps:.1f} ({run_.cpu_ms_per_order:.2f}, {run_.load}{errors})"
                    )
                print(f"  round {r + 1}: " + "; ".join(cells), flush=True)
    finally:
        for db in dbs:
            await drop_database(db)
    medians = {name: statistics.median(v) for name, v in rps.items()}
    print("medians: " + ", ".join(f"{name} {m:.1f}" for name, m in medians.items()))
    if medians.get("cloudstore") and medians.get("baseline"):
        print(f"cloudstore / baseline (medians): {medians['cloudstore'] / medians['baseline']:.1%}")
    if medians.get("cloudstore") and medians.get("before"):
        print(f"cloudstore / before (medians): {medians['cloudstore'] / medians['before']:.2f}×")


def report(measured: list[Measured], args: argparse.Namespace) -> None:
    """Print every server's table, the flash sale, and the ratios."""
    print(
        f"\norders against one tenant, 20 stores, 200 SKUs; {args.duration:g} s per run; pool {args.pool} per process; "
        f"raw HTTP/1.1 client; {os.cpu_count()} cores"
    )
    for m in measured:
        print(f"\n{m.name} ({m.workers} server process{'es' if m.workers > 1 else ''})")
        print(ROW_HEADER)
        for r in m.runs:
            print(r.row())
        opened = m.runs[-1].result
        print(f"open loop p99 / p50: {opened.quantile(0.99) / opened.quantile(0.5):.1f}")
        print(f"flash sale: {m.flash}")
    by = {m.name: m.throughput for m in measured}
    if by.get("cloudstore") and by.get("baseline"):
        print(f"\ncloudstore / baseline orders/s at c={args.concurrency}: {by['cloudstore'] / by['baseline']:.1%}")
    if by.get("cloudstore") and by.get("before"):
        print(f"cloudstore / before orders/s at c={args.concurrency}: {by['cloudstore'] / by['before']:.2f}×")


async def run(args: argparse.Namespace) -> None:
    """Measure each server in turn, report."""
    targets = [Target("cloudstore", "cloudstore.app:app_from_env", args.workers)]
    if not args.no_baseline:
        targets.append(Target("baseline", "orders_baseline:create_app", args.workers))
    if args.before is not None:
        before_workers = args.before_workers or args.workers
        targets.append(Target("before", "cloudstore.app:app_from_env", before_workers, args.before.resolve()))
    logs = Path(tempfile.mkdtemp(prefix="cloudstore-bench-logs-"))
    measured = []
    for target in targets:
        m = await measure(target, args, logs)
        print(f"  {m.name}: {m.throughput:.1f} orders/s; flash sale {'ok' if m.flash_ok else 'UNEXPECTED'}", flush=True)
        measured.append(m)
    report(measured, args)
    if args.rounds > 1:
        await alternate(targets, args, logs)
    print(f"server logs: {logs}")
    if not all(m.flash_ok for m in measured):
        raise SystemExit(1)


def main() -> None:
    """Options and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per timed run")
    parser.add_argument("--buyers", type=int, default=2000, help="flash-sale buyers")
    parser.add_argument("--pool", type=int, default=20, help="database connections in each server's pool")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes per server")
    parser.add_argument(
        "--before-workers",
        type=int,
        help="uvicorn processes for --before (default: --workers; the old code's serve ran one)",
    )
    parser.add_argument(
        "--open-share", type=float, default=0.7, help="open-loop arrival rate as a share of the closed-loop orders/s"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw asyncpg baseline")
    parser.add_argument(
        "--before",
        type=Path,
        help="another checkout (with its .venv, e.g. a git worktree of an older commit) measured the same way "
        "after this one, for a before/after in the same run",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="afterwards, this many rounds of the orders run with every server up and taking turns (medians)",
    )
    parser.add_argument("--quick", action="store_true", help="5 s runs, 500 flash-sale buyers")
    add_database_url_option(parser)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.buyers = 5.0, 500
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    main()
