"""Consumers opening share links or scanning a product's code: each touch is recorded, and binds (or re-binds) the
consumer.

The binding decision is :func:`cloudstore.referrals.rules.apply_touch`'s; this module loads its snapshot under
the consumer's lock and writes the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
from cloudstore.referrals.rules import Binding, Touch, apply_touch
from cloudstore.referrals.schemas import BindingRead, TouchCreate, TouchResult
from cloudstore.tenancy.service import load_policies

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.tenancy.schemas import AttributionPolicyDoc

__all__ = ("TouchService", "record_code_touch")

_TOUCHED = text(
    """
    SELECT s.id AS store_id, s.code AS store_code,
           k.id AS koc_id, k.code AS koc_code, k.store_id AS koc_store_id, k.active AS koc_active,
           k.consumer_id AS koc_consumer_id
    FROM stores s LEFT JOIN kocs k ON k.tenant_id = s.tenant_id AND k.code = :koc
    WHERE s.tenant_id = :t AND s.code = :store AND s.status = 'active'
    """
)
# A store's own link: no KOC to join (a NULL code in the join would be a constant qual, which Citus refuses).
_TOUCHED_STORE = text(
    """
    SELECT s.id AS store_id, s.code AS store_code, NULL AS koc_id, NULL AS koc_code, NULL AS koc_store_id,
           false AS koc_active, NULL AS koc_consumer_id
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
        touched = _TOUCHED if data.koc is not None else _TOUCHED_STORE
        found = (await self.session.execute(touched, {"t": tenant_id, "store": data.store, "koc": data.koc})).first()
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


# The binding (when it changes) and the touch in one statement; a code touch carries no KOC.
_CODE_BINDING = """
    b AS (
      INSERT INTO bindings (tenant_id, consumer_id, store_id, koc_id, bound_at, protected_until, expires_at,
                            updated_at)
      VALUES (:t, :c, :s, NULL, :bound, :protected, :expires, :at)
      ON CONFLICT (tenant_id, consumer_id) DO UPDATE SET
        store_id = EXCLUDED.store_id, koc_id = EXCLUDED.koc_id, bound_at = EXCLUDED.bound_at,
        protected_until = EXCLUDED.protected_until, expires_at = EXCLUDED.expires_at,
        updated_at = EXCLUDED.updated_at
    )"""
_CODE_TOUCH = """
    INSERT INTO touches (tenant_id, consumer_id, store_id, koc_id, outcome, source, created_at)
    VALUES (:t, :c, :s, NULL, :o, 'code', :at)"""

# What rides along in a code touch's statement (common-table expressions written by the domain that owns their
# tables, and their parameters), given whether the touch changed the consumer's binding.
AlsoWrite = Callable[[bool], tuple[list[str], dict[str, Any]]]


async def record_code_touch(
    session: AsyncSession,
    tenant_id: int,
    consumer_id: int,
    *,
    store_id: int,
    store: str,
    current: Binding | None,
    policy: AttributionPolicyDoc,
    bind: bool,
    now: datetime,
    also: AlsoWrite | None = None,
) -> Binding | None:
    """A scanned product's code as a touch for the store it was shipped to (source ``code``), in one statement.

    The caller holds the consumer's row lock (as :meth:`TouchService.touch` takes it) and read ``current`` under
    it. With ``bind``, the binding follows the same rules as a store link's touch (first or last touch,
    protection, validity); without, the touch is recorded as ``not_bound`` and the binding left alone.
    ``also`` adds what other domains keep of the touch to the same statement (the scan journey's analytics
    rows: the events a link's touch publishes would each cost a statement of their own). Its parameters share
    ``t``, ``c``, ``s`` and ``at`` with the touch's. Returns the binding held afterwards (None: none).
    """
    params: dict[str, Any] = {"t": tenant_id, "c": consumer_id, "s": store_id, "at": now}
    binding = current
    if bind:
        decision = apply_touch(
            current,
            Touch(store=store, koc=None, at=now),
            attribution_policy(policy),
            consumer_koc=None,
            koc_bound_koc=None,
        )
        binding = decision.binding
        changed = decision.changed and binding is not None
        params["o"] = decision.reason.value
    else:
        changed = False
        params["o"] = "not_bound"
    ctes, extra = also(changed) if also is not None else ([], {})
    if changed:
        assert binding is not None
        ctes = [_CODE_BINDING, *ctes]
        params |= {"bound": binding.bound_at, "protected": binding.protected_until, "expires": binding.expires_at}
    sql = ("WITH " + ",\n".join(ctes) if ctes else "") + _CODE_TOUCH
    await session.execute(text(sql), {**extra, **params})
    return binding
