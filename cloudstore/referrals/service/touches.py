"""Consumers opening share links: each touch is recorded, and binds (or re-binds) the consumer.

The binding decision is :func:`cloudstore.referrals.rules.apply_touch`'s; this module loads its snapshot under
the consumer's lock and writes the outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from cloudstore.lib.errors import NotFound
from cloudstore.lib.events import publish
from cloudstore.lib.tables import utcnow
from cloudstore.referrals.bindings import (
    attribution_policy,
    bound_koc_of,
    consumer_koc,
    load_binding,
    lock_consumer,
    write_binding,
)
from cloudstore.referrals.events import TouchRecorded
from cloudstore.referrals.rules import Touch, apply_touch
from cloudstore.referrals.schemas import BindingRead, TouchCreate, TouchResult
from cloudstore.tenancy.service import load_policies

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("TouchService",)

_TOUCHED = text(
    """
    SELECT s.id AS store_id, s.code AS store_code,
           k.id AS koc_id, k.code AS koc_code, k.store_id AS koc_store_id, k.active AS koc_active,
           k.consumer_id AS koc_consumer_id
    FROM stores s LEFT JOIN kocs k ON k.tenant_id = s.tenant_id AND k.code = :koc
    WHERE s.tenant_id = :t AND s.code = :store AND s.status = 'active'
    """
)
# The same without a KOC: Citus cannot plan an outer join whose condition is bound to NULL.
_TOUCHED_NO_KOC = text(
    """
    SELECT s.id AS store_id, s.code AS store_code,
           CAST(NULL AS bigint) AS koc_id, CAST(NULL AS text) AS koc_code, CAST(NULL AS bigint) AS koc_store_id,
           CAST(NULL AS boolean) AS koc_active, CAST(NULL AS bigint) AS koc_consumer_id
    FROM stores s
    WHERE s.tenant_id = :t AND s.code = :store AND s.status = 'active'
    """
)


class TouchService:
    """Consumers opening share links, and the bindings that follow."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def touch(
        self,
        tenant_id: int,
        consumer_id: int,
        data: TouchCreate,
        now: datetime | None = None,
        *,
        source: str = "link",
    ) -> TouchResult:
        """Record that the consumer opened ``data.store``'s link (with ``data.koc``'s code) and bind them.

        ``source`` says how they came: ``link`` (a share link) or ``code`` (a scanned unit's code).

        Raises:
            NotFound: no such active store, or no such active KOC of that store.
        """
        query = _TOUCHED if data.koc is not None else _TOUCHED_NO_KOC
        found = (await self.session.execute(query, {"t": tenant_id, "store": data.store, "koc": data.koc})).first()
        if found is None:
            raise NotFound("store", data.store)
        if data.koc is not None and (
            found.koc_id is None or found.koc_store_id != found.store_id or not found.koc_active
        ):
            raise NotFound("KOC", data.koc)
        koc_id = found.koc_id if data.koc is not None else None
        policy = attribution_policy((await load_policies(self.session, tenant_id)).attribution)
        await lock_consumer(self.session, tenant_id, consumer_id)
        now = now or utcnow()  # read once the consumer is ours, so touches apply in the order they hold the lock
        snapshot = await load_binding(self.session, tenant_id, consumer_id)
        own_koc = await consumer_koc(self.session, tenant_id, consumer_id)
        koc_bound_koc = (
            await bound_koc_of(self.session, tenant_id, found.koc_consumer_id, now)
            if koc_id is not None and found.koc_consumer_id is not None
            else None
        )
        decision = apply_touch(
            snapshot.binding if snapshot else None,
            Touch(store=found.store_code, koc=data.koc, at=now),
            policy,
            consumer_koc=own_koc,
            koc_bound_koc=koc_bound_koc,
        )
        binding = decision.binding
        assert binding is not None  # a touch always leaves the consumer bound
        if decision.changed:
            await write_binding(
                self.session,
                tenant_id,
                consumer_id,
                binding,
                store_id=found.store_id,
                koc_id=koc_id if binding.koc else None,
                previous=snapshot,
            )
        await self.session.execute(
            text(
                "INSERT INTO touches (tenant_id, consumer_id, store_id, koc_id, outcome, created_at) "
                "VALUES (:t, :c, :s, :k, :o, :at)"
            ),
            {"t": tenant_id, "c": consumer_id, "s": found.store_id, "k": koc_id, "o": decision.reason.value, "at": now},
        )
        await publish(
            self.session,
            TouchRecorded(
                tenant_id=tenant_id,
                consumer_id=consumer_id,
                store_id=found.store_id,
                koc_id=koc_id,
                source=source,
                at=now,
            ),
        )
        return TouchResult(
            bound_store=binding.store,
            bound_koc=binding.koc,
            protected_until=binding.protected_until,
            expires_at=binding.expires_at,
            outcome=decision.reason.value,
        )

    async def binding(self, tenant_id: int, consumer_id: int, now: datetime | None = None) -> BindingRead:
        """The consumer's binding, active or lapsed; none at all is not found."""
        snapshot = await load_binding(self.session, tenant_id, consumer_id)
        if snapshot is None:
            raise NotFound("binding")
        b = snapshot.binding
        now = now or utcnow()
        return BindingRead(
            store=b.store,
            koc=b.koc,
            bound_at=b.bound_at,
            protected_until=b.protected_until,
            expires_at=b.expires_at,
            active=b.expires_at is None or now < b.expires_at,
        )
