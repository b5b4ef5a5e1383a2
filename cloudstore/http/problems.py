"""RFC 9457 problem details: every error leaves the API as ``application/problem+json`` with a stable code."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec
from litestar import Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cloudstore.lib.errors import DomainError

if TYPE_CHECKING:
    from litestar import Request

__all__ = ("PROBLEM_MEDIA_TYPE", "Problem", "exception_handlers", "is_bad_value", "problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("cloudstore.lib.errors")

_TITLES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_failed", "Validation failed"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_error", "Internal server error"),
    503: ("service_unavailable", "Service unavailable"),
}


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    short: list[dict[str, Any]] | None = None
    band: dict[str, int] | None = None


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response specs for the error statuses a route can answer with (500 is always added)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_TITLES.get(status, ("error", "Error"))[1],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted({*statuses, 500})
    }


def _response(
    request: Request[Any, Any, Any], problem: Problem, headers: dict[str, str] | None = None
) -> Response[Any]:
    problem.request_id = request.scope.get("state", {}).get("request_id")
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _problem(status: int, detail: str, code: str | None = None, title: str | None = None) -> Problem:
    default_code, default_title = _TITLES.get(status, ("error", "Error"))
    return Problem(
        type=f"https://cloudstore.dev/problems/{code or default_code}",
        title=title or default_title,
        status=status,
        detail=detail,
        code=code or default_code,
    )


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    problem = _problem(exc.status, exc.detail, exc.code, exc.title)
    for field in ("errors", "short", "band"):
        if field in exc.extra:
            setattr(problem, field, exc.extra[field])
    return _response(request, problem)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else None
    detail = exc.detail or "the request is not valid"
    if errors:
        parts = [f"{e.get('key') or 'body'}: {e.get('message')}" for e in errors if isinstance(e, dict)]
        detail = "; ".join(parts) or detail
    # A body that is not JSON at all is a bad request, not a validation failure.
    status = 400 if "decode" in detail.lower() and "json" in detail.lower() else 422
    problem = _problem(status, detail)
    problem.errors = [e for e in errors or [] if isinstance(e, dict)] or None
    return _response(request, problem)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else _TITLES.get(status, ("", "Error"))[1]
    if status >= 500:
        _log.error("http error %s: %s", status, detail)
        detail = _TITLES.get(status, ("", "Server error"))[1]
    headers = dict(exc.headers) if exc.headers else None
    return _response(request, _problem(status, detail), headers)


def is_bad_value(exc: DBAPIError) -> bool:
    """Whether the database refused a value it cannot hold (a number out of range, a NUL character)."""
    return isinstance(exc, DataError) or isinstance(getattr(exc.orig, "__cause__", None), asyncpg.DataError)


# SQLSTATE classes 08 (connection exception) and 53 (insufficient resources: too many connections, out of
# memory or disk), and the server shutting down or starting up (57P01–57P03).
_UNAVAILABLE_CLASSES = frozenset({"08", "53"})
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})


def _database(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(
        getattr(getattr(exc, "orig", None), "__cause__", None), "sqlstate", None
    )
    if sqlstate in ("40001", "40P01"):  # serialization failure, deadlock: safe for the client to retry
        return _response(
            request, _problem(503, "the request conflicted with another; retry it", "retry"), {"Retry-After": "1"}
        )
    if sqlstate is not None and (sqlstate[:2] in _UNAVAILABLE_CLASSES or sqlstate in _UNAVAILABLE_STATES):
        # The database refused the connection or the work for now (at its connection limit, out of memory,
        # restarting, the connection lost): the client may retry, under the same Idempotency-Key where the
        # route takes one (a request whose commit was cut off is then replayed, not done twice).
        _log.warning("database unavailable (SQLSTATE %s): %s", sqlstate, type(exc.orig).__name__)
        problem = _problem(503, "the database is unavailable; retry in a moment", "unavailable")
        return _response(request, problem, {"Retry-After": "1"})
    if is_bad_value(exc):
        # A value the database cannot hold (a number out of range, a NUL character): the client's input.
        return _response(request, _problem(422, "a value in the request is out of range or not allowed"))
    return _unexpected(request, exc)


def _busy(request: Request[Any, Any, Any], exc: PoolTimeout) -> Response[Any]:
    # Every database connection stayed busy for the pool's whole timeout (a flash sale's peak): the client
    # may retry; nothing was written for this request.
    _log.warning("database pool exhausted: %s", exc)
    return _response(request, _problem(503, "the service is busy; retry in a moment", "busy"), {"Retry-After": "1"})


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _log.error("unhandled error", exc_info=exc)
    return _response(request, _problem(500, "an internal error occurred; it has been logged"))


exception_handlers: dict[type[Exception], Any] = {
    DomainError: _domain,
    ValidationException: _validation,
    HTTPException: _http,
    DBAPIError: _database,
    PoolTimeout: _busy,
    Exception: _unexpected,
}
