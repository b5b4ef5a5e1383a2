"""No foreign key from ``tenant_id`` to ``tenants`` on the tables the order path inserts into and whose rows
name a parent of the same tenant by a non-null composite key.

``orders`` (its consumer), ``order_lines`` and ``fulfilments`` (their order), ``fulfilment_lines`` (its
fulfilment), ``webhook_deliveries`` (its endpoint) and ``stock_levels`` (its location) each carry a foreign key
``(tenant_id, <parent>) -> parent (tenant_id, id)``, which already proves the tenant exists. The plain
``tenant_id -> tenants`` key beside it checked it again for every row inserted, each check a share lock on the
tenant's one row, which every order of the tenant takes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("orders", "order_lines", "fulfilments", "fulfilment_lines", "webhook_deliveries", "stock_levels")


def upgrade() -> None:
    for table in TABLES:
        op.drop_constraint(f"fk_{table}_tenant_id_tenants", table, type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        op.create_foreign_key(f"fk_{table}_tenant_id_tenants", table, "tenants", ["tenant_id"], ["id"])
