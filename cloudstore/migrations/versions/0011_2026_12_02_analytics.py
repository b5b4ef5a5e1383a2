"""Analytics: consumer milestones, per-order facts, per-store and per-KOC daily rollups, cloud-shelf lines.

Every table is tenant-owned (``tenant_id`` leads its keys) with forced row-level security, like the others.
Touches get an index by time, for the partial days at the edges of an analysis window. Covering indexes let
the funnel, the segment counts and a window's sales (with every store's GMV) read the index alone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cloudstore.migrations.security import enable_tenant_rls, grant_runtime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["consumer_milestones", "order_facts", "store_daily", "koc_daily", "cloud_shelf_lines", "analytics_policies"]
# covering columns: the funnel's steps, and a window's sales per store and day
FUNNEL_STEPS = ["first_bound_at", "first_paid_at", "second_paid_at", "first_referral_at"]
SALES = ["store_id", "orders", "gmv", "refunds", "in_store_sales", "cloud_shelf_sales", "commission"]


def _tenant(table: str, *keys: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", *keys, name=op.f(f"pk_{table}")),
    ]


def _at(name: str) -> Any:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _n(name: str) -> Any:
    return sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def _id(name: str, *, nullable: bool = False) -> Any:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "consumer_milestones",
        *_tenant("consumer_milestones", "consumer_id"),
        _id("consumer_id"),
        _at("first_touch_at"),
        _id("first_touch_store_id", nullable=True),
        _id("first_touch_koc_id", nullable=True),
        sa.Column("first_touch_source", sa.Text(), nullable=True),
        _at("first_scan_at"),
        _n("touches"),
        _id("bound_store_id", nullable=True),
        _id("bound_koc_id", nullable=True),
        _at("bound_at"),
        _at("first_bound_at"),
        _at("first_paid_at"),
        _at("second_paid_at"),
        _at("last_paid_at"),
        _n("paid_orders"),
        _n("net_goods"),
        _at("first_referral_at"),
        sa.Column("r_score", sa.Integer(), nullable=True),
        sa.Column("f_score", sa.Integer(), nullable=True),
        sa.Column("m_score", sa.Integer(), nullable=True),
        sa.Column("segment", sa.Text(), nullable=True),
        sa.Column("lifecycle", sa.Text(), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        _at("scored_at"),
    )
    op.create_index(
        "ix_consumer_milestones_first_touch",
        "consumer_milestones",
        ["tenant_id", "first_touch_at"],
        postgresql_include=FUNNEL_STEPS,
    )
    op.create_index(
        "ix_consumer_milestones_touch_store",
        "consumer_milestones",
        ["tenant_id", "first_touch_store_id", "first_touch_at"],
        postgresql_include=FUNNEL_STEPS,
    )
    op.create_index(
        "ix_consumer_milestones_segment",
        "consumer_milestones",
        ["tenant_id", "segment", "consumer_id"],
        postgresql_include=["lifecycle", "scored_at"],
    )
    op.create_index("ix_consumer_milestones_bound", "consumer_milestones", ["tenant_id", "bound_at"])
    op.create_index("ix_consumer_milestones_last_paid", "consumer_milestones", ["tenant_id", "last_paid_at"])
    op.create_index(
        "ix_consumer_milestones_bound_store", "consumer_milestones", ["tenant_id", "bound_store_id", "consumer_id"]
    )
    op.create_table(
        "order_facts",
        *_tenant("order_facts", "order_id"),
        _id("order_id"),
        _id("consumer_id"),
        _id("store_id"),
        _id("koc_id", nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        _n("gmv"),
        _n("refunds"),
        _n("in_store_sales"),
        _n("cloud_shelf_sales"),
        _n("store_commission"),
        _n("koc_commission"),
    )
    op.create_index("ix_order_facts_paid", "order_facts", ["tenant_id", "paid_at", "consumer_id"])
    op.create_index("ix_order_facts_store", "order_facts", ["tenant_id", "store_id", "paid_at"])
    op.create_table(
        "store_daily",
        *_tenant("store_daily", "store_id", "day"),
        _id("store_id"),
        sa.Column("day", sa.Date(), nullable=False),
        *[_n(c) for c in ("orders", "gmv", "refunds", "in_store_sales", "cloud_shelf_sales", "commission")],
        _n("touches"),
        _n("new_bindings"),
    )
    op.create_index("ix_store_daily_day", "store_daily", ["tenant_id", "day"], postgresql_include=SALES)
    op.create_table(
        "koc_daily",
        *_tenant("koc_daily", "koc_id", "day"),
        _id("koc_id"),
        sa.Column("day", sa.Date(), nullable=False),
        *[_n(c) for c in ("touches", "bindings", "orders", "sales", "commission")],
    )
    op.create_index("ix_koc_daily_day", "koc_daily", ["tenant_id", "day"])
    op.create_table(
        "cloud_shelf_lines",
        *_tenant("cloud_shelf_lines", "order_id", "sku_id"),
        _id("order_id"),
        _id("sku_id"),
        _id("store_id"),
        _id("consumer_id"),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        _n("units"),
        _n("goods"),
    )
    op.create_index("ix_cloud_shelf_lines_store", "cloud_shelf_lines", ["tenant_id", "store_id", "paid_at"])
    op.create_table(
        "analytics_policies",
        *_tenant("analytics_policies"),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_touches_at", "touches", ["tenant_id", "created_at"])
    for table in TABLES:
        enable_tenant_rls(table)
    grant_runtime(TABLES)


def downgrade() -> None:
    op.drop_index("ix_touches_at", table_name="touches")
    for table in reversed(TABLES):
        op.drop_table(table)
