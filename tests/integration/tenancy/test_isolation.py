"""Isolation between tenants, in code and in the database itself."""

from __future__ import annotations

import pytest
from litestar import Litestar, get
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudstore.http.deps import DbSession
from cloudstore.lib.db import APP_ROLE, Database, GuardError, prepared_statements_default, set_tenant
from cloudstore.models import PLATFORM_TABLES, metadata
from tests.support import Api, TenantHandle, on_citus, problem


async def test_no_tenant_set_reads_as_empty(app: Litestar, tenant: TenantHandle) -> None:
    """As the runtime role with no tenant in the transaction, every tenant table is empty."""
    async with app.state.db.sessions() as session:
        role = (await session.execute(text("SELECT current_user"))).scalar_one()
        assert role == "cloudstore_app"
        for table in sorted(set(metadata.tables) - PLATFORM_TABLES):
            count = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608
            assert count == 0, table
        # ... while the owner sees the tenant's rows exist.
        assert (
            await session.execute(text("SELECT count(*) FROM tenants WHERE slug = :s"), {"s": tenant.slug})
        ).scalar_one() == 1


async def test_a_tenant_sees_only_its_rows(app: Litestar, tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    async with app.state.db.sessions() as session:
        ids = dict(
            (
                await session.execute(
                    text("SELECT slug, id FROM tenants WHERE slug IN (:a, :b)"),
                    {"a": tenant.slug, "b": other_tenant.slug},
                )
            ).all()
        )
        await set_tenant(session, ids[tenant.slug])
        seen = (await session.execute(text("SELECT DISTINCT tenant_id FROM staff"))).scalars().all()
        assert seen == [ids[tenant.slug]]
        # Writing a row for another tenant is refused by the policy, even when the code asks for it.
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.execute(
                text("INSERT INTO consumers (tenant_id, openid) VALUES (:t, 'intruder')"), {"t": ids[other_tenant.slug]}
            )
        await session.rollback()


async def test_tenant_setting_does_not_leak_to_the_next_transaction(app: Litestar, tenant: TenantHandle) -> None:
    async with app.state.db.sessions() as session:
        tid = (await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant.slug})).scalar_one()
        await set_tenant(session, tid)
        assert (await session.execute(text("SELECT count(*) FROM staff"))).scalar_one() >= 1
        await session.commit()
        assert (await session.execute(text("SELECT count(*) FROM staff"))).scalar_one() == 0
        await session.rollback()


async def test_generic_plans_are_asked_for_one_transaction_only(app: Litestar, tenant: TenantHandle) -> None:
    show = text("SELECT current_setting('plan_cache_mode'), current_setting('app.tenant_id')")
    async with app.state.db.sessions() as session:
        tid = (await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant.slug})).scalar_one()
        await session.commit()
        citus = await on_citus(app)
        await set_tenant(session, tid, generic_plans=True)
        # Not on Citus (its router planner needs custom plans) nor without a statement cache (a pooler's).
        asked = "force_generic_plan" if not citus and prepared_statements_default() else "auto"
        assert tuple((await session.execute(show)).one()) == (asked, str(tid))
        await session.commit()
        await set_tenant(session, tid)
        assert tuple((await session.execute(show)).one()) == ("auto", str(tid))
        await session.rollback()


async def test_other_tenants_staff_and_consumers_are_not_found(
    api: Api, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    r = await api.post(f"/v1/shop/{tenant.slug}/auth/login", json={"code": "local:alice"})
    assert r.status_code == 200, r.text
    consumer_id = r.json()["consumer_id"]
    r = await api.post(
        "/v1/hq/staff", token=tenant.hq_token, json={"username": "clerk", "password": "clerk-pass-1", "role": "hq"}
    )
    assert r.status_code == 201
    problem(await api.get("/v1/hq/staff/clerk", token=other_tenant.hq_token), 404, "not_found")
    problem(await api.get(f"/v1/hq/consumers/{consumer_id}", token=other_tenant.hq_token), 404, "not_found")
    problem(
        await api.patch("/v1/hq/staff/clerk", token=other_tenant.hq_token, json={"active": False}), 404, "not_found"
    )
    assert (await api.get("/v1/hq/staff/clerk", token=tenant.hq_token)).json()["role"] == "hq"
    assert (await api.get(f"/v1/hq/consumers/{consumer_id}", token=tenant.hq_token)).json()["openid"] == "alice"
    listed = (await api.get("/v1/hq/staff", token=other_tenant.hq_token)).json()
    assert [s["username"] for s in listed["items"]] == ["admin"]


async def test_runtime_role_survives_a_rolled_back_first_transaction(app: Litestar, api: Api) -> None:
    """A new pooled connection whose first transaction fails must still run as the runtime role."""
    engine = app.state.db.engine
    for _ in range(3):
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            raw.invalidate()  # force a fresh DBAPI connection next time
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError):
                await conn.execute(text("SELECT 1/0"))
            await conn.rollback()
            assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "cloudstore_app"


async def test_inside_a_request_the_session_runs_as_the_runtime_role(app: Litestar, api: Api) -> None:
    """A route's session is the runtime role, not the login, and cannot bypass row-level security."""
    seen: list[tuple[str, str, bool]] = []

    @get("/_whoami", include_in_schema=False)
    async def whoami(db: DbSession) -> dict[str, str]:
        row = (
            await db.execute(
                text(
                    "SELECT current_user, session_user, "
                    "(SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)"
                )
            )
        ).one()
        seen.append((row[0], row[1], row[2]))
        return {"user": row[0]}

    app.register(whoami)
    assert (await api.get("/_whoami")).status_code == 200
    current, login, privileged = seen[0]
    assert current == APP_ROLE
    assert current != login
    assert privileged is False


async def test_the_guard_refuses_a_session_running_as_the_login(database_url: str) -> None:
    """Configured to run as its own login, every transaction fails at its first statement."""
    login = make_url(database_url).username or "postgres"
    db = Database(database_url, pool_size=1, role=login)
    try:
        with pytest.raises(GuardError, match="not as the runtime role"):
            async with db.sessions() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await db.dispose()


async def test_the_guard_refuses_a_superuser_role(database_url: str, owner_engine: AsyncEngine) -> None:
    """A runtime role that is a superuser (or bypasses row-level security) is refused."""
    async with owner_engine.connect() as conn:
        if not (await conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = session_user"))).scalar():
            pytest.skip("the login cannot create a superuser role")
        await conn.execute(
            text(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cloudstore_guard_su') THEN "
                "CREATE ROLE cloudstore_guard_su SUPERUSER NOLOGIN; END IF; END $$"
            )
        )
        await conn.commit()
    db = Database(database_url, pool_size=1, role="cloudstore_guard_su")
    try:
        with pytest.raises(GuardError, match="cloudstore_guard_su"):
            async with db.sessions() as session:
                await session.execute(text("SELECT 1"))
        with pytest.raises(GuardError):
            async with db.engine.connect() as conn:
                await set_tenant(conn, 1)
    finally:
        await db.dispose()
