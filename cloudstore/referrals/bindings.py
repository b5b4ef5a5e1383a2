"""Reading and writing consumers' bindings for the touch route and the payment subscriber.

One consumer's binding decisions (touches, payments) are serialised on their consumer row, so two links
opened at once cannot both bind a consumer who had no binding.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import NotFound
from cloudstore.lib.events import publish
from cloudstore.referrals.events import ConsumerBound
from cloudstore.referrals.rules import AttributionModel, AttributionPolicy, Binding

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.tenancy.schemas import AttributionPolicyDoc

__all__ = (
    "BindingSnapshot",
    "attribution_policy",
    "bound_koc_of",
    "consumer_koc",
    "load_binding",
    "lock_consumer",
    "write_binding",
)


def attribution_policy(doc: AttributionPolicyDoc) -> AttributionPolicy:
    """The rules' view of the tenant's attribution policy.

    Protection cannot outlive the binding, so a longer protection is read as lasting the whole binding.
    """
    protection = doc.protection_days
    if doc.binding_days is not None:
        protection = min(protection, doc.binding_days)
    return AttributionPolicy(
        model=AttributionModel(doc.model),
        protection_days=protection,
        binding_days=doc.binding_days,
        self_referral=doc.self_referral,
    )


class BindingSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A stored binding with the ids behind its codes."""

    binding: Binding
    store_id: int
    koc_id: int | None
    koc_active: bool


async def lock_consumer(session: AsyncSession, tenant_id: int, consumer_id: int) -> None:
    """Serialise binding decisions for one consumer (touches and payments) on their consumer row."""
    found = (
        await session.execute(
            text("SELECT id FROM consumers WHERE tenant_id = :t AND id = :c FOR UPDATE"),
            {"t": tenant_id, "c": consumer_id},
        )
    ).first()
    if found is None:
        raise NotFound("consumer", str(consumer_id))


async def load_binding(session: AsyncSession, tenant_id: int, consumer_id: int) -> BindingSnapshot | None:
    """The consumer's stored binding (active or lapsed), if any."""
    row = (
        await session.execute(
            text(
                """
                SELECT b.store_id, s.code AS store_code, b.koc_id, k.code AS koc_code, k.active AS koc_active,
                       b.bound_at, b.protected_until, b.expires_at
                FROM bindings b
                JOIN stores s ON s.tenant_id = b.tenant_id AND s.id = b.store_id
                LEFT JOIN kocs k ON k.tenant_id = b.tenant_id AND k.id = b.koc_id
                WHERE b.tenant_id = :t AND b.consumer_id = :c
                """
            ),
            {"t": tenant_id, "c": consumer_id},
        )
    ).first()
    if row is None:
        return None
    return BindingSnapshot(
        binding=Binding(
            store=row.store_code,
            koc=row.koc_code,
            bound_at=row.bound_at,
            protected_until=row.protected_until,
            expires_at=row.expires_at,
        ),
        store_id=row.store_id,
        koc_id=row.koc_id,
        koc_active=bool(row.koc_active),
    )


async def consumer_koc(session: AsyncSession, tenant_id: int, consumer_id: int) -> str | None:
    """The consumer's own KOC code, if they are a KOC (active or not: it is still their own code)."""
    code: str | None = (
        await session.execute(
            text("SELECT code FROM kocs WHERE tenant_id = :t AND consumer_id = :c"), {"t": tenant_id, "c": consumer_id}
        )
    ).scalar_one_or_none()
    return code


async def bound_koc_of(session: AsyncSession, tenant_id: int, consumer_id: int, now: datetime) -> str | None:
    """The KOC that ``consumer_id`` is actively bound to (for spotting A→B→A loops)."""
    code: str | None = (
        await session.execute(
            text(
                "SELECT k.code FROM bindings b JOIN kocs k ON k.tenant_id = b.tenant_id AND k.id = b.koc_id "
                "WHERE b.tenant_id = :t AND b.consumer_id = :c AND (b.expires_at IS NULL OR b.expires_at > :now)"
            ),
            {"t": tenant_id, "c": consumer_id, "now": now},
        )
    ).scalar_one_or_none()
    return code


async def write_binding(
    session: AsyncSession,
    tenant_id: int,
    consumer_id: int,
    binding: Binding,
    *,
    store_id: int,
    koc_id: int | None,
    previous: BindingSnapshot | None,
) -> None:
    """Store ``binding`` as the consumer's (replacing ``previous``, if any) and publish ``ConsumerBound``."""
    await session.execute(
        text(
            """
            INSERT INTO bindings (tenant_id, consumer_id, store_id, koc_id, bound_at, protected_until, expires_at,
                                  updated_at)
            VALUES (:t, :c, :s, :k, :bound, :protected, :expires, now())
            ON CONFLICT (tenant_id, consumer_id) DO UPDATE SET
              store_id = EXCLUDED.store_id, koc_id = EXCLUDED.koc_id, bound_at = EXCLUDED.bound_at,
              protected_until = EXCLUDED.protected_until, expires_at = EXCLUDED.expires_at,
              updated_at = EXCLUDED.updated_at
            """
        ),
        {
            "t": tenant_id,
            "c": consumer_id,
            "s": store_id,
            "k": koc_id,
            "bound": binding.bound_at,
            "protected": binding.protected_until,
            "expires": binding.expires_at,
        },
    )
    await publish(
        session,
        ConsumerBound(
            tenant_id=tenant_id,
            consumer_id=consumer_id,
            store_id=store_id,
            koc_id=koc_id,
            bound_at=binding.bound_at,
            previous_store_id=previous.store_id if previous else None,
            previous_koc_id=previous.koc_id if previous else None,
            previous_bound_at=previous.binding.bound_at if previous else None,
        ),
    )
