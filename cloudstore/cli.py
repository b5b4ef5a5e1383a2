"""The ``cloudstore`` command line: database, tenant files, server and worker."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from cloudstore.settings import load_settings

__all__ = ("app", "main")

app = typer.Typer(no_args_is_help=True, add_completion=False, help="cloudstore: BC-integrated social cloud stores.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
tenants_app = typer.Typer(no_args_is_help=True, help="Tenant definition files.")
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")

_log = logging.getLogger("cloudstore.cli")


async def _database_url() -> str:
    from cloudstore.db import resolve_database_url

    return await resolve_database_url(load_settings())


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations (with no DATABASE_URL, to the embedded PostgreSQL)."""
    from cloudstore.migrate import upgrade

    async def run() -> None:
        await upgrade(await _database_url(), revision)

    asyncio.run(run())
    typer.echo(f"database at {revision}")


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

    async def run() -> None:
        report = await apply_file(await _database_url(), path, load_settings())
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
    from cloudstore.migrate import upgrade
    from cloudstore.tenancy.tenantfile import apply_file

    settings = load_settings()

    async def prepare() -> str:
        url = await _database_url()
        if migrate:
            await upgrade(url)
        for file in apply or []:
            report = await apply_file(url, file, settings)
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
    from cloudstore.app import ROUTE_MODULES
    from cloudstore.db import Database
    from cloudstore.jobs import Worker
    from cloudstore.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    import importlib

    for name in ROUTE_MODULES:  # registers every job handler
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise

    async def run() -> None:
        db = Database(await _database_url(), pool_size=2, max_overflow=2)
        try:
            await Worker(db.sessions).run_forever()
        finally:
            await db.dispose()

    asyncio.run(run())


def main() -> None:
    """Console-script entry point."""
    app()
