"""The pricing core: what a consumer pays for one cart, decided once for both the quote and the order.

A pure function over the frozen Structs of :mod:`cloudstore.pricing.model`: no I/O, no ``await``, no clock (``now``
is an argument), no session. The caller loads one snapshot (the lines at their store prices, the routing plan's
shipments, the delivery policy, the promotions in force and the consumer's coupons), calls :func:`price_cart` and
either shows the answer (the quote) or freezes it on the order lines (placement).

The rules, in order:

1. Goods: each line's store price times its quantity.
2. The best promotion: among those in their time window whose eligible goods (lines in their categories or
   products; none named means every line) reach ``min_goods``, the one giving the largest discount (ties go
   to the smaller code, so the answer never depends on input order). ``amount_off`` takes ``value`` fen,
   ``percent_off`` ``value`` basis points rounded down and capped by ``max_discount``; neither ever exceeds
   the eligible goods.
3. At most one coupon, the one asked for. A stackable coupon applies on top of the promotion, to what the
   eligible lines cost after it (its ``min_goods`` too); a non-stackable one replaces the promotion when it
   gives more, else it is not usable (``promotion_better``). ``free_delivery`` waives the delivery fee.
4. Every discount is spread over its eligible lines in proportion to their amounts by the largest-remainder
   method (:func:`allocate`), so the line discounts add up to it exactly and no line goes below 0.
5. The delivery fee (:func:`delivery_fee`): pickup costs 0; a region in ``no_delivery_regions`` is not
   served; ``per_order`` charges one fee for all units whatever the routing split, ``per_shipment`` one per
   fulfilment; a fulfilment the store delivers itself costs ``store_fee``; otherwise the rule with the longest
   matching GB/T 2260 prefix (else ``default_rule``, else not served) charges
   ``first_fee + (units - 1) * extra_fee``; goods after discounts at or above ``free_over`` ship free.
6. ``total = goods_total - discount_total + delivery_fee``.

A refund of part of a line returns its paid amount in exact integer steps (:func:`refund_share`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from cloudstore.pricing.model import (
    AppliedCoupon,
    AppliedPromotion,
    CouponVerdict,
    LinePrice,
    PriceBreakdown,
    RegionNotServed,
)

if TYPE_CHECKING:
    from datetime import datetime

    from cloudstore.pricing.model import CartLine, CouponOffer, DeliveryPolicy, FeeRule, PricingCart, Promotion

__all__ = (
    "allocate",
    "delivery_fee",
    "price_cart",
    "refund_share",
)

BP = 10_000


# --- arithmetic ------------------------------------------------------------------------------------------------


def allocate(discount: int, amounts: list[int]) -> list[int]:
    """Split ``discount`` over ``amounts`` pro rata by the largest-remainder method.

    The shares add up to ``discount`` exactly and none exceeds its amount (``discount`` is at most their sum).
    Ties in the remainders go to the earlier amount, so the split is deterministic.
    """
    base = sum(amounts)
    if discount < 0 or discount > base:
        raise ValueError(f"cannot spread {discount} over {base}")
    if discount == 0:
        return [0] * len(amounts)
    shares = [discount * a // base for a in amounts]
    remainders = [discount * a % base for a in amounts]
    left = discount - sum(shares)
    for i in sorted(range(len(amounts)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


def refund_share(paid: int, qty: int, refunded_before: int, units: int) -> int:
    """What refunding ``units`` more of a line returns, after ``refunded_before`` were refunded.

    The cumulative refund after ``r`` units is ``paid * r // qty``, so any sequence of partial refunds adds up
    to exactly ``paid`` once every unit is back, and each step is a whole number of fen.
    """
    if units < 0 or refunded_before < 0 or refunded_before + units > qty:
        raise ValueError("cannot refund more units than the line has")
    return paid * (refunded_before + units) // qty - paid * refunded_before // qty


def _in_scope(line: CartLine, categories: tuple[str, ...], products: tuple[str, ...]) -> bool:
    if not categories and not products:
        return True
    return line.category in categories or line.product in products


def _in_window(now: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= now) and (end is None or now < end)


def _percent_or_amount(kind: str, value: int, base: int, cap: int | None) -> int:
    off = base * value // BP if kind == "percent_off" else value
    if cap is not None:
        off = min(off, cap)
    return max(0, min(off, base))


# --- delivery --------------------------------------------------------------------------------------------------


def _matches(region: str, prefixes: tuple[str, ...]) -> int:
    """The length of the longest of ``prefixes`` that ``region`` starts with; -1 when none does."""
    return max((len(p) for p in prefixes if region.startswith(p)), default=-1)


def _rule_for(policy: DeliveryPolicy, region: str) -> FeeRule:
    best: FeeRule | None = None
    best_len = -1
    for rule in policy.rules:
        n = _matches(region, rule.regions)
        if n > best_len:
            best, best_len = rule, n
    if best is not None:
        return best
    if policy.default_rule is None:
        raise RegionNotServed(f"no delivery to region {region}")
    return policy.default_rule


def _fee(rule: FeeRule, units: int) -> int:
    return rule.first_fee + (units - 1) * rule.extra_fee if units > 0 else 0


def delivery_fee(policy: DeliveryPolicy, cart: PricingCart, goods_after_discount: int) -> tuple[int, ...]:
    """The fee of each fulfilment (``per_order``: the whole fee on the first one, 0 on the others).

    Raises:
        RegionNotServed: the region is excluded, or no rule covers it and there is no default rule.
    """
    if cart.mode == "pickup" or not cart.shipments:
        return tuple(0 for _ in cart.shipments)
    region = cart.region or ""
    if _matches(region, policy.no_delivery_regions) >= 0:
        raise RegionNotServed(f"no delivery to region {region}")
    by_warehouse = [s for s in cart.shipments if not s.by_store]
    rule = _rule_for(policy, region) if by_warehouse else None
    free = policy.free_over is not None and goods_after_discount >= policy.free_over
    if policy.basis == "per_shipment":
        fees = [policy.store_fee if s.by_store or rule is None else _fee(rule, s.units) for s in cart.shipments]
    else:
        # One fee for the order: the split is the brand's choice. The store's own fee when it delivers everything.
        units = sum(s.units for s in cart.shipments)
        one = policy.store_fee if rule is None else _fee(rule, units)
        fees = [one if i == 0 else 0 for i in range(len(cart.shipments))]
    return tuple(0 for _ in fees) if free else tuple(fees)


# --- discounts -------------------------------------------------------------------------------------------------


def _promotion_discount(promotion: Promotion, lines: tuple[CartLine, ...], now: datetime) -> tuple[int, list[int]]:
    """(discount, eligible line indexes); 0 when the promotion does not apply."""
    if not _in_window(now, promotion.valid_from, promotion.valid_until):
        return 0, []
    eligible = [i for i, line in enumerate(lines) if _in_scope(line, promotion.categories, promotion.products)]
    base = sum(lines[i].amount for i in eligible)
    if not eligible or base < promotion.min_goods:
        return 0, []
    return _percent_or_amount(promotion.kind, promotion.value, base, promotion.max_discount), eligible


def _best_promotion(
    promotions: tuple[Promotion, ...], lines: tuple[CartLine, ...], now: datetime
) -> tuple[Promotion | None, int, list[int]]:
    best: tuple[Promotion | None, int, list[int]] = (None, 0, [])
    for p in sorted(promotions, key=lambda p: p.code):
        off, eligible = _promotion_discount(p, lines, now)
        if off > best[1]:
            best = (p, off, eligible)
    return best


class _CouponEffect(msgspec.Struct, frozen=True):
    discount: int
    eligible: list[int]
    replaces_promotion: bool
    fee_waived: int


def _coupon_refusal(coupon: CouponOffer, cart: PricingCart, now: datetime) -> str | None:
    if coupon.status != "available":
        return coupon.status
    if coupon.valid_from is not None and now < coupon.valid_from:
        return "not_yet_valid"
    if coupon.valid_until is not None and now >= coupon.valid_until:
        return "expired"
    if coupon.store is not None and coupon.store != cart.store:
        return "other_store"
    return None


def _coupon_effect(
    coupon: CouponOffer,
    cart: PricingCart,
    promo_shares: list[int],
    promo_off: int,
    fee: int,
    now: datetime,
) -> _CouponEffect | str:
    """What the coupon does on this cart, or why it cannot be used."""
    refusal = _coupon_refusal(coupon, cart, now)
    if refusal is not None:
        return refusal
    lines = cart.lines
    eligible = [i for i, line in enumerate(lines) if _in_scope(line, coupon.categories, coupon.products)]
    if not eligible:
        return "no_eligible_items"
    # A stackable coupon counts what the lines cost after the promotion; one that replaces it, their full price.
    after = [lines[i].amount - (promo_shares[i] if coupon.stackable else 0) for i in eligible]
    base = sum(after)
    if base < coupon.min_goods:
        return "below_min_goods"
    if coupon.kind == "free_delivery":
        if cart.mode == "pickup" or fee == 0:
            return "no_delivery_fee"
        effect = _CouponEffect(discount=0, eligible=[], replaces_promotion=False, fee_waived=fee)
        if not coupon.stackable:
            if fee <= promo_off:
                return "promotion_better"
            effect = _CouponEffect(discount=0, eligible=[], replaces_promotion=True, fee_waived=fee)
        return effect
    off = _percent_or_amount(coupon.kind, coupon.value, base, coupon.max_discount)
    if off == 0:
        return "no_discount"
    if not coupon.stackable and promo_off > 0:
        if off <= promo_off:
            return "promotion_better"
        return _CouponEffect(discount=off, eligible=eligible, replaces_promotion=True, fee_waived=0)
    return _CouponEffect(discount=off, eligible=eligible, replaces_promotion=False, fee_waived=0)


def _spread(discount: int, eligible: list[int], amounts: list[int]) -> list[int]:
    shares = [0] * len(amounts)
    for i, share in zip(eligible, allocate(discount, [amounts[i] for i in eligible]), strict=True):
        shares[i] = share
    return shares


def price_cart(
    cart: PricingCart,
    policy: DeliveryPolicy,
    promotions: tuple[Promotion, ...],
    coupons: tuple[CouponOffer, ...],
    *,
    coupon_id: int | None,
    now: datetime,
) -> PriceBreakdown:
    """Price ``cart``: the best promotion, the coupon ``coupon_id`` (if usable), the delivery fee, the total.

    ``coupons`` are all the consumer's coupons; each gets a verdict. Asking for a coupon that cannot be used
    leaves it out of the price (the verdict says why); the caller decides whether that is an error.

    Raises:
        RegionNotServed: the cart is to be delivered where the policy does not deliver.
    """
    lines = cart.lines
    amounts = [line.amount for line in lines]
    goods = sum(amounts)
    promotion, promo_off, promo_eligible = _best_promotion(promotions, lines, now)
    promo_shares = _spread(promo_off, promo_eligible, amounts)
    # The fee before any coupon decides what a free-delivery coupon is worth and whether one is needed.
    fee_before = sum(delivery_fee(policy, cart, goods - promo_off))
    verdicts: list[CouponVerdict] = []
    chosen: tuple[CouponOffer, _CouponEffect] | None = None
    for coupon in sorted(coupons, key=lambda c: c.id):
        effect = _coupon_effect(coupon, cart, promo_shares, promo_off, fee_before, now)
        if isinstance(effect, str):
            verdicts.append(CouponVerdict(id=coupon.id, code=coupon.code, usable=False, reason=effect))
            continue
        verdicts.append(
            CouponVerdict(
                id=coupon.id, code=coupon.code, usable=True, discount=effect.discount, fee_waived=effect.fee_waived
            )
        )
        if coupon.id == coupon_id:
            chosen = (coupon, effect)
    coupon_shares = [0] * len(lines)
    applied_coupon: AppliedCoupon | None = None
    waive = False
    if chosen is not None:
        coupon, effect = chosen
        if effect.replaces_promotion:
            promotion, promo_off, promo_shares = None, 0, [0] * len(lines)
        left = [amounts[i] - promo_shares[i] for i in range(len(lines))]
        coupon_shares = _spread(effect.discount, effect.eligible, left)
        waive = coupon.kind == "free_delivery"
        applied_coupon = AppliedCoupon(id=coupon.id, code=coupon.code, discount=effect.discount)
    discount = promo_off + sum(coupon_shares)
    fees = delivery_fee(policy, cart, goods - discount)
    if waive and chosen is not None:
        applied_coupon = AppliedCoupon(id=chosen[0].id, code=chosen[0].code, discount=0, fee_waived=sum(fees))
        fees = tuple(0 for _ in fees)
    priced = tuple(
        LinePrice(
            sku=line.sku,
            qty=line.qty,
            unit_price=line.unit_price,
            amount=line.amount,
            promotion_discount=promo_shares[i],
            coupon_discount=coupon_shares[i],
            shelf=line.shelf,
        )
        for i, line in enumerate(lines)
    )
    fee = sum(fees)
    return PriceBreakdown(
        goods_total=goods,
        discount_total=discount,
        delivery_fee=fee,
        total=goods - discount + fee,
        lines=priced,
        shipment_fees=fees,
        promotion=AppliedPromotion(code=promotion.code, discount=promo_off) if promotion is not None else None,
        coupon=applied_coupon,
        coupons=tuple(verdicts),
    )
