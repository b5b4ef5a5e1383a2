"""The pricing terms a checkout reads in one statement, and the coupon an order locks, spends or gives back.

An order locks one available coupon of its consumer (``available -> locked``), payment spends it
(``locked -> used``, ``coupons.used + 1``), cancellation or expiry of the unpaid order gives it back; a refund
never does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import DomainError
from cloudstore.pricing.model import CouponOffer, DeliveryPolicy, FeeRule, Promotion
from cloudstore.pricing.schemas import DeliveryPolicyDoc, FeeDoc

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "DEFAULT_DELIVERY",
    "TERMS_COLUMNS",
    "CouponNotUsable",
    "PriceChanged",
    "PricingTerms",
    "engine_policy",
    "json_value",
    "load_terms",
    "lock_coupon",
    "release_order_coupon",
    "terms_from_row",
    "use_order_coupon",
)

# What a tenant that never set a delivery policy charges: nothing, anywhere.
DEFAULT_DELIVERY = DeliveryPolicyDoc(default_rule=FeeDoc(first_fee=0, extra_fee=0))


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


def json_value(value: Any) -> Any:
    """A JSON column's value, decoded when it comes back as text."""
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
    doc = msgspec.convert(json_value(policy), DeliveryPolicyDoc) if policy is not None else DEFAULT_DELIVERY
    return PricingTerms(
        policy=engine_policy(doc),
        promotions=msgspec.convert(json_value(promotions) or [], tuple[Promotion, ...]),
        coupons=msgspec.convert(json_value(coupons) or [], tuple[CouponOffer, ...]),
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
