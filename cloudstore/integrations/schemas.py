"""Request and response types of the integration routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = (
    "EVENTS",
    "SCOPES",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyPage",
    "ApiKeyRead",
    "DeliveryPage",
    "DeliveryRead",
    "EventName",
    "RetryAccepted",
    "Scope",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookPage",
    "WebhookRead",
)

EventName = Literal[
    "order.created",
    "order.paid",
    "order.cancelled",
    "order.expired",
    "fulfilment.shipped",
    "fulfilment.ready",
    "fulfilment.delivered",
    "fulfilment.picked_up",
    "refund.succeeded",
    "after_sale.requested",
    "after_sale.refunded",
    "commission.available",
    "settlement.created",
    "code.diversion",
]
EVENTS: tuple[str, ...] = EventName.__args__  # type: ignore[attr-defined]

Scope = Literal["orders:read", "fulfilments:write", "stock:write", "catalog:write", "codes:write"]
SCOPES: tuple[str, ...] = Scope.__args__  # type: ignore[attr-defined]

Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class WebhookCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new endpoint: where to send which events."""

    url: Url
    events: Annotated[list[EventName], msgspec.Meta(min_length=1, max_length=len(EVENTS))]
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class WebhookRead(msgspec.Struct, kw_only=True):
    """An endpoint (its secret is shown only when it is created)."""

    id: int
    url: str
    events: list[str]
    description: str | None
    active: bool
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(msgspec.Struct, kw_only=True):
    """The new endpoint with its signing secret, shown this once."""

    id: int
    url: str
    events: list[str]
    description: str | None
    secret: str


class WebhookPage(msgspec.Struct, kw_only=True):
    """A page of endpoints."""

    items: list[WebhookRead]
    next_cursor: str | None


class DeliveryRead(msgspec.Struct, kw_only=True):
    """One event on its way to one endpoint."""

    id: int
    event: str
    message_id: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime


class DeliveryPage(msgspec.Struct, kw_only=True):
    """A page of deliveries, newest first."""

    items: list[DeliveryRead]
    next_cursor: str | None


class RetryAccepted(msgspec.Struct, kw_only=True):
    """The delivery is queued again."""

    id: int
    status: Literal["pending"]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new API key: what it may do, and optionally the one location it acts for."""

    name: Name
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=len(SCOPES))]
    location: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class ApiKeyRead(msgspec.Struct, kw_only=True):
    """An API key without its secret."""

    id: int
    name: str
    scopes: list[str]
    location: str | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    """The new key, shown this once; only its hash is stored."""

    id: int
    name: str
    scopes: list[str]
    location: str | None
    key: str


class ApiKeyPage(msgspec.Struct, kw_only=True):
    """A page of API keys."""

    items: list[ApiKeyRead]
    next_cursor: str | None
