"""Pricing API types: the delivery policy, promotions, coupons, consumers' coupons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from cloudstore.auth.schemas import Code

__all__ = (
    "CouponCreate",
    "CouponFileEntry",
    "CouponKind",
    "CouponPage",
    "CouponRead",
    "CouponUsability",
    "DeliveryPolicyDoc",
    "FeeDoc",
    "FeeRuleDoc",
    "MyCoupon",
    "MyCouponPage",
    "PricingSection",
    "PromotionCreate",
    "PromotionFileEntry",
    "PromotionPage",
    "PromotionRead",
    "QuoteCoupon",
    "QuoteFulfilment",
    "QuoteFulfilmentLine",
    "QuoteLine",
    "QuotePromotion",
    "QuoteRead",
)

Fen = Annotated[int, msgspec.Meta(ge=0, le=10**10, description="fen (1/100 CNY)")]
Region = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,6}$", description="a GB/T 2260 code or prefix")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Scope = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]], msgspec.Meta(max_length=100)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
CouponKind = Literal["amount_off", "percent_off", "free_delivery"]
PromotionKind = Literal["amount_off", "percent_off"]


class FeeDoc(msgspec.Struct, forbid_unknown_fields=True):
    """A fee for ``n`` units: ``first_fee + (n - 1) * extra_fee``."""

    first_fee: Fen
    extra_fee: Fen = 0


class FeeRuleDoc(msgspec.Struct, forbid_unknown_fields=True):
    """A fee for the regions whose GB/T 2260 code starts with one of ``regions``."""

    regions: Annotated[list[Region], msgspec.Meta(min_length=1, max_length=500)]
    first_fee: Fen
    extra_fee: Fen = 0


class DeliveryPolicyDoc(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    """``PUT /v1/hq/policies/delivery``: what delivery costs the consumer.

    The longest matching prefix among ``rules`` wins, else ``default_rule``, else the region is not served.
    ``free_over``: goods after discounts at or above it ship free. ``store_fee``: a store delivering itself.
    ``per_order`` charges one fee whatever the routing split; ``per_shipment`` one per fulfilment. A tenant
    that never set a policy charges nothing (no rules, a default rule of 0).
    """

    basis: Literal["per_order", "per_shipment"] = "per_order"
    rules: Annotated[list[FeeRuleDoc], msgspec.Meta(max_length=200)] = msgspec.field(default_factory=list)
    default_rule: FeeDoc | None = None
    free_over: Fen | None = None
    store_fee: Fen = 0
    no_delivery_regions: Annotated[list[Region], msgspec.Meta(max_length=500)] = msgspec.field(default_factory=list)


class PromotionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/hq/promotions``: applied automatically, no claim; the best single one applies to an order.

    ``value`` is fen for ``amount_off``, basis points (1–10000) for ``percent_off``. ``categories`` and
    ``products`` (codes) limit which lines count towards ``min_goods`` and get the discount; none: every line.
    """

    code: Code
    name: Name
    kind: PromotionKind
    value: Annotated[int, msgspec.Meta(ge=1, le=10**10)]
    min_goods: Fen = 0
    max_discount: Fen | None = None
    categories: Scope = msgspec.field(default_factory=list)
    products: Scope = msgspec.field(default_factory=list)
    valid_from: AwareDatetime
    valid_until: AwareDatetime


class PromotionRead(msgspec.Struct):
    """A promotion and whether it is switched on."""

    code: str
    name: str
    kind: str
    value: int
    min_goods: int
    max_discount: int | None
    categories: list[str]
    products: list[str]
    valid_from: datetime
    valid_until: datetime
    active: bool


class PromotionPage(msgspec.Struct):
    """A page of promotions."""

    items: list[PromotionRead]
    next_cursor: str | None


class CouponCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/hq/coupons`` (usable at every store) or ``POST /v1/store/coupons`` (only at that store).

    ``total`` caps how many may be claimed (null: no cap); ``per_consumer`` how many one consumer may hold.
    Validity is absolute (``valid_from``/``valid_until``), relative to the claim (``valid_days``), or both
    (the earlier end wins). ``stackable`` (default true) adds to the promotion; otherwise the coupon replaces
    the promotion when it gives more.
    """

    code: Code
    name: Name
    kind: CouponKind
    value: Annotated[int, msgspec.Meta(ge=0, le=10**10)]
    min_goods: Fen = 0
    max_discount: Fen | None = None
    categories: Scope = msgspec.field(default_factory=list)
    products: Scope = msgspec.field(default_factory=list)
    total: Annotated[int, msgspec.Meta(ge=1, le=10**9)] | None
    per_consumer: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    stackable: bool = True


class CouponRead(msgspec.Struct):
    """A coupon with how many were claimed and used; ``store`` is set for a store's own coupon."""

    code: str
    name: str
    kind: str
    value: int
    min_goods: int
    max_discount: int | None
    categories: list[str]
    products: list[str]
    total: int | None
    per_consumer: int
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    stackable: bool
    store: str | None
    claimed: int
    used: int


class CouponPage(msgspec.Struct):
    """A page of coupons."""

    items: list[CouponRead]
    next_cursor: str | None


class MyCoupon(msgspec.Struct):
    """A coupon a consumer holds: ``available``, ``locked`` by an unpaid order, ``used`` or ``expired``."""

    id: int
    coupon: str
    name: str
    kind: str
    value: int
    status: Literal["available", "locked", "used", "expired"]
    valid_from: datetime | None
    valid_until: datetime | None
    store: str | None = None
    order_no: str | None = None


class MyCouponPage(msgspec.Struct):
    """A page of the consumer's coupons, newest first."""

    items: list[MyCoupon]
    next_cursor: str | None


class PromotionFileEntry(PromotionCreate, kw_only=True):
    """A promotion in a tenant file."""

    active: bool = True


class CouponFileEntry(CouponCreate, kw_only=True):
    """A coupon in a tenant file; ``store`` makes it that store's own coupon; no ``total``: no cap."""

    total: Annotated[int, msgspec.Meta(ge=1, le=10**9)] | None = None
    store: Code | None = None


class PricingSection(msgspec.Struct, forbid_unknown_fields=True):
    """The ``[pricing]`` section of a tenant file."""

    delivery: DeliveryPolicyDoc | None = None
    promotions: list[PromotionFileEntry] = msgspec.field(default_factory=list)
    coupons: list[CouponFileEntry] = msgspec.field(default_factory=list)


# --- the quote ---------------------------------------------------------------------------------------------------


class QuoteLine(msgspec.Struct):
    """A line's price: ``paid = amount - discount``; ``shelf`` says whether the store itself supplies it."""

    sku: str
    qty: int
    unit_price: int
    amount: int
    discount: int
    paid: int
    shelf: str


class QuoteFulfilmentLine(msgspec.Struct):
    """Units of one SKU in a planned fulfilment."""

    sku: str
    qty: int


class QuoteFulfilment(msgspec.Struct):
    """Where one part of the order would come from, and its share of the delivery fee."""

    location: str
    kind: str
    delivery_fee: int
    lines: list[QuoteFulfilmentLine]


class QuotePromotion(msgspec.Struct):
    """The promotion applied."""

    code: str
    discount: int


class QuoteCoupon(msgspec.Struct):
    """The coupon applied: what it takes off the goods and the delivery fee it waives."""

    id: int
    code: str
    discount: int
    fee_waived: int = 0


class CouponUsability(msgspec.Struct):
    """Whether one of the consumer's coupons could be used on this cart, what it would give, or why not.

    Reasons: ``locked``, ``used``, ``expired``, ``not_yet_valid``, ``other_store``, ``no_eligible_items``,
    ``below_min_goods``, ``no_discount``, ``no_delivery_fee``, ``promotion_better``.
    """

    id: int
    coupon: str
    usable: bool
    reason: str | None = None
    discount: int = 0
    fee_waived: int = 0


class QuoteRead(msgspec.Struct):
    """``POST /v1/shop/{tenant}/quote``: ``total = goods_total - discount_total + delivery_fee``."""

    goods_total: int
    discount_total: int
    delivery_fee: int
    total: int
    lines: list[QuoteLine]
    fulfilments: list[QuoteFulfilment]
    promotion: QuotePromotion | None
    coupon: QuoteCoupon | None
    coupons: list[CouponUsability]
