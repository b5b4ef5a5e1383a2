"""One item, one code: code batches, codes, shipments, scans and the code policy; a touch's source.

Every table is tenant-owned (``tenant_id`` leads its keys) with forced row-level security, like the others.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cloudstore.migrations.security import enable_tenant_rls, grant_runtime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ["code_batches", "code_shipments", "codes", "code_scans", "code_policies"]


def _tenant(table: str, *, with_id: bool = True) -> list[Any]:
    columns: list[Any] = [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")),
    ]
    if with_id:
        columns += [
            sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
            sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
        ]
    return columns


def _fk(table: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{parent}.tenant_id", f"{parent}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{parent}"),
    )


def _now(name: str, *, nullable: bool = False, default: bool = True) -> Any:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()") if default else None, nullable=nullable
    )


def _count(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "code_batches",
        *_tenant("code_batches"),
        sa.Column("batch_no", sa.Text(), nullable=False),
        sa.Column("sku_id", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("units_per_case", sa.Integer(), nullable=True),
        _count("cases"),
        _count("generated"),
        sa.Column("status", sa.Text(), server_default="generating", nullable=False),
        _now("created_at"),
        _now("finished_at", nullable=True, default=False),
        sa.CheckConstraint("status IN ('generating', 'ready', 'failed')", name=op.f("ck_code_batches_status")),
        sa.CheckConstraint("units > 0 AND generated >= 0 AND generated <= units", name=op.f("ck_code_batches_units")),
        _fk("code_batches", "sku_id", "skus"),
        sa.UniqueConstraint("tenant_id", "batch_no", name=op.f("uq_code_batches_tenant_id_batch_no")),
    )
    op.create_table(
        "code_shipments",
        *_tenant("code_shipments"),
        sa.Column("shipment_no", sa.Text(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=True),
        sa.Column("distributor_id", sa.BigInteger(), nullable=True),
        _count("units"),
        _now("created_at"),
        sa.CheckConstraint("(store_id IS NULL) <> (distributor_id IS NULL)", name=op.f("ck_code_shipments_target")),
        _fk("code_shipments", "store_id", "stores"),
        _fk("code_shipments", "distributor_id", "distributors"),
        sa.UniqueConstraint("tenant_id", "shipment_no", name=op.f("uq_code_shipments_tenant_id_shipment_no")),
    )
    # codes carries no foreign key to tenants or shipments: generation writes a million rows at a time, and a
    # per-row check would add nothing (the batch already pins the tenant; shipments are set by their service).
    op.create_table(
        "codes",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("case_code", sa.Text(), nullable=True),
        sa.Column("shipment_id", sa.BigInteger(), nullable=True),
        sa.Column("store_id", sa.BigInteger(), nullable=True),
        sa.Column("distributor_id", sa.BigInteger(), nullable=True),
        _now("first_scanned_at", nullable=True, default=False),
        sa.Column("first_scan", sa.Text(), nullable=True),
        sa.Column("first_consumer_id", sa.BigInteger(), nullable=True),
        _count("scans"),
        _count("scanners"),
        sa.CheckConstraint("level IN ('unit', 'case')", name=op.f("ck_codes_level")),
        _fk("codes", "batch_id", "code_batches"),
        sa.PrimaryKeyConstraint("tenant_id", "code", name=op.f("pk_codes")),
    )
    op.create_index("ix_codes_batch", "codes", ["tenant_id", "batch_id", "seq"], unique=False)
    op.create_index(
        "ix_codes_case",
        "codes",
        ["tenant_id", "case_code"],
        unique=False,
        postgresql_where=sa.text("case_code IS NOT NULL"),
    )
    op.create_table(
        "code_scans",
        *_tenant("code_scans"),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("consumer_id", sa.BigInteger(), nullable=True),
        sa.Column("distributor_id", sa.BigInteger(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lng", sa.Double(), nullable=True),
        sa.Column("diverted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _now("created_at"),
        _fk("code_scans", "consumer_id", "consumers"),
    )
    op.create_index("ix_code_scans_code", "code_scans", ["tenant_id", "code", "consumer_id"], unique=False)
    op.create_index(
        "ix_code_scans_diverted",
        "code_scans",
        ["tenant_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("diverted"),
    )
    op.create_table(
        "code_policies",
        *_tenant("code_policies", with_id=False),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_code_policies")),
    )
    for table in TABLES:
        enable_tenant_rls(table)
    grant_runtime(TABLES)
    op.add_column("touches", sa.Column("source", sa.Text(), server_default="link", nullable=False))


def downgrade() -> None:
    op.drop_column("touches", "source")
    for table in reversed(TABLES):
        op.drop_table(table)
