"""After-sales tables: one request per row with the order lines it covers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Text
from sqlmodel import Field

from cloudstore.lib.tables import TenantTable, counter, id_column, now_column, tenant_fk, word

__all__ = ("AFTER_SALE_KINDS", "AFTER_SALE_STATUSES", "OPEN_STATUSES", "AfterSale", "AfterSaleLine")

AFTER_SALE_KINDS = ("refund_only", "return")
AFTER_SALE_STATUSES = ("requested", "approved", "received", "refunded", "rejected", "cancelled")
#: Statuses whose units still count against what an order may have refunded or returned.
OPEN_STATUSES = ("requested", "approved", "received")


class AfterSale(TenantTable, table=True):
    """A consumer's request to refund unshipped units (``refund_only``) or return shipped ones (``return``)."""

    __tablename__ = "after_sales"
    __table_args__ = (
        tenant_fk(["order_id"], "orders"),
        tenant_fk(["consumer_id"], "consumers"),
        tenant_fk(["location_id"], "locations"),
        CheckConstraint(f"kind IN {AFTER_SALE_KINDS}", name="kind"),
        CheckConstraint(f"status IN {AFTER_SALE_STATUSES}", name="status"),
        CheckConstraint("refund_amount >= 0", name="refund_amount"),
        Index("ix_after_sales_order", "tenant_id", "order_id"),
        Index("ix_after_sales_status", "tenant_id", "status", "id"),
    )

    id: int | None = id_column()
    order_id: int = Field(sa_type=BigInteger)
    consumer_id: int = Field(sa_type=BigInteger)
    kind: str = Field(sa_type=Text)
    status: str = word("requested")
    reason: str = Field(sa_type=Text)
    # What the units return, in the refunds' exact integer steps; fixed when the refund is made.
    refund_amount: int = counter(0)
    refund_no: str | None = Field(default=None, sa_type=Text)
    location_id: int | None = Field(default=None, sa_type=BigInteger)  # where a return was received
    actor: str | None = Field(default=None, sa_type=Text)  # who decided last
    created_at: datetime | None = now_column()
    updated_at: datetime | None = now_column()


class AfterSaleLine(TenantTable, table=True):
    """Units of one order line an after-sale covers, and how many of them went back to stock."""

    __tablename__ = "after_sale_lines"
    __table_args__ = (
        tenant_fk(["after_sale_id"], "after_sales", ondelete="CASCADE"),
        tenant_fk(["sku_id"], "skus"),
        CheckConstraint("qty > 0 AND restocked_qty BETWEEN 0 AND qty", name="qty"),
    )

    after_sale_id: int = Field(sa_type=BigInteger, primary_key=True)
    line_no: int = Field(primary_key=True)  # the order line
    sku_id: int = Field(sa_type=BigInteger)
    sku_code: str = Field(sa_type=Text)
    qty: int
    restocked_qty: int = counter(0)
