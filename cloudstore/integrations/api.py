"""HQ routes for webhook endpoints, their delivery log, and API keys."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_staff
from cloudstore.http.deps import DbSession, Limit
from cloudstore.http.problems import problems
from cloudstore.integrations.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    DeliveryPage,
    RetryAccepted,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
)
from cloudstore.integrations.service import ApiKeyService, WebhookService
from cloudstore.lib.paging import check_limit, decode_cursor, encode_cursor

__all__ = ("HqApiKeyController", "HqWebhookController")


def _after(cursor: str | None) -> int | None:
    decoded = decode_cursor(cursor, int)
    return int(decoded[0]) if decoded else None


def _next(last: int | None) -> str | None:
    return encode_cursor(last) if last is not None else None


class HqWebhookController(Controller):
    """Outgoing webhooks (Standard Webhooks): endpoints and what was sent to them."""

    path = "/v1/hq/webhooks"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @post("/", status_code=201, responses=problems(401, 403, 422), summary="Register a webhook endpoint")
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[WebhookCreate], principal: Caller, db: DbSession
    ) -> WebhookCreated:
        """The response carries the signing secret, this once. In ``prod`` the URL must resolve to public addresses."""
        return await WebhookService(db, principal.tenant_id).create(data, request.app.state.webhook_sender)

    @get("/", responses=problems(401, 403, 422), summary="Webhook endpoints")
    async def list_endpoints(
        self, principal: Caller, db: DbSession, limit: Limit = None, cursor: FromQuery[str | None] = None
    ) -> WebhookPage:
        """In creation order; secrets are never shown again."""
        items, last = await WebhookService(db, principal.tenant_id).page(after=_after(cursor), limit=check_limit(limit))
        return WebhookPage(items=items, next_cursor=_next(last))

    @delete("/{webhook_id:int}", status_code=204, responses=problems(401, 403, 404), summary="Remove an endpoint")
    async def remove(self, webhook_id: FromPath[int], principal: Caller, db: DbSession) -> None:
        """Its pending deliveries are dropped with it."""
        await WebhookService(db, principal.tenant_id).delete(webhook_id)

    @get("/{webhook_id:int}/deliveries", responses=problems(401, 403, 404, 422), summary="An endpoint's deliveries")
    async def deliveries(
        self,
        webhook_id: FromPath[int],
        principal: Caller,
        db: DbSession,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> DeliveryPage:
        """Newest first, with attempts, the last HTTP status and when the next attempt is due."""
        items, last = await WebhookService(db, principal.tenant_id).deliveries(
            webhook_id, before=_after(cursor), limit=check_limit(limit)
        )
        return DeliveryPage(items=items, next_cursor=_next(last))

    @post(
        "/{webhook_id:int}/deliveries/{delivery_id:int}/retry",
        status_code=202,
        responses=problems(401, 403, 404, 409),
        summary="Send a delivery again now",
    )
    async def retry(
        self, webhook_id: FromPath[int], delivery_id: FromPath[int], principal: Caller, db: DbSession
    ) -> RetryAccepted:
        """Queues one more attempt; a disabled endpoint is 409."""
        return await WebhookService(db, principal.tenant_id).retry(webhook_id, delivery_id)


class HqApiKeyController(Controller):
    """API keys for warehouse systems: scoped, optionally bound to a location, shown once, revocable."""

    path = "/v1/hq/api-keys"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @post("/", status_code=201, responses=problems(401, 403, 422), summary="Issue an API key")
    async def create(self, data: JSONBody[ApiKeyCreate], principal: Caller, db: DbSession) -> ApiKeyCreated:
        """The key is in this response only; the server keeps its hash."""
        return await ApiKeyService(db, principal.tenant_id).create(data)

    @get("/", responses=problems(401, 403, 422), summary="API keys")
    async def list_keys(
        self, principal: Caller, db: DbSession, limit: Limit = None, cursor: FromQuery[str | None] = None
    ) -> ApiKeyPage:
        """In creation order, revoked ones with their revocation time."""
        items, last = await ApiKeyService(db, principal.tenant_id).page(after=_after(cursor), limit=check_limit(limit))
        return ApiKeyPage(items=items, next_cursor=_next(last))

    @delete("/{key_id:int}", status_code=204, responses=problems(401, 403, 404), summary="Revoke an API key")
    async def revoke(self, key_id: FromPath[int], principal: Caller, db: DbSession) -> None:
        """The key's next request is 401."""
        await ApiKeyService(db, principal.tenant_id).revoke(key_id)
