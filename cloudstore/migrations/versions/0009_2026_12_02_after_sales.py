"""After-sales: a consumer's refund-only or return requests and the order lines they cover.

Both tables are tenant-owned (``tenant_id`` leads their keys) with forced row-level security, like the others.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from cloudstore.migrations.security import enable_tenant_rls, grant_runtime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["after_sales", "after_sale_lines"]


def _now(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "after_sales",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="requested", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("refund_amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("refund_no", sa.Text(), nullable=True),
        sa.Column("location_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint("kind IN ('refund_only', 'return')", name=op.f("ck_after_sales_kind")),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'received', 'refunded', 'rejected', 'cancelled')",
            name=op.f("ck_after_sales_status"),
        ),
        sa.CheckConstraint("refund_amount >= 0", name=op.f("ck_after_sales_refund_amount")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_after_sales_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_after_sales_tenant_id_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "consumer_id"],
            ["consumers.tenant_id", "consumers.id"],
            name=op.f("fk_after_sales_tenant_id_consumer_id_consumers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            name=op.f("fk_after_sales_tenant_id_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_after_sales")),
    )
    op.create_index("ix_after_sales_order", "after_sales", ["tenant_id", "order_id"], unique=False)
    op.create_index("ix_after_sales_status", "after_sales", ["tenant_id", "status", "id"], unique=False)
    op.create_table(
        "after_sale_lines",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("after_sale_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.BigInteger(), nullable=False),
        sa.Column("sku_code", sa.Text(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("restocked_qty", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("qty > 0 AND restocked_qty BETWEEN 0 AND qty", name=op.f("ck_after_sale_lines_qty")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_after_sale_lines_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "after_sale_id"],
            ["after_sales.tenant_id", "after_sales.id"],
            name=op.f("fk_after_sale_lines_tenant_id_after_sale_id_after_sales"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sku_id"],
            ["skus.tenant_id", "skus.id"],
            name=op.f("fk_after_sale_lines_tenant_id_sku_id_skus"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "after_sale_id", "line_no", name=op.f("pk_after_sale_lines")),
    )
    for table in TABLES:
        enable_tenant_rls(table)
    grant_runtime(TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
