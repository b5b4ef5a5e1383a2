"""Order tables: orders, their lines, fulfilments (one per source location) and what each reserves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from cloudstore.lib.tables import TenantChildTable, counter, flag, id_column, now_column, tenant_fk, word

__all__ = ("Fulfilment", "FulfilmentLine", "Order", "OrderLine")

ORDER_STATUSES = "('pending_payment', 'paid', 'completed', 'cancelled', 'expired', 'refunded')"
FULFILMENT_STATUSES = "('pending', 'shipped', 'ready_for_pickup', 'delivered', 'picked_up', 'cancelled')"


class Order(TenantChildTable, table=True):
    """A consumer's order. Money in fen; prices copied from the catalog when the order was placed."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_no"),
        CheckConstraint(f"status IN {ORDER_STATUSES}", name="status"),
        CheckConstraint("mode IN ('delivery', 'pickup')", name="mode"),
        CheckConstraint("goods_total >= 0 AND total >= 0 AND refunded_total BETWEEN 0 AND total", name="money"),
        CheckConstraint(
            "discount_total BETWEEN 0 AND goods_total AND shipping_fee >= 0 "
            "AND total = goods_total - discount_total + shipping_fee",
            name="pricing",
        ),
        tenant_fk(["consumer_id"], "consumers"),
        tenant_fk(["store_id"], "stores"),
        tenant_fk(["koc_id"], "kocs"),
        tenant_fk(["credited_store_id"], "stores"),
        tenant_fk(["credited_distributor_id"], "distributors"),
        tenant_fk(["credited_koc_id"], "kocs"),
        Index("ix_orders_consumer", "tenant_id", "consumer_id", "id"),
        Index("ix_orders_status", "tenant_id", "status", "id"),
        Index("ix_orders_store", "tenant_id", "credited_store_id", "id"),
        Index(
            "ix_orders_credited_koc",
            "tenant_id",
            "credited_koc_id",
            postgresql_where=text("credited_koc_id IS NOT NULL"),
        ),
    )

    id: int | None = id_column()
    order_no: str = Field(sa_type=Text)
    consumer_id: int = Field(sa_type=BigInteger)
    store_id: int = Field(sa_type=BigInteger)  # the storefront the order was placed through
    koc_id: int | None = Field(default=None, sa_type=BigInteger)  # the KOC whose link the order came through
    via_link: bool = flag(True)  # the order named its store; else the consumer's bound store was used
    status: str = word("pending_payment")
    mode: str = Field(sa_type=Text)
    delivery: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    goods_total: int = Field(sa_type=BigInteger)
    discount_total: int = counter(0)  # the promotion and the coupon, spread over the lines
    shipping_fee: int = counter(0)  # the delivery fee the consumer pays
    promotion_code: str | None = Field(default=None, sa_type=Text)
    total: int = Field(sa_type=BigInteger)
    refunded_total: int = counter(0)
    routing_trace: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    # Attribution, fixed at payment: who is credited whoever ships.
    credited_store_id: int | None = Field(default=None, sa_type=BigInteger)
    credited_distributor_id: int | None = Field(default=None, sa_type=BigInteger)
    credited_koc_id: int | None = Field(default=None, sa_type=BigInteger)
    attribution_source: str | None = Field(default=None, sa_type=Text)
    expires_at: datetime | None = now_column(nullable=True, default_now=False)
    paid_at: datetime | None = now_column(nullable=True, default_now=False)
    completed_at: datetime | None = now_column(nullable=True, default_now=False)
    cancelled_at: datetime | None = now_column(nullable=True, default_now=False)
    created_at: datetime | None = now_column()
    updated_at: datetime | None = now_column()


class OrderLine(TenantChildTable, table=True):
    """One line as the consumer ordered it, with the price and catalog facts at that moment."""

    __tablename__ = "order_lines"
    __table_args__ = (
        tenant_fk(["order_id"], "orders"),
        tenant_fk(["sku_id"], "skus"),
        tenant_fk(["product_id"], "products"),
        CheckConstraint("qty > 0 AND unit_price >= 0 AND refunded_qty BETWEEN 0 AND qty", name="qty"),
        CheckConstraint("discount BETWEEN 0 AND amount", name="discount"),
    )

    order_id: int = Field(sa_type=BigInteger, primary_key=True)
    line_no: int = Field(primary_key=True)
    sku_id: int = Field(sa_type=BigInteger)
    product_id: int = Field(sa_type=BigInteger)
    sku_code: str = Field(sa_type=Text)
    product_code: str = Field(sa_type=Text)
    title: str = Field(sa_type=Text)
    spec: str = Field(sa_type=Text)
    category: str = Field(sa_type=Text)
    qty: int
    unit_price: int = Field(sa_type=BigInteger)
    amount: int = Field(sa_type=BigInteger)
    discount: int = counter(0)  # frozen at placement; the line's paid amount is amount - discount
    refunded_qty: int = counter(0)


class Fulfilment(TenantChildTable, table=True):
    """What one location sends (or hands over) for an order."""

    __tablename__ = "fulfilments"
    __table_args__ = (
        tenant_fk(["order_id"], "orders"),
        tenant_fk(["location_id"], "locations"),
        CheckConstraint(f"status IN {FULFILMENT_STATUSES}", name="status"),
        CheckConstraint("kind IN ('delivery', 'pickup')", name="kind"),
        UniqueConstraint("tenant_id", "order_id", "location_id"),
        Index("ix_fulfilments_location", "tenant_id", "location_id", "status"),
    )

    id: int | None = id_column()
    order_id: int = Field(sa_type=BigInteger)
    location_id: int = Field(sa_type=BigInteger)
    kind: str = Field(sa_type=Text)
    status: str = word("pending")
    shipped_at: datetime | None = now_column(nullable=True, default_now=False)
    completed_at: datetime | None = now_column(nullable=True, default_now=False)
    created_at: datetime | None = now_column()
    updated_at: datetime | None = now_column()
    carrier: str | None = Field(default=None, sa_type=Text)
    tracking_no: str | None = Field(default=None, sa_type=Text)


class FulfilmentLine(TenantChildTable, table=True):
    """Units of one SKU a fulfilment takes from its location (reserved until shipped or released)."""

    __tablename__ = "fulfilment_lines"
    __table_args__ = (
        tenant_fk(["fulfilment_id"], "fulfilments"),
        tenant_fk(["sku_id"], "skus"),
        CheckConstraint("qty > 0", name="qty"),
    )

    fulfilment_id: int = Field(sa_type=BigInteger, primary_key=True)
    sku_id: int = Field(sa_type=BigInteger, primary_key=True)
    qty: int
