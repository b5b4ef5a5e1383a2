"""Analytics: maintained counts for the tenant's overview and the segment counts.

``tenant_daily`` holds the tenant's sales per UTC day (in eight slots, by consumer, so concurrent payments
seldom wait on one row) and how many consumers made their last payment that day; ``store_totals`` the
consumers bound to each store; ``segment_counts`` the consumers per RFM segment and lifecycle stage as the
last recompute scored them. Tenant-owned with forced row-level security, like the others.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from cloudstore.migrations.security import enable_tenant_rls, grant_runtime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["tenant_daily", "store_totals", "segment_counts"]


def _tenant(table: str, *keys: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", *keys, name=op.f(f"pk_{table}")),
    ]


def _n(name: str) -> Any:
    return sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "tenant_daily",
        *_tenant("tenant_daily", "day", "slot"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        *[_n(c) for c in ("orders", "gmv", "refunds", "in_store_sales", "cloud_shelf_sales", "last_payers")],
    )
    op.create_table(
        "store_totals",
        *_tenant("store_totals", "store_id"),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        _n("bound_consumers"),
    )
    op.create_table(
        "segment_counts",
        *_tenant("segment_counts", "segment", "lifecycle"),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("lifecycle", sa.Text(), nullable=False),
        _n("consumers"),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
    )
    for table in TABLES:
        enable_tenant_rls(table)
    grant_runtime(TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
