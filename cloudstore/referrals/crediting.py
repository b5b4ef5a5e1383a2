"""Who a paid order is credited to: the attribution decision, the credited store's distributor, and the
binding the payment renews or creates. Used by :mod:`cloudstore.referrals.booking` at payment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.referrals.bindings import BindingSnapshot, bound_koc_of, write_binding
from cloudstore.referrals.rules import (
    AttributionPolicy,
    Beneficiaries,
    Touch,
    apply_touch,
    attribute,
    binding_is_active,
    renew_on_paid,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.orders.events import OrderPaid
    from cloudstore.referrals.rules import Attribution

__all__ = ("Credit", "attribute_paid", "beneficiaries_of", "bind_after_payment", "credit_of", "with_distributor")


class Credit(msgspec.Struct, frozen=True, kw_only=True):
    """Who an order is credited to, by id and code."""

    store_id: int | None = None
    store: str | None = None
    distributor_id: int | None = None
    distributor: str | None = None
    koc_id: int | None = None
    koc: str | None = None

    def beneficiaries(self) -> Beneficiaries:
        """Ids as the rules' beneficiary keys."""
        return beneficiaries_of(self.store_id, self.distributor_id, self.koc_id)

    def codes(self) -> dict[tuple[str, str], str]:
        """Beneficiary key → code."""
        pairs = [("store", self.store_id, self.store), ("distributor", self.distributor_id, self.distributor)]
        pairs.append(("koc", self.koc_id, self.koc))
        return {(kind, str(i)): code for kind, i, code in pairs if i is not None and code is not None}


def beneficiaries_of(store_id: int | None, distributor_id: int | None, koc_id: int | None) -> Beneficiaries:
    return Beneficiaries(
        store=str(store_id) if store_id is not None else None,
        distributor=str(distributor_id) if distributor_id is not None else None,
        koc=str(koc_id) if koc_id is not None else None,
    )


def attribute_paid(
    event: OrderPaid,
    store_code: str,
    link_koc: str | None,
    snapshot: BindingSnapshot | None,
    own_koc: str | None,
    policy: AttributionPolicy,
) -> Attribution:
    """``rules.attribute``, with an inactive bound KOC treated as none.

    An order placed through the consumer's bound store whose binding lapsed before payment is still credited
    to that store (as its storefront): every paid order is credited to one store.
    """
    binding = None
    if snapshot is not None:
        binding = snapshot.binding
        if not snapshot.koc_active:
            binding = msgspec.structs.replace(binding, koc=None)
    result = attribute(
        order_store=store_code if event.came_through_link else None,
        order_koc=link_koc,
        binding=binding,
        consumer_koc=own_koc,
        policy=policy,
        now=event.paid_at,
    )
    if result.store is None:
        result = attribute(
            order_store=store_code, order_koc=None, binding=None, consumer_koc=own_koc, policy=policy, now=event.paid_at
        )
    return result


def credit_of(event: OrderPaid, order: Any, snapshot: BindingSnapshot | None, result: Attribution) -> Credit:
    """Resolve the attribution's codes to ids: each is either the order's link or the binding's."""
    store_id: int | None = None
    if result.store == order.store_code:
        store_id = event.store_id
    elif snapshot is not None and result.store == snapshot.binding.store:
        store_id = snapshot.store_id
    koc_id: int | None = None
    if result.koc is not None and result.koc == order.koc_code:
        koc_id = order.koc_id
    elif snapshot is not None and result.koc is not None and result.koc == snapshot.binding.koc:
        koc_id = snapshot.koc_id
    return Credit(store_id=store_id, store=result.store, koc_id=koc_id, koc=result.koc if koc_id else None)


async def with_distributor(session: AsyncSession, tenant_id: int, credit: Credit) -> Credit:
    """Add the credited store's distributor."""
    if credit.store_id is None:
        return credit
    row = (
        await session.execute(
            text(
                "SELECT d.id, d.code FROM stores s "
                "JOIN distributors d ON d.tenant_id = s.tenant_id AND d.id = s.distributor_id "
                "WHERE s.tenant_id = :t AND s.id = :s"
            ),
            {"t": tenant_id, "s": credit.store_id},
        )
    ).first()
    if row is None:
        return credit
    return msgspec.structs.replace(credit, distributor_id=row.id, distributor=row.code)


async def bind_after_payment(
    session: AsyncSession,
    event: OrderPaid,
    order: Any,
    snapshot: BindingSnapshot | None,
    credit: Credit,
    link_koc: str | None,
    own_koc: str | None,
    policy: AttributionPolicy,
) -> None:
    """A paid order renews the binding it was credited through; a linked order of an unbound consumer binds them.

    An order credited to a store other than the bound one (through that store's own link) leaves the
    binding alone: rebinding is decided when a link is opened (touches), not at payment.
    """
    t, at = event.tenant_id, event.paid_at
    current = snapshot.binding if snapshot is not None else None
    if current is not None and snapshot is not None and binding_is_active(current, at):
        if credit.store_id == snapshot.store_id:
            renewed = renew_on_paid(current, policy, at)
            if renewed.expires_at != current.expires_at:
                await session.execute(
                    text(
                        "UPDATE bindings SET expires_at = :e, updated_at = now() "
                        "WHERE tenant_id = :t AND consumer_id = :c"
                    ),
                    {"e": renewed.expires_at, "t": t, "c": order.consumer_id},
                )
        return
    if not event.came_through_link:
        return
    koc_bound_koc = (
        await bound_koc_of(session, t, order.koc_consumer_id, at)
        if link_koc is not None and order.koc_consumer_id is not None
        else None
    )
    decision = apply_touch(
        current,
        Touch(store=order.store_code, koc=link_koc, at=at),
        policy,
        consumer_koc=own_koc,
        koc_bound_koc=koc_bound_koc,
    )
    if decision.changed and decision.binding is not None:
        koc_id = order.koc_id if decision.binding.koc is not None else None
        await write_binding(
            session, t, order.consumer_id, decision.binding, store_id=event.store_id, koc_id=koc_id, previous=snapshot
        )
