"""Auth tables: brand staff and consumers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, Text, UniqueConstraint
from sqlalchemy import text as sa_text
from sqlmodel import Field

from cloudstore.lib.tables import TenantTable, flag, id_column, now_column, tenant_fk

__all__ = ("Consumer", "Staff")


class Staff(TenantTable, table=True):
    """A brand HQ, distributor or store staff account."""

    __tablename__ = "staff"
    __table_args__ = (
        UniqueConstraint("tenant_id", "username"),
        CheckConstraint("role IN ('hq', 'distributor', 'store')", name="role"),
        CheckConstraint(
            "(role = 'store') = (store_id IS NOT NULL) AND (role = 'distributor') = (distributor_id IS NOT NULL)",
            name="binding",
        ),
        tenant_fk(["store_id"], "stores"),
        tenant_fk(["distributor_id"], "distributors"),
    )

    id: int | None = id_column()
    username: str = Field(sa_type=Text)
    password_hash: str = Field(sa_type=Text)
    role: str = Field(sa_type=Text)
    store_id: int | None = Field(default=None, sa_type=BigInteger)
    distributor_id: int | None = Field(default=None, sa_type=BigInteger)
    active: bool = flag(True)
    #: Bumped when the account is disabled or its password or role changes; tokens of an older epoch are dead.
    credentials_epoch: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=sa_text("0")))
    created_at: datetime | None = now_column()


class Consumer(TenantTable, table=True):
    """A shopper, known by their WeChat openid within one brand's mini-program."""

    __tablename__ = "consumers"
    __table_args__ = (UniqueConstraint("tenant_id", "openid"),)

    id: int | None = id_column()
    openid: str = Field(sa_type=Text)
    unionid: str | None = Field(default=None, sa_type=Text)
    created_at: datetime | None = now_column()
    last_login_at: datetime | None = now_column()
