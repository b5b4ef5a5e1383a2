"""Pure KOC referral rules: binding, attribution and commission arithmetic.

Nothing here does I/O, awaits, or reads a clock: the service loads a snapshot, passes ``now`` (or the touch
time) in, and writes back what these functions decide. Money is integer fen, rates are integer basis points
(1 bp = 0.01%), datetimes are timezone-aware.

Binding (how DESIGN.md "KOC referral attribution" is read here):

- A binding is *active* while ``now < expires_at`` (``expires_at`` None = permanent). An expired binding
  counts as no binding; at ``now == expires_at`` it has expired. It is *protected* while
  ``now < protected_until``; at ``now == protected_until`` protection is over.
- Protection applies in **both** models: during it no other link takes the consumer. DESIGN says
  ``first_touch`` "holds through protection; afterwards a new link may rebind" and ``last_touch`` "every
  link rebinds". With protection honoured by both, a *different* link rebinds after protection in both
  models; the models differ in what the *same* link does after protection:

  - ``first_touch``: nothing (``"same"``). The window is anchored on the first touch; only a paid order
    (:func:`renew_on_paid`) extends validity.
  - ``last_touch``: the link rebinds to itself (``"refreshed"``): ``bound_at``, protection and validity
    restart from the touch, so the latest link is always the one holding the consumer.

  During protection the same link is ``"same"`` in both models and extends nothing.
- A store's plain link (no KOC code) never strips the store's own KOC: a KOC-less touch of the store the
  consumer is already bound to is ``"same"`` in both models, protected or not.
- A touch carrying the consumer's own KOC code (``"self_referral"``) or a code whose owner is bound to
  this consumer's own code (``"loop"``, A→B→A) never binds that KOC. It keeps an active binding untouched;
  with no active binding it binds the consumer to the touched store alone (``changed`` True), so the
  store keeps its customer while the KOC earns nothing. Only direct two-party loops are visible from the
  snapshot; commission is single level, so longer cycles pay nobody twice.
- :func:`renew_on_paid` extends validity only, never protection: protection rewards whoever brought the
  consumer, not later purchases. Renewal never shortens a binding and never revives an expired one.

Commission: each line takes its product override, else its category override, else the default rates.
Each beneficiary gets ``floor(sum(line.paid * bp) / 10000)`` — one floor of the exact total per
beneficiary, not a sum of per-line floors — so no share ever rounds up, the total never exceeds 30% of the
goods paid, and less paid never gives more. Refunds go through :func:`reconcile`: the ledger for an order
always equals :func:`compute_commission` applied to the net paid goods.
"""

from __future__ import annotations

from collections.abc import Mapping  # runtime import: msgspec resolves field annotations when it builds types
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = (
    "BP_DENOMINATOR",
    "MAX_TOTAL_BP",
    "Attribution",
    "AttributionModel",
    "AttributionPolicy",
    "AttributionSource",
    "Beneficiaries",
    "BeneficiaryKind",
    "Binding",
    "BindingDecision",
    "BindingReason",
    "CommissionPolicy",
    "CommissionRates",
    "CommissionShare",
    "PaidLine",
    "Touch",
    "apply_touch",
    "attribute",
    "binding_is_active",
    "binding_is_protected",
    "commission_release_at",
    "compute_commission",
    "rates_for",
    "reconcile",
    "refund_goods_split",
    "renew_on_paid",
    "validate_rates",
)

BP_DENOMINATOR = 10_000
"""Basis points in 100%."""

MAX_TOTAL_BP = 3_000
"""Ceiling on the sum of all commission rates (30%, the WeChat Pay profit-sharing limit)."""

BeneficiaryKind = Literal["store", "distributor", "koc"]
AttributionSource = Literal["link", "storefront", "binding", "none"]

_KINDS: tuple[BeneficiaryKind, ...] = ("store", "distributor", "koc")


def _require_aware(value: datetime, name: str) -> None:
    if value.utcoffset() is None:
        msg = f"{name} must be timezone-aware, got naive {value.isoformat()}"
        raise ValueError(msg)


# --------------------------------------------------------------------------------------------- binding


class AttributionModel(StrEnum):
    """Which link holds a consumer once protection is over."""

    FIRST_TOUCH = "first_touch"
    LAST_TOUCH = "last_touch"


class BindingReason(StrEnum):
    """Stable machine word explaining a :class:`BindingDecision`."""

    NEW = "new"
    """No binding before; bound to the touch."""
    EXPIRED_REBOUND = "expired_rebound"
    """The previous binding had expired; bound to the touch."""
    SAME = "same"
    """The touch is the bound link (or the bound store's plain link); nothing changes."""
    REFRESHED = "refreshed"
    """``last_touch`` only: the bound link again after protection; its windows restart."""
    PROTECTED = "protected"
    """Another link during protection; nothing changes."""
    REBOUND = "rebound"
    """Another link after protection; bound to the touch."""
    SELF_REFERRAL = "self_referral"
    """The touch carried the consumer's own KOC code; that KOC is never bound."""
    LOOP = "loop"
    """The touching KOC is bound to this consumer's own KOC code; that KOC is never bound."""


class AttributionPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's binding settings.

    Attributes:
        model: Which link holds the consumer after protection.
        protection_days: Days after binding during which no other link can take the consumer (0 = none).
        binding_days: Days a binding stays valid, renewed by paid orders; None means permanent.
        self_referral: Whether a KOC buying for themselves earns their own commission.
    """

    model: AttributionModel = AttributionModel.FIRST_TOUCH
    protection_days: int = 15
    binding_days: int | None = 30
    self_referral: bool = False

    def __post_init__(self) -> None:
        """Reject settings that cannot describe a binding.

        Raises:
            ValueError: Negative protection, non-positive validity, or protection outliving validity.
        """
        if self.protection_days < 0:
            msg = f"protection_days must be >= 0, got {self.protection_days}"
            raise ValueError(msg)
        if self.binding_days is None:
            return
        if self.binding_days < 1:
            msg = f"binding_days must be >= 1 or None (permanent), got {self.binding_days}"
            raise ValueError(msg)
        if self.protection_days > self.binding_days:
            msg = f"protection_days ({self.protection_days}) must not exceed binding_days ({self.binding_days})"
            raise ValueError(msg)


class Binding(msgspec.Struct, frozen=True, kw_only=True):
    """A consumer's online home store and, optionally, the KOC who brought them."""

    store: str
    koc: str | None
    bound_at: datetime
    protected_until: datetime
    expires_at: datetime | None
    """None means permanent."""

    def __post_init__(self) -> None:
        """Reject naive datetimes, which cannot be compared with the aware ``now``."""
        _require_aware(self.bound_at, "bound_at")
        _require_aware(self.protected_until, "protected_until")
        if self.expires_at is not None:
            _require_aware(self.expires_at, "expires_at")


class Touch(msgspec.Struct, frozen=True, kw_only=True):
    """A consumer opening a store link (``koc`` None) or a KOC share link, at ``at``."""

    store: str
    koc: str | None
    at: datetime

    def __post_init__(self) -> None:
        """Reject a naive touch time."""
        _require_aware(self.at, "at")


class BindingDecision(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of :func:`apply_touch`.

    Attributes:
        binding: The binding to hold afterwards (the current one when unchanged).
        changed: Whether ``binding`` differs from the current one and must be written.
        reason: Why.
    """

    binding: Binding | None
    changed: bool
    reason: BindingReason


def binding_is_active(binding: Binding | None, now: datetime) -> bool:
    """Return whether ``binding`` still holds at ``now`` (it has expired at ``now == expires_at``)."""
    if binding is None:
        return False
    return binding.expires_at is None or now < binding.expires_at


def binding_is_protected(binding: Binding, now: datetime) -> bool:
    """Return whether ``binding`` is inside its protection period (over at ``now == protected_until``)."""
    return now < binding.protected_until


def _bind(store: str, koc: str | None, policy: AttributionPolicy, at: datetime) -> Binding:
    expires_at = None if policy.binding_days is None else at + timedelta(days=policy.binding_days)
    return Binding(
        store=store,
        koc=koc,
        bound_at=at,
        protected_until=at + timedelta(days=policy.protection_days),
        expires_at=expires_at,
    )


def _refused_koc_reason(touch: Touch, *, consumer_koc: str | None, koc_bound_koc: str | None) -> BindingReason | None:
    if touch.koc is None or consumer_koc is None:
        return None
    if touch.koc == consumer_koc:
        return BindingReason.SELF_REFERRAL
    if koc_bound_koc == consumer_koc:
        return BindingReason.LOOP
    return None


def apply_touch(
    current: Binding | None,
    touch: Touch,
    policy: AttributionPolicy,
    *,
    consumer_koc: str | None,
    koc_bound_koc: str | None,
) -> BindingDecision:
    """Decide what a consumer's binding becomes after they open a link.

    ``touch.at`` is the decision time. See the module docstring for the full reading of the rules.

    Args:
        current: The consumer's stored binding, active or not, or None.
        touch: The link opened.
        policy: The tenant's binding settings.
        consumer_koc: The consumer's own KOC code, if they are a KOC.
        koc_bound_koc: The KOC that the touching KOC's own consumer account is bound to, if any.

    Returns:
        The binding to hold, whether it changed, and why.
    """
    at = touch.at
    active = current if binding_is_active(current, at) else None
    refused = _refused_koc_reason(touch, consumer_koc=consumer_koc, koc_bound_koc=koc_bound_koc)
    if refused is not None:
        if active is not None:
            return BindingDecision(binding=active, changed=False, reason=refused)
        return BindingDecision(binding=_bind(touch.store, None, policy, at), changed=True, reason=refused)
    if active is None:
        reason = BindingReason.NEW if current is None else BindingReason.EXPIRED_REBOUND
        return BindingDecision(binding=_bind(touch.store, touch.koc, policy, at), changed=True, reason=reason)
    return _touch_active(active, touch, policy)


def _touch_active(active: Binding, touch: Touch, policy: AttributionPolicy) -> BindingDecision:
    at = touch.at
    same_link = touch.store == active.store and touch.koc == active.koc
    same_store_plain = touch.store == active.store and touch.koc is None
    protected = binding_is_protected(active, at)
    if same_link and not protected and policy.model is AttributionModel.LAST_TOUCH:
        return BindingDecision(
            binding=_bind(touch.store, touch.koc, policy, at), changed=True, reason=BindingReason.REFRESHED
        )
    if same_link or same_store_plain:
        return BindingDecision(binding=active, changed=False, reason=BindingReason.SAME)
    if protected:
        return BindingDecision(binding=active, changed=False, reason=BindingReason.PROTECTED)
    return BindingDecision(
        binding=_bind(touch.store, touch.koc, policy, at), changed=True, reason=BindingReason.REBOUND
    )


def renew_on_paid(binding: Binding, policy: AttributionPolicy, now: datetime) -> Binding:
    """Extend a binding's validity after a paid order.

    ``expires_at`` becomes ``now + binding_days`` (permanent when the policy is), but never earlier than it
    already was. Store, KOC, ``bound_at`` and protection are unchanged. An expired binding is returned as
    is: renewal never revives one (a new link binds afresh through :func:`apply_touch`).

    Args:
        binding: The binding the order was attributed through.
        policy: The tenant's binding settings.
        now: Payment time.

    Returns:
        The renewed binding (equal to ``binding`` when there was nothing to extend).
    """
    _require_aware(now, "now")
    if not binding_is_active(binding, now) or binding.expires_at is None:
        return binding
    if policy.binding_days is None:
        return msgspec.structs.replace(binding, expires_at=None)
    renewed = now + timedelta(days=policy.binding_days)
    if renewed <= binding.expires_at:
        return binding
    return msgspec.structs.replace(binding, expires_at=renewed)


# ----------------------------------------------------------------------------------------- attribution


class Attribution(msgspec.Struct, frozen=True, kw_only=True):
    """Who a paid order is credited to.

    Attributes:
        store: The credited store (its distributor follows from it), or None.
        koc: The credited KOC, or None.
        source: Where the store came from: the order's KOC ``link``, the store's ``storefront`` (a plain
            store link), the consumer's ``binding``, or ``none``.
    """

    store: str | None
    koc: str | None
    source: AttributionSource


def attribute(
    *,
    order_store: str | None,
    order_koc: str | None,
    binding: Binding | None,
    consumer_koc: str | None,
    policy: AttributionPolicy,
    now: datetime,
) -> Attribution:
    """Credit a paid order to one store and at most one KOC.

    The store whose link or storefront the order came through wins, else the active bound store. The KOC
    is the order's link KOC, else the bound KOC when the binding is for the credited store. A KOC buying
    for themselves earns nothing unless ``policy.self_referral``; their own link still takes the KOC slot,
    so the bound KOC does not step in.

    Args:
        order_store: Store whose link or storefront the order came through; None for the generic entry.
        order_koc: KOC code on the link the order came through, if any.
        binding: The consumer's stored binding, active or not, or None.
        consumer_koc: The consumer's own KOC code, if they are a KOC.
        policy: The tenant's binding settings.
        now: Payment time.

    Returns:
        The attribution.

    Raises:
        ValueError: ``order_koc`` without ``order_store`` (a KOC link always names its store).
    """
    _require_aware(now, "now")
    if order_koc is not None and order_store is None:
        msg = f"order_koc {order_koc!r} given without order_store"
        raise ValueError(msg)
    active = binding if binding_is_active(binding, now) else None
    store: str | None
    koc: str | None
    source: AttributionSource
    if order_store is not None:
        store = order_store
        source = "link" if order_koc is not None else "storefront"
        koc = order_koc
        if koc is None and active is not None and active.store == order_store:
            koc = active.koc
    elif active is not None:
        store, koc, source = active.store, active.koc, "binding"
    else:
        store, koc, source = None, None, "none"
    if koc is not None and koc == consumer_koc and not policy.self_referral:
        koc = None
    return Attribution(store=store, koc=koc, source=source)


# ------------------------------------------------------------------------------------------ commission


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
