"""The transaction guard and the staff check as functions, compiled once per connection.

Every transaction's first round trip checks that it runs as the runtime role (and, for a staff request, that
the account is still active at its token's credentials epoch). As inline ``DO`` blocks those checks were
compiled on every transaction; as functions PL/pgSQL compiles them once per connection and each call costs a
plain ``SELECT``. Both run as their caller (``SECURITY INVOKER``), so ``current_user`` is the transaction's
role and the staff lookup stays under row-level security. On Citus the functions are created on every node
(the coordinator replays the scope's query string on its workers).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION cloudstore_guard(runtime_role text) RETURNS void
        LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog AS $$
        BEGIN
          IF current_user <> runtime_role
             OR (current_user = session_user AND current_setting('application_name') NOT LIKE 'citus_internal%')
             OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolbypassrls)) THEN
            RAISE EXCEPTION 'cloudstore guard: transaction runs as % (login %), not as the runtime role %',
              current_user, session_user, runtime_role USING ERRCODE = '42501';
          END IF;
        END $$
        """
    )
    op.execute(
        """
        CREATE OR REPLACE FUNCTION cloudstore_staff_check(tenant bigint, staff_id bigint, epoch bigint) RETURNS void
        LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_catalog AS $$
        BEGIN
          -- Citus's own worker connections replay the scope's query string: a shard may not run a distributed
          -- query, and the coordinator has already checked. Two IFs, so that a worker never even plans the
          -- lookup (planning it would open a distributed transaction of the worker's own).
          IF current_setting('application_name') NOT LIKE 'citus_internal%' THEN
            IF NOT EXISTS (
                 SELECT 1 FROM staff s
                 WHERE s.tenant_id = tenant AND s.id = staff_id AND s.active AND s.credentials_epoch = epoch) THEN
              RAISE EXCEPTION 'cloudstore staff token revoked' USING ERRCODE = '28000';
            END IF;
          END IF;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cloudstore_staff_check(bigint, bigint, bigint)")
    op.execute("DROP FUNCTION IF EXISTS cloudstore_guard(text)")
