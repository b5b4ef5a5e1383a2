"""Properties of the pricing core over random carts, promotions and coupons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

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
CATEGORIES = ("绿茶", "红茶", "茶具")
PRODUCTS = ("P1", "P2", "P3", "P4")

lines_st = st.lists(
    st.builds(
        CartLine,
        sku=st.sampled_from(("A", "B", "C", "D", "E")),
        product=st.sampled_from(PRODUCTS),
        category=st.sampled_from(CATEGORIES),
        qty=st.integers(1, 9),
        unit_price=st.integers(0, 90000),
    ),
    min_size=1,
    max_size=20,
    unique_by=lambda line: line.sku,
)
window_st = st.sampled_from(
    ((None, None), (NOW - timedelta(days=1), NOW + timedelta(days=1)), (NOW + timedelta(days=1), None), (None, NOW))
)
scope_st = st.tuples(
    st.lists(st.sampled_from(CATEGORIES), max_size=2).map(tuple),
    st.lists(st.sampled_from(PRODUCTS), max_size=2).map(tuple),
)


@st.composite
def promotions_st(draw: st.DrawFn) -> tuple[Promotion, ...]:
    out = []
    for i in range(draw(st.integers(0, 4))):
        kind: Literal["amount_off", "percent_off"] = draw(st.sampled_from(("amount_off", "percent_off")))
        start, end = draw(window_st)
        categories, products = draw(scope_st)
        out.append(
            Promotion(
                code=f"PR{i}",
                kind=kind,
                value=draw(st.integers(1, 10000)) if kind == "percent_off" else draw(st.integers(1, 200000)),
                min_goods=draw(st.integers(0, 100000)),
                max_discount=draw(st.none() | st.integers(0, 50000)),
                categories=categories,
                products=products,
                valid_from=start,
                valid_until=end,
            )
        )
    return tuple(out)


@st.composite
def coupons_st(draw: st.DrawFn) -> tuple[CouponOffer, ...]:
    out = []
    for i in range(draw(st.integers(0, 4))):
        kind: Literal["amount_off", "percent_off", "free_delivery"] = draw(
            st.sampled_from(("amount_off", "percent_off", "free_delivery"))
        )
        start, end = draw(window_st)
        categories, products = draw(scope_st)
        out.append(
            CouponOffer(
                id=i + 1,
                code=f"C{i}",
                kind=kind,
                value=draw(st.integers(1, 10000)) if kind == "percent_off" else draw(st.integers(0, 200000)),
                status=draw(st.sampled_from(("available", "available", "locked", "used"))),
                min_goods=draw(st.integers(0, 100000)),
                max_discount=draw(st.none() | st.integers(0, 50000)),
                categories=categories,
                products=products,
                stackable=draw(st.booleans()),
                store=draw(st.sampled_from((None, "S1", "S2"))),
                valid_from=start,
                valid_until=end,
            )
        )
    return tuple(out)


policy_st = st.builds(
    DeliveryPolicy,
    basis=st.sampled_from(("per_order", "per_shipment")),
    rules=st.lists(
        st.builds(
            FeeRule,
            regions=st.lists(st.sampled_from(("44", "4403", "440305", "11")), min_size=1, max_size=2).map(tuple),
            first_fee=st.integers(0, 3000),
            extra_fee=st.integers(0, 1000),
        ),
        max_size=3,
    ).map(tuple),
    default_rule=st.none() | st.builds(FeeRule, first_fee=st.integers(0, 3000), extra_fee=st.integers(0, 1000)),
    free_over=st.none() | st.integers(0, 300000),
    store_fee=st.integers(0, 2000),
    no_delivery_regions=st.lists(st.sampled_from(("65", "1101")), max_size=1).map(tuple),
)


@st.composite
def carts_st(draw: st.DrawFn) -> PricingCart:
    lines = tuple(draw(lines_st))
    units = sum(line.qty for line in lines)
    parts = draw(st.integers(1, min(3, units)))
    cuts = (
        sorted(draw(st.lists(st.integers(1, units - 1), min_size=parts - 1, max_size=parts - 1, unique=True)))
        if parts > 1
        else []
    )
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, units], strict=True)]
    shipments = tuple(
        ShipmentUnits(location=f"L{i}", units=n, by_store=draw(st.booleans())) for i, n in enumerate(sizes)
    )
    mode: Literal["delivery", "pickup"] = draw(st.sampled_from(("delivery", "delivery", "pickup")))
    return PricingCart(
        lines=lines,
        shipments=shipments,
        mode=mode,
        region=draw(st.sampled_from(("440305", "440106", "110101", "650102"))) if mode == "delivery" else None,
        store=draw(st.sampled_from(("S1", "S2"))),
    )


@settings(max_examples=400, deadline=None)
@given(carts_st(), policy_st, promotions_st(), coupons_st(), st.integers(0, 5))
def test_price_adds_up(
    cart: PricingCart,
    policy: DeliveryPolicy,
    promotions: tuple[Promotion, ...],
    coupons: tuple[CouponOffer, ...],
    coupon_id: int,
) -> None:
    try:
        q = price_cart(cart, policy, promotions, coupons, coupon_id=coupon_id, now=NOW)
    except RegionNotServed:
        assert cart.mode == "delivery"
        return
    assert q.goods_total == sum(line.qty * line.unit_price for line in cart.lines)
    assert sum(line.discount for line in q.lines) == q.discount_total
    assert all(0 <= line.paid <= line.amount for line in q.lines)
    assert all(line.promotion_discount >= 0 and line.coupon_discount >= 0 for line in q.lines)
    assert q.total == q.goods_total - q.discount_total + q.delivery_fee
    assert q.total >= 0
    assert q.delivery_fee == sum(q.shipment_fees) >= 0
    if cart.mode == "pickup":
        assert q.delivery_fee == 0
    promo = q.promotion.discount if q.promotion else 0
    assert q.discount_total == promo + (q.coupon.discount if q.coupon else 0)
    if q.coupon is not None:
        assert q.coupon.id == coupon_id
        assert next(v for v in q.coupons if v.id == coupon_id).usable
    else:
        assert all(not v.usable for v in q.coupons if v.id == coupon_id)
    # Deterministic: the same snapshot in another order gives the same answer.
    again = price_cart(cart, policy, promotions[::-1], coupons[::-1], coupon_id=coupon_id, now=NOW)
    assert again == q


@settings(max_examples=300, deadline=None)
@given(carts_st(), promotions_st())
def test_the_promotion_chosen_is_the_best_applicable(cart: PricingCart, promotions: tuple[Promotion, ...]) -> None:
    policy = DeliveryPolicy()
    q = price_cart(cart, policy, promotions, (), coupon_id=None, now=NOW)
    best = 0
    for p in promotions:  # each promotion alone: what would it take off?
        alone = price_cart(cart, policy, (p,), (), coupon_id=None, now=NOW)
        best = max(best, alone.discount_total)
        if alone.promotion is not None:
            eligible = [
                line
                for line in cart.lines
                if (not p.categories and not p.products) or line.category in p.categories or line.product in p.products
            ]
            base = sum(line.qty * line.unit_price for line in eligible)
            assert base >= p.min_goods
            assert alone.discount_total <= base
            if p.max_discount is not None:
                assert alone.discount_total <= p.max_discount
    assert q.discount_total == best
    assert (q.promotion is None) == (best == 0)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=30), st.data())
def test_allocate_is_exact_and_pro_rata(total: int, amounts: list[int], data: st.DataObject) -> None:
    base = sum(amounts)
    discount = min(total, base)
    shares = allocate(discount, amounts)
    assert sum(shares) == discount
    assert all(0 <= s <= a for s, a in zip(shares, amounts, strict=True))
    if base:
        # Largest remainder: each share is within one fen of its exact pro-rata part.
        assert all(abs(s * base - discount * a) < base for s, a in zip(shares, amounts, strict=True))


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 10**7), st.integers(1, 50), st.data())
def test_partial_refunds_in_any_sequence_return_exactly_paid(paid: int, qty: int, data: st.DataObject) -> None:
    refunded, returned = 0, 0
    while refunded < qty:
        k = data.draw(st.integers(1, qty - refunded))
        step = refund_share(paid, qty, refunded, k)
        assert step >= 0
        returned += step
        refunded += k
    assert returned == paid


def test_free_over_zero_ships_everything_free() -> None:
    policy = DeliveryPolicy(rules=(FeeRule(regions=("44",), first_fee=900, extra_fee=100),), free_over=0)
    line = CartLine(sku="A", product="P1", category="绿茶", qty=3, unit_price=100)
    cart = PricingCart(lines=(line,), shipments=(ShipmentUnits("L", 3),), mode="delivery", region="4403", store="S1")
    assert price_cart(cart, policy, (), (), coupon_id=None, now=NOW).delivery_fee == 0
