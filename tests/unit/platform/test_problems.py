"""Unexpected errors become a bare 500 problem with the request id: no trace, no SQL, no message."""

from __future__ import annotations

from typing import Any, cast

import pytest
from litestar import Litestar, get
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cloudstore.http.problems import exception_handlers
from cloudstore.lib.errors import InsufficientStock
from cloudstore.lib.logs import RequestIdMiddleware


@get("/boom")
async def boom() -> None:
    raise RuntimeError("SELECT secret FROM staff WHERE password = 'hunter2'")


@get("/db")
async def db() -> None:
    raise OperationalError("SELECT 1", {}, Exception("connection to 10.0.0.5 refused"))


class _TooManyClients(Exception):
    sqlstate = "53300"


@get("/full")
async def full() -> None:
    raise OperationalError("connect", {}, _TooManyClients("sorry, too many clients already"))


@get("/busy")
async def busy() -> None:
    raise PoolTimeout("QueuePool limit of size 20 overflow 0 reached, connection timed out, timeout 30.00")


@get("/short")
async def short() -> None:
    raise InsufficientStock([{"sku": "TEA-1", "requested": 3, "available": 1}])


def _client() -> TestClient[Litestar]:
    app = Litestar(
        route_handlers=[boom, db, full, busy, short],
        exception_handlers=cast("Any", exception_handlers),
        middleware=[DefineMiddleware(RequestIdMiddleware, access_log=False)],
    )
    return TestClient(app, raise_server_exceptions=False)


def test_unexpected_error_is_a_bare_500_problem() -> None:
    with _client() as client:
        for path in ("/boom", "/db"):
            r = client.get(path, headers={"X-Request-ID": "req-12345678"})
            assert r.status_code == 500
            assert r.headers["content-type"].startswith("application/problem+json")
            body = r.json()
            assert body["code"] == "internal_error"
            assert body["request_id"] == "req-12345678"
            assert r.headers["x-request-id"] == "req-12345678"
            assert "SELECT" not in r.text
            assert "hunter2" not in r.text
            assert "10.0.0.5" not in r.text
            assert "Traceback" not in r.text


def test_domain_error_carries_its_details() -> None:
    with _client() as client:
        r = client.get("/short")
    assert r.status_code == 409
    assert r.json()["short"] == [{"sku": "TEA-1", "requested": 3, "available": 1}]
    assert r.json()["code"] == "insufficient_stock"


@pytest.mark.parametrize(
    ("path", "code", "hidden"),
    [
        ("/busy", "busy", "QueuePool"),  # the pool stayed busy for its whole timeout
        ("/full", "unavailable", "too many clients"),  # the database at its connection limit
    ],
)
def test_a_database_busy_or_unavailable_is_a_503_to_retry(path: str, code: str, hidden: str) -> None:
    with _client() as client:
        r = client.get(path)
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "1"
    assert r.json()["code"] == code
    assert hidden not in r.text
