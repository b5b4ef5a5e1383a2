"""Delivery policy, promotions and coupons of one tenant; the pricing terms a checkout reads in one statement.

Coupons are claimed and spent with single conditional updates, so a limited coupon is never over-claimed
or used twice, exactly as stock is never oversold:

- claiming increments ``coupons.claimed`` only while it is below ``total`` (the row lock queues concurrent
  claims; the check constraint backs it up), then counts the consumer's claims under that lock;
- an order locks one available coupon of its consumer (``available -> locked``), payment spends it
  (``locked -> used``, ``coupons.used + 1``), cancellation or expiry of the unpaid order gives it back;
  a refund never does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import Conflict, DomainError, InvalidState, NotFound, ValidationFailed
from cloudstore.lib.paging import decode_cursor, encode_cursor
from cloudstore.pricing.engine import CouponOffer, DeliveryPolicy, FeeRule, Promotion
from cloudstore.pricing.schemas import (
    CouponCreate,
    CouponPage,
    CouponRead,
    DeliveryPolicyDoc,
    FeeDoc,
    MyCoupon,
    MyCouponPage,
    PromotionCreate,
    PromotionPage,
    PromotionRead,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "DEFAULT_DELIVERY",
    "TERMS_COLUMNS",
    "CouponExhausted",
    "CouponLimitReached",
    "CouponNotUsable",
    "CouponService",
    "DeliveryPolicyService",
    "PriceChanged",
    "PricingTerms",
    "PromotionService",
    "engine_policy",
    "load_terms",
    "lock_coupon",
    "release_order_coupon",
    "terms_from_row",
    "use_order_coupon",
)

# What a tenant that never set a delivery policy charges: nothing, anywhere.
DEFAULT_DELIVERY = DeliveryPolicyDoc(default_rule=FeeDoc(first_fee=0, extra_fee=0))


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


class CouponNotUsable(DomainError):
    """The coupon named in an order cannot be used on it (the reason says why)."""

    code = "coupon_not_usable"
    status = 422
    title = "Coupon not usable"


class PriceChanged(DomainError):
    """The total recomputed at placement differs from the ``expected_total`` the consumer was shown."""

    code = "price_changed"
    status = 409
    title = "Price changed"


class PricingTerms(msgspec.Struct, frozen=True):
    """What the pricing core needs besides the cart: the policy, the promotions and the consumer's coupons."""

    policy: DeliveryPolicy
    promotions: tuple[Promotion, ...]
    coupons: tuple[CouponOffer, ...]


# Three scalar subqueries (parameters :t, :c and :now) that a checkout snapshot selects alongside its own.
TERMS_COLUMNS = """
  (SELECT d.policy FROM delivery_policies d WHERE d.tenant_id = :t) AS delivery_policy,
  (SELECT json_agg(json_build_object(
      'code', p.code, 'kind', p.kind, 'value', p.value, 'min_goods', p.min_goods,
      'max_discount', p.max_discount, 'categories', p.categories, 'products', p.products,
      'valid_from', p.valid_from, 'valid_until', p.valid_until))
   FROM promotions p
   WHERE p.tenant_id = :t AND p.active AND p.valid_from <= :now AND p.valid_until > :now) AS promotions,
  (SELECT json_agg(json_build_object(
      'id', cc.id, 'code', cp.code, 'kind', cp.kind, 'value', cp.value, 'status', cc.status,
      'min_goods', cp.min_goods, 'max_discount', cp.max_discount, 'categories', cp.categories,
      'products', cp.products, 'stackable', cp.stackable, 'store', s.code,
      'valid_from', COALESCE(cc.valid_from, cp.valid_from), 'valid_until', cc.valid_until) ORDER BY cc.id)
   FROM consumer_coupons cc
   JOIN coupons cp ON cp.tenant_id = cc.tenant_id AND cp.id = cc.coupon_id
   LEFT JOIN stores s ON s.tenant_id = cp.tenant_id AND s.id = cp.store_id
   WHERE cc.tenant_id = :t AND cc.consumer_id = :c AND cc.status = 'available'
     AND (cc.valid_until IS NULL OR cc.valid_until > :now)) AS coupons
"""


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def engine_policy(doc: DeliveryPolicyDoc) -> DeliveryPolicy:
    """The delivery policy document as the pricing core takes it."""
    return DeliveryPolicy(
        basis=doc.basis,
        rules=tuple(FeeRule(regions=tuple(r.regions), first_fee=r.first_fee, extra_fee=r.extra_fee) for r in doc.rules),
        default_rule=(
            FeeRule(first_fee=doc.default_rule.first_fee, extra_fee=doc.default_rule.extra_fee)
            if doc.default_rule is not None
            else None
        ),
        free_over=doc.free_over,
        store_fee=doc.store_fee,
        no_delivery_regions=tuple(doc.no_delivery_regions),
    )


def terms_from_row(policy: Any, promotions: Any, coupons: Any) -> PricingTerms:
    """The terms from the three columns of :data:`TERMS_COLUMNS`."""
    doc = msgspec.convert(_json(policy), DeliveryPolicyDoc) if policy is not None else DEFAULT_DELIVERY
    return PricingTerms(
        policy=engine_policy(doc),
        promotions=msgspec.convert(_json(promotions) or [], tuple[Promotion, ...]),
        coupons=msgspec.convert(_json(coupons) or [], tuple[CouponOffer, ...]),
    )


async def load_terms(session: AsyncSession, tenant_id: int, consumer_id: int, now: datetime) -> PricingTerms:
    """The pricing terms in force at ``now`` for one consumer, in one statement."""
    row = (await session.execute(text("SELECT" + TERMS_COLUMNS), {"t": tenant_id, "c": consumer_id, "now": now})).one()
    return terms_from_row(row.delivery_policy, row.promotions, row.coupons)


async def lock_coupon(
    session: AsyncSession, tenant_id: int, *, coupon_id: int, consumer_id: int, order_id: int, now: datetime
) -> None:
    """Lock the consumer's coupon for an unpaid order; a coupon no longer available is not usable."""
    locked = await session.execute(
        text(
            "UPDATE consumer_coupons SET status = 'locked', order_id = :o "
            "WHERE tenant_id = :t AND id = :id AND consumer_id = :c AND status = 'available' "
            "AND (valid_until IS NULL OR valid_until > :now)"
        ),
        {"t": tenant_id, "id": coupon_id, "c": consumer_id, "o": order_id, "now": now},
    )
    if locked.rowcount != 1:  # type: ignore[attr-defined]
        raise CouponNotUsable(f"coupon {coupon_id} is no longer available", errors=[{"coupon": coupon_id}])


async def release_order_coupon(session: AsyncSession, tenant_id: int, order_id: int) -> None:
    """An unpaid order that is cancelled or expires gives its coupon back."""
    await session.execute(
        text(
            "UPDATE consumer_coupons SET status = 'available', order_id = NULL "
            "WHERE tenant_id = :t AND order_id = :o AND status = 'locked'"
        ),
        {"t": tenant_id, "o": order_id},
    )


async def use_order_coupon(session: AsyncSession, tenant_id: int, order_id: int, now: datetime) -> None:
    """A paid order spends its coupon for good (a later refund does not give it back)."""
    await session.execute(
        text(
            """
            WITH spent AS (
              UPDATE consumer_coupons SET status = 'used', used_at = :now
              WHERE tenant_id = :t AND order_id = :o AND status = 'locked'
              RETURNING coupon_id
            )
            UPDATE coupons c SET used = c.used + 1
            FROM spent WHERE c.tenant_id = :t AND c.id = spent.coupon_id
            """
        ),
        {"t": tenant_id, "o": order_id, "now": now},
    )


# --- the delivery policy ----------------------------------------------------------------------------------------


class DeliveryPolicyService:
    """The tenant's delivery policy."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: int) -> DeliveryPolicyDoc:
        """The policy in force (the free default when none was set)."""
        raw = (
            await self.session.execute(
                text("SELECT policy FROM delivery_policies WHERE tenant_id = :t"), {"t": tenant_id}
            )
        ).scalar_one_or_none()
        return msgspec.convert(_json(raw), DeliveryPolicyDoc) if raw is not None else DEFAULT_DELIVERY

    async def set(self, tenant_id: int, doc: DeliveryPolicyDoc, now: datetime) -> DeliveryPolicyDoc:
        """Replace the policy."""
        await self.session.execute(
            text(
                "INSERT INTO delivery_policies (tenant_id, policy, updated_at) VALUES (:t, CAST(:p AS jsonb), :now) "
                "ON CONFLICT (tenant_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at"
            ),
            {"t": tenant_id, "p": msgspec.json.encode(doc).decode(), "now": now},
        )
        return doc


# --- promotions --------------------------------------------------------------------------------------------------

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


def _check_discount(kind: str, value: int) -> None:
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
        _check_discount(data.kind, data.value)
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


# --- coupons -----------------------------------------------------------------------------------------------------

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
            _check_discount(data.kind, data.value)
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
