"""One item, one code: API types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = (
    "BatchCreate",
    "BatchRead",
    "CodeHistory",
    "CodePolicyDoc",
    "DiversionPage",
    "DiversionSignal",
    "HistoryScan",
    "RewardDoc",
    "ScanCreate",
    "ScanResult",
    "ScanReward",
    "ShipmentCreate",
    "ShipmentRead",
)

Ref = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
# Any text up to this length is looked up; a malformed code answers ``unknown`` like a well-formed miss.
CodeText = Annotated[str, msgspec.Meta(max_length=64)]
Grade = Literal["low", "medium", "high"]


class BatchCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/code-batches``: N unit codes of one SKU, optionally in cases of ``units_per_case``."""

    sku: Ref
    units: Annotated[int, msgspec.Meta(ge=1, le=2_000_000)]
    units_per_case: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None


class BatchRead(msgspec.Struct, omit_defaults=False):
    """A batch and how far its generation got (``generated`` of ``units`` unit codes written)."""

    batch_no: str
    sku: str
    status: Literal["generating", "ready", "failed"]
    units: int
    cases: int
    units_per_case: int | None
    generated: int
    created_at: datetime


class ShipmentCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/code-shipments``: case or unit codes shipped to exactly one store or distributor."""

    codes: Annotated[list[CodeText], msgspec.Meta(min_length=1, max_length=5000)]
    store: Ref | None = None
    distributor: Ref | None = None


class ShipmentRead(msgspec.Struct):
    """What a shipment assigned: ``units`` unit codes (a case code counts as its units)."""

    shipment_no: str
    units: int
    store: str | None
    distributor: str | None


class ScanCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/shop/{tenant}/scans``: the code read off the item, and where the consumer is."""

    code: CodeText
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    region: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="GB/T 2260 county code")] | None = None


class ScanReward(msgspec.Struct):
    """The reward the first scanner of a unit got: one coupon, now among the consumer's coupons."""

    kind: Literal["coupon"]
    coupon: str


class ScanResult(msgspec.Struct, omit_defaults=True):
    """The authenticity answer. ``unknown`` has the same status and shape whether the code is malformed or a miss."""

    result: Literal["genuine", "not_distributed", "unknown"]
    scans: int
    scanners: int
    diversion: bool
    product: str | None = None
    sku: str | None = None
    first_scanned_at: datetime | None = None
    first_scan: bool | None = None
    store: str | None = None
    binding: str | None = None
    reward: ScanReward | None = None


class RewardDoc(msgspec.Struct, forbid_unknown_fields=True):
    """A scan reward: one coupon (claimed for the first scanner, outside the coupon's per-consumer limit)."""

    kind: Literal["coupon"]
    coupon: Ref


class CodePolicyDoc(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    """``PUT /v1/hq/policies/codes``: whether a scan binds the consumer to the shipped-to store, and the reward."""

    bind_on_scan: bool = True
    reward: RewardDoc | None = None


class HistoryScan(msgspec.Struct):
    """One scan in a code's history."""

    at: datetime
    consumer_id: int | None
    region: str | None
    diversion: bool


class CodeHistory(msgspec.Struct):
    """``GET /v1/hq/codes/{code}``: the batch, the shipment, and every scan (newest first, at most 200)."""

    code: str
    level: Literal["unit", "case"]
    batch_no: str
    sku: str
    case: str | None
    shipment_no: str | None
    store: str | None
    distributor: str | None
    first_scanned_at: datetime | None
    scans: int
    scanners: int
    history: list[HistoryScan]


class DiversionSignal(msgspec.Struct):
    """Units of one batch shipped to one distributor, scanned in a region outside its regions.

    ``grade``: ``low`` for one consumer, ``medium`` for two, ``high`` for three or more distinct consumers.
    """

    distributor: str
    batch_no: str
    sku: str
    region: str
    grade: Grade
    consumers: int
    scans: int
    codes: list[str]
    first_at: datetime
    last_at: datetime


class DiversionPage(msgspec.Struct):
    """Diversion signals, strongest first."""

    items: list[DiversionSignal]
