"""Every table in the database is exactly what the models declare, and every model has its table."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudstore.models import metadata


async def test_models_match_migrations(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        diffs = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )
    assert diffs == []
