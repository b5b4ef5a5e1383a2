"""Referral events other domains react to, inside the same transaction: touches, bindings and the ledger.

Published with :func:`cloudstore.lib.events.publish` where the rows are written (the touch route, the
binding a payment makes, the ledger's release and settlement); the subscribers listed in
:mod:`cloudstore.wiring` run in the caller's transaction (analytics, the webhook outbox).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ("CommissionAvailable", "ConsumerBound", "SettlementCreated", "TouchRecorded")


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


class TouchRecorded(msgspec.Struct, frozen=True, kw_only=True):
    """A consumer opened a store's (or a KOC's) link, or scanned a unit shipped to a store (``source`` ``code``)."""

    tenant_id: int
    consumer_id: int
    store_id: int
    koc_id: int | None
    source: str  # "link" or "code"
    at: datetime


class ConsumerBound(msgspec.Struct, frozen=True, kw_only=True):
    """A consumer's binding was written: bound (again) to ``store_id``, replacing the previous one if any."""

    tenant_id: int
    consumer_id: int
    store_id: int
    koc_id: int | None
    bound_at: datetime
    previous_store_id: int | None
    previous_koc_id: int | None
    previous_bound_at: datetime | None
