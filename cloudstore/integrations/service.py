"""Webhook endpoints and their deliveries; API keys. HQ manages both."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from cloudstore.integrations.delivery import DELIVER_JOB, new_secret
from cloudstore.integrations.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    DeliveryRead,
    RetryAccepted,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from cloudstore.lib.errors import InvalidState, NotFound, ValidationFailed
from cloudstore.lib.jobs import enqueue

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.integrations.delivery import WebhookSender

__all__ = ("KEY_PREFIX", "ApiKeyService", "WebhookService", "hash_key", "parse_key")

KEY_PREFIX = "csk_"


class WebhookService:
    """Endpoints of one tenant, and the log of what was sent to them."""

    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def create(self, data: WebhookCreate, sender: WebhookSender) -> WebhookCreated:
        """Register an endpoint; its secret is returned this once."""
        await sender.check_registration(data.url)
        events: list[str] = sorted(set(data.events))
        secret = new_secret()
        row = (
            await self.session.execute(
                text(
                    "INSERT INTO webhook_endpoints (tenant_id, url, events, description, secret) "
                    "VALUES (:t, :u, :ev, :d, :s) RETURNING id"
                ),
                {"t": self.tenant_id, "u": data.url, "ev": events, "d": data.description, "s": secret},
            )
        ).one()
        return WebhookCreated(id=row.id, url=data.url, events=events, description=data.description, secret=secret)

    async def page(self, *, after: int | None, limit: int) -> tuple[list[WebhookRead], int | None]:
        """Endpoints in creation order."""
        rows = (
            await self.session.execute(
                text(
                    "SELECT id, url, events, description, active, disabled_reason, created_at "
                    "FROM webhook_endpoints WHERE tenant_id = :t AND id > :after ORDER BY id LIMIT :n"
                ),
                {"t": self.tenant_id, "after": after or 0, "n": limit + 1},
            )
        ).all()
        items = [
            WebhookRead(
                id=r.id,
                url=r.url,
                events=list(r.events),
                description=r.description,
                active=r.active,
                disabled_reason=r.disabled_reason,
                created_at=r.created_at,
            )
            for r in rows[:limit]
        ]
        return items, (items[-1].id if len(rows) > limit else None)

    async def delete(self, endpoint_id: int) -> None:
        """Remove an endpoint with its deliveries; jobs still queued for them find nothing and stop."""
        done = await self.session.execute(
            text("DELETE FROM webhook_endpoints WHERE tenant_id = :t AND id = :e RETURNING id"),
            {"t": self.tenant_id, "e": endpoint_id},
        )
        if done.first() is None:
            raise NotFound("webhook", str(endpoint_id))

    async def _endpoint_exists(self, endpoint_id: int) -> None:
        found = (
            await self.session.execute(
                text("SELECT 1 FROM webhook_endpoints WHERE tenant_id = :t AND id = :e"),
                {"t": self.tenant_id, "e": endpoint_id},
            )
        ).first()
        if found is None:
            raise NotFound("webhook", str(endpoint_id))

    async def deliveries(
        self, endpoint_id: int, *, before: int | None, limit: int
    ) -> tuple[list[DeliveryRead], int | None]:
        """An endpoint's deliveries, newest first."""
        await self._endpoint_exists(endpoint_id)
        rows = (
            await self.session.execute(
                text(
                    "SELECT id, event, message_id, status, attempts, last_status, last_error, next_attempt_at, "
                    "created_at FROM webhook_deliveries WHERE tenant_id = :t AND endpoint_id = :e "
                    "AND (CAST(:before AS bigint) IS NULL OR id < :before) ORDER BY id DESC LIMIT :n"
                ),
                {"t": self.tenant_id, "e": endpoint_id, "before": before, "n": limit + 1},
            )
        ).all()
        items = [
            DeliveryRead(
                id=r.id,
                event=r.event,
                message_id=r.message_id,
                status=r.status,
                attempts=r.attempts,
                last_status=r.last_status,
                last_error=r.last_error,
                next_attempt_at=r.next_attempt_at if r.status == "pending" else None,
                created_at=r.created_at,
            )
            for r in rows[:limit]
        ]
        return items, (items[-1].id if len(rows) > limit else None)

    async def retry(self, endpoint_id: int, delivery_id: int) -> RetryAccepted:
        """Queue one more attempt now, whatever the delivery's state; the endpoint must be active."""
        row = (
            await self.session.execute(
                text(
                    "SELECT d.id, e.active FROM webhook_deliveries d JOIN webhook_endpoints e "
                    "ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id "
                    "WHERE d.tenant_id = :t AND d.endpoint_id = :e AND d.id = :d FOR NO KEY UPDATE OF d"
                ),
                {"t": self.tenant_id, "e": endpoint_id, "d": delivery_id},
            )
        ).first()
        if row is None:
            raise NotFound("delivery", str(delivery_id))
        if not row.active:
            raise InvalidState("the endpoint is disabled; register it again to receive events")
        now = datetime.now(UTC)
        await self.session.execute(
            text(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = :now, finished_at = NULL "
                "WHERE tenant_id = :t AND id = :d"
            ),
            {"now": now, "t": self.tenant_id, "d": delivery_id},
        )
        await enqueue(
            self.session,
            tenant_id=self.tenant_id,
            kind=DELIVER_JOB,
            payload={"delivery_id": delivery_id},
            run_at=now,
            dedupe_key=f"webhook:{delivery_id}/retry-{uuid.uuid4().hex}",
        )
        return RetryAccepted(id=delivery_id, status="pending")


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256 (the key is 256 random bits, so no slow hash is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key(key: str) -> int | None:
    """The tenant a key ``csk_<tenant>_<secret>`` belongs to; None for anything else."""
    tenant, _, secret = key.removeprefix(KEY_PREFIX).partition("_")
    if not key.startswith(KEY_PREFIX) or not tenant.isdigit() or len(secret) < 32:
        return None
    return int(tenant)


_KEY_READ = """
    SELECT k.id, k.name, k.scopes, l.code AS location, k.created_at, k.revoked_at
    FROM api_keys k LEFT JOIN locations l ON l.tenant_id = k.tenant_id AND l.id = k.location_id
    WHERE k.tenant_id = :t
"""


def _key(r: Any) -> ApiKeyRead:
    return ApiKeyRead(
        id=r.id,
        name=r.name,
        scopes=list(r.scopes),
        location=r.location,
        created_at=r.created_at,
        revoked_at=r.revoked_at,
    )


class ApiKeyService:
    """API keys of one tenant."""

    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def create(self, data: ApiKeyCreate) -> ApiKeyCreated:
        """Issue a key; it is returned this once and stored only as its hash."""
        location_id = None
        if data.location is not None:
            location_id = (
                await self.session.execute(
                    text("SELECT id FROM locations WHERE tenant_id = :t AND code = :c"),
                    {"t": self.tenant_id, "c": data.location},
                )
            ).scalar_one_or_none()
            if location_id is None:
                raise ValidationFailed(f"location {data.location!r} does not exist")
        scopes: list[str] = sorted(set(data.scopes))
        key = f"{KEY_PREFIX}{self.tenant_id}_{secrets.token_urlsafe(32)}"
        key_id = (
            await self.session.execute(
                text(
                    "INSERT INTO api_keys (tenant_id, name, scopes, location_id, key_hash) "
                    "VALUES (:t, :n, :s, :l, :h) RETURNING id"
                ),
                {"t": self.tenant_id, "n": data.name, "s": scopes, "l": location_id, "h": hash_key(key)},
            )
        ).scalar_one()
        return ApiKeyCreated(id=key_id, name=data.name, scopes=scopes, location=data.location, key=key)

    async def page(self, *, after: int | None, limit: int) -> tuple[list[ApiKeyRead], int | None]:
        """Keys in creation order, revoked ones included."""
        rows = (
            await self.session.execute(
                text(_KEY_READ + " AND k.id > :after ORDER BY k.id LIMIT :n"),
                {"t": self.tenant_id, "after": after or 0, "n": limit + 1},
            )
        ).all()
        items = [_key(r) for r in rows[:limit]]
        return items, (items[-1].id if len(rows) > limit else None)

    async def revoke(self, key_id: int) -> None:
        """Revoke a key: its next request is refused."""
        done = await self.session.execute(
            text(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, CAST(:now AS timestamptz)) "
                "WHERE tenant_id = :t AND id = :i RETURNING id"
            ),
            {"now": datetime.now(UTC), "t": self.tenant_id, "i": key_id},
        )
        if done.first() is None:
            raise NotFound("api key", str(key_id))
