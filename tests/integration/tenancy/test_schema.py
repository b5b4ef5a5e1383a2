"""Every tenant table is ready for Citus and isolated by forced row-level security."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudstore.models import PLATFORM_TABLES

_TABLES = text(
    """
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner,
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                   AND NOT a.attisdropped) AS has_tenant
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r'
    """
)
_CONSTRAINTS = text(
    """
    SELECT c.conrelid::regclass::text AS tbl, c.conname, c.contype,
           (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS cols,
           (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS ref_cols,
           c.confrelid::regclass::text AS ref_tbl
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f')
    """
)
_UNIQUE_INDEXES = text(
    """
    SELECT t.relname AS tbl, i.relname AS idx,
           (SELECT array_agg(a.attname) FROM unnest(x.indkey) k(attnum)
              JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) AS cols
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND x.indisunique
    """
)


def _table_problems(tables: list[Any]) -> tuple[set[str], list[str]]:
    problems: list[str] = []
    tenant_tables = set()
    for t in tables:
        name = t["relname"]
        if name in PLATFORM_TABLES:
            continue
        tenant_tables.add(name)
        if not t["has_tenant"]:
            problems.append(f"{name}: no tenant_id column")
        if not (t["relrowsecurity"] and t["relforcerowsecurity"]):
            problems.append(f"{name}: row-level security not enabled and forced")
        if t["owner"] == "cloudstore_app":
            problems.append(f"{name}: owned by the runtime role")
    return tenant_tables, problems


def _constraint_problem(c: Any) -> str | None:
    cols = list(c["cols"])
    if c["contype"] == "p" and cols[0] != "tenant_id":
        return f"{c['tbl']}.{c['conname']}: primary key does not lead with tenant_id ({cols})"
    if c["contype"] == "u" and "tenant_id" not in cols:
        return f"{c['tbl']}.{c['conname']}: unique constraint without tenant_id ({cols})"
    if c["contype"] == "f" and c["ref_tbl"] != "tenants":
        ref = list(c["ref_cols"])
        if "tenant_id" not in cols or cols.index("tenant_id") != ref.index("tenant_id"):
            return f"{c['tbl']}.{c['conname']}: foreign key does not pair tenant_id ({cols} -> {ref})"
    return None


async def test_every_tenant_table_is_isolated_and_keyed_by_tenant(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        tables = (await conn.execute(_TABLES)).mappings().all()
        constraints = (await conn.execute(_CONSTRAINTS)).mappings().all()
        unique_indexes = (await conn.execute(_UNIQUE_INDEXES)).mappings().all()
    tenant_tables, problems = _table_problems(list(tables))
    assert len(tenant_tables) >= 25
    problems += [p for c in constraints if c["tbl"] in tenant_tables and (p := _constraint_problem(c))]
    problems += [
        f"{i['tbl']}.{i['idx']}: unique index without tenant_id"
        for i in unique_indexes
        if i["tbl"] in tenant_tables and "tenant_id" not in list(i["cols"])
    ]
    assert problems == []


async def test_runtime_role_cannot_bypass_row_level_security(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT rolbypassrls, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'cloudstore_app'")
            )
        ).one()
        owned = (
            await conn.execute(text("SELECT count(*) FROM pg_class WHERE relowner = 'cloudstore_app'::regrole"))
        ).scalar_one()
    assert tuple(row) == (False, False, False)
    assert owned == 0
