"""Shared pieces of the benchmark scripts: a throw-away database, a server process, latency figures."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import msgspec
from sqlalchemy.engine import make_url

from cloudstore.auth.tokens import Principal, TokenCodec
from cloudstore.lib.db import APP_ROLE, WORKER_ROLE, _asyncpg_args, ensure_database, start_embedded, to_async_url
from cloudstore.lib.migrate import upgrade

__all__ = (
    "ROOT",
    "BenchDatabase",
    "RawClient",
    "Result",
    "add_database_url_option",
    "drop_database",
    "free_port",
    "new_database",
    "serve",
    "server_pid",
)

ROOT = Path(__file__).resolve().parents[2]


class Result(msgspec.Struct):
    """One load run: how many requests, how many failed, how long, and each latency."""

    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        """Successful requests per second."""
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        """A latency quantile in milliseconds."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        """One line of a results table."""
        return (
            f"{self.name:<28}{self.rps:>10.1f}{self.quantile(0.5):>10.2f}{self.quantile(0.99):>10.2f}"
            f"{self.errors:>8}{self.requests:>10}"
        )


HEADER = f"{'run':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'requests':>10}"


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (GET, or POST of a JSON body): one per worker.

    httpx spends about a millisecond of CPU on each 15 KB page, as much as the server under test, and on a
    small machine the client would then set the pace; this one only splits the status line and headers.
    """

    def __init__(self, base: str) -> None:
        url = httpx.URL(base)
        self.host, self.port = url.host, url.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        """GET ``path``; returns the status (the body is read and dropped)."""
        return await self.request("GET", path)

    async def request(
        self, method: str, path: str, body: bytes = b"", token: str | None = None, headers: str = ""
    ) -> int:
        """Send one request; returns the status (the body is read and dropped).

        ``headers``: further header lines, each ending in CRLF.
        """
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader = self.reader
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept-Encoding: identity\r\n"
        if token is not None:
            head += f"Authorization: Bearer {token}\r\n"
        head += headers
        if method != "GET":
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode("latin-1") + b"\r\n" + body)
        status = int((await reader.readline()).split()[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        else:
            await reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            self.writer, self.reader = None, None


def freeze_heap() -> None:
    """Keep the load generator's own garbage collector out of the latencies it measures.

    A full collection walks every object the process holds (the modules it imported, the seeded tokens and
    bodies): 60–90 ms on the 2-vCPU VMs here, during which no request is sent or answered, and an open loop
    then counts that pause into every request scheduled in it. Called after the set-up, before the timed runs:
    what exists then is moved out of the collector's sight (``gc.freeze``), so later collections walk only what
    the runs allocate.
    """
    gc.collect()
    gc.freeze()


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class BenchDatabase(msgspec.Struct):
    """A throw-away benchmark database: its URL, and the server URLs holding it (a Citus cluster: every node)."""

    url: str
    servers: list[str]
    citus: bool


def add_database_url_option(parser: argparse.ArgumentParser) -> None:
    """``--database-url``: the server to benchmark on (default ``DATABASE_URL``, else an embedded PostgreSQL)."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or None,
        help="a PostgreSQL server (default: DATABASE_URL, else an embedded one), or a database on a Citus "
        "coordinator that has its workers added (as printed by scripts/citus-cluster start): the benchmark "
        "database is then created on every node and distributed",
    )


async def new_database(prefix: str, database_url: str | None) -> BenchDatabase:
    """A fresh migrated database on ``database_url``'s server (else an embedded one); distributed on Citus.

    When the database named by ``database_url`` has the citus extension and workers, the new database is created
    on the coordinator and on every worker with the extension, the workers are added to it, and after the
    migration the runtime roles may log in (Citus reaches the workers as the current role) and
    ``cloudstore db distribute`` lays the tables out, before anything is seeded.
    """
    if database_url:
        server_url = to_async_url(database_url)
    else:
        server_url = start_embedded(Path(tempfile.mkdtemp(prefix=f"{prefix}-")), delete_on_exit=True)
    name = f"{prefix.replace('-', '_')}_{secrets.token_hex(4)}"
    server = make_url(server_url)
    coordinator: tuple[str, int] | None = None
    workers: list[tuple[str, int]] = []
    conn = await asyncpg.connect(**_asyncpg_args(server.set(database=server.database or "postgres")))
    try:
        if await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'citus'"):
            nodes = await conn.fetch(
                "SELECT nodename, nodeport, groupid FROM pg_dist_node WHERE noderole = 'primary' AND isactive "
                "ORDER BY groupid"
            )
            workers = [(r["nodename"], r["nodeport"]) for r in nodes if r["groupid"] != 0]
            coordinator = next(((r["nodename"], r["nodeport"]) for r in nodes if r["groupid"] == 0), None)
    finally:
        await conn.close()
    if not workers:
        url = await ensure_database(server_url, name)
        await upgrade(url)
        return BenchDatabase(url, [server_url], citus=False)
    coordinator = coordinator or (server.host or "127.0.0.1", server.port or 5432)
    worker_urls = [server.set(host=host, port=port).render_as_string(hide_password=False) for host, port in workers]
    url = ""
    for node in [server_url, *worker_urls]:
        node_db = await ensure_database(node, name)
        url = url or node_db
        conn = await asyncpg.connect(**_asyncpg_args(make_url(node_db)))
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
        finally:
            await conn.close()
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:
        await conn.execute("SELECT citus_set_coordinator_host($1, $2)", *coordinator)
        for host, port in workers:
            await conn.execute("SELECT citus_add_node($1, $2)", host, port)
    finally:
        await conn.close()
    await upgrade(url)
    conn = await asyncpg.connect(**_asyncpg_args(make_url(url)))
    try:  # loopback trust on a test cluster; passwords in production (docs/deploying.md)
        await conn.execute(f"ALTER ROLE {APP_ROLE} LOGIN; ALTER ROLE {WORKER_ROLE} LOGIN")
    finally:
        await conn.close()
    cli = Path(sys.executable).with_name("cloudstore")
    proc = await asyncio.create_subprocess_exec(
        str(cli), "db", "distribute", env={**os.environ, "DATABASE_URL": url}, cwd=ROOT, stdout=subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"cloudstore db distribute failed on {name}")
    print(f"cloudstore db distribute: {out.decode().strip().splitlines()[-1]}", flush=True)
    return BenchDatabase(url, [server_url, *worker_urls], citus=True)


async def drop_database(db: BenchDatabase) -> None:
    """Drop a benchmark database (on every node that holds it)."""
    name = make_url(db.url).database
    for server_url in db.servers:
        conn = await asyncpg.connect(**_asyncpg_args(make_url(server_url).set(database="postgres")))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


_SERVERS: dict[str, int] = {}


def server_pid(base: str) -> int:
    """The process id of the server :func:`serve` runs at ``base``."""
    return _SERVERS[base]


@contextlib.contextmanager
def serve(
    target: str,
    env: dict[str, str],
    log: Path,
    *,
    ready_path: str = "/healthz",
    workers: int = 1,
    app_dir: Path | None = None,
) -> Iterator[str]:
    """Run ``uvicorn --factory target`` on a free 127.0.0.1 port until the block ends; yields its base URL.

    ``app_dir``: another checkout to run it from (with that checkout's ``.venv``), e.g. an older commit.
    """
    port = free_port()
    python = str(app_dir / ".venv" / "bin" / "python") if app_dir is not None else sys.executable
    cmd = [python, "-m", "uvicorn", "--factory", target, "--host", "127.0.0.1", "--port", str(port),
           "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
           "--workers", str(workers), "--backlog", "4096"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=app_dir or ROOT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{target} exited; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + ready_path, timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start; see {log}")
                time.sleep(0.2)
            _SERVERS[base] = proc.pid
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def insert_consumers(conn: asyncpg.Connection, tenant_id: int, count: int) -> list[int]:
    """``count`` new consumers of the tenant (openids ``bench-1`` …), their ids in order."""
    rows = await conn.fetch(
        "INSERT INTO consumers (tenant_id, openid) SELECT $1, 'bench-' || g FROM generate_series(1, $2) g RETURNING id",
        tenant_id,
        count,
    )
    return [r["id"] for r in rows]


def consumer_tokens(tenant_id: int, tenant: str, consumer_ids: list[int], secret: str) -> list[str]:
    """A six-hour consumer token for each consumer, signed with the server's ``secret``."""
    codec = TokenCodec(secret, timedelta(hours=6))
    now = datetime.now(UTC)
    return [
        codec.issue(Principal(tenant_id=tenant_id, tenant=tenant, subject_id=cid, role="consumer"), now)[0]
        for cid in consumer_ids
    ]
