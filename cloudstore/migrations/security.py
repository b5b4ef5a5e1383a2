"""SQL used by migrations to set up roles, row-level security and grants."""

from __future__ import annotations

from alembic import op

__all__ = ("create_roles", "enable_tenant_rls", "grant_runtime", "protect_append_only")

APP_ROLE = "cloudstore_app"
WORKER_ROLE = "cloudstore_worker"


def create_roles() -> None:
    """Create the runtime roles once per cluster (races between parallel migrations are tolerated)."""
    for role in (APP_ROLE, WORKER_ROLE):
        op.execute(
            f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN NOBYPASSRLS NOSUPERUSER NOINHERIT;
              END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$
            """
        )
        # The migrating (owner) user must be able to SET ROLE to it from its pooled connections.
        op.execute(
            f"""
            DO $$ BEGIN
              IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
                EXECUTE format('GRANT {role} TO %I', current_user);
              END IF;
            END $$
            """
        )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}, {WORKER_ROLE}")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION cloudstore_tenant() RETURNS bigint
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint $$
        """
    )


def enable_tenant_rls(table: str) -> None:
    """Row-level security, enabled and forced: rows are visible and writable only for the current tenant."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        "USING (tenant_id = cloudstore_tenant()) WITH CHECK (tenant_id = cloudstore_tenant())"
    )


def grant_runtime(tables: list[str], *, read_only: tuple[str, ...] = ()) -> None:
    """Give the runtime role what it needs, and nothing it does not."""
    for table in tables:
        privileges = "SELECT" if table in read_only else "SELECT, INSERT, UPDATE, DELETE"
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def protect_append_only(table: str, *, mutable: str, forward: str) -> None:
    """Forbid deletes and any update other than moving ``mutable`` forward as ``forward`` (a SQL condition)."""
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION '{table} is append-only' USING ERRCODE = 'raise_exception';
          END IF;
          IF (to_jsonb(NEW) - ARRAY[{mutable}]) IS DISTINCT FROM (to_jsonb(OLD) - ARRAY[{mutable}])
             OR NOT ({forward}) THEN
            RAISE EXCEPTION '{table}: only a forward status change is allowed' USING ERRCODE = 'raise_exception';
          END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )
