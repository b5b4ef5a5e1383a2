"""Webhook endpoints, the delivery outbox and its attempt log, and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field

from cloudstore.lib.tables import TenantChildTable, TenantTable, counter, flag, id_column, now_column, tenant_fk, word

__all__ = ("ApiKey", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint")


class WebhookEndpoint(TenantTable, table=True):
    """A URL that receives the events it subscribes to, signed with its own secret."""

    __tablename__ = "webhook_endpoints"

    id: int | None = id_column()
    url: str = Field(sa_type=Text)
    events: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    description: str | None = Field(default=None, sa_type=Text)
    # Kept to sign every delivery (an HMAC key cannot be hashed); never returned after creation.
    secret: str = Field(sa_type=Text)
    active: bool = flag(True)
    disabled_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime | None = now_column()


class WebhookDelivery(TenantChildTable, table=True):
    """The outbox: one event for one endpoint, written in the transaction that made the event."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        tenant_fk(["endpoint_id"], "webhook_endpoints", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "endpoint_id", "message_id"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        Index("ix_webhook_deliveries_endpoint", "tenant_id", "endpoint_id", "id"),
    )

    id: int | None = id_column()
    endpoint_id: int = Field(sa_type=BigInteger)
    message_id: str = Field(sa_type=Text)
    event: str = Field(sa_type=Text)
    # The exact bytes signed and sent on every attempt.
    body: str = Field(sa_type=Text)
    status: str = word("pending")
    attempts: int = counter(0)
    last_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    last_error: str | None = Field(default=None, sa_type=Text)
    next_attempt_at: datetime | None = now_column(nullable=True, default_now=False)
    created_at: datetime | None = now_column()
    finished_at: datetime | None = now_column(nullable=True, default_now=False)


class WebhookAttempt(TenantTable, table=True):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        tenant_fk(["delivery_id"], "webhook_deliveries", ondelete="CASCADE"),
        Index("ix_webhook_attempts_delivery", "tenant_id", "delivery_id"),
    )

    id: int | None = id_column()
    delivery_id: int = Field(sa_type=BigInteger)
    attempt: int = Field(sa_type=BigInteger)
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    error: str | None = Field(default=None, sa_type=Text)
    duration_ms: int = counter(0)
    attempted_at: datetime | None = now_column()


class ApiKey(TenantTable, table=True):
    """A key a warehouse system calls HQ routes with: scoped, optionally bound to one location, stored as a hash."""

    __tablename__ = "api_keys"
    __table_args__ = (tenant_fk(["location_id"], "locations"), UniqueConstraint("tenant_id", "key_hash"))

    id: int | None = id_column()
    name: str = Field(sa_type=Text)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    location_id: int | None = Field(default=None, sa_type=BigInteger)
    key_hash: str = Field(sa_type=Text)
    created_at: datetime | None = now_column()
    revoked_at: datetime | None = now_column(nullable=True, default_now=False)
