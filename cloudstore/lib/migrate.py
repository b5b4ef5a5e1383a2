"""Running Alembic from inside the application (``cloudstore db upgrade``, start-up, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from cloudstore.lib.db import admin_engine

__all__ = ("alembic_config", "upgrade")

_HERE = Path(__file__).parent.parent


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``, as the connecting (owner) user.

    A transaction-scoped advisory lock keeps two processes from migrating at once; it is released with the
    migration's transaction, so it needs no session state (a transaction-mode pooler may sit in between).
    """
    engine = admin_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7261001)")

            def _upgrade(sync_conn: Connection) -> None:
                cfg = alembic_config()
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, revision)

            await conn.run_sync(_upgrade)
            await conn.commit()
    finally:
        await engine.dispose()
