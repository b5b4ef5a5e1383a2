"""Staff credentials epoch: tokens carry it; disabling an account, or changing its password or role, bumps it.

Each staff request checks the token's epoch in the round trip that scopes its transaction
(``cloudstore.lib.db.scope_to_staff``), so a revoked token costs no extra round trip to detect.

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


def downgrade() -> None:
    op.drop_column("staff", "credentials_epoch")
