"""Analytics tables: what the chain's events maintain so the analysis models read a few indexed rows.

Every row here is derived from the raw tables of other domains and kept in step by the subscribers in
:mod:`cloudstore.analytics.maintain`, in the transaction of the touch, binding, payment or refund that moved
it; ``consumer_milestones``' scores, and ``segment_counts``, are rewritten by the nightly recompute
(:mod:`cloudstore.analytics.rfm`).
Days are UTC dates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Date, Index, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field

from cloudstore.lib.tables import TenantTable, counter, now_column

__all__ = (
    "AnalyticsPolicyRow",
    "CloudShelfLine",
    "ConsumerMilestones",
    "KocDaily",
    "OrderFacts",
    "SegmentCounts",
    "StoreDaily",
    "StoreTotals",
    "TenantDaily",
)

# what the funnel counts per consumer, and what a window's sales sum per store and day
_FUNNEL_STEPS = ["first_bound_at", "first_paid_at", "second_paid_at", "first_referral_at"]
_SALES = ["store_id", "orders", "gmv", "refunds", "in_store_sales", "cloud_shelf_sales", "commission"]


def _at() -> Any:
    return now_column(nullable=True, default_now=False)


def _ref() -> Any:
    return Field(default=None, sa_type=BigInteger, nullable=True)


class ConsumerMilestones(TenantTable, table=True):
    """One consumer's way through the funnel, and their latest RFM scores."""

    __tablename__ = "consumer_milestones"
    __table_args__ = (
        # the funnel reads its steps from the index alone, for the tenant and for one store
        Index(
            "ix_consumer_milestones_first_touch",
            "tenant_id",
            "first_touch_at",
            postgresql_include=_FUNNEL_STEPS,
        ),
        Index(
            "ix_consumer_milestones_touch_store",
            "tenant_id",
            "first_touch_store_id",
            "first_touch_at",
            postgresql_include=_FUNNEL_STEPS,
        ),
        # a segment's consumers by id, and the segment and stage counts from the index alone
        Index(
            "ix_consumer_milestones_segment",
            "tenant_id",
            "segment",
            "consumer_id",
            postgresql_include=["lifecycle", "scored_at"],
        ),
        Index("ix_consumer_milestones_bound", "tenant_id", "bound_at"),
        # the tenant's paying consumers of a window, counted by their last payment
        Index("ix_consumer_milestones_last_paid", "tenant_id", "last_paid_at"),
        Index("ix_consumer_milestones_bound_store", "tenant_id", "bound_store_id", "consumer_id"),
    )

    consumer_id: int = Field(sa_type=BigInteger, primary_key=True)
    first_touch_at: datetime | None = _at()
    first_touch_store_id: int | None = _ref()
    first_touch_koc_id: int | None = _ref()
    first_touch_source: str | None = Field(default=None, sa_type=Text, nullable=True)
    first_scan_at: datetime | None = _at()
    touches: int = counter(0)
    bound_store_id: int | None = _ref()
    bound_koc_id: int | None = _ref()
    bound_at: datetime | None = _at()
    first_bound_at: datetime | None = _at()
    first_paid_at: datetime | None = _at()
    second_paid_at: datetime | None = _at()
    last_paid_at: datetime | None = _at()
    paid_orders: int = counter(0)
    net_goods: int = counter(0)
    first_referral_at: datetime | None = _at()
    r_score: int | None = Field(default=None, sa_type=Integer, nullable=True)
    f_score: int | None = Field(default=None, sa_type=Integer, nullable=True)
    m_score: int | None = Field(default=None, sa_type=Integer, nullable=True)
    segment: str | None = Field(default=None, sa_type=Text, nullable=True)
    lifecycle: str | None = Field(default=None, sa_type=Text, nullable=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    scored_at: datetime | None = _at()


class OrderFacts(TenantTable, table=True):
    """A paid order's figures as the analysis models count them, fixed at payment (refunds follow)."""

    __tablename__ = "order_facts"
    __table_args__ = (
        # with the consumer, so the paying consumers of a window are counted from the index alone
        Index("ix_order_facts_paid", "tenant_id", "paid_at", "consumer_id"),
        Index("ix_order_facts_store", "tenant_id", "store_id", "paid_at"),
    )

    order_id: int = Field(sa_type=BigInteger, primary_key=True)
    consumer_id: int = Field(sa_type=BigInteger)
    store_id: int = Field(sa_type=BigInteger)
    koc_id: int | None = _ref()
    paid_at: datetime = now_column(default_now=False)
    day: date = Field(sa_type=Date)
    gmv: int = counter(0)
    refunds: int = counter(0)
    in_store_sales: int = counter(0)
    cloud_shelf_sales: int = counter(0)
    store_commission: int = counter(0)
    koc_commission: int = counter(0)


class StoreDaily(TenantTable, table=True):
    """One store's day: orders by payment day (their refunds too), touches and new bindings by their own day."""

    __tablename__ = "store_daily"
    # the sales of a window (and every store's GMV, for a store's percentile) from the index alone
    __table_args__ = (Index("ix_store_daily_day", "tenant_id", "day", postgresql_include=_SALES),)

    store_id: int = Field(sa_type=BigInteger, primary_key=True)
    day: date = Field(sa_type=Date, primary_key=True)
    orders: int = counter(0)
    gmv: int = counter(0)
    refunds: int = counter(0)
    in_store_sales: int = counter(0)
    cloud_shelf_sales: int = counter(0)
    commission: int = counter(0)
    touches: int = counter(0)
    new_bindings: int = counter(0)


# a tenant's day is spread over this many rows (by consumer), so concurrent payments seldom wait on one row
TENANT_DAY_SLOTS = 8


class TenantDaily(TenantTable, table=True):
    """The tenant's day, in one of :data:`TENANT_DAY_SLOTS` slots (``consumer_id % 8``): orders by payment day
    (their refunds too), and the consumers whose last payment so far fell on that day."""

    __tablename__ = "tenant_daily"

    day: date = Field(sa_type=Date, primary_key=True)
    slot: int = Field(sa_type=Integer, primary_key=True)
    orders: int = counter(0)
    gmv: int = counter(0)
    refunds: int = counter(0)
    in_store_sales: int = counter(0)
    cloud_shelf_sales: int = counter(0)
    last_payers: int = counter(0)


class StoreTotals(TenantTable, table=True):
    """One store's running totals: the consumers whose binding (active or lapsed) names it."""

    __tablename__ = "store_totals"

    store_id: int = Field(sa_type=BigInteger, primary_key=True)
    bound_consumers: int = counter(0)


class SegmentCounts(TenantTable, table=True):
    """The consumers of one RFM segment and lifecycle stage, as the last recompute scored them."""

    __tablename__ = "segment_counts"

    segment: str = Field(sa_type=Text, primary_key=True)
    lifecycle: str = Field(sa_type=Text, primary_key=True)
    consumers: int = counter(0)
    scored_at: datetime = now_column(default_now=False)


class KocDaily(TenantTable, table=True):
    """One KOC's day: touches, bindings, orders, net sales and commission."""

    __tablename__ = "koc_daily"
    __table_args__ = (Index("ix_koc_daily_day", "tenant_id", "day"),)

    koc_id: int = Field(sa_type=BigInteger, primary_key=True)
    day: date = Field(sa_type=Date, primary_key=True)
    touches: int = counter(0)
    bindings: int = counter(0)
    orders: int = counter(0)
    sales: int = counter(0)
    commission: int = counter(0)


class CloudShelfLine(TenantTable, table=True):
    """The units of one SKU of a paid order that a location other than the credited store's own shipped."""

    __tablename__ = "cloud_shelf_lines"
    __table_args__ = (Index("ix_cloud_shelf_lines_store", "tenant_id", "store_id", "paid_at"),)

    order_id: int = Field(sa_type=BigInteger, primary_key=True)
    sku_id: int = Field(sa_type=BigInteger, primary_key=True)
    store_id: int = Field(sa_type=BigInteger)
    consumer_id: int = Field(sa_type=BigInteger)
    paid_at: datetime = now_column(default_now=False)
    units: int = counter(0)
    goods: int = counter(0)


class AnalyticsPolicyRow(TenantTable, table=True):
    """One row per tenant: the RFM and lifecycle thresholds (``analytics.schemas.AnalyticsPolicyDoc``)."""

    __tablename__ = "analytics_policies"

    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    updated_at: datetime | None = now_column()
