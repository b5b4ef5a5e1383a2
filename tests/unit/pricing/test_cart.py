"""The routed cart: shelves from the plan, the store delivering itself, and the quote's shape."""

from __future__ import annotations

from datetime import UTC, datetime

from cloudstore.pricing.cart import ItemPrice, pricing_cart, quote_read
from cloudstore.pricing.engine import price_cart
from cloudstore.pricing.model import DeliveryPolicy, FeeRule
from cloudstore.routing.engine import OrderLine, RoutingPlan, Shipment, Tier

NOW = datetime(2026, 12, 2, tzinfo=UTC)
ITEMS = [ItemPrice("A", "PA", "绿茶", 2, 1000), ItemPrice("B", "PB", "茶具", 3, 500)]
PLAN = RoutingPlan(
    shipments=(
        Shipment(location="S1", tier=Tier.STORE, lines=(OrderLine(sku="A", qty=2), OrderLine(sku="B", qty=1))),
        Shipment(location="WH", tier=Tier.REGIONAL, lines=(OrderLine(sku="B", qty=2),)),
    ),
    short=(),
    trace=(),
)


def test_shelf_is_in_store_only_when_the_store_supplies_every_unit() -> None:
    cart = pricing_cart(ITEMS, PLAN, store="S1", mode="delivery", region="440305")
    assert [(line.sku, line.shelf) for line in cart.lines] == [("A", "in_store"), ("B", "cloud")]
    assert [(s.location, s.units, s.by_store) for s in cart.shipments] == [("S1", 3, True), ("WH", 2, False)]
    pickup = pricing_cart(ITEMS, PLAN, store="S1", mode="pickup", region="440305")
    assert not any(s.by_store for s in pickup.shipments)


def test_quote_read_carries_every_figure() -> None:
    cart = pricing_cart(ITEMS, PLAN, store="S1", mode="delivery", region="440305")
    policy = DeliveryPolicy(basis="per_shipment", rules=(FeeRule(regions=("44",), first_fee=600, extra_fee=100),))
    q = quote_read(price_cart(cart, policy, (), (), coupon_id=None, now=NOW), PLAN, "delivery")
    assert (q.goods_total, q.discount_total, q.delivery_fee, q.total) == (3500, 0, 0 + 700, 4200)
    assert [(f.location, f.delivery_fee) for f in q.fulfilments] == [("S1", 0), ("WH", 700)]
    assert [(line.sku, line.paid, line.shelf) for line in q.lines] == [("A", 2000, "in_store"), ("B", 1500, "cloud")]
    assert q.promotion is None
    assert q.coupon is None
