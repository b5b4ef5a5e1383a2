"""The pricing core's input and output Structs: the cart as routed, the tenant's terms, and the price.

:func:`~cloudstore.pricing.engine.price_cart` takes a :class:`PricingCart`, a :class:`DeliveryPolicy`, the
:class:`Promotion` list and the consumer's :class:`CouponOffer` list, and returns a :class:`PriceBreakdown`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from cloudstore.lib.errors import DomainError

__all__ = (
    "AppliedCoupon",
    "AppliedPromotion",
    "CartLine",
    "CouponOffer",
    "CouponVerdict",
    "DeliveryPolicy",
    "FeeRule",
    "LinePrice",
    "PriceBreakdown",
    "PricingCart",
    "Promotion",
    "RegionNotServed",
    "ShipmentUnits",
)

DiscountKind = Literal["amount_off", "percent_off"]
CouponKind = Literal["amount_off", "percent_off", "free_delivery"]
Basis = Literal["per_order", "per_shipment"]


class RegionNotServed(DomainError):
    """The delivery policy does not deliver to the order's region."""

    code = "region_not_served"
    status = 422
    title = "Region not served"


class FeeRule(msgspec.Struct, frozen=True):
    """A delivery fee: ``first_fee`` for the first unit, ``extra_fee`` for each further one."""

    first_fee: int
    extra_fee: int
    regions: tuple[str, ...] = ()


class DeliveryPolicy(msgspec.Struct, frozen=True):
    """The tenant's delivery fees. The default charges nothing, as before any policy was set."""

    basis: Basis = "per_order"
    rules: tuple[FeeRule, ...] = ()
    default_rule: FeeRule | None = FeeRule(first_fee=0, extra_fee=0)
    free_over: int | None = None
    store_fee: int = 0
    no_delivery_regions: tuple[str, ...] = ()


class CartLine(msgspec.Struct, frozen=True):
    """One line at the store's price."""

    sku: str
    product: str
    category: str
    qty: int
    unit_price: int
    shelf: str = "cloud"

    @property
    def amount(self) -> int:
        """What the line costs before any discount."""
        return self.qty * self.unit_price


class ShipmentUnits(msgspec.Struct, frozen=True):
    """One fulfilment of the routing plan: where from, whether the store itself delivers it, how many units."""

    location: str
    units: int
    by_store: bool = False


class PricingCart(msgspec.Struct, frozen=True):
    """The cart as routed: lines, shipments, how it reaches the consumer, through which store."""

    lines: tuple[CartLine, ...]
    shipments: tuple[ShipmentUnits, ...]
    mode: Literal["delivery", "pickup"]
    region: str | None
    store: str


class Promotion(msgspec.Struct, frozen=True):
    """An automatic promotion (满减 or percent off), applied without a claim."""

    code: str
    kind: DiscountKind
    value: int
    min_goods: int = 0
    max_discount: int | None = None
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class CouponOffer(msgspec.Struct, frozen=True):
    """One of the consumer's claimed coupons with its terms; ``store`` set means usable only there."""

    id: int
    code: str
    kind: CouponKind
    value: int
    status: Literal["available", "locked", "used"] = "available"
    min_goods: int = 0
    max_discount: int | None = None
    categories: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    stackable: bool = True
    store: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class LinePrice(msgspec.Struct, frozen=True):
    """One line's price: ``paid = amount - discount``, ``discount = promotion_discount + coupon_discount``."""

    sku: str
    qty: int
    unit_price: int
    amount: int
    promotion_discount: int
    coupon_discount: int
    shelf: str

    @property
    def discount(self) -> int:
        """Everything taken off this line."""
        return self.promotion_discount + self.coupon_discount

    @property
    def paid(self) -> int:
        """What the consumer pays for this line's goods."""
        return self.amount - self.discount


class AppliedPromotion(msgspec.Struct, frozen=True):
    """The promotion applied and what it took off."""

    code: str
    discount: int


class AppliedCoupon(msgspec.Struct, frozen=True):
    """The coupon applied: what it took off the goods, and the delivery fee it waived."""

    id: int
    code: str
    discount: int
    fee_waived: int = 0


class CouponVerdict(msgspec.Struct, frozen=True):
    """Whether one of the consumer's coupons could be used on this cart, and if not why."""

    id: int
    code: str
    usable: bool
    reason: str | None = None
    discount: int = 0
    fee_waived: int = 0


class PriceBreakdown(msgspec.Struct, frozen=True):
    """The answer: the totals, each line, the fee, what was applied and what each coupon would do."""

    goods_total: int
    discount_total: int
    delivery_fee: int
    total: int
    lines: tuple[LinePrice, ...]
    shipment_fees: tuple[int, ...]
    promotion: AppliedPromotion | None
    coupon: AppliedCoupon | None
    coupons: tuple[CouponVerdict, ...]
