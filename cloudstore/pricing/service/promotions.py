"""Automatic promotions (满减 or percent off), applied at checkout without a claim."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import Conflict, ValidationFailed
from cloudstore.lib.paging import decode_cursor, encode_cursor
from cloudstore.pricing.schemas import PromotionCreate, PromotionPage, PromotionRead

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("PromotionService", "check_discount")

_PROMOTION = (
    "SELECT id, code, name, kind, value, min_goods, max_discount, categories, products, valid_from, valid_until, "
    "active FROM promotions WHERE tenant_id = :t"
)


def _promotion(r: Any) -> PromotionRead:
    return PromotionRead(
        code=r.code,
        name=r.name,
        kind=r.kind,
        value=r.value,
        min_goods=r.min_goods,
        max_discount=r.max_discount,
        categories=list(r.categories),
        products=list(r.products),
        valid_from=r.valid_from,
        valid_until=r.valid_until,
        active=r.active,
    )


def check_discount(kind: str, value: int) -> None:
    """A discount's ``value`` makes sense for its ``kind`` (a coupon's ``free_delivery`` has none)."""
    if kind == "percent_off" and not 1 <= value <= 10000:
        raise ValidationFailed("a percent_off value is in basis points, 1-10000")
    if kind == "amount_off" and value < 1:
        raise ValidationFailed("an amount_off value is at least 1 fen")


class PromotionService:
    """Automatic promotions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, tenant_id: int, data: PromotionCreate, *, active: bool = True) -> PromotionRead:
        """Add a promotion; a taken code is a conflict."""
        check_discount(data.kind, data.value)
        if data.valid_from >= data.valid_until:
            raise ValidationFailed("valid_from must be before valid_until")
        values = {**msgspec.structs.asdict(data), "t": tenant_id, "active": active}
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    text(
                        "INSERT INTO promotions (tenant_id, code, name, kind, value, min_goods, max_discount, "
                        "categories, products, valid_from, valid_until, active) VALUES (:t, :code, :name, :kind, "
                        ":value, :min_goods, :max_discount, :categories, :products, :valid_from, :valid_until, "
                        ":active)"
                    ),
                    values,
                )
        except IntegrityError as exc:
            raise Conflict(f"promotion {data.code!r} already exists") from exc
        return PromotionRead(**{k: v for k, v in values.items() if k != "t"})

    async def list(self, tenant_id: int, *, cursor: str | None, limit: int) -> PromotionPage:
        """Promotions in creation order."""
        key = decode_cursor(cursor, int)
        rows = (
            await self.session.execute(
                text(_PROMOTION + " AND id > :after ORDER BY id LIMIT :n"),
                {"t": tenant_id, "after": key[0] if key else 0, "n": limit + 1},
            )
        ).all()
        more = len(rows) > limit
        return PromotionPage(
            items=[_promotion(r) for r in rows[:limit]],
            next_cursor=encode_cursor(rows[limit - 1].id) if more else None,
        )
