"""The ``cloudstore`` command line: database, tenant files, server and worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cloudstore.lib.settings import load_settings

__all__ = ("app", "main")

app = typer.Typer(no_args_is_help=True, add_completion=False, help="cloudstore: BC-integrated social cloud stores.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
tenants_app = typer.Typer(no_args_is_help=True, help="Tenant definition files.")
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
stock_app = typer.Typer(no_args_is_help=True, help="Stock levels.")
catalog_app = typer.Typer(no_args_is_help=True, help="Products and SKUs.")
app.add_typer(stock_app, name="stock")
app.add_typer(catalog_app, name="catalog")

_log = logging.getLogger("cloudstore.cli")
T = TypeVar("T")

if TYPE_CHECKING:
    from cloudstore.lib.imports import Progress


async def _database_url() -> str:
    from cloudstore.lib.db import resolve_database_url

    return await resolve_database_url(load_settings())


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations (with no DATABASE_URL, to the embedded PostgreSQL)."""
    from cloudstore.lib.migrate import upgrade

    async def run() -> None:
        await upgrade(await _database_url(), revision)

    asyncio.run(run())
    typer.echo(f"database at {revision}")


@db_app.command("distribute")
def db_distribute(
    shard_count: Annotated[int | None, typer.Option(help="shards per distributed table (default: Citus's)")] = None,
) -> None:
    """On a Citus coordinator: make tenants a reference table and distribute the rest on tenant_id (idempotent)."""
    from cloudstore.lib.distribute import distribute

    async def run() -> list[str]:
        return await distribute(await _database_url(), shard_count=shard_count)

    done = asyncio.run(run())
    for line in done:
        typer.echo(line)
    typer.echo(f"distributed: {len(done)} table(s) changed")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL in use (starting the embedded server if needed)."""
    typer.echo(asyncio.run(_database_url()))


@tenants_app.command("apply")
def tenants_apply(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a tenant .toml file")],
) -> None:
    """Create or update a tenant from a file; applying the same file again changes nothing."""
    from cloudstore.tenancy.tenantfile import apply_file
    from cloudstore.wiring import TENANT_FILE_SECTIONS

    async def run() -> None:
        report = await apply_file(await _database_url(), path, load_settings(), TENANT_FILE_SECTIONS)
        typer.echo(report.summary())

    asyncio.run(run())


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int | None, typer.Option(help="port (default: PORT or 8000)")] = None,
    migrate: Annotated[bool, typer.Option(help="apply migrations first")] = True,
    apply: Annotated[list[Path] | None, typer.Option(help="tenant files to apply before serving")] = None,
    workers: Annotated[int, typer.Option(help="server processes (needs DATABASE_URL when > 1)")] = 1,
) -> None:
    """Run the HTTP API (and, unless CLOUDSTORE_RUN_WORKER=0, the background worker)."""
    import uvicorn

    from cloudstore.app import create_app
    from cloudstore.lib.migrate import upgrade
    from cloudstore.tenancy.tenantfile import apply_file
    from cloudstore.wiring import TENANT_FILE_SECTIONS

    settings = load_settings()

    async def prepare() -> str:
        url = await _database_url()
        if migrate:
            await upgrade(url)
        for file in apply or []:
            report = await apply_file(url, file, settings, TENANT_FILE_SECTIONS)
            typer.echo(report.summary())
        return url

    url = asyncio.run(prepare())
    if workers > 1:
        uvicorn.run("cloudstore.app:app_from_env", factory=True, host=host, port=port or settings.port, workers=workers)
        return
    uvicorn.run(create_app(settings, database_url=url), host=host, port=port or settings.port, log_config=None)


@app.command("worker")
def worker() -> None:
    """Run only the background job worker."""
    from cloudstore import wiring
    from cloudstore.lib.db import Database
    from cloudstore.lib.events import EventBus, attach
    from cloudstore.lib.jobs import Worker
    from cloudstore.lib.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)

    async def run() -> None:
        db = Database(await _database_url(), pool_size=2, max_overflow=2)
        attach(db.sessions, EventBus(wiring.SUBSCRIBERS))
        providers = wiring.payment_providers(settings)
        sender = wiring.webhook_sender(settings)
        try:
            await Worker(db.sessions, wiring.job_handlers(providers, sender)).run_forever()
        finally:
            await sender.aclose()
            for provider in providers.values():
                aclose = getattr(provider, "aclose", None)
                if aclose is not None:
                    await aclose()
            await db.dispose()

    asyncio.run(run())


CsvFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="a UTF-8 CSV file")]
TenantSlug = Annotated[str, typer.Option("--tenant", help="the tenant's slug")]


def _import(
    path: Path, parse: Callable[[str, Progress], T], run: Callable[[T, Progress], Coroutine[Any, Any, object]]
) -> None:
    """Read, check and import one CSV file with a progress bar; any bad line means nothing is written (exit 1)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    from cloudstore.lib.errors import DomainError
    from cloudstore.lib.imports import ImportFailed

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Bar(*columns, console=console, transient=False) as bar:
            checking = bar.add_task("checking", total=None)
            rows = parse(
                path.read_text(encoding="utf-8-sig"),
                lambda done, total: bar.update(checking, completed=done, total=total),
            )
            writing = bar.add_task("importing", total=None)
            summary = asyncio.run(run(rows, lambda done, total: bar.update(writing, completed=done, total=total)))
    except ImportFailed as exc:
        for error in exc.errors:
            typer.echo(f"{path}:{error.line}: {error.error}", err=True)
        typer.echo(f"{len(exc.errors)} bad line(s); nothing was imported", err=True)
        raise typer.Exit(1) from None
    except (DomainError, UnicodeDecodeError) as exc:
        typer.echo(f"{path}: {getattr(exc, 'detail', exc)}; nothing was imported", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: {summary}")


@stock_app.command("import")
def stock_import(path: CsvFile, tenant: TenantSlug) -> None:
    """Set on-hand stock from a CSV file with columns location,sku,on_hand (all lines or none)."""
    from cloudstore.inventory.imports import StockLine, import_stock_file, parse_stock_csv

    async def run(lines: list[StockLine], progress: Progress) -> object:
        return await import_stock_file(await _database_url(), tenant, lines, reference=path.name, progress=progress)

    _import(path, parse_stock_csv, run)


@catalog_app.command("import")
def catalog_import(
    path: CsvFile,
    tenant: TenantSlug,
    publish: Annotated[bool, typer.Option(help="publish the imported products")] = False,
) -> None:
    """Create or update products from a CSV file with columns
    product_code,title,category,sku_code,spec,price,min_price,max_price[,description] (all lines or none)."""
    from cloudstore.catalog.imports import CatalogRow, import_catalog_file, parse_catalog_csv

    async def run(rows: list[CatalogRow], progress: Progress) -> object:
        summary = await import_catalog_file(await _database_url(), tenant, rows, publish=publish)
        progress(1, 1)
        return summary

    _import(path, parse_catalog_csv, run)


def main() -> None:
    """Console-script entry point."""
    app()
