"""SQL helpers shared by the store network services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("code_id", "given", "update_row")


async def code_id(session: AsyncSession, table: str, tenant_id: int, code: str, what: str) -> int:
    """The id of ``code`` in ``table`` (a fixed table name), named in a request body: unknown is a 422."""
    found = (
        await session.execute(
            text(f"SELECT id FROM {table} WHERE tenant_id = :t AND code = :c"),  # noqa: S608 - fixed names
            {"t": tenant_id, "c": code},
        )
    ).scalar_one_or_none()
    if found is None:
        raise ValidationFailed(f"{what} {code!r} does not exist")
    return int(found)


async def update_row(session: AsyncSession, table: str, tenant_id: int, row_id: int, values: dict[str, Any]) -> None:
    """``UPDATE table SET <values>`` on one row; keys are column names chosen by the caller, never by a client."""
    if not values:
        return
    sets = ", ".join(f"{column} = :{column}" for column in values)
    await session.execute(
        text(f"UPDATE {table} SET {sets}, updated_at = now() WHERE tenant_id = :t AND id = :id"),  # noqa: S608
        {**values, "t": tenant_id, "id": row_id},
    )


def given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields of an ``XUpdate`` that the client sent."""
    return {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
