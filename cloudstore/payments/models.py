"""Payment tables: payment attempts, refunds, and the log of provider notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from cloudstore.lib.tables import TenantTable, id_column, now_column, tenant_fk, word

__all__ = ("Payment", "PaymentEvent", "Refund")


class Payment(TenantTable, table=True):
    """One attempt to pay an order through a provider."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "payment_no"),
        tenant_fk(["order_id"], "orders"),
        CheckConstraint("status IN ('pending', 'succeeded', 'closed')", name="status"),
        CheckConstraint("amount > 0", name="amount"),
        Index("ix_payments_order", "tenant_id", "order_id"),
    )

    id: int | None = id_column()
    payment_no: str = Field(sa_type=Text)
    order_id: int = Field(sa_type=BigInteger)
    provider: str = Field(sa_type=Text)
    amount: int = Field(sa_type=BigInteger)
    status: str = word("pending")
    provider_txn_id: str | None = Field(default=None, sa_type=Text)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    paid_at: datetime | None = now_column(nullable=True, default_now=False)
    created_at: datetime | None = now_column()


class Refund(TenantTable, table=True):
    """Money returned to the consumer for some or all of an order's lines."""

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("tenant_id", "refund_no"),
        tenant_fk(["order_id"], "orders"),
        tenant_fk(["payment_id"], "payments"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        CheckConstraint("amount > 0 AND goods_amount >= 0", name="amount"),
        Index("ix_refunds_order", "tenant_id", "order_id"),
    )

    id: int | None = id_column()
    refund_no: str = Field(sa_type=Text)
    order_id: int = Field(sa_type=BigInteger)
    payment_id: int = Field(sa_type=BigInteger)
    amount: int = Field(sa_type=BigInteger)
    goods_amount: int = Field(sa_type=BigInteger)
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    status: str = word("pending")
    provider_refund_id: str | None = Field(default=None, sa_type=Text)
    created_at: datetime | None = now_column()
    completed_at: datetime | None = now_column(nullable=True, default_now=False)


class PaymentEvent(TenantTable, table=True):
    """Every verified provider notification, kept for audit; the key makes repeats harmless."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "event_key"),)

    id: int | None = id_column()
    provider: str = Field(sa_type=Text)
    event_key: str = Field(sa_type=Text)
    kind: str = Field(sa_type=Text)
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    received_at: datetime | None = now_column()
