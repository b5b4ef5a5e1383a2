"""Integrations: webhook endpoints, the delivery outbox and its attempt log, API keys; carrier and tracking number.

Every table is tenant-owned (``tenant_id`` leads its keys) with forced row-level security, like the others.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cloudstore.migrations.security import enable_tenant_rls, grant_runtime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["webhook_endpoints", "webhook_deliveries", "webhook_attempts", "api_keys"]


def _tenant(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def _now(name: str, *, nullable: bool = False, default: bool = True) -> Any:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()") if default else None, nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        *_tenant("webhook_endpoints"),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        _now("created_at"),
    )
    op.create_table(
        "webhook_deliveries",
        *_tenant("webhook_deliveries"),
        sa.Column("endpoint_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _now("next_attempt_at", nullable=True, default=False),
        _now("created_at"),
        _now("finished_at", nullable=True, default=False),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_webhook_deliveries_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_tenant_id_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "endpoint_id",
            "message_id",
            name=op.f("uq_webhook_deliveries_tenant_id_endpoint_id_message_id"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint", "webhook_deliveries", ["tenant_id", "endpoint_id", "id"], unique=False
    )
    op.create_table(
        "webhook_attempts",
        *_tenant("webhook_attempts"),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.BigInteger(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        _now("attempted_at"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["webhook_deliveries.tenant_id", "webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_tenant_id_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["tenant_id", "delivery_id"], unique=False)
    op.create_table(
        "api_keys",
        *_tenant("api_keys"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=True),
        sa.Column("key_hash", sa.Text(), nullable=False),
        _now("created_at"),
        _now("revoked_at", nullable=True, default=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            name=op.f("fk_api_keys_tenant_id_location_id_locations"),
        ),
        sa.UniqueConstraint("tenant_id", "key_hash", name=op.f("uq_api_keys_tenant_id_key_hash")),
    )
    for table in TABLES:
        enable_tenant_rls(table)
    grant_runtime(TABLES)
    op.add_column("fulfilments", sa.Column("carrier", sa.Text(), nullable=True))
    op.add_column("fulfilments", sa.Column("tracking_no", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("fulfilments", "tracking_no")
    op.drop_column("fulfilments", "carrier")
    for table in reversed(TABLES):
        op.drop_table(table)
