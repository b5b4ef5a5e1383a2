"""Pricing tables: the delivery policy, automatic promotions, coupons and the coupons consumers hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field

from cloudstore.lib.tables import TenantTable, counter, flag, id_column, now_column, tenant_fk, word

__all__ = ("ConsumerCoupon", "Coupon", "DeliveryPolicyRow", "Promotion")

COUPON_STATUSES = "('available', 'locked', 'used')"


def _codes() -> Any:
    return Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))


class DeliveryPolicyRow(TenantTable, table=True):
    """One row per tenant: the delivery policy document (validated by ``pricing.schemas.DeliveryPolicyDoc``)."""

    __tablename__ = "delivery_policies"

    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    updated_at: datetime | None = now_column()


class Promotion(TenantTable, table=True):
    """An automatic promotion: amount off over a threshold (满减) or percent off with a cap, in a time window."""

    __tablename__ = "promotions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("kind IN ('amount_off', 'percent_off')", name="kind"),
        CheckConstraint(
            "value > 0 AND min_goods >= 0 AND (max_discount IS NULL OR max_discount >= 0) "
            "AND (kind <> 'percent_off' OR value <= 10000) AND valid_from < valid_until",
            name="terms",
        ),
        Index("ix_promotions_window", "tenant_id", "valid_until"),
    )

    id: int | None = id_column()
    code: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    kind: str = Field(sa_type=Text)
    value: int = Field(sa_type=BigInteger)
    min_goods: int = counter(0)
    max_discount: int | None = Field(default=None, sa_type=BigInteger)
    categories: list[str] = _codes()
    products: list[str] = _codes()
    valid_from: datetime = now_column(default_now=False)
    valid_until: datetime = now_column(default_now=False)
    active: bool = flag(True)
    created_at: datetime | None = now_column()


class Coupon(TenantTable, table=True):
    """A coupon HQ (every store) or one store (``store_id``) issues; ``claimed`` never exceeds ``total``."""

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        tenant_fk(["store_id"], "stores"),
        CheckConstraint("kind IN ('amount_off', 'percent_off', 'free_delivery')", name="kind"),
        CheckConstraint(
            "value >= 0 AND min_goods >= 0 AND (max_discount IS NULL OR max_discount >= 0) "
            "AND (kind <> 'percent_off' OR value BETWEEN 1 AND 10000) AND per_consumer >= 1 "
            "AND (valid_days IS NULL OR valid_days >= 1)",
            name="terms",
        ),
        CheckConstraint("(total IS NULL OR claimed <= total) AND used BETWEEN 0 AND claimed", name="counts"),
        Index("ix_coupons_store", "tenant_id", "store_id", "id"),
    )

    id: int | None = id_column()
    code: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    kind: str = Field(sa_type=Text)
    value: int = Field(sa_type=BigInteger)
    min_goods: int = counter(0)
    max_discount: int | None = Field(default=None, sa_type=BigInteger)
    categories: list[str] = _codes()
    products: list[str] = _codes()
    total: int | None = Field(default=None, sa_type=BigInteger)
    per_consumer: int = Field(sa_type=Integer)
    valid_from: datetime | None = now_column(nullable=True, default_now=False)
    valid_until: datetime | None = now_column(nullable=True, default_now=False)
    valid_days: int | None = Field(default=None, sa_type=Integer)
    stackable: bool = flag(True)
    store_id: int | None = Field(default=None, sa_type=BigInteger)
    claimed: int = counter(0)
    used: int = counter(0)
    created_at: datetime | None = now_column()


class ConsumerCoupon(TenantTable, table=True):
    """A coupon a consumer claimed: ``available``, ``locked`` by an unpaid order, or ``used`` once it is paid."""

    __tablename__ = "consumer_coupons"
    __table_args__ = (
        tenant_fk(["coupon_id"], "coupons"),
        tenant_fk(["consumer_id"], "consumers"),
        tenant_fk(["order_id"], "orders"),
        CheckConstraint(f"status IN {COUPON_STATUSES}", name="status"),
        CheckConstraint("(status = 'available') = (order_id IS NULL)", name="order"),
        Index("ix_consumer_coupons_consumer", "tenant_id", "consumer_id", "coupon_id"),
        Index("ix_consumer_coupons_order", "tenant_id", "order_id", postgresql_where="order_id IS NOT NULL"),
    )

    id: int | None = id_column()
    coupon_id: int = Field(sa_type=BigInteger)
    consumer_id: int = Field(sa_type=BigInteger)
    status: str = word("available")
    valid_from: datetime | None = now_column(nullable=True, default_now=False)
    valid_until: datetime | None = now_column(nullable=True, default_now=False)
    order_id: int | None = Field(default=None, sa_type=BigInteger)
    claimed_at: datetime | None = now_column()
    used_at: datetime | None = now_column(nullable=True, default_now=False)
