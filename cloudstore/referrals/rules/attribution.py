"""Pure attribution rule: which store and KOC a paid order is credited to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

from cloudstore.referrals.rules._aware import require_aware as _require_aware
from cloudstore.referrals.rules.binding import binding_is_active

if TYPE_CHECKING:
    from datetime import datetime

    from cloudstore.referrals.rules.binding import AttributionPolicy, Binding

__all__ = ("Attribution", "AttributionSource", "attribute")

AttributionSource = Literal["link", "storefront", "binding", "none"]


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
