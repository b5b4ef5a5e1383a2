"""``cloudstore_stock_reserved(locked, wanted)``: true when every planned stock row was locked with enough,
else an error (SQLSTATE ``CS409``) that aborts the statement it is in.

The placing journey reserves its stock in the statement that writes the order (one round trip fewer, and the
hot rows held for that statement and the commit only). A reservation that finds a row short there must undo
the order's rows written beside it; the error does, and the journey then rolls back to its savepoint and plans
again on locked rows (:mod:`cloudstore.checkout.place`). The function reads nothing, so it needs no search path.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 23:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION cloudstore_stock_reserved(locked bigint, wanted integer) RETURNS boolean
        LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
        BEGIN
          IF locked = wanted THEN
            RETURN true;
          END IF;
          RAISE EXCEPTION 'stock taken by another order: % of % rows have enough', locked, wanted
            USING ERRCODE = 'CS409';
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cloudstore_stock_reserved(bigint, integer)")
