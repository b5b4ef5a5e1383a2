"""The PostgreSQL job queue: each due job runs once, failures retry with backoff, tenants stay apart."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from litestar import Litestar
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from cloudstore.lib.jobs import JobContext, Worker, enqueue
from tests.support import Api, TenantHandle

RAN: Counter[tuple[int, int]] = Counter()
SEEN_TENANT: dict[int, int] = {}


async def record(ctx: JobContext) -> None:
    RAN[(ctx.tenant_id, ctx.job_id)] += 1
    # The job runs scoped to its own tenant: it sees that tenant's staff and nobody else's.
    SEEN_TENANT[ctx.job_id] = (
        await ctx.session.execute(text("SELECT count(DISTINCT tenant_id) FROM staff"))
    ).scalar_one()
    await asyncio.sleep(0.001)


async def fail(ctx: JobContext) -> None:
    raise RuntimeError(f"boom on attempt {ctx.attempts}")


def _worker(app: Litestar) -> Worker:
    """A worker with the app's handlers and this module's two test kinds."""
    app_worker: Worker = app.state.worker
    return Worker(app.state.db.sessions, {**app_worker.handlers, "test.record": record, "test.fail": fail})


async def _tenant_id(app: Litestar, slug: str) -> int:
    async with app.state.db.sessions() as s:
        return int((await s.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})).scalar_one())


async def _enqueue(app: Litestar, tenant_id: int, kind: str, n: int) -> None:
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tenant_id)
        for i in range(n):
            await enqueue(s, tenant_id=tenant_id, kind=kind, payload={"i": i})


async def test_two_workers_run_each_job_exactly_once(
    app: Litestar, api: Api, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    a, b = await _tenant_id(app, tenant.slug), await _tenant_id(app, other_tenant.slug)
    await _enqueue(app, a, "test.record", 15)
    await _enqueue(app, b, "test.record", 15)
    RAN.clear()
    w1, w2 = _worker(app), _worker(app)
    await asyncio.gather(w1.run_pending(), w2.run_pending())
    mine = {k: v for k, v in RAN.items() if k[0] in (a, b)}
    assert len(mine) == 30
    assert set(mine.values()) == {1}
    assert {SEEN_TENANT[job_id] for _, job_id in mine} == {1}
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, a)
        assert (await s.execute(text("SELECT status, count(*) FROM jobs GROUP BY 1"))).all() == [("done", 15)]


async def test_failures_retry_with_backoff_then_fail(app: Litestar, api: Api, tenant: TenantHandle) -> None:
    tid = await _tenant_id(app, tenant.slug)
    await _enqueue(app, tid, "test.fail", 1)
    worker = _worker(app)
    await worker.run_pending()
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        row = (await s.execute(text("SELECT status, attempts, last_error, run_at > now() AS later FROM jobs"))).one()
        assert row.status == "queued"
        assert row.attempts == 1
        assert "boom on attempt 1" in row.last_error
        assert row.later
        await s.execute(text("UPDATE jobs SET run_at = now(), attempts = max_attempts - 1"))
    await worker.run_pending()
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        assert (await s.execute(text("SELECT status FROM jobs"))).scalar_one() == "failed"


async def test_unknown_kind_is_recorded_not_lost(app: Litestar, api: Api, tenant: TenantHandle) -> None:
    tid = await _tenant_id(app, tenant.slug)
    await _enqueue(app, tid, "test.nobody-handles-this", 1)
    await _worker(app).run_pending()
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        row = (await s.execute(text("SELECT status, last_error FROM jobs"))).one()
    assert row.status == "queued"
    assert "no handler" in row.last_error


async def test_prune_removes_only_what_is_past_retention(app: Litestar, api: Api, tenant: TenantHandle) -> None:
    tid = await _tenant_id(app, tenant.slug)
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        for key, age in (("old", timedelta(hours=49)), ("fresh", timedelta(hours=1))):
            await s.execute(
                text(
                    "INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, status_code, body, created_at) "
                    "VALUES (:t, 'test', :k, 'h', 201, '\\x7b7d', now() - CAST(:age AS interval))"
                ),
                {"t": tid, "k": key, "age": age},
            )
        await enqueue(s, tenant_id=tid, kind="test.record", payload={})
        await s.execute(text("UPDATE jobs SET status = 'done', finished_at = now() - interval '8 days'"))
        await enqueue(s, tenant_id=tid, kind="test.record", payload={}, dedupe_key="recent")
    removed = await _worker(app).prune()
    assert removed >= 2
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        assert (await s.execute(text("SELECT key FROM idempotency_keys"))).scalars().all() == ["fresh"]
        assert (await s.execute(text("SELECT dedupe_key FROM jobs"))).scalars().all() == ["recent"]
