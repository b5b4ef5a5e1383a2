"""Referral tables: KOCs, touches, bindings, the commission ledger and settlements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from cloudstore.lib.tables import TenantTable, flag, id_column, now_column, tenant_fk, word

__all__ = ("Binding", "CommissionTerms", "Koc", "LedgerEntry", "Settlement", "Touch")


class Koc(TenantTable, table=True):
    """A key opinion consumer registered by a store, with the code their share links carry."""

    __tablename__ = "kocs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "consumer_id"),
        tenant_fk(["store_id"], "stores"),
        tenant_fk(["consumer_id"], "consumers"),
        Index("ix_kocs_store", "tenant_id", "store_id"),
    )

    id: int | None = id_column()
    code: str = Field(sa_type=Text)
    store_id: int = Field(sa_type=BigInteger)
    name: str = Field(sa_type=Text)
    phone: str | None = Field(default=None, sa_type=Text)
    consumer_id: int | None = Field(default=None, sa_type=BigInteger)
    active: bool = flag(True)
    created_at: datetime | None = now_column()


class Touch(TenantTable, table=True):
    """A consumer opened a store's (or a KOC's) share link."""

    __tablename__ = "touches"
    __table_args__ = (
        tenant_fk(["consumer_id"], "consumers"),
        tenant_fk(["store_id"], "stores"),
        tenant_fk(["koc_id"], "kocs"),
        Index("ix_touches_koc", "tenant_id", "koc_id"),
        Index("ix_touches_at", "tenant_id", "created_at"),
        Index("ix_touches_consumer", "tenant_id", "consumer_id", "id"),
    )

    id: int | None = id_column()
    consumer_id: int = Field(sa_type=BigInteger)
    store_id: int = Field(sa_type=BigInteger)
    koc_id: int | None = Field(default=None, sa_type=BigInteger)
    outcome: str = Field(sa_type=Text)
    # What was opened: a share ``link``, or a product's ``code`` scanned (the touch is for the shipped-to store).
    source: str = word("link")
    created_at: datetime | None = now_column()


class Binding(TenantTable, table=True):
    """A consumer's online home store and KOC, while the binding lasts."""

    __tablename__ = "bindings"
    __table_args__ = (
        tenant_fk(["consumer_id"], "consumers"),
        tenant_fk(["store_id"], "stores"),
        tenant_fk(["koc_id"], "kocs"),
    )

    consumer_id: int = Field(sa_type=BigInteger, primary_key=True)
    store_id: int = Field(sa_type=BigInteger)
    koc_id: int | None = Field(default=None, sa_type=BigInteger)
    bound_at: datetime | None = now_column()
    protected_until: datetime | None = now_column()
    expires_at: datetime | None = now_column(nullable=True, default_now=False)
    updated_at: datetime | None = now_column()


class Settlement(TenantTable, table=True):
    """A payout run: the available entries it moved to settled and what they added up to."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("tenant_id", "settlement_no"),)

    id: int | None = id_column()
    settlement_no: str = Field(sa_type=Text)
    beneficiary_kind: str | None = Field(default=None, sa_type=Text)
    beneficiary_code: str | None = Field(default=None, sa_type=Text)
    up_to: datetime | None = now_column(nullable=True, default_now=False)
    total: int = Field(sa_type=BigInteger)
    entry_count: int
    created_by: str = Field(sa_type=Text)
    created_at: datetime | None = now_column()


class LedgerEntry(TenantTable, table=True):
    """A commission (or its reversal) owed to one beneficiary for one order.

    Amount and beneficiary never change once written; only the status moves forward
    (pending → available → settled), and a database trigger enforces both.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        tenant_fk(["order_id"], "orders"),
        tenant_fk(["settlement_id"], "settlements"),
        CheckConstraint("beneficiary_kind IN ('store', 'distributor', 'koc')", name="beneficiary_kind"),
        CheckConstraint("kind IN ('commission', 'reversal')", name="kind"),
        CheckConstraint("status IN ('pending', 'available', 'settled')", name="status"),
        CheckConstraint("(kind = 'commission') = (amount > 0) AND amount <> 0", name="sign"),
        Index("ix_ledger_beneficiary", "tenant_id", "beneficiary_kind", "beneficiary_id", "status"),
        Index("ix_ledger_order", "tenant_id", "order_id"),
    )

    id: int | None = id_column()
    order_id: int = Field(sa_type=BigInteger)
    beneficiary_kind: str = Field(sa_type=Text)
    beneficiary_id: int = Field(sa_type=BigInteger)
    beneficiary_code: str = Field(sa_type=Text)
    amount: int = Field(sa_type=BigInteger)
    kind: str = Field(sa_type=Text)
    status: str = word("pending")
    available_at: datetime | None = now_column(nullable=True, default_now=False)
    settlement_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime | None = now_column()


class CommissionTerms(TenantTable, table=True):
    """The commission policy an order was paid under.

    Fixed at payment, so a refund reverses at the rates the commission was booked at (even if HQ has
    changed them since) and the entries are released after the after-sales window the order was sold with.
    Its existence also marks the order as attributed: the payment subscriber runs once per order.
    """

    __tablename__ = "commission_terms"
    __table_args__ = (tenant_fk(["order_id"], "orders"),)

    order_id: int = Field(sa_type=BigInteger, primary_key=True)
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    created_at: datetime | None = now_column()
