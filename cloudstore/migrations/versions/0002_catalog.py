"""Catalog, stores and stock: indexes for a distributor's stores and locations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # GET /v1/distributor/stores and /v1/distributor/stock filter by distributor (thousands of stores per brand).
    op.create_index("ix_stores_distributor", "stores", ["tenant_id", "distributor_id"], unique=False)
    op.create_index("ix_locations_distributor", "locations", ["tenant_id", "distributor_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_locations_distributor", table_name="locations")
    op.drop_index("ix_stores_distributor", table_name="stores")
