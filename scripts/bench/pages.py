"""Benchmark the H5 storefront page against the JSON storefront route it is built on.

Run from the repository root: ``scripts/bench/pages`` (options: ``--help``; ``--quick`` for a short run).

Creates a throw-away database (``DATABASE_URL``'s server, else an embedded PostgreSQL), applies the demo tenant
(``tenants/demo.toml``: 10 stores, its catalog and stock), starts cloudstore under uvicorn (production settings,
worker and access log off) and requests, in alternating runs of a fixed time, the storefront page
``/s/chayun/{store}`` and the JSON route it shows (``/v1/shop/chayun/stores/{store}/products``, 20 products, as
the page) for random stores, at a fixed concurrency over keep-alive connections without compression. It prints
requests/s, p50 and p99 for each and the page's p50 over the JSON route's (the goal is at most 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import HEADER, ROOT, Result, drop_database, new_database, serve  # noqa: E402

from cloudstore.lib.settings import Settings  # noqa: E402
from cloudstore.tenancy.tenantfile import apply_file  # noqa: E402
from cloudstore.wiring import TENANT_FILE_SECTIONS  # noqa: E402

STORES = ["SZ-LH-01", "SZ-FT-01", "SZ-NS-01", "SZ-BA-01", "SZ-LG-01", "GZ-LW-01", "GZ-YX-01", "GZ-TH-01"]


async def load(name: str, base: str, paths: list[str], *, concurrency: int, duration: float, warmup: float) -> Result:
    """Keep ``concurrency`` requests in flight for ``warmup`` then ``duration`` seconds; time the second part."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=30, headers={"Accept-Encoding": "identity"}
    ) as client:

        async def worker(w: int, until: float, record: bool) -> None:
            i = w
            while time.perf_counter() < until:
                path = paths[i % len(paths)]
                i += concurrency
                started = time.perf_counter()
                try:
                    ok = (await client.get(path)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if record:
                    latencies.append((time.perf_counter() - started) * 1000)
                    counts["requests"] += 1
                    counts["errors"] += not ok

        await asyncio.gather(*(worker(w, time.perf_counter() + warmup, False) for w in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(w, started + duration, True) for w in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result(name, counts["requests"], counts["errors"], elapsed, latencies)


def main() -> None:
    """Parse options, serve, run both routes in turn, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=2, help="runs per route, alternating")
    parser.add_argument("--quick", action="store_true", help="3 s runs, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds = 3.0, 1.0, 1

    server_url, url = asyncio.run(new_database("cloudstore-bench-pages"))
    asyncio.run(apply_file(url, ROOT / "tenants" / "demo.toml", Settings(), TENANT_FILE_SECTIONS))
    rng = random.Random(5)
    stores = [rng.choice(STORES) for _ in range(1000)]
    routes = {
        "json /v1/shop/.../products": [f"/v1/shop/chayun/stores/{s}/products?limit=20" for s in stores],
        "page /s/chayun/{store}": [f"/s/chayun/{s}" for s in stores],
    }
    env = {
        "DATABASE_URL": url,
        "CLOUDSTORE_ENV": "prod",
        "CLOUDSTORE_SECRET_KEY": secrets.token_urlsafe(48),
        "CLOUDSTORE_OPERATOR_TOKEN": secrets.token_urlsafe(24),
        "CLOUDSTORE_LOCAL_PAY_SECRET": secrets.token_urlsafe(24),
        "CLOUDSTORE_RUN_WORKER": "0",
        "CLOUDSTORE_ACCESS_LOG": "0",
    }
    logs = Path(tempfile.mkdtemp(prefix="cloudstore-bench-logs-"))
    results: list[Result] = []
    try:
        with serve("cloudstore.app:app_from_env", env, logs / "cloudstore.log") as base:
            for path in (routes["page /s/chayun/{store}"][0], routes["json /v1/shop/.../products"][0]):
                if httpx.get(base + path, timeout=10).status_code != 200:
                    raise SystemExit(f"{path} does not answer 200")
            for _ in range(args.rounds):
                for name, paths in routes.items():
                    run = load(
                        name, base, paths, concurrency=args.concurrency, duration=args.duration, warmup=args.warmup
                    )
                    results.append(asyncio.run(run))
    finally:
        asyncio.run(drop_database(server_url, url))
    print(
        f"\ndemo tenant, {len(STORES)} stores; concurrency {args.concurrency}, {args.duration:g} s per run after "
        f"{args.warmup:g} s warm-up, {args.rounds} round(s), one server process, no compression"
    )
    print(HEADER)
    for r in results:
        print(r.row())
    p50 = {name: statistics.mean(r.quantile(0.5) for r in results if r.name == name) for name in routes}
    json_p50, page_p50 = p50.values()
    print(f"page p50 / JSON p50: {page_p50 / json_p50:.2f}x (goal <= 2x)")
    print(f"server log: {logs}")


if __name__ == "__main__":
    main()
