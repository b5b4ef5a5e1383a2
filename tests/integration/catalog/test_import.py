"""Catalog CSV import: a good file, a bad line, rollback, idempotence, and the ``cloudstore catalog import`` CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudstore.catalog.imports import import_catalog_file, parse_catalog_csv
from cloudstore.cli import app as cli
from cloudstore.lib.imports import ImportFailed, ImportSummary
from tests.support import Api, TenantHandle

HEADER = "product_code,title,category,sku_code,spec,price,min_price,max_price,description\n"
GOOD = HEADER + (
    "GT-LJ,西湖龙井,绿茶,GT-LJ-100,100g罐装,26800,24800,29800,明前特级\n"
    "GT-LJ,西湖龙井,绿茶,GT-LJ-250,250g礼盒装,62800,,,\n"
    "TW-GW,白瓷盖碗,茶具,TW-GW-150,150ml,8800,,,\n"
)


async def products(api: Api, tenant: TenantHandle) -> dict[str, tuple[str, list[tuple[str, int, int, int]]]]:
    r = await api.get("/v1/hq/products", token=tenant.hq_token, params={"limit": 100})
    return {
        p["code"]: (p["status"], [(s["code"], s["price"], s["min_price"], s["max_price"]) for s in p["skus"]])
        for p in r.json()["items"]
    }


async def test_good_file_then_the_same_file_again(api: Api, tenant: TenantHandle, database_url: str) -> None:
    summary = await import_catalog_file(database_url, tenant.slug, parse_catalog_csv(GOOD))
    assert summary == ImportSummary(lines=3, created=2)
    assert await products(api, tenant) == {
        "GT-LJ": ("draft", [("GT-LJ-100", 26800, 24800, 29800), ("GT-LJ-250", 62800, 62800, 62800)]),
        "TW-GW": ("draft", [("TW-GW-150", 8800, 8800, 8800)]),
    }
    again = await import_catalog_file(database_url, tenant.slug, parse_catalog_csv(GOOD), publish=False)
    assert again == ImportSummary(lines=3, unchanged=2)
    changed = (
        GOOD.replace("TW-GW-150,150ml,8800,,,", "TW-GW-150,150ml,9800,,,")
        + "TW-GW,白瓷盖碗,茶具,TW-GW-90,90ml,6800,,,\n"
    )
    summary = await import_catalog_file(database_url, tenant.slug, parse_catalog_csv(changed), publish=True)
    assert summary == ImportSummary(lines=4, updated=2)  # TW-GW changed; GT-LJ changed status only
    assert await products(api, tenant) == {
        "GT-LJ": ("published", [("GT-LJ-100", 26800, 24800, 29800), ("GT-LJ-250", 62800, 62800, 62800)]),
        "TW-GW": ("published", [("TW-GW-150", 9800, 9800, 9800), ("TW-GW-90", 6800, 6800, 6800)]),
    }


async def test_sku_of_another_product_rolls_the_whole_file_back(
    api: Api, tenant: TenantHandle, database_url: str
) -> None:
    await import_catalog_file(database_url, tenant.slug, parse_catalog_csv(GOOD))
    content = HEADER + (
        "NEW-1,新品,红茶,NEW-1-A,100g,5000,,,\n"  # would be created...
        "NEW-2,新品二,红茶,GT-LJ-100,100g,5000,,,\n"  # ...but this SKU is GT-LJ's
    )
    with pytest.raises(ImportFailed) as caught:
        await import_catalog_file(database_url, tenant.slug, parse_catalog_csv(content))
    assert [(e.line, e.error) for e in caught.value.errors] == [(3, "SKU 'GT-LJ-100' belongs to product 'GT-LJ'")]
    assert set(await products(api, tenant)) == {"GT-LJ", "TW-GW"}


async def test_unknown_tenant(database_url: str) -> None:
    with pytest.raises(Exception, match="tenant 'nope-nope' not found"):
        await import_catalog_file(database_url, "nope-nope", parse_catalog_csv(GOOD))


async def test_cli(api: Api, tenant: TenantHandle, database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "CLOUDSTORE_ENV": "test"}
    good = tmp_path / "catalog.csv"
    good.write_text(GOOD, encoding="utf-8")
    args = ["catalog", "import", str(good), "--tenant", tenant.slug, "--publish"]
    result = await asyncio.to_thread(runner.invoke, cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert f"{good}: 3 line(s): 2 created, 0 updated, 0 unchanged" in result.stdout
    assert "checking" in result.stderr
    assert "importing" in result.stderr
    assert {code: status for code, (status, _) in (await products(api, tenant)).items()} == {
        "GT-LJ": "published",
        "TW-GW": "published",
    }
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "P9,茶,绿茶,P9-1,100g,abc,,,\nP9,茶,绿茶,P9-2,100g,100,200,,\n", encoding="utf-8")
    result = await asyncio.to_thread(
        runner.invoke, cli, ["catalog", "import", str(bad), "--tenant", tenant.slug], env=env
    )
    assert result.exit_code == 1
    assert f"{bad}:5: price must be a whole number, not 'abc'" in result.stderr
    assert f"{bad}:6: price 100 must lie within min_price 200 and max_price 100" in result.stderr
    assert "2 bad line(s); nothing was imported" in result.stderr
    assert "P9" not in await products(api, tenant)
    result = await asyncio.to_thread(
        runner.invoke, cli, ["catalog", "import", str(good), "--tenant", "nope-x"], env=env
    )
    assert (result.exit_code, "tenant 'nope-x' not found" in result.stderr) == (1, True)
