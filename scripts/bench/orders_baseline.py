"""The orders benchmark's baseline: a minimal Litestar app that places orders with raw asyncpg.

It serves ``POST /v1/shop/{tenant}/orders`` with exactly the statements cloudstore runs for it, in one
transaction under the same row-level security: the round trip that begins the transaction, takes the runtime
role and the tenant and checks them, then cloudstore's own placing journey
(:func:`cloudstore.checkout.place.place_order`, with the subscribers :mod:`cloudstore.wiring` hands in, the
idempotency claim in the snapshot's statement and the stored response in the order's) on a thin stand-in for
the database session that sends each statement straight to asyncpg, and the commit. The token is verified
with cloudstore's codec. It has no dependency injection, ORM or SQLAlchemy execution path, middleware, logging
or error mapping beyond the answers the benchmark expects (201, 409 when the stock is short, and a replay).
``scripts/bench/orders`` starts it with ``uvicorn --factory orders_baseline:create_app``; it reads
``BENCH_DATABASE_URL`` and ``BENCH_SECRET_KEY``.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from cloudstore.auth.tokens import TokenCodec
from cloudstore.checkout.place import place_order
from cloudstore.lib.db import _CITUS, _SAVEPOINT_MARK, APP_ROLE, _scope_sql
from cloudstore.lib.errors import InsufficientStock
from cloudstore.lib.events import _BUS, EventBus
from cloudstore.lib.idempotency import Replayed, Reply
from cloudstore.orders.schemas import OrderCreate
from cloudstore.wiring import STATEMENT_PARTS, SUBSCRIBERS

__all__ = ("RawSession", "create_app")

_PARAM = re.compile(r"(?<![:\w]):(\w+)")
_COUNT = re.compile(r"(?:UPDATE|DELETE|INSERT \d+) (\d+)")
_STATEMENTS: dict[str, tuple[str, list[str], bool]] = {}


def _positional(sql: str) -> tuple[str, list[str], bool]:
    """``:name`` parameters to asyncpg's ``$n``: the SQL, the names in ``$n`` order, whether it returns rows."""
    cached = _STATEMENTS.get(sql)
    if cached is None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        head = sql.lstrip().upper()
        returns = head.startswith(("SELECT", "WITH")) or "RETURNING" in sql.upper()
        cached = _STATEMENTS[sql] = (_PARAM.sub(number, sql), names, returns)
    return cached


class _Row:
    """A record read by attribute, as SQLAlchemy's rows are."""

    __slots__ = ("_record",)

    def __init__(self, record: asyncpg.Record) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: Any) -> Any:
        return self._record[key]


class _Result:
    """The parts of SQLAlchemy's result the placing journey uses."""

    def __init__(self, records: list[asyncpg.Record], rowcount: int) -> None:
        self._records = records
        self.rowcount = rowcount

    def all(self) -> list[_Row]:
        return [_Row(r) for r in self._records]

    def __iter__(self) -> Any:
        return iter(self.all())

    def one(self) -> _Row:
        if len(self._records) != 1:
            raise RuntimeError(f"expected one row, got {len(self._records)}")
        return _Row(self._records[0])

    def first(self) -> _Row | None:
        return _Row(self._records[0]) if self._records else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        return self._records[0][0] if self._records else None

    def mappings(self) -> _Result:
        return self


class RawSession:
    """What the placing journey needs of a session (``execute``, ``info``, and the driver connection that
    :func:`cloudstore.lib.db.fetch` and :func:`~cloudstore.lib.db.execute` use), on one asyncpg connection."""

    def __init__(self, conn: Any, bus: EventBus) -> None:
        self.conn = conn
        self.driver_connection = conn  # cloudstore.lib.db.fetch and execute run here
        self.info = {_BUS: bus}

    async def execute(self, clause: Any, params: dict[str, Any] | None = None) -> _Result:
        sql, names, returns = _positional(clause.text)
        args = [(params or {})[n] for n in names]
        if returns:
            records = await self.conn.fetch(sql, *args)
            return _Result(records, len(records))
        status = await self.conn.execute(sql, *args)
        match = _COUNT.match(status)
        return _Result([], int(match.group(1)) if match else -1)


@post("/v1/shop/{tenant:str}/orders", status_code=201)
async def place(tenant: FromPath[str], request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    """Place an order (the consumer from the token, once per Idempotency-Key)."""
    body = await request.body()
    principal = state.tokens.verify(request.headers["authorization"].partition(" ")[2])
    tenant_id = state.tenants[tenant]
    data = msgspec.json.decode(body, type=OrderCreate)
    pool: asyncpg.Pool = state.pool
    async with pool.acquire() as conn:
        session = RawSession(conn, state.bus)
        # One simple query, as cloudstore's checkout routes send it.
        scope = _scope_sql(APP_ROLE, tenant_id, generic_plans=state.fold, savepoint=state.fold)
        await conn.execute("BEGIN; " + scope)
        if state.fold:
            session.info[_SAVEPOINT_MARK] = True
        else:
            session.info[_CITUS] = True  # the reservation keeps a statement of its own there
        try:
            # The key claimed in the snapshot's statement and the response stored in the order's, as in cloudstore.
            reply = Reply.unclaimed(
                tenant_id=tenant_id,
                scope=f"consumer:{principal.subject_id}:orders",
                key=request.headers.get("idempotency-key"),
                body=body,
                status_code=201,
            )
            await place_order(session, tenant_id, principal.subject_id, data, reply=reply)  # type: ignore[arg-type]
            encoded = reply.body or b""
        except Replayed as replayed:
            await conn.execute("ROLLBACK")
            stored = replayed.response
            return Response(stored.body, status_code=stored.status_code, media_type="application/json")
        except InsufficientStock:
            await conn.execute("ROLLBACK")
            return Response(b'{"code":"insufficient_stock"}', status_code=409, media_type="application/json")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
    return Response(encoded, status_code=201, media_type="application/json")


@get("/healthz")
async def healthz() -> dict[str, str]:
    """Up."""
    return {"status": "ok"}


async def _keep(conn: asyncpg.Connection) -> None:
    """Nothing to reset on release: every transaction sets its own scope (cloudstore's pool sends none either)."""


def create_app() -> Litestar:
    """The baseline app (factory for uvicorn)."""
    url = os.environ["BENCH_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(url, min_size=4, max_size=int(os.environ.get("BENCH_POOL", "20")), reset=_keep)
        app.state.pool = pool
        app.state.bus = EventBus(SUBSCRIBERS, STATEMENT_PARTS)
        app.state.tokens = TokenCodec(os.environ["BENCH_SECRET_KEY"], timedelta(hours=6))
        app.state.tenants = {r["slug"]: r["id"] for r in await pool.fetch("SELECT slug, id FROM tenants")}
        # As cloudstore: the savepoint rides in the scoping round trip except on Citus (which replays it on workers).
        app.state.fold = not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        try:
            yield
        finally:
            await pool.close()

    return Litestar(route_handlers=[place, healthz], lifespan=[lifespan], openapi_config=None, debug=False)
