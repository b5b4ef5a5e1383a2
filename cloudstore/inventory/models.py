"""Inventory tables: stock per location and SKU, and the append-only movement ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Text
from sqlmodel import Field

from cloudstore.lib.tables import TenantChildTable, TenantTable, counter, id_column, now_column, tenant_fk

__all__ = ("StockLevel", "StockMovement")


class StockLevel(TenantChildTable, table=True):
    """On hand and reserved units of one SKU at one location; available = on_hand - reserved >= 0."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        tenant_fk(["location_id"], "locations"),
        tenant_fk(["sku_id"], "skus"),
        CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="available"),
        Index("ix_stock_levels_sku", "tenant_id", "sku_id"),
    )

    location_id: int = Field(sa_type=BigInteger, primary_key=True)
    sku_id: int = Field(sa_type=BigInteger, primary_key=True)
    on_hand: int = counter(0)
    reserved: int = counter(0)
    updated_at: datetime | None = now_column()


class StockMovement(TenantTable, table=True):
    """One change of on-hand stock: who, why, how much. Rows are only ever inserted."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        tenant_fk(["location_id"], "locations"),
        tenant_fk(["sku_id"], "skus"),
        Index("ix_stock_movements_level", "tenant_id", "location_id", "sku_id", "id"),
    )

    id: int | None = id_column()
    location_id: int = Field(sa_type=BigInteger)
    sku_id: int = Field(sa_type=BigInteger)
    delta: int = Field(sa_type=BigInteger)
    on_hand_after: int = Field(sa_type=BigInteger)
    reason: str = Field(sa_type=Text)
    reference: str | None = Field(default=None, sa_type=Text)
    actor: str = Field(sa_type=Text)
    created_at: datetime | None = now_column()
