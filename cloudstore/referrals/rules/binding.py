"""Pure binding rules: which store (and KOC) holds a consumer after a touch or a paid order.

No I/O, no ``await``, no clock: the touch time or ``now`` is passed in. Datetimes are timezone-aware.

How DESIGN.md "KOC referral attribution" is read here:

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
"""

from __future__ import annotations

from datetime import datetime, timedelta  # runtime import: msgspec resolves field annotations
from enum import StrEnum

import msgspec

from cloudstore.referrals.rules._aware import require_aware as _require_aware

__all__ = (
    "AttributionModel",
    "AttributionPolicy",
    "Binding",
    "BindingDecision",
    "BindingReason",
    "Touch",
    "apply_touch",
    "binding_is_active",
    "binding_is_protected",
    "renew_on_paid",
)


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
