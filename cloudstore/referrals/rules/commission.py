"""Pure commission arithmetic: rates, shares, refund reversals and the release date.

Money is integer fen, rates are integer basis points (1 bp = 0.01%), datetimes are timezone-aware.

Commission: each line takes its product override, else its category override, else the default rates.
Each beneficiary gets ``floor(sum(line.paid * bp) / 10000)`` — one floor of the exact total per
beneficiary, not a sum of per-line floors — so no share ever rounds up, the total never exceeds 30% of the
goods paid, and less paid never gives more. Refunds go through :func:`reconcile`: the ledger for an order
always equals :func:`compute_commission` applied to the net paid goods.
"""

from __future__ import annotations

from collections.abc import Mapping  # runtime import: msgspec resolves field annotations when it builds types
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import msgspec

from cloudstore.referrals.rules._aware import require_aware as _require_aware

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

__all__ = (
    "BP_DENOMINATOR",
    "MAX_TOTAL_BP",
    "Beneficiaries",
    "BeneficiaryKind",
    "CommissionPolicy",
    "CommissionRates",
    "CommissionShare",
    "PaidLine",
    "commission_release_at",
    "compute_commission",
    "rates_for",
    "reconcile",
    "refund_goods_split",
    "validate_rates",
)

BP_DENOMINATOR = 10_000
"""Basis points in 100%."""

MAX_TOTAL_BP = 3_000
"""Ceiling on the sum of all commission rates (30%, the WeChat Pay profit-sharing limit)."""

BeneficiaryKind = Literal["store", "distributor", "koc"]

_KINDS: tuple[BeneficiaryKind, ...] = ("store", "distributor", "koc")


def validate_rates(rates: CommissionRates) -> None:
    """Check that every rate is >= 0 bp and that together they stay within 3000 bp (30%).

    Raises:
        ValueError: Naming the negative rate or the excessive total.
    """
    for kind in _KINDS:
        bp = _rate(rates, kind)
        if bp < 0:
            msg = f"{kind}_bp must be >= 0, got {bp}"
            raise ValueError(msg)
    total = rates.store_bp + rates.distributor_bp + rates.koc_bp
    if total > MAX_TOTAL_BP:
        msg = f"total commission {total} bp exceeds the {MAX_TOTAL_BP} bp (30%) ceiling"
        raise ValueError(msg)


class CommissionRates(msgspec.Struct, frozen=True, kw_only=True):
    """Commission rates in basis points; validated on construction by :func:`validate_rates`."""

    store_bp: int
    distributor_bp: int
    koc_bp: int

    def __post_init__(self) -> None:
        """Reject negative rates and totals above 30%."""
        validate_rates(self)


def _rate(rates: CommissionRates, kind: BeneficiaryKind) -> int:
    if kind == "store":
        return rates.store_bp
    if kind == "distributor":
        return rates.distributor_bp
    return rates.koc_bp


class CommissionPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's commission rules.

    Attributes:
        default: Rates for lines with no override.
        by_category: Overrides by category id.
        by_product: Overrides by product id (win over the category's).
        frozen_days: After-sales window during which new entries stay ``pending``.
    """

    default: CommissionRates
    by_category: Mapping[str, CommissionRates] = {}
    by_product: Mapping[str, CommissionRates] = {}
    frozen_days: int = 7

    def __post_init__(self) -> None:
        """Reject a negative after-sales window."""
        if self.frozen_days < 0:
            msg = f"frozen_days must be >= 0, got {self.frozen_days}"
            raise ValueError(msg)


class PaidLine(msgspec.Struct, frozen=True, kw_only=True):
    """Goods actually paid on one order line, in fen (net of refunds when recomputing)."""

    product: str
    category: str
    paid: int

    def __post_init__(self) -> None:
        """Reject a negative amount."""
        if self.paid < 0:
            msg = f"paid must be >= 0 fen, got {self.paid} for product {self.product!r}"
            raise ValueError(msg)


class Beneficiaries(msgspec.Struct, frozen=True, kw_only=True):
    """Who can earn on an order; None means nobody of that kind."""

    store: str | None
    distributor: str | None
    koc: str | None


class CommissionShare(msgspec.Struct, frozen=True, kw_only=True):
    """One beneficiary's amount in fen (negative in a reversal from :func:`reconcile`)."""

    beneficiary_kind: BeneficiaryKind
    beneficiary: str
    amount: int


def rates_for(line: PaidLine, policy: CommissionPolicy) -> CommissionRates:
    """Return the rates for ``line``: product override, else category override, else the default."""
    rates = policy.by_product.get(line.product)
    if rates is None:
        rates = policy.by_category.get(line.category, policy.default)
    return rates


def _beneficiary(who: Beneficiaries, kind: BeneficiaryKind) -> str | None:
    if kind == "store":
        return who.store
    if kind == "distributor":
        return who.distributor
    return who.koc


def compute_commission(
    lines: Sequence[PaidLine], who: Beneficiaries, policy: CommissionPolicy
) -> tuple[CommissionShare, ...]:
    """Compute each beneficiary's commission on the goods paid.

    Each beneficiary gets ``floor(sum(line.paid * bp) / 10000)``, integer-only. Beneficiaries that are
    None or would get 0 fen are left out. Shares come in the order store, distributor, KOC.

    Args:
        lines: Goods paid per line, in fen.
        who: The order's store, distributor and KOC.
        policy: The tenant's commission rules.

    Returns:
        The non-zero shares.
    """
    line_rates = [(line.paid, rates_for(line, policy)) for line in lines]
    shares: list[CommissionShare] = []
    for kind in _KINDS:
        beneficiary = _beneficiary(who, kind)
        if beneficiary is None:
            continue
        amount = sum(paid * _rate(rates, kind) for paid, rates in line_rates) // BP_DENOMINATOR
        if amount:
            shares.append(CommissionShare(beneficiary_kind=kind, beneficiary=beneficiary, amount=amount))
    return tuple(shares)


def _totals(shares: Iterable[CommissionShare]) -> dict[tuple[BeneficiaryKind, str], int]:
    totals: dict[tuple[BeneficiaryKind, str], int] = {}
    for share in shares:
        key = (share.beneficiary_kind, share.beneficiary)
        totals[key] = totals.get(key, 0) + share.amount
    return totals


def reconcile(target: Sequence[CommissionShare], booked: Sequence[CommissionShare]) -> tuple[CommissionShare, ...]:
    """Return the entries that bring ``booked`` to ``target`` per (kind, beneficiary).

    For a refund, ``target`` is :func:`compute_commission` on the net paid goods and ``booked`` is every
    ledger entry already written for the order; the result is the (negative) reversal. Never returns a
    zero entry; the result is sorted by kind (store, distributor, KOC) then beneficiary.

    Args:
        target: What the ledger should total.
        booked: What the ledger already holds.

    Returns:
        Entries such that booked + result == target for every (kind, beneficiary).
    """
    want = _totals(target)
    have = _totals(booked)
    keys = sorted(want.keys() | have.keys(), key=lambda key: (_KINDS.index(key[0]), key[1]))
    entries = [
        CommissionShare(beneficiary_kind=kind, beneficiary=beneficiary, amount=diff)
        for kind, beneficiary in keys
        if (diff := want.get((kind, beneficiary), 0) - have.get((kind, beneficiary), 0))
    ]
    return tuple(entries)


def refund_goods_split(lines_paid: Sequence[int], refund_goods: int) -> tuple[int, ...]:
    """Spread an order-level goods refund over lines pro rata to what each line paid.

    Largest-remainder method, integer-only: parts sum to ``refund_goods`` exactly, no part exceeds its
    line, and ties go to the earlier line. Refunding everything returns ``lines_paid`` itself.

    Args:
        lines_paid: Goods paid per line, in fen, each >= 0.
        refund_goods: Goods amount refunded, in fen, at most the sum of ``lines_paid``.

    Returns:
        The refunded goods per line, in the order of ``lines_paid``.

    Raises:
        ValueError: A negative amount, or a refund larger than what was paid.
    """
    if any(paid < 0 for paid in lines_paid):
        msg = "lines_paid must all be >= 0"
        raise ValueError(msg)
    total = sum(lines_paid)
    if not 0 <= refund_goods <= total:
        msg = f"refund_goods must be between 0 and {total} fen, got {refund_goods}"
        raise ValueError(msg)
    if total == 0:
        return tuple(0 for _ in lines_paid)
    quotients = [divmod(paid * refund_goods, total) for paid in lines_paid]
    parts = [quotient for quotient, _ in quotients]
    leftover = refund_goods - sum(parts)
    # Each remainder < total, so leftover < len(lines); a line with a remainder has quotient < its paid.
    by_remainder = sorted(range(len(parts)), key=lambda i: (-quotients[i][1], i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return tuple(parts)


def commission_release_at(window_starts_at: datetime, policy: CommissionPolicy) -> datetime:
    """Return when ``pending`` entries become ``available``: the after-sales window's end.

    Args:
        window_starts_at: When the after-sales window opened (the service decides which event opens it).
        policy: The tenant's commission rules.

    Returns:
        ``window_starts_at + frozen_days``.
    """
    _require_aware(window_starts_at, "window_starts_at")
    return window_starts_at + timedelta(days=policy.frozen_days)
