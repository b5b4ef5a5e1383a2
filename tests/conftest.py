"""Shared fixtures: one database per test run, one app, and a factory of fresh tenants.

With ``DATABASE_URL`` set, a throw-away database is created on that server and dropped afterwards;
without it, an embedded PostgreSQL runs in a temporary folder that is deleted at exit. Tests isolate
themselves by creating their own tenant, which is also how the product isolates brands.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudstore.app import create_app
from cloudstore.lib.db import admin_engine, ensure_database, prepared_statements_default, start_embedded, to_async_url
from cloudstore.lib.jobs import Worker
from cloudstore.lib.migrate import upgrade
from cloudstore.lib.settings import Settings
from tests.support import Api, TenantHandle, new_tenant, running

pytest_plugins = ["tests.fakes.fixtures"]

OPERATOR_TOKEN = "test-operator-token-0123456789"
LOCAL_PAY_SECRET = "test-local-pay-secret"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server: ``DATABASE_URL``'s, or an embedded one for this run."""
    if os.environ.get("DATABASE_URL"):
        yield to_async_url(os.environ["DATABASE_URL"])
        return
    folder = Path(tempfile.mkdtemp(prefix="cloudstore-test-"))
    yield start_embedded(folder, delete_on_exit=True)


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test run, dropped at the end.

    ``CLOUDSTORE_TEST_DATABASE_URL`` names a database prepared beforehand (a distributed one): used as is.
    """
    if os.environ.get("CLOUDSTORE_TEST_DATABASE_URL"):
        url = to_async_url(os.environ["CLOUDSTORE_TEST_DATABASE_URL"])
        await upgrade(url)
        yield url
        return
    name = f"cloudstore_test_{secrets.token_hex(4)}"
    url = await ensure_database(server_url, name)
    await upgrade(url)
    yield url
    import asyncpg

    from cloudstore.lib.db import _asyncpg_args

    conn = await asyncpg.connect(**_asyncpg_args(make_url(url).set(database="postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Test settings: local providers on, worker off (tests run it explicitly)."""
    return Settings(
        env="test",
        secret_key="test-secret-key-" + "x" * 32,
        operator_token=OPERATOR_TOKEN,
        local_pay_secret=LOCAL_PAY_SECRET,
        run_worker=False,
        log_level="WARNING",
        public_base_url="https://shop.example.com",
        db_prepared_statements=prepared_statements_default(),
    )


@pytest.fixture(scope="session")
async def app(settings: Settings, database_url: str) -> Litestar:
    """The application under test."""
    return create_app(settings, database_url=database_url)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in this event loop (lifespan started once for the run)."""
    async with running(app):
        # Litestar types its ASGI callable with precise scope/event unions; httpx expects plain mappings.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture(scope="session")
def api(client: httpx.AsyncClient) -> Api:
    """The HTTP client with helpers for tokens and JSON."""
    return Api(client)


@pytest.fixture
async def tenant(api: Api) -> TenantHandle:
    """A brand-new tenant with an HQ token."""
    return await new_tenant(api, OPERATOR_TOKEN)


@pytest.fixture
async def other_tenant(api: Api) -> TenantHandle:
    """A second tenant, for isolation tests."""
    return await new_tenant(api, OPERATOR_TOKEN)


@pytest.fixture(scope="session")
async def owner_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine as the table owner (bypasses nothing, but is not the runtime role): schema checks."""
    engine = admin_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def worker(app: Litestar) -> Worker:
    """The app's job worker; tests call ``run_pending()`` to run due jobs."""
    w: Worker = app.state.worker
    return w


@pytest.fixture(scope="session")
def operator_token() -> str:
    """The platform operator's token."""
    return OPERATOR_TOKEN


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Nothing to reorder yet; kept so markers stay strict."""
    del items
