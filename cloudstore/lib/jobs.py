"""A PostgreSQL-backed job queue.

Jobs are rows claimed with ``FOR UPDATE SKIP LOCKED``: many workers can poll the same table without
handing one job to two of them. A job runs in the same transaction that holds its row lock, and that
transaction also marks it done, so its effects and its completion commit together; a worker that dies
mid-job releases the lock and the job runs again.

Claiming crosses tenants, so it runs as ``cloudstore_worker``, whose only policy lets it see the job
table; the job itself then runs as the ordinary runtime role scoped to the job's tenant.

Which function runs which kind of job is handed to the :class:`Worker` (see :mod:`cloudstore.wiring`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import CheckConstraint, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from cloudstore.lib.db import ROLE_OPTION, WORKER_ROLE, Part, execute, set_tenant
from cloudstore.lib.idempotency import RETENTION as IDEMPOTENCY_RETENTION
from cloudstore.lib.tables import TenantTable, counter, id_column, now_column, word

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ("Job", "JobContext", "JobHandler", "Worker", "enqueue", "enqueue_part")

_log = logging.getLogger(__name__)

FINISHED_JOBS_KEPT = timedelta(days=7)

JobHandler = Callable[["JobContext"], Awaitable[None]]


class Job(TenantTable, table=True):
    """One unit of background work for one tenant."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        CheckConstraint("status IN ('queued', 'done', 'failed')", name="status"),
        Index("ix_jobs_due", "run_at", postgresql_where=text("status = 'queued'")),
    )

    id: int | None = id_column()
    kind: str = Field(sa_type=Text)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    run_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    )
    status: str = word("queued")
    attempts: int = counter(0)
    max_attempts: int = counter(10)
    last_error: str | None = Field(default=None, sa_type=Text)
    dedupe_key: str | None = Field(default=None, sa_type=Text)
    created_at: datetime | None = now_column()
    finished_at: datetime | None = now_column(nullable=True, default_now=False)


class JobContext(msgspec.Struct, kw_only=True):
    """What a job handler gets: the tenant-scoped session (do not commit it) and the job."""

    session: AsyncSession
    tenant_id: int
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


_ENQUEUE_PART = """INSERT INTO jobs (tenant_id, kind, payload, run_at, dedupe_key)
    VALUES (:job_t, :job_kind, CAST(:job_payload AS jsonb), COALESCE(:job_run_at, now()), :job_dedupe_key)
    ON CONFLICT (tenant_id, dedupe_key) DO NOTHING"""


def enqueue_part(
    *, tenant_id: int, kind: str, payload: dict[str, Any], run_at: datetime | None = None, dedupe_key: str | None = None
) -> Part:
    """:func:`enqueue` as a part of a statement that writes several tables (:func:`cloudstore.lib.db.write_together`),
    so the job rides in the caller's own round trip."""
    return Part(
        "job",
        _ENQUEUE_PART,
        {
            "job_t": tenant_id,
            "job_kind": kind,
            "job_payload": msgspec.json.encode(payload).decode(),
            "job_run_at": run_at,
            "job_dedupe_key": dedupe_key,
        },
    )


_ENQUEUE = text(_ENQUEUE_PART)


async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: int,
    kind: str,
    payload: dict[str, Any],
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Add a job in the caller's transaction, so it exists exactly when the caller's change commits."""
    params = enqueue_part(tenant_id=tenant_id, kind=kind, payload=payload, run_at=run_at, dedupe_key=dedupe_key).params
    await execute(session, _ENQUEUE, params)  # straight on the driver


_DUE_TENANTS = text(
    """
    SELECT tenant_id FROM jobs
    WHERE status = 'queued' AND run_at <= :now
    GROUP BY tenant_id
    ORDER BY min(run_at)
    LIMIT 50
    """
)

# One tenant's oldest due job, locked: filtered by tenant_id, so Citus plans it on one shard.
_CLAIM = text(
    """
    SELECT tenant_id, id, kind, payload, attempts FROM jobs
    WHERE tenant_id = :t AND status = 'queued' AND run_at <= :now
    ORDER BY run_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
    """
)


class Worker:
    """Polls the job table and runs due jobs with ``handlers`` (job kind → function); one per process is plenty."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, JobHandler],
        *,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.handlers = dict(handlers)
        self.poll_interval_s = poll_interval_s
        self._stopping = asyncio.Event()

    async def run_once(self) -> bool:
        """Run one due job, if any. Returns whether a job was found.

        The worker role lists which tenants have due work (a plain read across tenants); the job is then
        claimed and run in one transaction scoped to its tenant as the runtime role, so the locking read is
        filtered by ``tenant_id`` and no transaction switches role.
        """
        async with self.sessions() as session:
            await session.connection(execution_options={ROLE_OPTION: WORKER_ROLE})
            due = (await session.execute(_DUE_TENANTS, {"now": datetime.now(UTC)})).scalars().all()
            await session.commit()
        for due_tenant in due:
            if await self._run_one_of(int(due_tenant)):
                return True
        return False

    async def _run_one_of(self, due_tenant: int) -> bool:
        async with self.sessions() as session, session.begin():
            await set_tenant(session, due_tenant)
            row = (await session.execute(_CLAIM, {"t": due_tenant, "now": datetime.now(UTC)})).mappings().first()
            if row is None:
                return False
            tenant_id, job_id, kind = row["tenant_id"], row["id"], row["kind"]
            handler = self.handlers.get(kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {kind!r}")
                async with session.begin_nested():
                    await handler(
                        JobContext(
                            session=session,
                            tenant_id=tenant_id,
                            job_id=job_id,
                            kind=kind,
                            payload=row["payload"],
                            attempts=row["attempts"] + 1,
                        )
                    )
            except Exception as exc:  # a failing job must not stop the worker; it is retried with backoff
                _log.exception("job failed", extra={"job_id": job_id, "kind": kind, "tenant_id": tenant_id})
                await self._fail(session, tenant_id, job_id, row["attempts"] + 1, exc)
            else:
                await session.execute(
                    text(
                        "UPDATE jobs SET status = 'done', attempts = attempts + 1, finished_at = :now "
                        "WHERE tenant_id = :t AND id = :i"
                    ),
                    {"t": tenant_id, "i": job_id, "now": datetime.now(UTC)},
                )
        return True

    @staticmethod
    async def _fail(session: AsyncSession, tenant_id: int, job_id: int, attempts: int, exc: Exception) -> None:
        delay = timedelta(seconds=min(3600, 2**attempts))
        await session.execute(
            text(
                "UPDATE jobs SET attempts = :a, last_error = :e, "
                "status = CASE WHEN :a >= max_attempts THEN 'failed' ELSE 'queued' END, "
                "run_at = :run_at, finished_at = CASE WHEN :a >= max_attempts THEN CAST(:now AS timestamptz) END "
                "WHERE tenant_id = :t AND id = :i"
            ),
            {
                "a": attempts,
                "e": f"{type(exc).__name__}: {exc}"[:2000],
                "run_at": datetime.now(UTC) + delay,
                "now": datetime.now(UTC),
                "t": tenant_id,
                "i": job_id,
            },
        )

    async def run_pending(self, limit: int = 1000) -> int:
        """Run due jobs until none is left (or ``limit``); returns how many ran."""
        ran = 0
        while ran < limit and await self.run_once():
            ran += 1
        return ran

    async def prune(self) -> int:
        """Delete idempotency records past their retention and jobs finished over a week ago; returns how many."""
        async with self.sessions() as session:
            await session.connection(execution_options={ROLE_OPTION: WORKER_ROLE})
            keys = await session.execute(
                text("DELETE FROM idempotency_keys WHERE created_at < now() - CAST(:keep AS interval)"),
                {"keep": IDEMPOTENCY_RETENTION},
            )
            jobs = await session.execute(
                text("DELETE FROM jobs WHERE status = 'done' AND finished_at < now() - CAST(:keep AS interval)"),
                {"keep": FINISHED_JOBS_KEPT},
            )
            await session.commit()
        return int(keys.rowcount) + int(jobs.rowcount)  # type: ignore[attr-defined]

    async def run_forever(self) -> None:
        """Poll until :meth:`stop` is called; prune old rows once an hour."""
        next_prune = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                if loop.time() >= next_prune:
                    await self.prune()
                    next_prune = loop.time() + 3600
                ran = await self.run_pending(limit=100)
            except Exception:  # a database hiccup must not kill the loop
                _log.exception("worker poll failed")
                ran = 0
            if ran == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_interval_s)

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return after the current job."""
        self._stopping.set()
