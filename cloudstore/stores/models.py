"""Store network tables: distributors, stock locations, stores and storefront curation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Double, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field

from cloudstore.lib.tables import TenantTable, flag, id_column, now_column, tenant_fk, word

__all__ = ("Distributor", "Location", "Store", "StoreSkuPrice", "StorefrontItem")


class Distributor(TenantTable, table=True):
    """B: supplies the stores in its regions and earns a share of their online sales."""

    __tablename__ = "distributors"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: int | None = id_column()
    code: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    regions: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    status: str = word("active")
    created_at: datetime | None = now_column()
    updated_at: datetime | None = now_column()


class Location(TenantTable, table=True):
    """Where stock lives: a store, a regional warehouse or the central warehouse."""

    __tablename__ = "locations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("kind IN ('store', 'regional', 'central')", name="kind"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180", name="coords"),
        tenant_fk(["distributor_id"], "distributors"),
        Index("ix_locations_kind", "tenant_id", "kind"),
        Index("ix_locations_distributor", "tenant_id", "distributor_id"),
    )

    id: int | None = id_column()
    code: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    kind: str = Field(sa_type=Text)
    lat: float = Field(sa_type=Double)
    lng: float = Field(sa_type=Double)
    regions: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    distributor_id: int | None = Field(default=None, sa_type=BigInteger)
    status: str = word("active")
    created_at: datetime | None = now_column()
    updated_at: datetime | None = now_column()


class Store(TenantTable, table=True):
    """b: a physical store with a cloud storefront; also a stock location with the same code."""

    __tablename__ = "stores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "location_id"),
        tenant_fk(["location_id"], "locations"),
        tenant_fk(["distributor_id"], "distributors"),
        CheckConstraint("delivery_radius_km IS NULL OR delivery_radius_km >= 0", name="radius"),
        Index("ix_stores_distributor", "tenant_id", "distributor_id"),
    )

    id: int | None = id_column()
    code: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    location_id: int = Field(sa_type=BigInteger)
    distributor_id: int | None = Field(default=None, sa_type=BigInteger)
    region: str = Field(sa_type=Text)
    address: str = word("")
    delivery_radius_km: float | None = Field(default=None, sa_type=Double)
    pickup: bool = flag(True)
    status: str = word("active")
    created_at: datetime | None = now_column()
    updated_at: datetime | None = now_column()


class StorefrontItem(TenantTable, table=True):
    """A store's curation of one product: hidden or pinned."""

    __tablename__ = "storefront_items"
    __table_args__ = (tenant_fk(["store_id"], "stores"), tenant_fk(["product_id"], "products"))

    store_id: int = Field(sa_type=BigInteger, primary_key=True)
    product_id: int = Field(sa_type=BigInteger, primary_key=True)
    hidden: bool = flag(False)
    pinned: bool = flag(False)
    updated_at: datetime | None = now_column()


class StoreSkuPrice(TenantTable, table=True):
    """A store's own price for one SKU, inside the band HQ allows."""

    __tablename__ = "store_sku_prices"
    __table_args__ = (
        tenant_fk(["store_id"], "stores"),
        tenant_fk(["sku_id"], "skus"),
        CheckConstraint("price > 0", name="price"),
    )

    store_id: int = Field(sa_type=BigInteger, primary_key=True)
    sku_id: int = Field(sa_type=BigInteger, primary_key=True)
    price: int = Field(sa_type=BigInteger)
    updated_at: datetime | None = now_column()
