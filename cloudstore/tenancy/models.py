"""Tenancy tables: the tenant itself (a platform table) and its policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from cloudstore.lib.tables import TenantTable, now_column

__all__ = ("Tenant", "TenantPolicy")


class Tenant(SQLModel, table=True):
    """A brand. Platform-level: the one table without ``tenant_id``, readable by every request."""

    __tablename__ = "tenants"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True))
    slug: str = Field(sa_type=Text, unique=True)
    name: str = Field(sa_type=Text)
    created_at: datetime | None = now_column()


class TenantPolicy(TenantTable, table=True):
    """One row per tenant: routing, attribution and commission policy, each a JSON document.

    The documents are validated by msgspec Structs on the way in and out (see ``tenancy.schemas``).
    """

    __tablename__ = "tenant_policies"

    routing: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    attribution: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    commission: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}")
    )
    orders: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    updated_at: datetime | None = now_column()
