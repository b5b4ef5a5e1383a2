"""Referrals: the commission terms each paid order was booked under, and an index for KOC statistics.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cloudstore.migrations.security import enable_tenant_rls, grant_runtime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commission_terms",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_commission_terms_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_commission_terms_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", name=op.f("pk_commission_terms")),
    )
    enable_tenant_rls("commission_terms")
    grant_runtime(["commission_terms"])
    # Terms are written once at payment and never change.
    op.execute("REVOKE UPDATE, DELETE ON commission_terms FROM cloudstore_app")
    # GET /v1/store/kocs counts each KOC's credited orders.
    op.create_index(
        "ix_orders_credited_koc",
        "orders",
        ["tenant_id", "credited_koc_id"],
        unique=False,
        postgresql_where=sa.text("credited_koc_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_credited_koc", table_name="orders")
    op.drop_table("commission_terms")
