"""The catalog, store and inventory tables in the database are exactly what the models declare."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudstore.models import metadata

MINE = {
    "distributors",
    "locations",
    "stores",
    "storefront_items",
    "store_sku_prices",
    "products",
    "skus",
    "stock_levels",
    "stock_movements",
}


def _table(diff: Any) -> str | None:
    """The table a diff entry is about."""
    for part in diff if isinstance(diff, tuple) else diff[0]:
        for attr in ("table", "name"):
            obj = getattr(part, attr, None)
            name = getattr(obj, "name", obj)
            if isinstance(name, str) and name in MINE:
                return name
        if isinstance(part, str) and part in MINE:
            return part
    return None


async def test_models_match_migrations(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        diffs = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
        )
    assert [d for d in diffs if _table(d) is not None] == []
