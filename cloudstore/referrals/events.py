"""Ledger events other domains react to (the webhook outbox), published in the transaction that changed the ledger."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ("CommissionAvailable", "SettlementCreated")


class CommissionAvailable(msgspec.Struct, frozen=True, kw_only=True):
    """An order's after-sales window closed: its pending entries became available (``amount`` in all)."""

    tenant_id: int
    order_no: str
    entries: int
    amount: int
    at: datetime


class SettlementCreated(msgspec.Struct, frozen=True, kw_only=True):
    """A settlement run paid out available commission."""

    tenant_id: int
    settlement_no: str
    beneficiary_kind: str | None
    beneficiary: str | None
    total: int
    entry_count: int
    at: datetime
