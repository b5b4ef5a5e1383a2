"""Pricing: the delivery policy, automatic promotions, coupons and the coupons consumers claimed; orders keep
their discounts (per line and in total) and their promotion.

``coupons.claimed`` and ``coupons.used`` are counters moved by single conditional updates in the claiming
or ordering transaction; the check constraint keeps ``claimed <= total`` whatever the code does.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cloudstore.migrations.security import enable_tenant_rls, grant_runtime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["delivery_policies", "promotions", "coupons", "consumer_coupons"]


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"))


def _terms() -> list[sa.Column[object]]:
    return [
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("min_goods", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("max_discount", sa.BigInteger(), nullable=True),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("products", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "delivery_policies",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _tenant("delivery_policies"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_delivery_policies")),
    )
    op.create_table(
        "promotions",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        *_terms(),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('amount_off', 'percent_off')", name=op.f("ck_promotions_kind")),
        sa.CheckConstraint(
            "value > 0 AND min_goods >= 0 AND (max_discount IS NULL OR max_discount >= 0) "
            "AND (kind <> 'percent_off' OR value <= 10000) AND valid_from < valid_until",
            name=op.f("ck_promotions_terms"),
        ),
        _tenant("promotions"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_promotions")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_promotions_tenant_id_code")),
    )
    op.create_index("ix_promotions_window", "promotions", ["tenant_id", "valid_until"], unique=False)
    op.create_table(
        "coupons",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        *_terms(),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("per_consumer", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("stackable", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("used", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('amount_off', 'percent_off', 'free_delivery')", name=op.f("ck_coupons_kind")),
        sa.CheckConstraint(
            "value >= 0 AND min_goods >= 0 AND (max_discount IS NULL OR max_discount >= 0) "
            "AND (kind <> 'percent_off' OR value BETWEEN 1 AND 10000) AND per_consumer >= 1 "
            "AND (valid_days IS NULL OR valid_days >= 1)",
            name=op.f("ck_coupons_terms"),
        ),
        sa.CheckConstraint(
            "(total IS NULL OR claimed <= total) AND used BETWEEN 0 AND claimed", name=op.f("ck_coupons_counts")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "store_id"],
            ["stores.tenant_id", "stores.id"],
            name=op.f("fk_coupons_tenant_id_store_id_stores"),
        ),
        _tenant("coupons"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_coupons_tenant_id_code")),
    )
    op.create_index("ix_coupons_store", "coupons", ["tenant_id", "store_id", "id"], unique=False)
    op.create_table(
        "consumer_coupons",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("coupon_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), server_default="available", nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('available', 'locked', 'used')", name=op.f("ck_consumer_coupons_status")),
        sa.CheckConstraint("(status = 'available') = (order_id IS NULL)", name=op.f("ck_consumer_coupons_order")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "coupon_id"],
            ["coupons.tenant_id", "coupons.id"],
            name=op.f("fk_consumer_coupons_tenant_id_coupon_id_coupons"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "consumer_id"],
            ["consumers.tenant_id", "consumers.id"],
            name=op.f("fk_consumer_coupons_tenant_id_consumer_id_consumers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_consumer_coupons_tenant_id_order_id_orders"),
        ),
        _tenant("consumer_coupons"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_consumer_coupons")),
    )
    op.create_index(
        "ix_consumer_coupons_consumer", "consumer_coupons", ["tenant_id", "consumer_id", "coupon_id"], unique=False
    )
    op.create_index(
        "ix_consumer_coupons_order",
        "consumer_coupons",
        ["tenant_id", "order_id"],
        unique=False,
        postgresql_where=sa.text("order_id IS NOT NULL"),
    )
    for table in TABLES:
        enable_tenant_rls(table)
    grant_runtime(TABLES)
    # Orders keep what was taken off (frozen per line) and the delivery fee, so refunds and commission work
    # from stored amounts and never price again.
    op.add_column("orders", sa.Column("discount_total", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.add_column("orders", sa.Column("promotion_code", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_orders_pricing"),
        "orders",
        "discount_total BETWEEN 0 AND goods_total AND shipping_fee >= 0 "
        "AND total = goods_total - discount_total + shipping_fee",
    )
    op.add_column("order_lines", sa.Column("discount", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.create_check_constraint(op.f("ck_order_lines_discount"), "order_lines", "discount BETWEEN 0 AND amount")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_order_lines_discount"), "order_lines", type_="check")
    op.drop_column("order_lines", "discount")
    op.drop_constraint(op.f("ck_orders_pricing"), "orders", type_="check")
    op.drop_column("orders", "promotion_code")
    op.drop_column("orders", "discount_total")
    for table in reversed(TABLES):
        op.drop_table(table)
