"""Delivery policy, promotions and coupons of one tenant; the pricing terms a checkout reads in one statement.

Coupons are claimed and spent with single conditional updates, so a limited coupon is never over-claimed
or used twice, exactly as stock is never oversold.

- :mod:`~cloudstore.pricing.service.terms`: :class:`PricingTerms` and :data:`TERMS_COLUMNS`, what a checkout
  snapshot reads for the pricing core; an order's coupon locked, spent or given back; the errors checkout raises;
- :mod:`~cloudstore.pricing.service.policy`: :class:`DeliveryPolicyService`, the tenant's delivery policy;
- :mod:`~cloudstore.pricing.service.promotions`: :class:`PromotionService`, automatic promotions;
- :mod:`~cloudstore.pricing.service.coupons`: :class:`CouponService`, issuing, claiming and a consumer's own.
"""

from __future__ import annotations

from cloudstore.pricing.service.coupons import CouponExhausted, CouponLimitReached, CouponService, give_coupon
from cloudstore.pricing.service.policy import DeliveryPolicyService
from cloudstore.pricing.service.promotions import PromotionService
from cloudstore.pricing.service.terms import (
    DEFAULT_DELIVERY,
    TERMS_COLUMNS,
    CouponNotUsable,
    PriceChanged,
    PricingTerms,
    engine_policy,
    load_terms,
    lock_coupon,
    release_order_coupon,
    terms_from_row,
    use_order_coupon,
)

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
    "give_coupon",
    "load_terms",
    "lock_coupon",
    "release_order_coupon",
    "terms_from_row",
    "use_order_coupon",
)
