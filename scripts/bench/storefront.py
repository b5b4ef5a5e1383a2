"""Benchmark the public storefront page: cloudstore against a minimal Litestar + raw asyncpg baseline.

Run from the repository root: ``scripts/bench/storefront`` (options: ``--help``; ``--quick`` for a short run).

1. Creates a throw-away database (on ``--database-url``'s server, default ``DATABASE_URL``, else an embedded
   PostgreSQL in a temporary folder; on a Citus coordinator on every node, distributed after the migration by
   ``cloudstore db distribute``), migrates it and seeds one tenant with SQL ``COPY``: 1,000 stores across
   Guangdong, 6 regional warehouses and a central one, 2,500 products with 5,000 SKUs, stock at the warehouses
   and 150 SKUs in each store, a few pinned/hidden products and store prices per store.
2. Starts cloudstore (``uvicorn --factory cloudstore.app:app_from_env``, production settings, background worker
   off, 20 database connections like the baseline, JSON access line off unless ``--access-log``) and the
   baseline (``storefront_baseline.py``, the same SQL), each under uvicorn with uvloop and httptools on its own
   127.0.0.1 port, and checks they answer the same JSON.
3. Drives each in turn at a fixed concurrency for a fixed time, after a warm-up, requesting
   ``/v1/shop/bench/stores/{random store}/products?limit=50`` over keep-alive connections
   (``Accept-Encoding: identity``, so neither side compresses), and prints requests/s, p50, p99 and errors for
   both and their ratio. The client is a minimal asyncio HTTP/1.1 client (``--client httpx`` uses
   ``httpx.AsyncClient``, which costs as much CPU per page as the server and so caps both sides).
4. With ``--quote``, also seeds a delivery policy, an automatic promotion, 500 consumers each holding an HQ
   coupon, and in every round drives cloudstore's ``POST /v1/shop/bench/quote`` (1-3 lines stocked at the
   Shenzhen warehouse, delivered to Nanshan, with the consumer's token) with the same client and concurrency
   right after the page runs, and prints the quote's throughput as a share of cloudstore's page throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    HEADER,
    BenchDatabase,
    RawClient,
    Result,
    add_database_url_option,
    consumer_tokens,
    drop_database,
    insert_consumers,
    new_database,
    serve,
)

from cloudstore.lib.db import _asyncpg_args

HERE = Path(__file__).resolve().parent
TENANT = "bench"

# GB/T 2260 county codes by city prefix, and the regional warehouse serving each city.
COUNTIES = {
    "4403": ["440303", "440304", "440305", "440306", "440307", "440308", "440309", "440310", "440311"],
    "4401": ["440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115", "440117"],
    "4406": ["440604", "440605", "440606", "440607", "440608"],
    "4404": ["440402", "440403", "440404"],
    "4419": ["441900"],
    "4413": ["441302", "441303", "441322", "441323"],
}
CATEGORIES = ["绿茶", "红茶", "乌龙茶", "普洱", "白茶", "花茶", "茶具", "礼盒"]
NANSHAN = {
    "mode": "delivery",
    "region": "440305",
    "lat": 22.54,
    "lng": 113.935,
    "address": "南山区科技园",
    "contact": "测试",
    "phone": "13800000000",
}
TEAS = ["龙井", "碧螺春", "祁门红茶", "正山小种", "铁观音", "大红袍", "单丛", "熟普", "生普", "白毫银针", "茉莉花茶"]


# --- seeding ----------------------------------------------------------------------------------------------------


async def seed(url: str, *, stores: int, skus: int, store_skus: int, rng: random.Random) -> list[str]:
    """Seed the bench tenant with COPY; returns the store codes."""
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        tid = await conn.fetchval("INSERT INTO tenants (slug, name) VALUES ($1, '基准茶业') RETURNING id", TENANT)
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tid))
        await conn.execute("INSERT INTO tenant_policies (tenant_id) VALUES ($1)", tid)
        cities = list(COUNTIES)
        await conn.copy_records_to_table(
            "distributors",
            records=[(tid, i + 1, f"D-{c}", f"经销商{c}", [c]) for i, c in enumerate(cities)],
            columns=["tenant_id", "id", "code", "name", "regions"],
        )
        # Locations: one regional warehouse per city, a central warehouse, then one per store.
        locations: list[tuple[Any, ...]] = [
            (tid, i + 1, f"WH-{c}", f"{c}仓", "regional", 23.0, 113.5, [c], i + 1) for i, c in enumerate(cities)
        ]
        locations.append((tid, len(cities) + 1, "WH-C", "总仓", "central", 23.02, 113.75, [], None))
        store_rows = []
        codes = []
        for n in range(stores):
            city = cities[n % len(cities)]
            region = COUNTIES[city][n % len(COUNTIES[city])]
            loc_id = len(locations) + 1
            code = f"S{n:04d}"
            codes.append(code)
            lat, lng = 22.5 + rng.random(), 113.2 + rng.random()
            locations.append((tid, loc_id, code, f"门店{n}", "store", lat, lng, [], cities.index(city) + 1))
            store_rows.append((tid, n + 1, code, f"门店{n}", loc_id, cities.index(city) + 1, region, "广东省", 5.0))
        await conn.copy_records_to_table(
            "locations",
            records=locations,
            columns=["tenant_id", "id", "code", "name", "kind", "lat", "lng", "regions", "distributor_id"],
        )
        await conn.copy_records_to_table(
            "stores",
            records=store_rows,
            columns=["tenant_id", "id", "code", "name", "location_id", "distributor_id", "region", "address",
                     "delivery_radius_km"],
        )  # fmt: skip
        products = skus // 2
        await conn.copy_records_to_table(
            "products",
            records=[
                (tid, p + 1, f"P{p:05d}", f"{TEAS[p % len(TEAS)]} {p:04d}号", CATEGORIES[p % len(CATEGORIES)],
                 "published", [f"https://img.example.com/p/{p}.jpg"])
                for p in range(products)
            ],
            columns=["tenant_id", "id", "code", "title", "category", "status", "images"],
        )  # fmt: skip
        sku_rows = []
        for k in range(skus):
            price = rng.randrange(20, 2000) * 100
            sku_rows.append((tid, k + 1, k // 2 + 1, f"K{k:05d}", ["100g", "250g"][k % 2], price, price * 9 // 10,
                             price * 11 // 10, k % 2))  # fmt: skip
        await conn.copy_records_to_table(
            "skus",
            records=sku_rows,
            columns=["tenant_id", "id", "product_id", "code", "spec", "price", "min_price", "max_price", "sort"],
        )
        levels = []
        warehouse_ids = list(range(1, len(cities) + 2))
        for loc in warehouse_ids:
            share = 0.4 if loc == len(cities) + 1 else 0.7
            for k in rng.sample(range(1, skus + 1), int(skus * share)):
                on_hand = rng.randrange(0, 200)
                levels.append((tid, loc, k, on_hand, min(on_hand, rng.randrange(0, 3))))
        for n in range(stores):
            loc = len(cities) + 2 + n
            for k in rng.sample(range(1, skus + 1), store_skus):
                on_hand = rng.randrange(0, 10)
                levels.append((tid, loc, k, on_hand, min(on_hand, rng.randrange(0, 2))))
        await conn.copy_records_to_table(
            "stock_levels", records=levels, columns=["tenant_id", "location_id", "sku_id", "on_hand", "reserved"]
        )
        items, prices = [], []
        for n in range(stores):
            picks = rng.sample(range(1, products + 1), 5)
            items += [(tid, n + 1, p, i >= 3, i < 3) for i, p in enumerate(picks)]  # 3 pinned, 2 hidden
            for k in rng.sample(range(1, skus + 1), 10):
                price = sku_rows[k - 1][5]
                prices.append((tid, n + 1, k, rng.randrange(price * 9 // 10, price * 11 // 10 + 1)))
        await conn.copy_records_to_table(
            "storefront_items", records=items, columns=["tenant_id", "store_id", "product_id", "hidden", "pinned"]
        )
        await conn.copy_records_to_table(
            "store_sku_prices", records=prices, columns=["tenant_id", "store_id", "sku_id", "price"]
        )
        for table in ("distributors", "locations", "stores", "products", "skus"):  # fixed names
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
        # Named: Citus analyzes the shards of the tables a statement names.
        await conn.execute(
            "ANALYZE tenants, tenant_policies, distributors, locations, stores, products, skus, stock_levels, "
            "storefront_items, store_sku_prices"
        )
    finally:
        await conn.close()
    return codes


async def seed_pricing(
    url: str, stores: list[str], *, consumers: int, secret: str, rng: random.Random
) -> tuple[list[str], list[bytes]]:
    """Pricing for the quote: delivery policy, a promotion, consumers holding an HQ coupon; (tokens, bodies)."""
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        tid = await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", TENANT)
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(tid))
        policy = {
            "basis": "per_order",
            "rules": [{"regions": ["4403"], "first_fee": 1000, "extra_fee": 200}, {"regions": ["44"], "first_fee":
                      1200, "extra_fee": 300}],
            "default_rule": {"first_fee": 2000, "extra_fee": 500},
            "free_over": 99900,
            "store_fee": 500,
            "no_delivery_regions": ["65"],
        }  # fmt: skip
        await conn.execute(
            "INSERT INTO delivery_policies (tenant_id, policy) VALUES ($1, $2::jsonb)", tid, json.dumps(policy)
        )
        since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)
        await conn.execute(
            "INSERT INTO promotions (tenant_id, code, name, kind, value, min_goods, max_discount, categories, "
            "valid_from, valid_until) VALUES ($1, 'BENCH-PROMO', '绿茶九折', 'percent_off', 1000, 0, 5000, "
            "'{绿茶}', $2, $3)",
            tid,
            since,
            until,
        )
        coupon = await conn.fetchval(
            "INSERT INTO coupons (tenant_id, code, name, kind, value, min_goods, total, per_consumer, valid_from, "
            "valid_until, claimed) VALUES ($1, 'BENCH-20', '满100减20', 'amount_off', 2000, 10000, NULL, 1, $2, $3, "
            "$4) RETURNING id",
            tid,
            since,
            until,
            consumers,
        )
        ids = await insert_consumers(conn, tid, consumers)
        await conn.copy_records_to_table(
            "consumer_coupons",
            records=[(tid, coupon, cid, "available", since, until) for cid in ids],
            columns=["tenant_id", "coupon_id", "consumer_id", "status", "valid_from", "valid_until"],
        )
        # SKUs the Shenzhen warehouse can ship three of.
        skus = [
            r["code"]
            for r in await conn.fetch(
                "SELECT k.code FROM stock_levels l JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id "
                "JOIN locations w ON w.tenant_id = l.tenant_id AND w.id = l.location_id "
                "WHERE l.tenant_id = $1 AND w.code = 'WH-4403' AND l.on_hand - l.reserved >= 3 ORDER BY k.id",
                tid,
            )
        ]
        await conn.execute("ANALYZE delivery_policies, promotions, coupons, consumers, consumer_coupons")
    finally:
        await conn.close()
    tokens = consumer_tokens(tid, TENANT, ids, secret)
    bodies = [
        json.dumps(
            {"store": rng.choice(stores[::6]), "delivery": NANSHAN,  # Shenzhen stores
             "lines": [{"sku": k, "qty": rng.randint(1, 3)} for k in rng.sample(skus, rng.randint(1, 3))]}
        ).encode()
        for _ in range(2000)
    ]  # fmt: skip
    return tokens, bodies


# --- servers ----------------------------------------------------------------------------------------------------


# --- load -------------------------------------------------------------------------------------------------------


async def load(
    name: str,
    base: str,
    paths: list[str],
    *,
    concurrency: int,
    duration: float,
    warmup: float,
    client: str,
    posts: tuple[list[bytes], list[str]] | None = None,
) -> Result:
    """Keep ``concurrency`` requests in flight for ``warmup`` then ``duration`` seconds; time the second part.

    With ``posts`` (bodies, tokens), each request POSTs the next body with the next token to ``paths[0]``.
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    failures: dict[str, int] = {}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=30, headers={"Accept-Encoding": "identity"}
    ) as shared:
        raw = [RawClient(base) for _ in range(concurrency)]

        async def get(worker: int, i: int) -> int:
            if posts is not None:
                body, token = posts[0][i % len(posts[0])], posts[1][i % len(posts[1])]
                if client == "raw":
                    return await raw[worker].request("POST", paths[0], body, token)
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                return (await shared.post(paths[0], content=body, headers=headers)).status_code
            path = paths[i % len(paths)]
            if client == "raw":
                return await raw[worker].get(path)
            return (await shared.get(path)).status_code

        async def worker(w: int, measure_from: float, until: float) -> None:
            # One loop through warm-up and measurement: no connection idles between the two (the server closes
            # a keep-alive connection idle for 5 s, and the next request on it would fail).
            i = w
            while (started := time.perf_counter()) < until:
                n = i
                i += concurrency
                failure = ""
                try:
                    status = await get(w, n)
                    failure = "" if status == 200 else f"HTTP {status}"
                except (httpx.HTTPError, OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                    failure = type(exc).__name__
                    await raw[w].close()
                if started >= measure_from:
                    latencies.append((time.perf_counter() - started) * 1000)
                    counts["requests"] += 1
                    if failure:
                        counts["errors"] += 1
                        failures[failure] = failures.get(failure, 0) + 1

        measure_from = time.perf_counter() + warmup
        await asyncio.gather(*(worker(w, measure_from, measure_from + duration) for w in range(concurrency)))
        elapsed = time.perf_counter() - measure_from
        for c in raw:
            await c.close()
    if failures:
        print(f"  {name} errors: {', '.join(f'{n} × {k}' for k, n in sorted(failures.items()))}", flush=True)
    return Result(name, counts["requests"], counts["errors"], elapsed, latencies)


def same_answers(app: str, baseline: str, paths: list[str]) -> None:
    """Both servers answer the sample paths with the same JSON."""
    for path in paths:
        a, b = httpx.get(app + path, timeout=10), httpx.get(baseline + path, timeout=10)
        if a.status_code != 200 or a.json() != b.json():
            raise SystemExit(f"answers differ for {path}: {a.status_code} {a.text[:300]} / {b.text[:300]}")


def quotable(app: str, bodies: list[bytes], tokens: list[str]) -> None:
    """The sample quotes answer 200 with a fee, the promotion or coupon considered and the total adding up."""
    for i in range(20):
        r = httpx.post(
            f"{app}/v1/shop/{TENANT}/quote",
            content=bodies[i],
            headers={"Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json"},
            timeout=10,
        )
        q = r.json()
        if r.status_code != 200 or q["total"] != q["goods_total"] - q["discount_total"] + q["delivery_fee"]:
            raise SystemExit(f"quote failed: {r.status_code} {r.text[:300]}")
        if not q["coupons"]:
            raise SystemExit(f"quote lists no coupon: {r.text[:300]}")


def report(results: list[Result], args: argparse.Namespace, db: BenchDatabase) -> None:
    """Print the table and the ratio."""
    where = f"Citus ({len(db.servers) - 1} workers)" if db.citus else "single server"
    print(
        f"\nstorefront page on {where} (limit={args.limit}), {args.stores} stores, {args.skus} SKUs; "
        f"concurrency {args.concurrency}, {args.duration:g} s per run after {args.warmup:g} s warm-up, "
        f"{args.workers} server process(es) each, {args.client} client, "
        f"cloudstore access log {'on' if args.access_log else 'off'}"
    )
    print(HEADER)
    for r in results:
        print(r.row())
    by_name: dict[str, list[float]] = {}
    for r in results:
        by_name.setdefault(r.name, []).append(r.rps)
    ratio = statistics.mean(by_name["cloudstore"]) / statistics.mean(by_name["baseline"])
    print(f"cloudstore / baseline throughput: {ratio:.1%} (goal >= 75%, 0 errors)")
    if "quote" in by_name:
        share = statistics.mean(by_name["quote"]) / statistics.mean(by_name["cloudstore"])
        print(f"quote / storefront page throughput (cloudstore, same run): {share:.1%}")


async def prepare(args: argparse.Namespace) -> tuple[BenchDatabase, list[str]]:
    """The migrated (on Citus: distributed) and seeded database, and the store codes."""
    db = await new_database("cloudstore-bench-storefront", args.database_url)
    started = time.perf_counter()
    codes = await seed(db.url, stores=args.stores, skus=args.skus, store_skus=args.store_skus, rng=random.Random(7))
    print(f"seeded {args.stores} stores and {args.skus} SKUs in {time.perf_counter() - started:.1f} s", flush=True)
    return db, codes


def _run(coro: Any) -> Any:
    """Run a coroutine on uvloop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main() -> None:
    """Parse options, run both servers, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--skus", type=int, default=5000)
    parser.add_argument("--store-skus", type=int, default=150, help="SKUs each store holds")
    parser.add_argument("--limit", type=int, default=50, help="page size")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=2, help="runs per server, alternating")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes per server")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw", help="load generator HTTP client")
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="cloudstore writes its JSON access line per request (off by default, as in scripts/bench/orders)",
    )
    parser.add_argument("--quick", action="store_true", help="5 s runs, 1 round")
    parser.add_argument(
        "--quote", action="store_true", help="also drive cloudstore's POST /v1/shop/bench/quote after each page run"
    )
    add_database_url_option(parser)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds = 5.0, 1.0, 1

    db, codes = asyncio.run(prepare(args))
    url = db.url
    rng = random.Random(11)
    paths = [f"/v1/shop/{TENANT}/stores/{rng.choice(codes)}/products?limit={args.limit}" for _ in range(5000)]
    logs = Path(tempfile.mkdtemp(prefix="cloudstore-bench-logs-"))
    secret = secrets.token_urlsafe(48)
    posts: tuple[list[bytes], list[str]] | None = None
    if args.quote:
        tokens, bodies = asyncio.run(seed_pricing(url, codes, consumers=500, secret=secret, rng=random.Random(13)))
        posts = (bodies, tokens)
    app_env = {
        "DATABASE_URL": url,
        "CLOUDSTORE_ENV": "prod",
        "CLOUDSTORE_SECRET_KEY": secret,
        "CLOUDSTORE_OPERATOR_TOKEN": secrets.token_urlsafe(24),
        "CLOUDSTORE_LOCAL_PAY_SECRET": secrets.token_urlsafe(24),
        "CLOUDSTORE_RUN_WORKER": "0",
        # 20 connections like the baseline's pool; an overflow connection would be closed on check-in and
        # re-opened (and its statements re-prepared and re-planned) under sustained load.
        "CLOUDSTORE_DB_POOL_SIZE": "20",
        "CLOUDSTORE_DB_MAX_OVERFLOW": "0",
        "CLOUDSTORE_ACCESS_LOG": "1" if args.access_log else "0",
    }
    base_env = {"BENCH_DATABASE_URL": url.replace("postgresql+asyncpg://", "postgresql://"), "PYTHONPATH": str(HERE)}
    results: list[Result] = []
    try:
        ready = f"/v1/shop/{TENANT}/stores/{codes[0]}/products?limit=1"
        with (
            serve("cloudstore.app:app_from_env", app_env, logs / "cloudstore.log", workers=args.workers) as app,
            serve("storefront_baseline:create_app", base_env, logs / "baseline.log", ready_path=ready,
                  workers=args.workers) as baseline,
        ):  # fmt: skip
            same_answers(app, baseline, paths[:20])
            if posts is not None:
                quotable(app, *posts)
            for _ in range(args.rounds):
                for name, base in (("cloudstore", app), ("baseline", baseline)):
                    run = load(
                        name,
                        base,
                        paths,
                        concurrency=args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        client=args.client,
                    )
                    result = _run(run)
                    print(f"  {name}: {result.rps:.1f} req/s, {result.errors} errors", flush=True)
                    results.append(result)
                if posts is not None:
                    run = load(
                        "quote",
                        app,
                        [f"/v1/shop/{TENANT}/quote"],
                        concurrency=args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        client=args.client,
                        posts=posts,
                    )
                    result = _run(run)
                    print(f"  quote: {result.rps:.1f} req/s, {result.errors} errors", flush=True)
                    results.append(result)
    finally:
        asyncio.run(drop_database(db))
    report(results, args, db)
    print(f"server logs: {logs}")


if __name__ == "__main__":
    main()
