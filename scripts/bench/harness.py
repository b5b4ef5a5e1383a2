"""Shared pieces of the benchmark scripts: a throw-away database, a server process, latency figures."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import msgspec
from sqlalchemy.engine import make_url

from cloudstore.lib.db import _asyncpg_args, ensure_database, start_embedded, to_async_url
from cloudstore.lib.migrate import upgrade

__all__ = ("ROOT", "Result", "drop_database", "free_port", "new_database", "serve")

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


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def new_database(prefix: str) -> tuple[str, str]:
    """(server URL, URL of a fresh migrated database): ``DATABASE_URL``'s server, else an embedded one."""
    if os.environ.get("DATABASE_URL"):
        server_url = to_async_url(os.environ["DATABASE_URL"])
    else:
        server_url = start_embedded(Path(tempfile.mkdtemp(prefix=f"{prefix}-")), delete_on_exit=True)
    url = await ensure_database(server_url, f"{prefix.replace('-', '_')}_{secrets.token_hex(4)}")
    await upgrade(url)
    return server_url, url


async def drop_database(server_url: str, url: str) -> None:
    """Drop a benchmark database."""
    name = make_url(url).database
    conn = await asyncpg.connect(**_asyncpg_args(make_url(server_url).set(database="postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.contextmanager
def serve(
    target: str, env: dict[str, str], log: Path, *, ready_path: str = "/healthz", workers: int = 1
) -> Iterator[str]:
    """Run ``uvicorn --factory target`` on a free 127.0.0.1 port until the block ends; yields its base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", target, "--host", "127.0.0.1", "--port", str(port),
           "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
           "--workers", str(workers), "--backlog", "4096"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
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
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
