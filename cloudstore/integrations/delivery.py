"""Sending webhook deliveries: the outbox write, Standard Webhooks signing, the HTTP call and its retries.

An event becomes one ``webhook_deliveries`` row per subscribed endpoint and one ``webhooks.deliver`` job per
row, in one statement inside the transaction that made the event: if that transaction rolls back, nothing is
sent. The job sends the stored body (signed with ``standardwebhooks``), logs the attempt and, on failure,
queues the next attempt on :data:`RETRY_SCHEDULE` (over a day in all); 410 Gone disables the endpoint.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec
from sqlalchemy import text
from standardwebhooks import Webhook

from cloudstore.lib.db import Part, write_together
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.jobs import enqueue

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.jobs import JobContext

__all__ = (
    "DELIVER_JOB",
    "RETRY_SCHEDULE",
    "Resolver",
    "SendResult",
    "WebhookSender",
    "deliver",
    "event_parts",
    "record_event",
)

DELIVER_JOB = "webhooks.deliver"
#: Delay before each retry after a failed attempt (the Standard Webhooks example schedule): 8 attempts over ~27.6 h.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
TIMEOUT_S = 10.0

#: ``resolver(host, port)`` → the addresses to connect to; injectable so tests can point a name anywhere.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the operating system (both address families)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one attempt got: an HTTP status, or an error before any response."""

    status: int | None
    error: str | None
    duration_ms: int


class WebhookSender:
    """Signs and posts deliveries; in ``prod`` refuses any URL that resolves to a non-public address.

    The address is resolved once, checked, and then connected to directly (the ``Host`` header and TLS
    server name keep the original host), so a name cannot be re-pointed at a private address between the
    check and the connection.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self._client = httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False, transport=transport)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def check_registration(self, url: str) -> None:
        """At registration: the URL's form always; its addresses only where private ones are refused (``prod``)."""
        if self.allow_private:
            _split(url)
        else:
            await self.check_url(url)

    async def check_url(self, url: str) -> tuple[str, str, int]:
        """Validate ``url`` and pick the address to connect to; returns ``(host, address, port)``.

        Raises:
            ValidationFailed: not http(s), no host, or (in ``prod``) it resolves to a private or loopback address.
        """
        host, port = _split(url)
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = await self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise ValidationFailed(f"the webhook host {host!r} does not resolve") from exc
        if not addresses:
            raise ValidationFailed(f"the webhook host {host!r} does not resolve")
        if not self.allow_private and not all(_is_public(a) for a in addresses):
            raise ValidationFailed(f"the webhook host {host!r} resolves to a private or loopback address")
        return host, addresses[0], port

    async def send(self, url: str, secret: str, message_id: str, body: str, now: datetime) -> SendResult:
        """POST one signed delivery; never raises for a network or address problem."""
        started = time.monotonic()
        try:
            host, address, port = await self.check_url(url)
        except ValidationFailed as exc:
            return SendResult(status=None, error=f"refused: {exc.detail}", duration_ms=0)
        parts = urlsplit(url)
        netloc = f"[{address}]" if ":" in address else address
        pinned = urlunsplit((parts.scheme, f"{netloc}:{port}", parts.path or "/", parts.query, ""))
        default_port = port == (443 if parts.scheme == "https" else 80)
        headers = {
            "content-type": "application/json",
            "user-agent": "cloudstore-webhooks/1",
            "host": host if default_port else f"{host}:{port}",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, now, body),
        }
        try:
            response = await self._client.post(
                pinned, content=body.encode(), headers=headers, extensions={"sni_hostname": host}
            )
        except httpx.HTTPError as exc:
            return SendResult(status=None, error=f"{type(exc).__name__}: {exc}"[:500], duration_ms=_ms_since(started))
        return SendResult(status=response.status_code, error=None, duration_ms=_ms_since(started))


def _split(url: str) -> tuple[str, int]:
    """The host and port of an absolute http(s) URL without credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("the webhook url must be an absolute http or https URL")
    if parts.username or parts.password:
        raise ValidationFailed("the webhook url must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationFailed("the webhook url has an invalid port") from exc
    return parts.hostname, port


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` + base64 of 24 random bytes."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


# The outbox rows (one per subscribed endpoint) and a job for each, as two parts of one statement. RETURNING and
# ON CONFLICT make Citus run both inserts as INSERTs rather than COPY, which row-level security refuses.
_DELIVERIES = """INSERT INTO webhook_deliveries (tenant_id, endpoint_id, message_id, event, body, next_attempt_at)
      SELECT e.tenant_id, e.id, :wh_m, :wh_ev, :wh_body, :wh_now FROM webhook_endpoints e
      WHERE e.tenant_id = :wh_t AND e.active AND CAST(:wh_ev AS text) = ANY(e.events)
      ON CONFLICT (tenant_id, endpoint_id, message_id) DO NOTHING
      RETURNING tenant_id, id"""
_DELIVERY_JOBS = """INSERT INTO jobs (tenant_id, kind, payload, run_at, dedupe_key)
    SELECT d.tenant_id, :wh_kind, jsonb_build_object('delivery_id', d.id), :wh_now, 'webhook:' || d.id || '/1'
    FROM wh_d d
    ON CONFLICT (tenant_id, dedupe_key) DO NOTHING"""


def event_parts(tenant_id: int, event: str, data: dict[str, Any], now: datetime, *, key: str) -> list[Part]:
    """:func:`record_event` as parts of the caller's own statement (:func:`cloudstore.lib.db.write_together`)."""
    body = msgspec.json.encode({"type": event, "timestamp": now.astimezone(UTC).isoformat(), "data": data}).decode()
    params = {
        "wh_t": tenant_id,
        "wh_m": f"msg_{tenant_id}_{key}",
        "wh_ev": event,
        "wh_body": body,
        "wh_now": now,
        "wh_kind": DELIVER_JOB,
    }
    return [Part("wh_d", _DELIVERIES, params), Part("wh_j", _DELIVERY_JOBS, {})]


async def record_event(
    session: AsyncSession, tenant_id: int, event: str, data: dict[str, Any], now: datetime, *, key: str
) -> None:
    """Write ``event`` to the outbox for every endpoint that subscribes to it, in the caller's transaction.

    ``key`` names the occurrence (e.g. the order number and the event), so the message id is stable and an
    event recorded twice is delivered once.
    """
    await write_together(session, event_parts(tenant_id, event, data, now, key=key))


_LOAD = text(
    """
    SELECT d.id, d.endpoint_id, d.message_id, d.body, d.status, d.attempts, e.url, e.secret, e.active
    FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
    WHERE d.tenant_id = :t AND d.id = :d
    FOR NO KEY UPDATE OF d
    """
)


async def deliver(ctx: JobContext, *, sender: WebhookSender) -> None:
    """Job ``webhooks.deliver``: one attempt of one delivery, then success, the next attempt, or failure."""
    session, tenant_id = ctx.session, ctx.tenant_id
    row = (await session.execute(_LOAD, {"t": tenant_id, "d": int(ctx.payload["delivery_id"])})).first()
    if row is None or row.status != "pending":
        return  # deleted with its endpoint, or already settled by another job (a manual retry)
    now = datetime.now(UTC)
    attempt = int(row.attempts) + 1
    if not row.active:
        result = SendResult(status=None, error="the endpoint is disabled", duration_ms=0)
    else:
        result = await sender.send(row.url, row.secret, row.message_id, row.body, now)
    await session.execute(
        text(
            "INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, status_code, error, duration_ms, "
            "attempted_at) VALUES (:t, :d, :a, :s, :e, :ms, :now)"
        ),
        {
            "t": tenant_id,
            "d": row.id,
            "a": attempt,
            "s": result.status,
            "e": result.error,
            "ms": result.duration_ms,
            "now": now,
        },
    )
    succeeded = result.status is not None and 200 <= result.status < 300
    gone = result.status == 410
    retry = not succeeded and not gone and row.active and attempt <= len(RETRY_SCHEDULE)
    next_at = now + RETRY_SCHEDULE[attempt - 1] if retry else None
    status = "succeeded" if succeeded else ("pending" if retry else "failed")
    await session.execute(
        text(
            "UPDATE webhook_deliveries SET status = :st, attempts = :a, last_status = :s, last_error = :e, "
            "next_attempt_at = :next, finished_at = :fin WHERE tenant_id = :t AND id = :d"
        ),
        {
            "st": status,
            "a": attempt,
            "s": result.status,
            "e": result.error,
            "next": next_at,
            "fin": None if retry else now,
            "t": tenant_id,
            "d": row.id,
        },
    )
    if gone:
        await session.execute(
            text("UPDATE webhook_endpoints SET active = false, disabled_reason = :r WHERE tenant_id = :t AND id = :e"),
            {"r": f"the receiver answered 410 Gone at {now.isoformat()}", "t": tenant_id, "e": row.endpoint_id},
        )
    if next_at is not None:
        await enqueue(
            session,
            tenant_id=tenant_id,
            kind=DELIVER_JOB,
            payload={"delivery_id": row.id},
            run_at=next_at,
            dedupe_key=f"webhook:{row.id}/{attempt + 1}",
        )
