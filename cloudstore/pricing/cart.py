"""The routed cart as the pricing core takes it, and its breakdown as the quote and the order show it.

Pure, like the engine: the checkout hands in the lines at their store prices and the routing plan.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Literal

import msgspec

from cloudstore.pricing.model import CartLine, PricingCart, ShipmentUnits
from cloudstore.pricing.schemas import (
    CouponUsability,
    QuoteCoupon,
    QuoteFulfilment,
    QuoteFulfilmentLine,
    QuoteLine,
    QuotePromotion,
    QuoteRead,
)
from cloudstore.routing.engine import Tier

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cloudstore.pricing.model import PriceBreakdown
    from cloudstore.routing.engine import RoutingPlan

__all__ = ("ItemPrice", "pricing_cart", "quote_read")


class ItemPrice(msgspec.Struct, frozen=True):
    """One requested line: SKU, product, category, quantity and the store's unit price."""

    sku: str
    product: str
    category: str
    qty: int
    unit_price: int


def pricing_cart(
    items: Sequence[ItemPrice],
    plan: RoutingPlan,
    *,
    store: str,
    mode: Literal["delivery", "pickup"],
    region: str | None,
) -> PricingCart:
    """The cart for :func:`~cloudstore.pricing.engine.price_cart`: a line is ``in_store`` when the store itself
    supplies all its units, else ``cloud``; a store fulfilment of a delivery is the store delivering itself.
    """
    from_store: dict[str, int] = defaultdict(int)
    for shipment in plan.shipments:
        if shipment.tier == Tier.STORE and shipment.location == store:
            for line in shipment.lines:
                from_store[line.sku] += line.qty
    lines = tuple(
        CartLine(
            sku=i.sku,
            product=i.product,
            category=i.category,
            qty=i.qty,
            unit_price=i.unit_price,
            shelf="in_store" if from_store.get(i.sku, 0) >= i.qty else "cloud",
        )
        for i in items
    )
    shipments = tuple(
        ShipmentUnits(
            location=s.location,
            units=sum(line.qty for line in s.lines),
            by_store=s.tier == Tier.STORE and mode == "delivery",
        )
        for s in plan.shipments
    )
    return PricingCart(lines=lines, shipments=shipments, mode=mode, region=region, store=store)


def quote_read(breakdown: PriceBreakdown, plan: RoutingPlan, mode: str) -> QuoteRead:
    """The answer of ``POST /v1/shop/{tenant}/quote``."""
    return QuoteRead(
        goods_total=breakdown.goods_total,
        discount_total=breakdown.discount_total,
        delivery_fee=breakdown.delivery_fee,
        total=breakdown.total,
        lines=[
            QuoteLine(
                sku=line.sku,
                qty=line.qty,
                unit_price=line.unit_price,
                amount=line.amount,
                discount=line.discount,
                paid=line.paid,
                shelf=line.shelf,
            )
            for line in breakdown.lines
        ],
        fulfilments=[
            QuoteFulfilment(
                location=s.location,
                kind=mode,
                delivery_fee=fee,
                lines=[QuoteFulfilmentLine(sku=line.sku, qty=line.qty) for line in s.lines],
            )
            for s, fee in zip(plan.shipments, breakdown.shipment_fees, strict=True)
        ],
        promotion=(
            QuotePromotion(code=breakdown.promotion.code, discount=breakdown.promotion.discount)
            if breakdown.promotion is not None
            else None
        ),
        coupon=(
            QuoteCoupon(
                id=breakdown.coupon.id,
                code=breakdown.coupon.code,
                discount=breakdown.coupon.discount,
                fee_waived=breakdown.coupon.fee_waived,
            )
            if breakdown.coupon is not None
            else None
        ),
        coupons=[
            CouponUsability(
                id=v.id,
                coupon=v.code,
                usable=v.usable,
                reason=v.reason,
                discount=v.discount,
                fee_waived=v.fee_waived,
            )
            for v in breakdown.coupons
        ],
    )
