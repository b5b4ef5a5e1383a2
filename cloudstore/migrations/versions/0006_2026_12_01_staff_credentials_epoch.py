"""Staff credentials epoch: tokens carry it; disabling an account, or changing its password or role, bumps it.

``cloudstore_staff_scope`` starts a staff request in one statement: it scopes the transaction to the tenant and
answers whether the token's account is still active at the token's epoch, so a revoked token costs no extra
round trip to detect.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("staff", sa.Column("credentials_epoch", sa.Integer(), server_default="0", nullable=False))
    # SECURITY INVOKER (the default): the staff lookup runs as the caller, under row-level security, after the
    # tenant has been set by the line before it.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION cloudstore_staff_scope(p_tenant bigint, p_staff bigint, p_epoch integer)
        RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          PERFORM set_config('app.tenant_id', p_tenant::text, true);
          RETURN EXISTS (
            SELECT 1 FROM staff
            WHERE tenant_id = p_tenant AND id = p_staff AND active AND credentials_epoch = p_epoch
          );
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cloudstore_staff_scope(bigint, bigint, integer)")
    op.drop_column("staff", "credentials_epoch")
