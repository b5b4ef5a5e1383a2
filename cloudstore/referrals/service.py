"""KOCs, touches and bindings; and the order events that attribute orders and book their commission.

The binding and commission decisions are made by :mod:`cloudstore.referrals.rules`; this module loads the
snapshot each decision needs and writes the outcome back. Nothing here commits: routes run in the request's
transaction, subscribers in the order's, the release job in the worker's.

How the order events are handled (see also :mod:`cloudstore.referrals.booking`):

- ``OrderPaid`` attributes the order (``rules.attribute``), renews or creates the consumer's binding, fixes
  the commission terms and books ``pending`` entries.
- ``OrderCompleted`` queues ``referrals.release`` for ``completed_at + frozen_days``; it moves the order's
  ``pending`` entries to ``available``.
- ``OrderRefunded`` books the reversal that brings the order's ledger to the rules applied to what is still
  paid.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.errors import Conflict, NotFound, ValidationFailed
from cloudstore.lib.jobs import JobContext
from cloudstore.lib.paging import decode_cursor, encode_cursor
from cloudstore.lib.tables import utcnow
from cloudstore.orders.events import OrderCompleted, OrderPaid, OrderRefunded
from cloudstore.referrals import booking
from cloudstore.referrals.bindings import (
    attribution_policy,
    bound_koc_of,
    consumer_koc,
    load_binding,
    lock_consumer,
    write_binding,
)
from cloudstore.referrals.rules import Touch, apply_touch
from cloudstore.referrals.schemas import (
    AttributionRead,
    BindingRead,
    CommissionRead,
    KocCreate,
    KocFileEntry,
    KocPage,
    KocRead,
    KocUpdate,
    TouchCreate,
    TouchResult,
)
from cloudstore.stores.links import share_links
from cloudstore.tenancy.service import load_policies
from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile

if TYPE_CHECKING:
    from sqlalchemy.engine import Row
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings

__all__ = (
    "KocService",
    "TouchService",
    "apply_kocs",
    "new_koc_code",
    "on_order_completed",
    "on_order_paid",
    "on_order_refunded",
    "order_attribution",
    "release_commission",
)

_CODE_ATTEMPTS = 8


def new_koc_code() -> str:
    """A fresh KOC code: ``K`` and 8 base32 characters (40 random bits), URL-safe and easy to read out."""
    return "K" + base64.b32encode(secrets.token_bytes(5)).decode()


# --- KOCs ------------------------------------------------------------------------------------------------------

_KOC_COLUMNS = """
    SELECT k.id, k.code, k.name, k.phone, k.consumer_id, k.active, k.created_at, s.code AS store_code,
      (SELECT count(*) FROM touches t WHERE t.tenant_id = k.tenant_id AND t.koc_id = k.id
         AND t.outcome NOT IN ('self_referral', 'loop')) AS touches,
      (SELECT count(*) FROM orders o WHERE o.tenant_id = k.tenant_id AND o.credited_koc_id = k.id) AS orders,
      (SELECT CAST(COALESCE(sum(l.unit_price * (l.qty - l.refunded_qty)), 0) AS bigint)
         FROM orders o JOIN order_lines l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
         WHERE o.tenant_id = k.tenant_id AND o.credited_koc_id = k.id) AS sales,
      (SELECT CAST(COALESCE(sum(e.amount), 0) AS bigint) FROM ledger_entries e
         WHERE e.tenant_id = k.tenant_id AND e.beneficiary_kind = 'koc' AND e.beneficiary_id = k.id) AS earnings
    FROM kocs k JOIN stores s ON s.tenant_id = k.tenant_id AND s.id = k.store_id
    WHERE k.tenant_id = :t AND k.store_id = :s
"""


class KocService:
    """A store's KOCs: registration, links, and what each brought."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def _read(self, tenant: str, row: Row[Any]) -> KocRead:
        links = share_links(self.settings, tenant, row.store_code, row.code)
        return KocRead(
            code=row.code,
            name=row.name,
            phone=row.phone,
            consumer_id=row.consumer_id,
            active=row.active,
            share_url=links.h5_url,
            qr_url=f"{self.settings.public_base_url.rstrip('/')}/v1/store/qr?{urlencode({'koc': row.code})}",
            miniprogram_path=links.miniprogram_path,
            touches=int(row.touches),
            orders=int(row.orders),
            sales=int(row.sales),
            earnings=int(row.earnings),
            created_at=row.created_at,
        )

    async def _row(self, tenant_id: int, store_id: int, code: str) -> Row[Any]:
        row = (
            await self.session.execute(
                text(_KOC_COLUMNS + " AND k.code = :c"), {"t": tenant_id, "s": store_id, "c": code}
            )
        ).first()
        if row is None:
            raise NotFound("KOC", code)
        return row

    async def create(self, tenant_id: int, tenant: str, store_id: int, data: KocCreate) -> KocRead:
        """Register a KOC for the store under a fresh code.

        Raises:
            ValidationFailed: ``consumer_id`` is not a consumer of this tenant.
            Conflict: that consumer is already a KOC.
        """
        if data.consumer_id is not None:
            await self._check_consumer(tenant_id, data.consumer_id)
        code = await self._insert(tenant_id, store_id, data)
        return self._read(tenant, await self._row(tenant_id, store_id, code))

    async def _check_consumer(self, tenant_id: int, consumer_id: int) -> None:
        row = (
            await self.session.execute(
                text(
                    "SELECT c.id, k.code FROM consumers c "
                    "LEFT JOIN kocs k ON k.tenant_id = c.tenant_id AND k.consumer_id = c.id "
                    "WHERE c.tenant_id = :t AND c.id = :c"
                ),
                {"t": tenant_id, "c": consumer_id},
            )
        ).first()
        if row is None:
            raise ValidationFailed(f"consumer {consumer_id} does not exist")
        if row.code is not None:
            raise Conflict(f"consumer {consumer_id} is already a KOC")

    async def _insert(self, tenant_id: int, store_id: int, data: KocCreate) -> str:
        for _ in range(_CODE_ATTEMPTS):
            code = new_koc_code()
            try:
                async with self.session.begin_nested():
                    await self.session.execute(
                        text(
                            "INSERT INTO kocs (tenant_id, code, store_id, name, phone, consumer_id) "
                            "VALUES (:t, :code, :s, :n, :p, :c)"
                        ),
                        {
                            "t": tenant_id,
                            "code": code,
                            "s": store_id,
                            "n": data.name,
                            "p": data.phone,
                            "c": data.consumer_id,
                        },
                    )
            except IntegrityError as exc:
                if "consumer_id" in str(exc.orig):
                    raise Conflict(f"consumer {data.consumer_id} is already a KOC") from exc
                continue  # the code is taken: draw another
            return code
        raise Conflict("could not allocate a KOC code; try again")

    async def get(self, tenant_id: int, tenant: str, store_id: int, code: str) -> KocRead:
        """One of the store's KOCs; another store's is not found."""
        return self._read(tenant, await self._row(tenant_id, store_id, code))

    async def list(self, tenant_id: int, tenant: str, store_id: int, *, cursor: str | None, limit: int) -> KocPage:
        """The store's KOCs in registration order, with their statistics."""
        key = decode_cursor(cursor, int)
        rows = (
            await self.session.execute(
                text(_KOC_COLUMNS + " AND k.id > :after ORDER BY k.id LIMIT :n"),
                {"t": tenant_id, "s": store_id, "after": key[0] if key else 0, "n": limit + 1},
            )
        ).all()
        items = [self._read(tenant, r) for r in rows[:limit]]
        return KocPage(items=items, next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)

    async def update(self, tenant_id: int, tenant: str, store_id: int, code: str, data: KocUpdate) -> KocRead:
        """Change a KOC's name or phone, or (de)activate it."""
        row = await self._row(tenant_id, store_id, code)
        given = {f: v for f in data.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
        if given:
            sets = ", ".join(f"{f} = :{f}" for f in given)  # field names come from the Struct, not the client
            await self.session.execute(
                text(f"UPDATE kocs SET {sets} WHERE tenant_id = :t AND id = :i"),  # noqa: S608
                {**given, "t": tenant_id, "i": row.id},
            )
        return self._read(tenant, await self._row(tenant_id, store_id, code))


# --- touches and bindings ----------------------------------------------------------------------------------------

_TOUCHED = text(
    """
    SELECT s.id AS store_id, s.code AS store_code,
           k.id AS koc_id, k.code AS koc_code, k.store_id AS koc_store_id, k.active AS koc_active,
           k.consumer_id AS koc_consumer_id
    FROM stores s LEFT JOIN kocs k ON k.tenant_id = s.tenant_id AND k.code = :koc
    WHERE s.tenant_id = :t AND s.code = :store AND s.status = 'active'
    """
)


class TouchService:
    """Consumers opening share links, and the bindings that follow."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def touch(
        self, tenant_id: int, consumer_id: int, data: TouchCreate, now: datetime | None = None
    ) -> TouchResult:
        """Record that the consumer opened ``data.store``'s link (with ``data.koc``'s code) and bind them.

        Raises:
            NotFound: no such active store, or no such active KOC of that store.
        """
        found = (await self.session.execute(_TOUCHED, {"t": tenant_id, "store": data.store, "koc": data.koc})).first()
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
            )
        await self.session.execute(
            text(
                "INSERT INTO touches (tenant_id, consumer_id, store_id, koc_id, outcome, created_at) "
                "VALUES (:t, :c, :s, :k, :o, :at)"
            ),
            {"t": tenant_id, "c": consumer_id, "s": found.store_id, "k": koc_id, "o": decision.reason.value, "at": now},
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


# --- order events --------------------------------------------------------------------------------------------------


async def on_order_paid(session: AsyncSession, event: OrderPaid) -> None:
    """Attribute the paid order, renew (or create) the binding, and book pending commission."""
    await booking.book_paid(session, event)


async def on_order_completed(session: AsyncSession, event: OrderCompleted) -> None:
    """Queue the release of the order's commission for when its after-sales window closes."""
    await booking.schedule_release(session, event)


async def on_order_refunded(session: AsyncSession, event: OrderRefunded) -> None:
    """Book the reversal that matches what is still paid."""
    await booking.book_refund(session, event)


async def release_commission(ctx: JobContext) -> None:
    """``referrals.release``: the order's pending entries become available."""
    await booking.release(ctx.session, ctx.tenant_id, int(ctx.payload["order_id"]))


async def order_attribution(
    session: AsyncSession, tenant_id: int, order_id: int
) -> tuple[AttributionRead, list[CommissionRead]]:
    """Who the order is credited to and its ledger entries in booking order (for ``GET /v1/hq/orders/…``).

    Raises:
        NotFound: no such order in this tenant.
    """
    row = (
        await session.execute(
            text(
                """
                SELECT s.code AS store, d.code AS distributor, k.code AS koc, o.attribution_source AS source
                FROM orders o
                LEFT JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = o.credited_store_id
                LEFT JOIN distributors d ON d.tenant_id = o.tenant_id AND d.id = o.credited_distributor_id
                LEFT JOIN kocs k ON k.tenant_id = o.tenant_id AND k.id = o.credited_koc_id
                WHERE o.tenant_id = :t AND o.id = :o
                """
            ),
            {"t": tenant_id, "o": order_id},
        )
    ).first()
    if row is None:
        raise NotFound("order")
    entries = (
        await session.execute(
            text(
                "SELECT beneficiary_kind, beneficiary_code, amount, status, kind, created_at FROM ledger_entries "
                "WHERE tenant_id = :t AND order_id = :o ORDER BY id"
            ),
            {"t": tenant_id, "o": order_id},
        )
    ).all()
    return (
        AttributionRead(store=row.store, distributor=row.distributor, koc=row.koc, source=row.source),
        [
            CommissionRead(
                beneficiary_kind=e.beneficiary_kind,
                beneficiary=e.beneficiary_code,
                amount=e.amount,
                status=e.status,
                kind=e.kind,
                created_at=e.created_at,
            )
            for e in entries
        ],
    )


# --- tenant files --------------------------------------------------------------------------------------------------


async def apply_kocs(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Create or update the file's KOCs, matched by code (a file names its KOCs' codes so links stay stable)."""
    del settings
    for i, raw in enumerate(doc.kocs):
        try:
            entry = msgspec.convert(raw, KocFileEntry)
        except msgspec.ValidationError as exc:
            raise ValidationFailed(f"tenant file: kocs[{i}]: {exc}") from exc
        store_id = (
            await session.execute(
                text("SELECT id FROM stores WHERE tenant_id = :t AND code = :c"), {"t": tenant_id, "c": entry.store}
            )
        ).scalar_one_or_none()
        if store_id is None:
            raise ValidationFailed(f"tenant file: kocs[{i}] ({entry.code}): store {entry.store!r} does not exist")
        values = {"t": tenant_id, "c": entry.code, "s": store_id, "n": entry.name, "p": entry.phone, "a": entry.active}
        current = (
            await session.execute(
                text("SELECT store_id, name, phone, active FROM kocs WHERE tenant_id = :t AND code = :c"), values
            )
        ).first()
        if current is None:
            await session.execute(
                text(
                    "INSERT INTO kocs (tenant_id, code, store_id, name, phone, active) VALUES (:t, :c, :s, :n, :p, :a)"
                ),
                values,
            )
            report.count("kocs", "created")
        elif tuple(current) == (store_id, entry.name, entry.phone, entry.active):
            report.count("kocs", "unchanged")
        else:
            await session.execute(
                text(
                    "UPDATE kocs SET store_id = :s, name = :n, phone = :p, active = :a "
                    "WHERE tenant_id = :t AND code = :c"
                ),
                values,
            )
            report.count("kocs", "updated")
