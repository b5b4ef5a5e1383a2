"""Attributing paid orders and booking their commission in the append-only ledger.

Called from the order event subscribers in :mod:`cloudstore.referrals.service`, inside the order's
transaction (never commits, no network). Who is credited is :mod:`cloudstore.referrals.crediting`'s; the
arithmetic is :mod:`cloudstore.referrals.rules`'.

Ledger rules, as this module keeps them:

- **Terms.** At payment the tenant's commission policy is copied to ``commission_terms`` for the order. A
  refund recomputes with those terms, and the release uses their ``frozen_days``, so a later policy change
  never re-prices an order already sold. The row also makes payment booking run once per order.
- **Keys.** Beneficiaries are keyed by id inside the rules (codes are only labels), so ``reconcile`` matches
  entries exactly.
- **Pending → available.** Completion queues ``referrals.release`` for ``completed_at + frozen_days``; it
  moves every pending entry of the order (commission and reversals alike) to available at once, so an
  order's entries are either all pending or none.
- **Reversal status.** A reversal takes the state of the order's money: ``pending`` while the order's
  entries are pending (it is released with them and nets them out), else ``available`` at once — whether
  the commission it reverses is available or already settled. A reversal of settled commission is thus a
  debt that the beneficiary's next settlement nets against new earnings (see
  :mod:`cloudstore.referrals.ledger`).

What stays true (the state-machine test checks it): per order and beneficiary the entries sum to
``compute_commission`` of the goods still paid, which is never negative; so each beneficiary's pending
balance and its available + settled balance are never negative; settled entries never change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import NotFound
from cloudstore.lib.events import publish
from cloudstore.lib.jobs import enqueue
from cloudstore.orders.lifecycle import record_credit
from cloudstore.pricing.engine import refund_share
from cloudstore.referrals.bindings import (
    attribution_policy,
    consumer_koc,
    load_binding,
    lock_consumer,
)
from cloudstore.referrals.crediting import (
    attribute_paid,
    beneficiaries_of,
    bind_after_payment,
    credit_of,
    with_distributor,
)
from cloudstore.referrals.events import CommissionAvailable
from cloudstore.referrals.rules import (
    CommissionPolicy,
    CommissionRates,
    CommissionShare,
    PaidLine,
    commission_release_at,
    compute_commission,
    reconcile,
)
from cloudstore.tenancy.schemas import CommissionPolicyDoc
from cloudstore.tenancy.service import load_policies

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.orders.events import OrderCompleted, OrderPaid, OrderRefunded

__all__ = ("RELEASE_JOB", "book_paid", "book_refund", "commission_policy", "release", "schedule_release")

RELEASE_JOB = "referrals.release"


def _aware(value: datetime) -> datetime:
    """Event times are UTC; a naive one (a provider that dropped the offset) is read as UTC, not refused."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _rates(doc: Any) -> CommissionRates:
    return CommissionRates(store_bp=doc.store_bp, distributor_bp=doc.distributor_bp, koc_bp=doc.koc_bp)


def commission_policy(doc: CommissionPolicyDoc) -> CommissionPolicy:
    """The rules' view of a commission policy document."""
    return CommissionPolicy(
        default=_rates(doc),
        by_category={k: _rates(v) for k, v in doc.by_category.items()},
        by_product={k: _rates(v) for k, v in doc.by_product.items()},
        frozen_days=doc.frozen_days,
    )


# --- payment ---------------------------------------------------------------------------------------------------------

# The order row is already locked by the pay journey (order first, then everything else).
_PAID_ORDER = text(
    """
    SELECT o.consumer_id, s.code AS store_code,
           k.id AS koc_id, k.code AS koc_code, k.store_id AS koc_store_id, k.active AS koc_active,
           k.consumer_id AS koc_consumer_id
    FROM orders o
    JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = :store_id
    LEFT JOIN kocs k ON k.tenant_id = o.tenant_id AND k.id = :koc_id
    WHERE o.tenant_id = :t AND o.id = :o
    """
)
# The same without a KOC: Citus cannot plan an outer join whose condition is bound to NULL.
_PAID_ORDER_NO_KOC = text(
    """
    SELECT o.consumer_id, s.code AS store_code,
           CAST(NULL AS bigint) AS koc_id, CAST(NULL AS text) AS koc_code, CAST(NULL AS bigint) AS koc_store_id,
           CAST(NULL AS boolean) AS koc_active, CAST(NULL AS bigint) AS koc_consumer_id
    FROM orders o
    JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = :store_id
    WHERE o.tenant_id = :t AND o.id = :o
    """
)

_LINES = text(
    "SELECT product_code, category, amount - discount AS paid, qty, refunded_qty FROM order_lines "
    "WHERE tenant_id = :t AND order_id = :o ORDER BY line_no"
)


async def _paid_lines(session: AsyncSession, tenant_id: int, order_id: int) -> list[PaidLine]:
    """Goods still paid per line: the line's stored paid amount (after discounts, without the delivery fee)
    less what its refunded units returned, in the same integer steps as the refunds.
    """
    rows = (await session.execute(_LINES, {"t": tenant_id, "o": order_id})).all()
    return [
        PaidLine(
            product=r.product_code, category=r.category, paid=r.paid - refund_share(r.paid, r.qty, 0, r.refunded_qty)
        )
        for r in rows
    ]


async def _start_terms(session: AsyncSession, tenant_id: int, order_id: int, doc: CommissionPolicyDoc) -> bool:
    """Fix the order's commission terms; False when they already were (the order is already booked)."""
    inserted = (
        await session.execute(
            text(
                "INSERT INTO commission_terms (tenant_id, order_id, policy) VALUES (:t, :o, CAST(:p AS jsonb)) "
                "ON CONFLICT (tenant_id, order_id) DO NOTHING RETURNING order_id"
            ),
            {"t": tenant_id, "o": order_id, "p": msgspec.json.encode(doc).decode()},
        )
    ).first()
    if inserted is None:
        return False
    booked = (
        await session.execute(
            text("SELECT 1 FROM ledger_entries WHERE tenant_id = :t AND order_id = :o LIMIT 1"),
            {"t": tenant_id, "o": order_id},
        )
    ).first()
    return booked is None


async def book_paid(session: AsyncSession, event: OrderPaid) -> None:
    """Attribute a paid order, renew or create the consumer's binding, and book pending commission.

    Runs once per order: a second call finds the order's terms already fixed and does nothing.
    """
    event = msgspec.structs.replace(event, paid_at=_aware(event.paid_at))
    t, paid_at = event.tenant_id, event.paid_at
    policies = await load_policies(session, t)
    if not await _start_terms(session, t, event.order_id, policies.commission):
        return
    order = (
        await session.execute(
            _PAID_ORDER if event.koc_id is not None else _PAID_ORDER_NO_KOC,
            {"t": t, "o": event.order_id, "store_id": event.store_id, "koc_id": event.koc_id},
        )
    ).first()
    if order is None:
        raise NotFound("order", event.order_no)
    policy = attribution_policy(policies.attribution)
    await lock_consumer(session, t, order.consumer_id)
    snapshot = await load_binding(session, t, order.consumer_id)
    own_koc = await consumer_koc(session, t, order.consumer_id)
    link_koc = (
        order.koc_code
        if event.came_through_link
        and order.koc_id is not None
        and order.koc_active
        and order.koc_store_id == event.store_id
        else None
    )
    result = attribute_paid(event, order.store_code, link_koc, snapshot, own_koc, policy)
    credit = credit_of(event, order, snapshot, result)
    credit = await with_distributor(session, t, credit)
    await record_credit(
        session,
        t,
        event.order_id,
        store_id=credit.store_id,
        distributor_id=credit.distributor_id,
        koc_id=credit.koc_id,
        source=result.source,
    )
    await bind_after_payment(session, event, order, snapshot, credit, link_koc, own_koc, policy)
    shares = compute_commission(
        await _paid_lines(session, t, event.order_id), credit.beneficiaries(), commission_policy(policies.commission)
    )
    await _insert_entries(session, t, event.order_id, shares, credit.codes(), status="pending", at=paid_at)


async def _insert_entries(
    session: AsyncSession,
    tenant_id: int,
    order_id: int,
    shares: tuple[CommissionShare, ...],
    codes: dict[tuple[str, str], str],
    *,
    status: str,
    at: datetime | None,
) -> None:
    """Append ledger entries (a negative amount is a reversal); ``at`` is ``available_at`` for available ones."""
    if not shares:
        return
    await session.execute(
        text(
            "INSERT INTO ledger_entries (tenant_id, order_id, beneficiary_kind, beneficiary_id, beneficiary_code, "
            "amount, kind, status, available_at) VALUES (:t, :o, :bk, :bid, :code, :amount, :kind, :status, :at)"
        ),
        [
            {
                "t": tenant_id,
                "o": order_id,
                "bk": s.beneficiary_kind,
                "bid": int(s.beneficiary),
                "code": codes[(s.beneficiary_kind, s.beneficiary)],
                "amount": s.amount,
                "kind": "commission" if s.amount > 0 else "reversal",
                "status": status,
                "at": at if status == "available" else None,
            }
            for s in shares
        ],
    )


# --- completion, release, refunds ----------------------------------------------------------------------------------


async def _terms(session: AsyncSession, tenant_id: int, order_id: int) -> CommissionPolicyDoc | None:
    raw = (
        await session.execute(
            text("SELECT policy FROM commission_terms WHERE tenant_id = :t AND order_id = :o"),
            {"t": tenant_id, "o": order_id},
        )
    ).scalar_one_or_none()
    return msgspec.convert(raw, CommissionPolicyDoc) if raw is not None else None


async def schedule_release(session: AsyncSession, event: OrderCompleted) -> None:
    """Queue the release of the order's entries at ``completed_at + frozen_days`` (of the order's terms)."""
    terms = await _terms(session, event.tenant_id, event.order_id)
    if terms is None:
        return  # never attributed: nothing booked, nothing to release
    await enqueue(
        session,
        tenant_id=event.tenant_id,
        kind=RELEASE_JOB,
        payload={"order_id": event.order_id},
        run_at=commission_release_at(_aware(event.completed_at), commission_policy(terms)),
        dedupe_key=f"{RELEASE_JOB}:{event.order_id}",
    )


async def _lock_order(session: AsyncSession, tenant_id: int, order_id: int) -> Any:
    """The order's credit, with the order row locked: release and refunds of one order run one at a time."""
    return (
        await session.execute(
            text(
                "SELECT order_no, credited_store_id, credited_distributor_id, credited_koc_id FROM orders "
                "WHERE tenant_id = :t AND id = :o FOR NO KEY UPDATE"
            ),
            {"t": tenant_id, "o": order_id},
        )
    ).first()


async def release(session: AsyncSession, tenant_id: int, order_id: int) -> int:
    """Move the order's pending entries to available; returns how many moved.

    Publishes :class:`CommissionAvailable` when any did.
    """
    order = await _lock_order(session, tenant_id, order_id)
    if order is None:
        return 0
    at = datetime.now(UTC)
    moved = (
        await session.execute(
            text(
                "UPDATE ledger_entries SET status = 'available', available_at = :at "
                "WHERE tenant_id = :t AND order_id = :o AND status = 'pending' RETURNING amount"
            ),
            {"t": tenant_id, "o": order_id, "at": at},
        )
    ).all()
    if moved:
        await publish(
            session,
            CommissionAvailable(
                tenant_id=tenant_id,
                order_no=order.order_no,
                entries=len(moved),
                amount=sum(int(r.amount) for r in moved),
                at=at,
            ),
        )
    return len(moved)


async def book_refund(session: AsyncSession, event: OrderRefunded) -> None:
    """Append the entries that bring the order's ledger to the commission on the goods still paid.

    The reversal is pending while the order's entries are, else available at once (see the module notes).
    """
    t, o = event.tenant_id, event.order_id
    order = await _lock_order(session, t, o)
    terms = await _terms(session, t, o)
    if order is None or terms is None:
        return
    rows = (
        await session.execute(
            text(
                "SELECT beneficiary_kind, beneficiary_id, beneficiary_code, amount, status FROM ledger_entries "
                "WHERE tenant_id = :t AND order_id = :o"
            ),
            {"t": t, "o": o},
        )
    ).all()
    if not rows:
        return
    booked = [
        CommissionShare(beneficiary_kind=r.beneficiary_kind, beneficiary=str(r.beneficiary_id), amount=r.amount)
        for r in rows
    ]
    who = beneficiaries_of(order.credited_store_id, order.credited_distributor_id, order.credited_koc_id)
    target = compute_commission(await _paid_lines(session, t, o), who, commission_policy(terms))
    entries = reconcile(target, booked)
    codes = {(r.beneficiary_kind, str(r.beneficiary_id)): r.beneficiary_code for r in rows}
    pending = any(r.status == "pending" for r in rows)
    await _insert_entries(
        session, t, o, entries, codes, status="pending" if pending else "available", at=_aware(event.refunded_at)
    )
