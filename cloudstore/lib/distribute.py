"""Turning a migrated database on a Citus coordinator into the distributed layout (idempotent).

``tenants`` becomes a reference table (copied to every worker); every table with a ``tenant_id`` column is
distributed on it, all colocated with each other, so a transaction scoped to one tenant touches one shard
group and every statement filtered by ``tenant_id`` is router-planned to one worker.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url

__all__ = ("distribute",)

REFERENCE_TABLES = ("tenants",)
SKIPPED = frozenset({"alembic_version"})

_TENANT_TABLES = """
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
ORDER BY c.relname
"""

_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE c.contype = 'f' AND n.nspname = 'public' AND c.conrelid <> c.confrelid
"""


def _in_dependency_order(tables: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Parents before children: a distributed table's foreign keys must point at distributed tables."""
    pending = set(tables)
    ordered: list[str] = []
    while pending:
        ready = sorted(t for t in pending if not any(c == t and p in pending for c, p in edges))
        if not ready:
            raise RuntimeError(f"foreign keys form a cycle among {sorted(pending)}")
        ordered += ready
        pending -= set(ready)
    return ordered


async def distribute(url: str, *, shard_count: int | None = None) -> list[str]:
    """Distribute the schema at ``url`` (a Citus coordinator); returns what was done (empty: nothing to do)."""
    import asyncpg

    from cloudstore.lib.db import _asyncpg_args

    parsed: Any = make_url(url)
    conn = await asyncpg.connect(**_asyncpg_args(parsed), statement_cache_size=0)
    done: list[str] = []
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'citus'"):
            raise RuntimeError("the citus extension is not installed in this database (CREATE EXTENSION citus)")
        # Without this, every table referencing the reference table would become a Citus local table.
        await conn.execute("SET citus.enable_local_reference_table_foreign_keys = off")
        # The append-only guards are row triggers; they run on the workers' shards.
        await conn.execute("SET citus.enable_unsafe_triggers = on")
        if shard_count is not None:
            await conn.execute(f"SET citus.shard_count = {int(shard_count)}")
        present = {
            r["name"]: r["method"]
            for r in await conn.fetch(
                "SELECT logicalrelid::regclass::text AS name, partmethod AS method FROM pg_dist_partition"
            )
        }
        for table in REFERENCE_TABLES:
            if table not in present:
                await conn.execute("SELECT create_reference_table($1)", table)
                done.append(f"{table}: reference table")
        tenant_tables = [r["relname"] for r in await conn.fetch(_TENANT_TABLES)]
        tenant_tables = [t for t in tenant_tables if t not in SKIPPED and t not in REFERENCE_TABLES]
        edges = [(r["child"], r["parent"]) for r in await conn.fetch(_FOREIGN_KEYS)]
        anchor: str | None = next((t for t in tenant_tables if present.get(t) == "h"), None)
        for table in _in_dependency_order(tenant_tables, edges):
            if table in present:
                continue
            colocate = anchor or "default"
            await conn.execute("SELECT create_distributed_table($1, 'tenant_id', colocate_with => $2)", table, colocate)
            anchor = anchor or table
            done.append(f"{table}: distributed on tenant_id (colocated with {colocate})")
    finally:
        await conn.close()
    return done
