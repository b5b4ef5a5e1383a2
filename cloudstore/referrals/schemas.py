"""Referral API types: KOCs, touches and bindings, the commission ledger, earnings and settlements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from cloudstore.auth.schemas import Code

__all__ = (
    "AttributionRead",
    "Balances",
    "BeneficiaryKind",
    "BindingRead",
    "CommissionRead",
    "Earnings",
    "EntryKind",
    "EntryStatus",
    "KocCreate",
    "KocFileEntry",
    "KocPage",
    "KocRead",
    "KocUpdate",
    "LedgerItem",
    "LedgerPage",
    "Payout",
    "SettlementCreate",
    "SettlementPage",
    "SettlementRead",
    "TouchCreate",
    "TouchResult",
)

BeneficiaryKind = Literal["store", "distributor", "koc"]
EntryStatus = Literal["pending", "available", "settled"]
EntryKind = Literal["commission", "reversal"]
KocName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9][0-9 -]{4,30}$", examples=["13800138000"])]
ConsumerId = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


# --- KOCs ----------------------------------------------------------------------------------------------------


class KocCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/store/kocs``: a KOC of the caller's store, optionally linked to a consumer account.

    ``consumer_id`` must name an existing consumer (422 otherwise) that is not already a KOC (409).
    """

    name: KocName
    phone: Phone | None = None
    consumer_id: ConsumerId | None = None


class KocUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /v1/store/kocs/{code}``: rename, change the phone, or (de)activate a KOC.

    An inactive KOC's links no longer bind anyone and it earns nothing on later payments.
    """

    name: KocName | UnsetType = UNSET
    phone: Phone | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class KocRead(msgspec.Struct):
    """A KOC, its share links, and what it brought: touches, paid orders, net sales and net earnings (fen)."""

    code: str
    name: str
    phone: str | None
    consumer_id: int | None
    active: bool
    share_url: str
    qr_url: str
    miniprogram_path: str
    touches: int
    orders: int
    sales: int
    earnings: int
    created_at: datetime


class KocPage(msgspec.Struct):
    """A page of the store's KOCs, oldest first."""

    items: list[KocRead]
    next_cursor: str | None


class KocFileEntry(msgspec.Struct, forbid_unknown_fields=True):
    """A KOC in a tenant file, matched by its code."""

    code: Code
    store: Code
    name: KocName
    phone: Phone | None = None
    active: bool = True


# --- touches and bindings -------------------------------------------------------------------------------------


class TouchCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/shop/{tenant}/touches``: the consumer opened a store's link, or a KOC's share of it."""

    store: Code
    koc: Code | None = None


class TouchResult(msgspec.Struct):
    """Who the consumer is bound to after the touch, and why (``outcome``, see ``rules.BindingReason``).

    ``outcome`` is ``self_referral`` or ``loop`` when the KOC was refused: the consumer is then bound to the
    store alone, or keeps the binding they had.
    """

    bound_store: str
    bound_koc: str | None
    protected_until: datetime
    expires_at: datetime | None
    outcome: str


class BindingRead(msgspec.Struct):
    """The consumer's current binding (``expires_at`` null = permanent)."""

    store: str
    koc: str | None
    bound_at: datetime
    protected_until: datetime
    expires_at: datetime | None
    active: bool


# --- ledger ------------------------------------------------------------------------------------------------------


class Balances(msgspec.Struct):
    """Sums of ledger amounts by status, in fen (reversals count negative)."""

    pending: int
    available: int
    settled: int


class LedgerItem(msgspec.Struct):
    """One ledger entry; a reversal's amount is negative."""

    order_no: str
    beneficiary_kind: BeneficiaryKind
    beneficiary: str
    amount: int
    status: EntryStatus
    kind: EntryKind
    created_at: datetime
    available_at: datetime | None
    settlement_no: str | None


class LedgerPage(msgspec.Struct):
    """``GET /v1/hq/ledger``: entries newest first, and the balances of everything the filter matches."""

    items: list[LedgerItem]
    balances: Balances
    next_cursor: str | None


class Earnings(msgspec.Struct):
    """One beneficiary's balances and entries (newest first)."""

    beneficiary_kind: BeneficiaryKind
    beneficiary: str
    balances: Balances
    items: list[LedgerItem]
    next_cursor: str | None


class AttributionRead(msgspec.Struct):
    """Who an order is credited to (all null until it is paid); ``source`` is link, storefront or binding."""

    store: str | None
    distributor: str | None
    koc: str | None
    source: str | None


class CommissionRead(msgspec.Struct):
    """One ledger entry of an order."""

    beneficiary_kind: BeneficiaryKind
    beneficiary: str
    amount: int
    status: EntryStatus
    kind: EntryKind
    created_at: datetime


# --- settlements --------------------------------------------------------------------------------------------------


class SettlementCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/settlements``: pay out available entries, optionally for one kind or one beneficiary.

    ``beneficiary`` needs ``beneficiary_kind``. ``up_to`` limits the run to entries that became available
    at or before that time.
    """

    beneficiary_kind: BeneficiaryKind | None = None
    beneficiary: Code | None = None
    up_to: AwareDatetime | None = None


class Payout(msgspec.Struct):
    """What one beneficiary is paid in a settlement: the net of its settled entries."""

    beneficiary_kind: BeneficiaryKind
    beneficiary: str
    amount: int
    entry_count: int


class SettlementRead(msgspec.Struct):
    """A settlement run and what it paid to whom."""

    settlement_no: str
    beneficiary_kind: BeneficiaryKind | None
    beneficiary: str | None
    up_to: datetime | None
    total: int
    entry_count: int
    created_by: str
    created_at: datetime
    payouts: list[Payout]


class SettlementPage(msgspec.Struct):
    """Settlements, newest first."""

    items: list[SettlementRead]
    next_cursor: str | None
