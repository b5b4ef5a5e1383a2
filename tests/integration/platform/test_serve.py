"""``cloudstore serve`` and ``scripts/serve`` as real processes: log lines, workers, stopping, bad settings."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
CLOUDSTORE = str(Path(sys.executable).with_name("cloudstore"))
SECRET_KEY = "serve-test-secret-key-" + "s" * 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CLOUDSTORE_TEST_DATABASE_URL")}
    env.update(CLOUDSTORE_ENV="test", CLOUDSTORE_SECRET_KEY=SECRET_KEY, CLOUDSTORE_OPERATOR_TOKEN="t" * 32)
    env.pop("CLOUDSTORE_WORKERS", None)
    env.update(extra)
    return env


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for a parent that never reaps it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


class Server:
    """A server process whose stdout and stderr go to files, read back as lines."""

    def __init__(self, command: list[str], env: dict[str, str], folder: Path, port: int) -> None:
        self.port = port
        self.out, self.err = folder / "stdout", folder / "stderr"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=err)  # noqa: S603

    def lines(self) -> list[str]:
        return [line for f in (self.out, self.err) for line in f.read_text().splitlines() if line.strip()]

    def records(self) -> list[dict[str, Any]]:
        """Every output line, each of which must be one JSON object."""
        records = []
        for line in self.lines():
            try:
                record = json.loads(line)
            except ValueError:
                pytest.fail(f"not a JSON line: {line!r}")
            assert isinstance(record, dict), line
            records.append(record)
        return records

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}: {self.lines()[-20:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"server not ready in {timeout}s: {self.lines()[-20:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@contextlib.contextmanager
def serving(database_url: str, folder: Path, *args: str, **env: str) -> Iterator[Server]:
    port = _free_port()
    command = [CLOUDSTORE, "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port), *args]
    server = Server(command, _env(DATABASE_URL=database_url, **env), folder, port)
    try:
        server.wait_ready()
        yield server
    finally:
        server.kill()


def test_every_line_is_one_json_object(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{base}/healthz", headers={"x-request-id": "serve-test-0001"}).status_code == 200
        bad = httpx.post(f"{base}/v1/auth/token", content=b"{not json", headers={"content-type": "application/json"})
        assert 400 <= bad.status_code < 500
        assert server.stop() == 0
    records = server.records()
    assert all({"event", "level", "timestamp", "logger"} <= record.keys() for record in records)
    access = [r for r in records if r["logger"] == "cloudstore.access"]
    healthz = next(r for r in access if r["request_id"] == "serve-test-0001")
    assert (healthz["method"], healthz["path"], healthz["status"], healthz["level"]) == ("GET", "/healthz", 200, "info")
    assert any(r["path"] == "/v1/auth/token" and r["status"] == bad.status_code for r in access)
    uvicorn = {r["event"] for r in records if r["logger"] == "uvicorn.error"}
    assert "Application startup complete." in uvicorn
    assert "Application shutdown complete." in uvicorn


def test_a_request_in_flight_at_sigterm_gets_its_answer(database_url: str, tmp_path: Path) -> None:
    body = json.dumps({"tenant": "no-such-tenant", "username": "hq", "password": "wrong-password"}).encode()
    with serving(database_url, tmp_path) as server:
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        with conn:
            head = (
                f"POST /v1/auth/token HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n"
            ).encode()
            conn.sendall(head + body[:10])  # the handler is now waiting for the rest of the body
            time.sleep(0.5)
            server.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:  # wait until the server has stopped accepting connections
                try:
                    socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
                except OSError:
                    break
                time.sleep(0.1)
            else:
                pytest.fail("the server kept accepting connections after SIGTERM")
            assert server.process.poll() is None, "the server exited with a request in flight"
            conn.sendall(body[10:])
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert server.process.wait(30) == 0
    status_line, _, rest = answer.partition(b"\r\n")
    status = int(status_line.split()[1])
    assert 400 <= status < 500, answer
    problem = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert problem["status"] == status


def test_workers_run_one_job_worker_in_the_supervisor(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, CLOUDSTORE_WORKERS="2", CLOUDSTORE_RUN_WORKER="1") as server:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            started = [r for r in server.records() if r["event"] == "Application startup complete."]
            if len(started) == 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"two HTTP workers did not start: {server.lines()[-20:]}")
        for _ in range(4):
            assert httpx.get(f"http://127.0.0.1:{server.port}/healthz").status_code == 200
        assert server.stop() == 0
    records = server.records()
    children = {int(r["event"].split("[")[1].rstrip("]")) for r in records if r["event"].startswith("Started server")}
    assert len(children) == 2
    assert server.process.pid not in children
    assert not any(_alive(pid) for pid in children)
    job_workers = [r for r in records if r["event"] == "job worker started"]
    assert [r["pid"] for r in job_workers] == [server.process.pid]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLOUDSTORE_SECRET_KEY", "too-short"),
        ("PORT", "eighty"),
        ("CLOUDSTORE_ENV", "staging"),
        ("CLOUDSTORE_WORKERS", "0"),
        ("CLOUDSTORE_SHUTDOWN_TIMEOUT", "soon"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(variable: str, value: str) -> None:
    done = subprocess.run(  # noqa: S603
        [CLOUDSTORE, "serve"], env=_env(**{variable: value}), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("cloudstore: bad setting: ")
    assert variable in lines[0]
    assert value in lines[0] or variable == "CLOUDSTORE_SECRET_KEY"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_scripts_serve_stops_its_embedded_postgres(tmp_path: Path, sig: int) -> None:
    data = tmp_path / "data"
    port = _free_port()
    env = _env(CLOUDSTORE_DATA_DIR=str(data), PORT=str(port), CLOUDSTORE_DEMO_TENANT=str(tmp_path / "none.toml"))
    server = Server([str(ROOT / "scripts" / "serve")], env, tmp_path, port)
    postmaster: int | None = None
    try:
        server.wait_ready(timeout=180)
        postmaster = int((data / "pgdata" / "postmaster.pid").read_text().split()[0])
        assert _alive(postmaster)
        assert server.stop(sig) == 0
        deadline = time.monotonic() + 30
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(postmaster), "the embedded PostgreSQL is still running"
        assert not (data / "pgdata" / "postmaster.pid").exists()
    finally:
        server.kill()
        if postmaster is not None and _alive(postmaster):
            os.kill(postmaster, signal.SIGINT)  # fast shutdown, so a failed run leaves nothing behind
