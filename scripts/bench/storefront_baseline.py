"""The benchmark's baseline: a minimal Litestar app that serves the storefront page with raw asyncpg.

It runs exactly the statements cloudstore runs for ``GET /v1/shop/{tenant}/stores/{store}/products`` (the
scoping round trip that takes the runtime role and the tenant and checks them, then
:func:`cloudstore.stores.storefront.storefront_sql`), in one transaction, under the same row-level security
(on Citus too: the scope reaches the workers), and answers the same JSON; it has no dependency injection,
ORM, middleware, logging or error mapping. ``scripts/bench/storefront`` starts it with
``uvicorn --factory storefront_baseline:create_app``; it reads ``BENCH_DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from cloudstore.lib.db import APP_ROLE, _scope_sql
from cloudstore.lib.paging import encode_cursor
from cloudstore.stores.storefront import storefront_sql

__all__ = ("create_app", "positional")


def positional(sql: str) -> tuple[str, list[str]]:
    """``:name`` parameters to asyncpg's ``$n``; returns the SQL and the names in ``$n`` order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"(?<![:\w]):(\w+)", number, sql), names


STATEMENTS = {n: positional(storefront_sql(rows=n + 1)) for n in range(1, 101)}
_JSON = msgspec.json.Decoder()


@get("/v1/shop/{tenant:str}/stores/{store:str}/products")
async def products(
    tenant: FromPath[str], store: FromPath[str], state: State, limit: FromQuery[int] = 20
) -> Response[bytes]:
    """The first page of a storefront."""
    tenant_id = state.tenants[tenant]
    sql, names = STATEMENTS[limit]
    params = {"t": tenant_id, "store": store, "after_rank": -1, "after_id": 0}
    pool: asyncpg.Pool = state.pool
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_scope_sql(APP_ROLE, tenant_id))  # no arguments: one simple query
        rows = await conn.fetch(sql, *(params[n] for n in names))
    if not rows:
        return Response(b'{"detail":"not found"}', status_code=404, media_type="application/json")
    items: list[dict[str, Any]] = _JSON.decode(rows[0]["items"]) if rows[0]["items"] else []
    next_cursor = None
    if len(items) > limit:
        next_cursor = encode_cursor(0 if items[limit - 1]["pinned"] else 1, rows[0]["ids"][limit - 1])
        del items[limit:]
    body = msgspec.json.encode({"items": items, "next_cursor": next_cursor})
    return Response(body, media_type="application/json")


def create_app() -> Litestar:
    """The baseline app (factory for uvicorn)."""
    url = os.environ["BENCH_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # The role is taken per transaction (SET LOCAL ROLE in the scoping round trip), as cloudstore does.
        pool = await asyncpg.create_pool(url, min_size=4, max_size=20)
        app.state.pool = pool
        app.state.tenants = {r["slug"]: r["id"] for r in await pool.fetch("SELECT slug, id FROM tenants")}
        try:
            yield
        finally:
            await pool.close()

    return Litestar(route_handlers=[products], lifespan=[lifespan], openapi_config=None, debug=False)
