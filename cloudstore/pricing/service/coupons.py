"""Coupons: issued by HQ or a store, claimed by consumers, listed as a consumer's own.

Claiming increments ``coupons.claimed`` only while it is below ``total`` (the row lock queues concurrent
claims; the check constraint backs it up), then counts the consumer's claims under that lock, so a limited
coupon is never over-claimed, exactly as stock is never oversold.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import Conflict, DomainError, InvalidState, NotFound, ValidationFailed
from cloudstore.lib.paging import decode_cursor, encode_cursor
from cloudstore.pricing.schemas import CouponCreate, CouponPage, CouponRead, MyCoupon, MyCouponPage
from cloudstore.pricing.service.promotions import check_discount

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("CouponExhausted", "CouponLimitReached", "CouponService", "give_coupon")


class CouponExhausted(DomainError):
    """Every coupon of this kind has been claimed."""

    code = "coupon_exhausted"
    status = 409
    title = "Coupon exhausted"


class CouponLimitReached(DomainError):
    """The consumer already holds as many of this coupon as one consumer may."""

    code = "coupon_limit_reached"
    status = 409
    title = "Coupon limit reached"


_COUPON = (
    "SELECT c.id, c.code, c.name, c.kind, c.value, c.min_goods, c.max_discount, c.categories, c.products, c.total, "
    "c.per_consumer, c.valid_from, c.valid_until, c.valid_days, c.stackable, s.code AS store, c.claimed, c.used "
    "FROM coupons c LEFT JOIN stores s ON s.tenant_id = c.tenant_id AND s.id = c.store_id WHERE c.tenant_id = :t"
)


def _coupon(r: Any) -> CouponRead:
    return CouponRead(
        code=r.code,
        name=r.name,
        kind=r.kind,
        value=r.value,
        min_goods=r.min_goods,
        max_discount=r.max_discount,
        categories=list(r.categories),
        products=list(r.products),
        total=r.total,
        per_consumer=r.per_consumer,
        valid_from=r.valid_from,
        valid_until=r.valid_until,
        valid_days=r.valid_days,
        stackable=r.stackable,
        store=r.store,
        claimed=r.claimed,
        used=r.used,
    )


def _claim_until(now: datetime, until: datetime | None, days: int | None) -> datetime | None:
    relative = now + timedelta(days=days) if days is not None else None
    ends = [t for t in (until, relative) if t is not None]
    return min(ends) if ends else None


class CouponService:
    """Coupons: issuing (HQ or a store), listing, claiming, and a consumer's own."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, tenant_id: int, data: CouponCreate, *, store_id: int | None = None) -> CouponRead:
        """Issue a coupon (``store_id``: usable only at that store); a taken code is a conflict."""
        if data.kind != "free_delivery":
            check_discount(data.kind, data.value)
        if data.valid_from is not None and data.valid_until is not None and data.valid_from >= data.valid_until:
            raise ValidationFailed("valid_from must be before valid_until")
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if k in CouponCreate.__struct_fields__} | {
            "t": tenant_id,
            "store_id": store_id,
        }
        if data.kind == "free_delivery":
            values["value"] = 0
        try:
            async with self.session.begin_nested():
                coupon_id = (
                    await self.session.execute(
                        text(
                            "INSERT INTO coupons (tenant_id, code, name, kind, value, min_goods, max_discount, "
                            "categories, products, total, per_consumer, valid_from, valid_until, valid_days, "
                            "stackable, store_id) VALUES (:t, :code, :name, :kind, :value, :min_goods, "
                            ":max_discount, :categories, :products, :total, :per_consumer, :valid_from, "
                            ":valid_until, :valid_days, :stackable, :store_id) RETURNING id"
                        ),
                        values,
                    )
                ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(f"coupon {data.code!r} already exists") from exc
        return await self._read(tenant_id, int(coupon_id))

    async def _read(self, tenant_id: int, coupon_id: int) -> CouponRead:
        row = (await self.session.execute(text(_COUPON + " AND c.id = :id"), {"t": tenant_id, "id": coupon_id})).one()
        return _coupon(row)

    async def list(self, tenant_id: int, *, store_id: int | None = None, cursor: str | None, limit: int) -> CouponPage:
        """Coupons in creation order with ``claimed`` and ``used``; ``store_id``: only that store's own."""
        key = decode_cursor(cursor, int)
        rows = (
            await self.session.execute(
                text(
                    _COUPON + " AND (CAST(:sid AS bigint) IS NULL OR c.store_id = :sid) AND c.id > :after "
                    "ORDER BY c.id LIMIT :n"
                ),
                {"t": tenant_id, "sid": store_id, "after": key[0] if key else 0, "n": limit + 1},
            )
        ).all()
        more = len(rows) > limit
        return CouponPage(
            items=[_coupon(r) for r in rows[:limit]], next_cursor=encode_cursor(rows[limit - 1].id) if more else None
        )

    async def claim(self, tenant_id: int, consumer_id: int, code: str, now: datetime) -> MyCoupon:
        """Claim one coupon: never more than ``total`` in all, never more than ``per_consumer`` each.

        The conditional increment locks the coupon's row, so concurrent claims of it queue; the consumer's
        count is read after that lock, so it sees every claim committed before.
        """
        params = {"t": tenant_id, "code": code, "c": consumer_id, "now": now}
        coupon = (
            await self.session.execute(
                text(
                    "UPDATE coupons SET claimed = claimed + 1 "
                    "WHERE tenant_id = :t AND code = :code AND (total IS NULL OR claimed < total) "
                    "AND (valid_until IS NULL OR valid_until > :now) "
                    "RETURNING id, name, kind, value, per_consumer, valid_from, valid_until, valid_days, store_id"
                ),
                params,
            )
        ).first()
        if coupon is None:
            await self._refuse_claim(tenant_id, code, now)
        assert coupon is not None  # _refuse_claim always raises
        held, store = (
            await self.session.execute(
                text(
                    "SELECT (SELECT count(*) FROM consumer_coupons "
                    "        WHERE tenant_id = :t AND coupon_id = :k AND consumer_id = :c) AS held, "
                    "       (SELECT code FROM stores WHERE tenant_id = :t AND id = :sid) AS store"
                ),
                {"t": tenant_id, "k": coupon.id, "c": consumer_id, "sid": coupon.store_id},
            )
        ).one()
        if held >= coupon.per_consumer:
            raise CouponLimitReached(f"you already hold {held} of coupon {code!r}, the most one consumer may")
        until = _claim_until(now, coupon.valid_until, coupon.valid_days)
        claimed_id = (
            await self.session.execute(
                text(
                    "INSERT INTO consumer_coupons (tenant_id, coupon_id, consumer_id, valid_from, valid_until, "
                    "claimed_at) VALUES (:t, :k, :c, :vf, :vu, :now) RETURNING id"
                ),
                {"t": tenant_id, "k": coupon.id, "c": consumer_id, "vf": coupon.valid_from, "vu": until, "now": now},
            )
        ).scalar_one()
        return MyCoupon(
            id=int(claimed_id),
            coupon=code,
            name=coupon.name,
            kind=coupon.kind,
            value=coupon.value,
            status="available",
            valid_from=coupon.valid_from,
            valid_until=until,
            store=store,
        )

    async def _refuse_claim(self, tenant_id: int, code: str, now: datetime) -> None:
        row = (
            await self.session.execute(
                text("SELECT total, claimed, valid_until FROM coupons WHERE tenant_id = :t AND code = :code"),
                {"t": tenant_id, "code": code},
            )
        ).first()
        if row is None:
            raise NotFound("coupon", code)
        if row.valid_until is not None and row.valid_until <= now:
            raise InvalidState(f"coupon {code!r} has expired")
        raise CouponExhausted(f"coupon {code!r}: all {row.total} have been claimed")

    async def mine(
        self, tenant_id: int, consumer_id: int, now: datetime, *, cursor: str | None, limit: int
    ) -> MyCouponPage:
        """The consumer's coupons, newest first; an available one past its validity reads as ``expired``."""
        key = decode_cursor(cursor, int)
        rows = (
            await self.session.execute(
                text(
                    """
                    SELECT cc.id, cp.code, cp.name, cp.kind, cp.value, cc.status, cc.valid_from, cc.valid_until,
                           s.code AS store, o.order_no
                    FROM consumer_coupons cc
                    JOIN coupons cp ON cp.tenant_id = cc.tenant_id AND cp.id = cc.coupon_id
                    LEFT JOIN stores s ON s.tenant_id = cp.tenant_id AND s.id = cp.store_id
                    LEFT JOIN orders o ON o.tenant_id = cc.tenant_id AND o.id = cc.order_id
                    WHERE cc.tenant_id = :t AND cc.consumer_id = :c
                      AND (CAST(:before AS bigint) IS NULL OR cc.id < :before)
                    ORDER BY cc.id DESC
                    LIMIT :n
                    """
                ),
                {"t": tenant_id, "c": consumer_id, "before": key[0] if key else None, "n": limit + 1},
            )
        ).all()
        items = [
            MyCoupon(
                id=r.id,
                coupon=r.code,
                name=r.name,
                kind=r.kind,
                value=r.value,
                status=(
                    "expired"
                    if r.status == "available" and r.valid_until is not None and r.valid_until <= now
                    else r.status
                ),
                valid_from=r.valid_from,
                valid_until=r.valid_until,
                store=r.store,
                order_no=r.order_no,
            )
            for r in rows[:limit]
        ]
        more = len(rows) > limit
        return MyCouponPage(items=items, next_cursor=encode_cursor(rows[limit - 1].id) if more else None)


# One statement: a coupon taken from the stock (never past ``total``) and put in the consumer's hands.
_GIVE = text(
    """
    WITH k AS (
      UPDATE coupons SET claimed = claimed + 1
      WHERE tenant_id = :t AND code = :code AND (total IS NULL OR claimed < total)
        AND (valid_until IS NULL OR valid_until > :now)
      RETURNING id, valid_from, valid_until, valid_days
    )
    INSERT INTO consumer_coupons (tenant_id, coupon_id, consumer_id, valid_from, valid_until, claimed_at)
    SELECT :t, k.id, :c, k.valid_from,
           LEAST(k.valid_until, CAST(:now AS timestamptz) + make_interval(days => CAST(k.valid_days AS int))), :now
    FROM k
    RETURNING id
    """
)


async def give_coupon(session: AsyncSession, tenant_id: int, consumer_id: int, code: str, now: datetime) -> bool:
    """Give the consumer one of coupon ``code`` as a reward (outside its per-consumer limit, never past ``total``).

    Returns whether one was given: False when the coupon is gone, expired or unknown, which leaves nothing changed.
    """
    given = (await session.execute(_GIVE, {"t": tenant_id, "c": consumer_id, "code": code, "now": now})).first()
    return given is not None
