"""The pricing core on worked examples: fees by rule, promotions, coupons and how they stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloudstore.pricing.engine import allocate, price_cart, refund_share
from cloudstore.pricing.model import (
    CartLine,
    CouponOffer,
    DeliveryPolicy,
    FeeRule,
    PricingCart,
    Promotion,
    RegionNotServed,
    ShipmentUnits,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
POLICY = DeliveryPolicy(
    basis="per_order",
    rules=(
        FeeRule(regions=("44",), first_fee=1000, extra_fee=200),
        FeeRule(regions=("4403",), first_fee=600, extra_fee=100),
    ),
    default_rule=FeeRule(first_fee=1500, extra_fee=500),
    free_over=50000,
    store_fee=300,
    no_delivery_regions=("65", "54"),
)
TEA = CartLine(sku="LJ-100", product="P-LJ", category="绿茶", qty=2, unit_price=8800, shelf="in_store")
CUP = CartLine(sku="CUP-1", product="P-CUP", category="茶具", qty=1, unit_price=3600)


def cart(
    *lines: CartLine,
    region: str | None = "440305",
    mode: str = "delivery",
    shipments: tuple[ShipmentUnits, ...] | None = None,
    store: str = "S-NS",
) -> PricingCart:
    units = sum(line.qty for line in lines)
    return PricingCart(
        lines=lines,
        shipments=shipments or (ShipmentUnits(location="WH-SZ", units=units),),
        mode=mode,  # type: ignore[arg-type]
        region=region,
        store=store,
    )


def test_longest_prefix_rule_charges_first_and_extra_units() -> None:
    q = price_cart(cart(TEA, CUP), POLICY, (), (), coupon_id=None, now=NOW)
    assert (q.goods_total, q.discount_total, q.delivery_fee) == (21200, 0, 600 + 2 * 100)
    assert q.total == 21200 + 800
    # Guangzhou matches only "44"; Beijing no rule, so the default rule.
    assert price_cart(cart(TEA, region="440106"), POLICY, (), (), coupon_id=None, now=NOW).delivery_fee == 1200
    assert price_cart(cart(TEA, region="110101"), POLICY, (), (), coupon_id=None, now=NOW).delivery_fee == 2000


def test_unserved_region_and_no_default_rule_are_refused() -> None:
    with pytest.raises(RegionNotServed):
        price_cart(cart(TEA, region="650102"), POLICY, (), (), coupon_id=None, now=NOW)
    strict = DeliveryPolicy(rules=POLICY.rules, default_rule=None)
    with pytest.raises(RegionNotServed):
        price_cart(cart(TEA, region="110101"), strict, (), (), coupon_id=None, now=NOW)


def test_per_order_pays_one_fee_per_shipment_pays_each() -> None:
    split = (ShipmentUnits(location="WH-SZ", units=2), ShipmentUnits(location="WH-C", units=1))
    one = price_cart(cart(TEA, CUP, shipments=split), POLICY, (), (), coupon_id=None, now=NOW)
    assert one.delivery_fee == 600 + 2 * 100
    assert one.shipment_fees == (800, 0)
    each = DeliveryPolicy(basis="per_shipment", rules=POLICY.rules, default_rule=POLICY.default_rule)
    two = price_cart(cart(TEA, CUP, shipments=split), each, (), (), coupon_id=None, now=NOW)
    assert two.shipment_fees == (700, 600)
    assert two.delivery_fee == 1300


def test_store_delivery_costs_store_fee_and_pickup_is_free() -> None:
    own = (ShipmentUnits(location="S-NS", units=2, by_store=True),)
    assert price_cart(cart(TEA, shipments=own), POLICY, (), (), coupon_id=None, now=NOW).delivery_fee == 300
    mixed = (ShipmentUnits(location="S-NS", units=2, by_store=True), ShipmentUnits(location="WH-C", units=1))
    each = DeliveryPolicy(basis="per_shipment", rules=POLICY.rules, store_fee=300)
    assert price_cart(cart(TEA, CUP, shipments=mixed), each, (), (), coupon_id=None, now=NOW).shipment_fees == (
        300,
        600,
    )
    pickup = cart(TEA, mode="pickup", region=None, shipments=own)
    assert price_cart(pickup, POLICY, (), (), coupon_id=None, now=NOW).delivery_fee == 0


def test_free_over_counts_goods_after_discounts() -> None:
    big = CartLine(sku="PE-357", product="P-PE", category="普洱", qty=2, unit_price=26000)
    assert price_cart(cart(big), POLICY, (), (), coupon_id=None, now=NOW).delivery_fee == 0
    promo = Promotion(code="M", kind="amount_off", value=3000, min_goods=0)
    q = price_cart(cart(big), POLICY, (promo,), (), coupon_id=None, now=NOW)
    assert q.goods_total - q.discount_total == 49000
    assert q.delivery_fee == 700


def test_best_promotion_in_window_and_scope_applies() -> None:
    later = NOW + timedelta(days=1)
    promos = (
        Promotion(code="A-10", kind="amount_off", value=1000, min_goods=20000),
        Promotion(code="B-PCT", kind="percent_off", value=1000, max_discount=1500, categories=("绿茶",)),
        Promotion(code="C-FUTURE", kind="amount_off", value=9000, valid_from=later),
        Promotion(code="D-BIG-MIN", kind="amount_off", value=5000, min_goods=90000),
    )
    q = price_cart(cart(TEA, CUP), POLICY, promos, (), coupon_id=None, now=NOW)
    # 10% of the tea (17600) is 1760, capped at 1500: better than 1000 off over 200.
    assert q.promotion is not None
    assert (q.promotion.code, q.promotion.discount) == ("B-PCT", 1500)
    assert [line.discount for line in q.lines] == [1500, 0]


def test_percent_cap_is_spread_pro_rata_not_greedily() -> None:
    a = CartLine(sku="A", product="PA", category="x", qty=1, unit_price=3000)
    b = CartLine(sku="B", product="PB", category="x", qty=1, unit_price=1000)
    promo = Promotion(code="P", kind="percent_off", value=5000, max_discount=1000)
    q = price_cart(cart(a, b), POLICY, (promo,), (), coupon_id=None, now=NOW)
    assert [line.promotion_discount for line in q.lines] == [750, 250]


def _coupon(**kw: object) -> CouponOffer:
    base: dict[str, object] = {"id": 7, "code": "C", "kind": "amount_off", "value": 2000}
    base.update(kw)
    return CouponOffer(**base)  # type: ignore[arg-type]


def test_stackable_coupon_applies_after_the_promotion() -> None:
    promo = Promotion(code="P", kind="amount_off", value=1000)
    coupon = _coupon(kind="percent_off", value=1000, min_goods=20000)
    q = price_cart(cart(TEA, CUP), POLICY, (promo,), (coupon,), coupon_id=7, now=NOW)
    assert q.promotion is not None
    assert q.coupon is not None
    assert q.coupon.discount == (21200 - 1000) * 1000 // 10000
    assert q.discount_total == 1000 + 2020
    assert sum(line.discount for line in q.lines) == q.discount_total


def test_non_stackable_coupon_replaces_the_promotion_only_when_better() -> None:
    promo = Promotion(code="P", kind="amount_off", value=1000)
    better = _coupon(stackable=False, value=3000)
    q = price_cart(cart(TEA, CUP), POLICY, (promo,), (better,), coupon_id=7, now=NOW)
    assert q.promotion is None
    assert q.discount_total == 3000
    worse = _coupon(stackable=False, value=500)
    q = price_cart(cart(TEA, CUP), POLICY, (promo,), (worse,), coupon_id=7, now=NOW)
    assert q.coupon is None
    assert q.coupons[0].reason == "promotion_better"
    assert q.discount_total == 1000


def test_coupon_verdicts_say_why_not() -> None:
    coupons = (
        _coupon(id=1, status="used"),
        _coupon(id=2, valid_until=NOW),
        _coupon(id=3, store="S-FT"),
        _coupon(id=4, min_goods=99999),
        _coupon(id=5, categories=("普洱",)),
        _coupon(id=6, kind="free_delivery", value=0),
        _coupon(id=8, valid_from=NOW + timedelta(hours=1)),
    )
    q = price_cart(cart(TEA), POLICY, (), coupons, coupon_id=None, now=NOW)
    assert [(v.id, v.usable, v.reason) for v in q.coupons] == [
        (1, False, "used"),
        (2, False, "expired"),
        (3, False, "other_store"),
        (4, False, "below_min_goods"),
        (5, False, "no_eligible_items"),
        (6, True, None),
        (8, False, "not_yet_valid"),
    ]
    assert q.coupon is None
    pickup = price_cart(cart(TEA, mode="pickup", region=None), POLICY, (), coupons[5:6], coupon_id=6, now=NOW)
    assert pickup.coupons[0].reason == "no_delivery_fee"


def test_free_delivery_coupon_waives_the_fee() -> None:
    q = price_cart(cart(TEA), POLICY, (), (_coupon(kind="free_delivery", value=0),), coupon_id=7, now=NOW)
    assert q.delivery_fee == 0
    assert q.coupon is not None
    assert q.coupon.fee_waived == 700
    assert q.total == q.goods_total


def test_allocate_and_refund_share_examples() -> None:
    assert allocate(10, [4, 4, 4]) == [4, 3, 3]
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate(7, [7, 0]) == [7, 0]
    with pytest.raises(ValueError, match="cannot spread"):
        allocate(11, [5, 5])
    assert [refund_share(1000, 3, r, 1) for r in range(3)] == [333, 333, 334]
    with pytest.raises(ValueError, match="more units"):
        refund_share(1000, 3, 2, 2)
