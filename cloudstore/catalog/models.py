"""Catalog tables: products (SPU) and their SKUs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from cloudstore.lib.tables import TenantTable, counter, flag, id_column, now_column, tenant_fk, word

__all__ = ("Product", "Sku")


class Product(TenantTable, table=True):
    """A product as HQ publishes it: draft, then published (on every storefront), then archived."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        Index("ix_products_published", "tenant_id", "status", "category"),
        Index(
            "ix_products_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
    )

    id: int | None = id_column()
    code: str = Field(sa_type=Text)
    title: str = Field(sa_type=Text)
    category: str = Field(sa_type=Text)
    description: str = word("")
    images: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    status: str = word("draft")
    published_at: datetime | None = now_column(nullable=True, default_now=False)
    created_at: datetime | None = now_column()
    updated_at: datetime | None = now_column()


class Sku(TenantTable, table=True):
    """A sellable variant with its list price and the band a store may price it in (fen)."""

    __tablename__ = "skus"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        tenant_fk(["product_id"], "products"),
        Index("ix_skus_product", "tenant_id", "product_id"),
        CheckConstraint("price > 0", name="price"),
        CheckConstraint("min_price > 0 AND min_price <= price AND price <= max_price", name="band"),
    )

    id: int | None = id_column()
    product_id: int = Field(sa_type=BigInteger)
    code: str = Field(sa_type=Text)
    spec: str = Field(sa_type=Text)
    price: int = Field(sa_type=BigInteger)
    min_price: int = Field(sa_type=BigInteger)
    max_price: int = Field(sa_type=BigInteger)
    sort: int = counter(0)
    active: bool = flag(True)
    created_at: datetime | None = now_column()
    updated_at: datetime | None = now_column()
