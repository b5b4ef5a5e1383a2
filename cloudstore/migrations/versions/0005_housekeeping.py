"""Housekeeping: the worker may delete expired idempotency records and long-finished jobs, of every tenant.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 12:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Only rows past their retention are visible to the worker; everything else stays tenant-scoped.
    op.execute(
        "CREATE POLICY worker_prune ON idempotency_keys TO cloudstore_worker "
        "USING (created_at < now() - interval '48 hours')"
    )
    op.execute("GRANT SELECT, DELETE ON idempotency_keys TO cloudstore_worker")
    op.execute("GRANT DELETE ON jobs TO cloudstore_worker")


def downgrade() -> None:
    op.execute("REVOKE DELETE ON jobs FROM cloudstore_worker")
    op.execute("REVOKE SELECT, DELETE ON idempotency_keys FROM cloudstore_worker")
    op.execute("DROP POLICY IF EXISTS worker_prune ON idempotency_keys")
