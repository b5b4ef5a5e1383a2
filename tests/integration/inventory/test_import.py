"""Stock CSV import: a good file, bad lines, rollback, and the ``cloudstore stock import`` CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from cloudstore.cli import app as cli
from cloudstore.inventory import imports
from cloudstore.inventory.imports import import_stock_file, parse_stock_csv
from cloudstore.lib.imports import ImportFailed, ImportSummary
from tests.support import Api, TenantHandle, seed_catalog


async def levels(api: Api, tenant: TenantHandle) -> dict[tuple[str, str], int]:
    body = (await api.get("/v1/hq/stock", token=tenant.hq_token, params={"limit": 100})).json()
    return {(x["location"], x["sku"]): x["on_hand"] for x in body["items"]}


async def import_movements(engine: AsyncEngine, tenant: TenantHandle) -> list[tuple[str, str, int, str, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT l.code, k.code, m.delta, m.actor, m.reference FROM stock_movements m "
                "JOIN tenants t ON t.id = m.tenant_id JOIN locations l ON l.tenant_id = t.id AND l.id = m.location_id "
                "JOIN skus k ON k.tenant_id = t.id AND k.id = m.sku_id "
                "WHERE t.slug = :slug AND m.reason = 'import' ORDER BY m.id"
            ),
            {"slug": tenant.slug},
        )
        return [tuple(r) for r in rows]


async def test_good_file_sets_stock_and_records_movements(
    api: Api, tenant: TenantHandle, database_url: str, owner_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalog(api, tenant)
    monkeypatch.setattr(imports, "CHUNK", 2)  # several chunks in one transaction
    content = "location,sku,on_hand\nS-NS,LJ-100,7\nS-NS,DHP-100,2\nWH-C,BC-100,25\nS-TH,CUP-1,0\nWH-GZ,HC-50,12\n"
    progress: list[tuple[int, int]] = []
    summary = await import_stock_file(
        database_url,
        tenant.slug,
        parse_stock_csv(content),
        reference="stock.csv",
        progress=lambda done, total: progress.append((done, total)),
    )
    assert summary == ImportSummary(lines=5, created=2, updated=1, unchanged=2)
    assert progress == [(2, 5), (4, 5), (5, 5)]
    got = await levels(api, tenant)
    assert (got["S-NS", "LJ-100"], got["WH-C", "BC-100"], got["S-TH", "CUP-1"]) == (7, 25, 0)
    assert await import_movements(owner_engine, tenant) == [
        ("S-NS", "LJ-100", 2, "cli", "stock.csv"),
        ("WH-C", "BC-100", 25, "cli", "stock.csv"),
    ]
    again = await import_stock_file(database_url, tenant.slug, parse_stock_csv(content), reference="stock.csv")
    assert again == ImportSummary(lines=5, unchanged=5)
    assert len(await import_movements(owner_engine, tenant)) == 2


async def test_unknown_codes_and_reservations_roll_the_file_back(
    api: Api, tenant: TenantHandle, database_url: str, owner_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_catalog(api, tenant)
    before = await levels(api, tenant)
    content = "location,sku,on_hand\nS-NS,LJ-100,9\nWH-XX,LJ-100,1\nS-NS,XX-1,1\nWH-XX,XX-2,1\n"
    with pytest.raises(ImportFailed) as caught:
        await import_stock_file(database_url, tenant.slug, parse_stock_csv(content), reference=None)
    assert [(e.line, e.error) for e in caught.value.errors] == [
        (3, "unknown location 'WH-XX'"),
        (4, "unknown SKU 'XX-1'"),
        (5, "unknown location 'WH-XX' and SKU 'XX-2'"),
    ]
    async with owner_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE stock_levels SET reserved = 3 FROM tenants t, locations l WHERE t.slug = :s "
                "AND stock_levels.tenant_id = t.id AND l.tenant_id = t.id AND l.code = 'WH-SZ' "
                "AND stock_levels.location_id = l.id"
            ),
            {"s": tenant.slug},
        )
    monkeypatch.setattr(imports, "CHUNK", 1)  # the first chunk is written before the bad one is seen
    content = "location,sku,on_hand\nS-NS,LJ-100,9\nWH-SZ,PE-357,2\n"
    with pytest.raises(ImportFailed) as caught:
        await import_stock_file(database_url, tenant.slug, parse_stock_csv(content), reference=None)
    assert [(e.line, e.error) for e in caught.value.errors] == [(3, "on_hand 2 is below the 3 reserved")]
    assert await levels(api, tenant) == before
    assert await import_movements(owner_engine, tenant) == []


async def test_cli(api: Api, tenant: TenantHandle, database_url: str, tmp_path: Path) -> None:
    await seed_catalog(api, tenant)
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "CLOUDSTORE_ENV": "test"}
    good = tmp_path / "stock.csv"
    good.write_text("location,sku,on_hand\nS-NS,LJ-100,6\nWH-C,BC-100,30\n", encoding="utf-8")
    args = ["stock", "import", str(good), "--tenant", tenant.slug]
    result = await asyncio.to_thread(runner.invoke, cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert f"{good}: 2 line(s): 1 created, 1 updated, 0 unchanged" in result.stdout
    assert "importing" in result.stderr
    got = await levels(api, tenant)
    assert (got["S-NS", "LJ-100"], got["WH-C", "BC-100"]) == (6, 30)
    bad = tmp_path / "bad.csv"
    bad.write_text("location,sku,on_hand\nS-NS,LJ-100,1\nS-NS,LJ-100,2\nWH-C,CUP-1,x\n", encoding="utf-8")
    result = await asyncio.to_thread(
        runner.invoke, cli, ["stock", "import", str(bad), "--tenant", tenant.slug], env=env
    )
    assert result.exit_code == 1
    assert f"{bad}:3: LJ-100 at S-NS is already on line 2" in result.stderr
    assert f"{bad}:4: on_hand must be a whole number, not 'x'" in result.stderr
    assert (await levels(api, tenant))["S-NS", "LJ-100"] == 6
    result = await asyncio.to_thread(
        runner.invoke, cli, ["stock", "import", str(tmp_path / "none.csv"), "--tenant", "x"]
    )
    assert result.exit_code == 2  # typer: the file must exist
