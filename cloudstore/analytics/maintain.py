"""Keeping the analytics rows in step with the chain's events, in the transaction that made each event.

Each subscriber is one statement (a few common-table expressions), so a payment, a refund, a touch or a
binding pays one round trip for its analytics:

- ``OrderPaid`` (after attribution has credited the order): the order's facts — goods paid (Σ line paid, after
  discounts, without the delivery fee), the part the credited store's own location ships, the commission
  booked — then the store's, the tenant's and the KOC's day, the cloud-shelf lines and the consumer's
  milestones (first, second and last paid order by payment time, whatever order the notifications arrive
  in). When the order becomes the consumer's last payment on a later day, the tenant's ``last_payers``
  moves from that day to this one. The facts row makes it run once per order.
- ``OrderRefunded`` (after the commission reversal): the goods refunded so far (Σ ``paid * refunded_qty //
  qty`` per line, as the refunds return them) and the commission now booked replace the facts row's, and the
  differences move the payment day's rows and the consumer's net goods.
- ``TouchRecorded``: the consumer's first touch (store, KOC, source) and first scan, the day's touches; and the
  tenant's next nightly recompute is queued (once per night).
- ``ConsumerBound``: the consumer's binding, the new bindings of the store's (and KOC's) day, moved from the
  previous binding's day, and the bound consumers of the stores (from the store the milestones named, so the
  counts stay those of the milestones); the KOC's own consumer has referred someone.
- A scanned product code's touch (and the binding it makes) publishes neither event: the same rows are kept by
  CTEs that ride in the touch's own statement (:func:`code_touch_parts`), so a scan stays at four statements.

The previous values a move starts from (the last payment, the bound store) are the consumer's milestones as
the statement's snapshot has them (not ``FOR UPDATE``: a locking read skips the row once the statement's own
upsert has changed it). That is exact because both events come under the consumer's row lock
(``referrals.bindings.lock_consumer``, taken by attribution before this runs, and by a touch), so no other
payment or binding of the same consumer commits between the snapshot and this transaction's end. A binding
lapsing changes no count: a lapsed binding still names its store.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import text

from cloudstore.analytics.models import TENANT_DAY_SLOTS
from cloudstore.lib.jobs import enqueue

if TYPE_CHECKING:
    from datetime import date

    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.orders.events import OrderPaid, OrderRefunded

__all__ = (
    "RECOMPUTE_JOB",
    "code_touch_parts",
    "on_consumer_bound",
    "on_order_paid",
    "on_order_refunded",
    "on_touch",
    "utc_day",
)


class TouchRecorded(Protocol):
    """What this module reads of ``referrals.events.TouchRecorded`` (referrals is not below analytics)."""

    tenant_id: int
    consumer_id: int
    store_id: int
    koc_id: int | None
    source: str
    at: datetime


class ConsumerBound(Protocol):
    """What this module reads of ``referrals.events.ConsumerBound``."""

    tenant_id: int
    consumer_id: int
    store_id: int
    koc_id: int | None
    bound_at: datetime
    previous_store_id: int | None
    previous_koc_id: int | None
    previous_bound_at: datetime | None


RECOMPUTE_JOB = "analytics.recompute"
RECOMPUTE_AT = time(2, 0)  # UTC, the quiet hours of a China-based chain (10:00 Beijing is not quiet; 02:00 UTC is)


def utc_day(at: datetime) -> date:
    """The UTC date of ``at`` (a naive time is read as UTC)."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC).date()


_COMMISSION = """
  com AS (
    SELECT COALESCE(sum(e.amount) FILTER (WHERE e.beneficiary_kind = 'store'), 0) AS store_c,
           COALESCE(sum(e.amount) FILTER (WHERE e.beneficiary_kind = 'koc'), 0) AS koc_c
    FROM ledger_entries e WHERE e.tenant_id = :t AND e.order_id = :o
  )"""

_PAID = text(
    f"""
    WITH o AS (
      SELECT o.id, o.consumer_id, COALESCE(o.credited_store_id, o.store_id) AS store_id, o.credited_koc_id AS koc_id
      FROM orders o WHERE o.tenant_id = :t AND o.id = :o
    ), l AS (
      SELECT ol.sku_id, sum(ol.amount - ol.discount) AS paid, sum(ol.qty) AS qty
      FROM order_lines ol WHERE ol.tenant_id = :t AND ol.order_id = :o GROUP BY ol.sku_id
    ), own AS (
      SELECT fl.sku_id, sum(fl.qty) AS units
      FROM fulfilments f
      JOIN fulfilment_lines fl ON fl.tenant_id = :t AND fl.fulfilment_id = f.id
      JOIN stores s ON s.tenant_id = :t AND s.location_id = f.location_id
      JOIN o ON o.store_id = s.id
      WHERE f.tenant_id = :t AND f.order_id = :o
      GROUP BY fl.sku_id
    ), split AS (
      SELECT l.sku_id, l.paid, l.qty - LEAST(COALESCE(own.units, 0), l.qty) AS cloud_units,
             l.paid * LEAST(COALESCE(own.units, 0), l.qty) / l.qty AS own_paid
      FROM l LEFT JOIN own ON own.sku_id = l.sku_id
    ), {_COMMISSION}, facts AS (
      INSERT INTO order_facts (tenant_id, order_id, consumer_id, store_id, koc_id, paid_at, day, gmv,
                               in_store_sales, cloud_shelf_sales, store_commission, koc_commission)
      SELECT :t, o.id, o.consumer_id, o.store_id, o.koc_id, :at, :day,
             (SELECT COALESCE(sum(paid), 0) FROM split), (SELECT COALESCE(sum(own_paid), 0) FROM split),
             (SELECT COALESCE(sum(paid - own_paid), 0) FROM split), com.store_c, com.koc_c
      FROM o, com
      ON CONFLICT (tenant_id, order_id) DO NOTHING
      RETURNING order_id, consumer_id, store_id, koc_id, gmv, in_store_sales, cloud_shelf_sales,
                store_commission, koc_commission
    ), prev AS (
      SELECT m.last_paid_at, CAST(m.last_paid_at AT TIME ZONE 'UTC' AS date) AS last_day FROM consumer_milestones m
      WHERE m.tenant_id = :t AND m.consumer_id = (SELECT consumer_id FROM o)
    ), last AS (
      -- the order is the consumer's first, or their last so far and on a later day than the one before
      SELECT f.consumer_id % {TENANT_DAY_SLOTS} AS slot, p.last_day FROM facts f LEFT JOIN prev p ON TRUE
      WHERE p.last_paid_at IS NULL OR (:at > p.last_paid_at AND p.last_day <> :day)
    ), tenant_day AS (
      INSERT INTO tenant_daily AS d (tenant_id, day, slot, orders, gmv, in_store_sales, cloud_shelf_sales,
                                     last_payers)
      SELECT :t, :day, f.consumer_id % {TENANT_DAY_SLOTS}, 1, f.gmv, f.in_store_sales, f.cloud_shelf_sales,
             (SELECT count(*) FROM last)
      FROM facts f
      ON CONFLICT (tenant_id, day, slot) DO UPDATE SET
        orders = d.orders + 1, gmv = d.gmv + EXCLUDED.gmv, in_store_sales = d.in_store_sales + EXCLUDED.in_store_sales,
        cloud_shelf_sales = d.cloud_shelf_sales + EXCLUDED.cloud_shelf_sales,
        last_payers = d.last_payers + EXCLUDED.last_payers
    ), last_out AS (
      UPDATE tenant_daily x SET last_payers = x.last_payers - 1
      FROM last WHERE x.tenant_id = :t AND x.day = last.last_day AND x.slot = last.slot
    ), store_day AS (
      INSERT INTO store_daily AS d (tenant_id, store_id, day, orders, gmv, in_store_sales, cloud_shelf_sales,
                                    commission)
      SELECT :t, f.store_id, :day, 1, f.gmv, f.in_store_sales, f.cloud_shelf_sales, f.store_commission FROM facts f
      ON CONFLICT (tenant_id, store_id, day) DO UPDATE SET
        orders = d.orders + 1, gmv = d.gmv + EXCLUDED.gmv, in_store_sales = d.in_store_sales + EXCLUDED.in_store_sales,
        cloud_shelf_sales = d.cloud_shelf_sales + EXCLUDED.cloud_shelf_sales,
        commission = d.commission + EXCLUDED.commission
    ), koc_day AS (
      INSERT INTO koc_daily AS d (tenant_id, koc_id, day, orders, sales, commission)
      SELECT :t, f.koc_id, :day, 1, f.gmv, f.koc_commission FROM facts f WHERE f.koc_id IS NOT NULL
      ON CONFLICT (tenant_id, koc_id, day) DO UPDATE SET
        orders = d.orders + 1, sales = d.sales + EXCLUDED.sales, commission = d.commission + EXCLUDED.commission
    ), shelf AS (
      INSERT INTO cloud_shelf_lines (tenant_id, order_id, sku_id, store_id, consumer_id, paid_at, units, goods)
      SELECT :t, f.order_id, s.sku_id, f.store_id, f.consumer_id, :at, s.cloud_units, s.paid - s.own_paid
      FROM facts f CROSS JOIN split s WHERE s.cloud_units > 0
      ON CONFLICT (tenant_id, order_id, sku_id) DO NOTHING  -- also keeps Citus from planning it as COPY (RLS)
    )
    INSERT INTO consumer_milestones AS m (tenant_id, consumer_id, first_paid_at, last_paid_at, paid_orders, net_goods)
    SELECT :t, f.consumer_id, :at, :at, 1, f.gmv FROM facts f
    ON CONFLICT (tenant_id, consumer_id) DO UPDATE SET
      first_paid_at = LEAST(m.first_paid_at, EXCLUDED.first_paid_at),
      second_paid_at = CASE WHEN m.first_paid_at IS NULL THEN NULL
                            WHEN EXCLUDED.first_paid_at < m.first_paid_at THEN m.first_paid_at
                            ELSE LEAST(m.second_paid_at, EXCLUDED.first_paid_at) END,
      last_paid_at = GREATEST(m.last_paid_at, EXCLUDED.last_paid_at),
      paid_orders = m.paid_orders + 1, net_goods = m.net_goods + EXCLUDED.net_goods
    """  # noqa: S608 - only constant SQL is spliced in
)

_REFUNDED = text(
    f"""
    WITH f AS (
      SELECT order_id, consumer_id, store_id, koc_id, day, refunds, store_commission, koc_commission
      FROM order_facts WHERE tenant_id = :t AND order_id = :o
    ), r AS (
      SELECT COALESCE(sum((amount - discount) * refunded_qty / qty), 0) AS refunds
      FROM order_lines WHERE tenant_id = :t AND order_id = :o
    ), {_COMMISSION}, d AS (
      SELECT f.consumer_id, f.store_id, f.koc_id, f.day, r.refunds, com.store_c, com.koc_c,
             r.refunds - f.refunds AS dr, com.store_c - f.store_commission AS dsc, com.koc_c - f.koc_commission AS dkc
      FROM f CROSS JOIN r CROSS JOIN com
    ), fact AS (
      UPDATE order_facts x SET refunds = d.refunds, store_commission = d.store_c, koc_commission = d.koc_c
      FROM d WHERE x.tenant_id = :t AND x.order_id = :o
    ), store_day AS (
      UPDATE store_daily x SET refunds = x.refunds + d.dr, commission = x.commission + d.dsc
      FROM d WHERE x.tenant_id = :t AND x.store_id = d.store_id AND x.day = d.day
    ), tenant_day AS (
      UPDATE tenant_daily x SET refunds = x.refunds + d.dr
      FROM d WHERE x.tenant_id = :t AND x.day = d.day AND x.slot = d.consumer_id % {TENANT_DAY_SLOTS}
    ), koc_day AS (
      UPDATE koc_daily x SET sales = x.sales - d.dr, commission = x.commission + d.dkc
      FROM d WHERE x.tenant_id = :t AND x.koc_id = d.koc_id AND x.day = d.day
    )
    UPDATE consumer_milestones x SET net_goods = x.net_goods - d.dr
    FROM d WHERE x.tenant_id = :t AND x.consumer_id = d.consumer_id
    """  # noqa: S608 - only constant SQL is spliced in
)

_TOUCH = """
    WITH m AS (
      INSERT INTO consumer_milestones AS m (tenant_id, consumer_id, first_touch_at, first_touch_store_id,
                                            first_touch_koc_id, first_touch_source, first_scan_at, touches)
      VALUES (:t, :c, :at, :s, :k, :src, :scan, 1)
      ON CONFLICT (tenant_id, consumer_id) DO UPDATE SET
        first_touch_store_id = CASE WHEN m.first_touch_at IS NULL THEN EXCLUDED.first_touch_store_id
                                    ELSE m.first_touch_store_id END,
        first_touch_koc_id = CASE WHEN m.first_touch_at IS NULL THEN EXCLUDED.first_touch_koc_id
                                  ELSE m.first_touch_koc_id END,
        first_touch_source = CASE WHEN m.first_touch_at IS NULL THEN EXCLUDED.first_touch_source
                                  ELSE m.first_touch_source END,
        first_touch_at = COALESCE(m.first_touch_at, EXCLUDED.first_touch_at),
        first_scan_at = COALESCE(m.first_scan_at, EXCLUDED.first_scan_at),
        touches = m.touches + 1
    ), store_day AS (
      INSERT INTO store_daily AS d (tenant_id, store_id, day, touches) VALUES (:t, :s, :day, 1)
      ON CONFLICT (tenant_id, store_id, day) DO UPDATE SET touches = d.touches + 1
    )
    """
_TOUCH_KOC_DAY = """
    INSERT INTO koc_daily AS d (tenant_id, koc_id, day, touches) VALUES (:t, :k, :day, 1)
    ON CONFLICT (tenant_id, koc_id, day) DO UPDATE SET touches = d.touches + 1
    """
_TOUCH_KOC = text(_TOUCH + _TOUCH_KOC_DAY)
_TOUCH_NO_KOC = text(_TOUCH + "SELECT 1")


async def on_order_paid(session: AsyncSession, event: OrderPaid) -> None:
    """The paid order's facts, its store's and KOC's day, its cloud-shelf lines, the consumer's milestones."""
    await session.execute(
        _PAID, {"t": event.tenant_id, "o": event.order_id, "at": event.paid_at, "day": utc_day(event.paid_at)}
    )


async def on_order_refunded(session: AsyncSession, event: OrderRefunded) -> None:
    """Bring the order's refunds and commission, and the rows that sum them, to what is now recorded."""
    await session.execute(_REFUNDED, {"t": event.tenant_id, "o": event.order_id})


def next_recompute(at: datetime) -> datetime:
    """The first nightly recompute time after ``at``."""
    day = utc_day(at)
    run = datetime.combine(day, RECOMPUTE_AT, tzinfo=UTC)
    return run if run > at else run + timedelta(days=1)


async def schedule_recompute(session: AsyncSession, tenant_id: int, at: datetime) -> None:
    """Queue the tenant's next nightly recompute (once per night, whoever asks)."""
    run_at = next_recompute(at)
    await enqueue(
        session,
        tenant_id=tenant_id,
        kind=RECOMPUTE_JOB,
        payload={},
        run_at=run_at,
        dedupe_key=f"{RECOMPUTE_JOB}:{run_at.date().isoformat()}",
    )


async def on_touch(session: AsyncSession, event: TouchRecorded) -> None:
    """The consumer's first touch and scan, the touch's day for its store and KOC; the next recompute queued."""
    params: dict[str, Any] = {
        "t": event.tenant_id,
        "c": event.consumer_id,
        "s": event.store_id,
        "k": event.koc_id,
        "src": event.source,
        "scan": event.at if event.source == "code" else None,
        "at": event.at,
        "day": utc_day(event.at),
    }
    await session.execute(_TOUCH_KOC if event.koc_id is not None else _TOUCH_NO_KOC, params)
    await schedule_recompute(session, event.tenant_id, event.at)


def _moves(kind: str, new: int | None, new_day: date, old: int | None, old_day: date | None) -> list[str]:
    """The CTEs moving one new binding from the previous (id, day) to the new one, for stores or KOCs."""
    table, key, column = (
        ("store_daily", "store_id", "new_bindings") if kind == "store" else ("koc_daily", "koc_id", "bindings")
    )
    if (new, new_day) == (old, old_day):
        return []
    parts = []
    if old is not None:
        parts.append(
            f"{kind}_out AS (UPDATE {table} SET {column} = {column} - 1 "  # noqa: S608 - constant names
            f"WHERE tenant_id = :t AND {key} = :{kind}_old AND day = :old_day)"
        )
    if new is not None:
        parts.append(
            f"{kind}_in AS (INSERT INTO {table} AS d (tenant_id, {key}, day, {column}) "  # noqa: S608
            f"VALUES (:t, :{kind}_new, :day, 1) ON CONFLICT (tenant_id, {key}, day) "
            f"DO UPDATE SET {column} = d.{column} + 1)"
        )
    return parts


_BOUND_TOTALS = """
    bound_before AS (
      SELECT bound_store_id FROM consumer_milestones WHERE tenant_id = :t AND consumer_id = :c
    ), bound_out AS (
      UPDATE store_totals x SET bound_consumers = x.bound_consumers - 1
      FROM bound_before b WHERE x.tenant_id = :t AND x.store_id = b.bound_store_id AND b.bound_store_id <> :store_new
    ), bound_in AS (
      INSERT INTO store_totals AS x (tenant_id, store_id, bound_consumers)
      SELECT :t, :store_new, 1 WHERE NOT EXISTS (SELECT 1 FROM bound_before WHERE bound_store_id = :store_new)
      ON CONFLICT (tenant_id, store_id) DO UPDATE SET bound_consumers = x.bound_consumers + 1
    )"""
_BOUND = (
    _BOUND_TOTALS  # noqa: S608 - constant SQL
    + """, m AS (
      INSERT INTO consumer_milestones AS m (tenant_id, consumer_id, bound_store_id, bound_koc_id, bound_at,
                                            first_bound_at)
      VALUES (:t, :c, :store_new, :koc_new, :at, :at)
      ON CONFLICT (tenant_id, consumer_id) DO UPDATE SET
        bound_store_id = EXCLUDED.bound_store_id, bound_koc_id = EXCLUDED.bound_koc_id, bound_at = EXCLUDED.bound_at,
        first_bound_at = COALESCE(m.first_bound_at, EXCLUDED.first_bound_at)
    )"""
)
# The KOC's own consumer (if the KOC is one, and not the consumer just bound) has now referred someone.
_REFERRED = """
    INSERT INTO consumer_milestones AS m (tenant_id, consumer_id, first_referral_at)
    SELECT :t, k.consumer_id, :at FROM kocs k
    WHERE k.tenant_id = :t AND k.id = :koc_new AND k.consumer_id IS NOT NULL AND k.consumer_id <> :c
    ON CONFLICT (tenant_id, consumer_id) DO UPDATE SET
      first_referral_at = COALESCE(m.first_referral_at, EXCLUDED.first_referral_at)
    """


async def on_consumer_bound(session: AsyncSession, event: ConsumerBound) -> None:
    """Mirror the binding, move its new-binding count to the new store's (and KOC's) day, mark the referrer."""
    day = utc_day(event.bound_at)
    old_day = utc_day(event.previous_bound_at) if event.previous_bound_at is not None else None
    ctes = [
        _BOUND,
        *_moves("store", event.store_id, day, event.previous_store_id, old_day),
        *_moves("koc", event.koc_id, day, event.previous_koc_id, old_day),
    ]
    tail = _REFERRED if event.koc_id is not None else "SELECT 1"
    await session.execute(
        text("WITH " + ",\n".join(ctes) + "\n" + tail),
        {
            "t": event.tenant_id,
            "c": event.consumer_id,
            "store_new": event.store_id,
            "koc_new": event.koc_id,
            "store_old": event.previous_store_id,
            "koc_old": event.previous_koc_id,
            "at": event.bound_at,
            "day": day,
            "old_day": old_day,
        },
    )


# A scanned code's touch (source ``code``, no KOC) and, when it changed the binding, the binding: the same rows
# ``on_touch`` and ``on_consumer_bound`` keep, as common-table expressions that ride in the touch's own
# statement (``referrals.service.record_code_touch``), so a scan spends no statement of its own on them. One
# upsert each of the consumer's milestones and the store's day, since a statement may change a row once.
_CODE_MILESTONE = """
    code_m AS (
      INSERT INTO consumer_milestones AS m (tenant_id, consumer_id, first_touch_at, first_touch_store_id,
                                            first_touch_source, first_scan_at, touches{bound_columns})
      VALUES (:t, :c, :at, :s, 'code', :at, 1{bound_values})
      ON CONFLICT (tenant_id, consumer_id) DO UPDATE SET
        first_touch_store_id = CASE WHEN m.first_touch_at IS NULL THEN EXCLUDED.first_touch_store_id
                                    ELSE m.first_touch_store_id END,
        first_touch_koc_id = CASE WHEN m.first_touch_at IS NULL THEN NULL ELSE m.first_touch_koc_id END,
        first_touch_source = CASE WHEN m.first_touch_at IS NULL THEN EXCLUDED.first_touch_source
                                  ELSE m.first_touch_source END,
        first_touch_at = COALESCE(m.first_touch_at, EXCLUDED.first_touch_at),
        first_scan_at = COALESCE(m.first_scan_at, EXCLUDED.first_scan_at),
        touches = m.touches + 1{bound_updates}
    ), code_day AS (
      INSERT INTO store_daily AS d (tenant_id, store_id, day, touches, new_bindings) VALUES (:t, :s, :day, 1, :nb)
      ON CONFLICT (tenant_id, store_id, day) DO UPDATE SET
        touches = d.touches + 1, new_bindings = d.new_bindings + EXCLUDED.new_bindings
    )"""
_CODE_BOUND_COLUMNS = ", bound_store_id, bound_koc_id, bound_at, first_bound_at"
_CODE_BOUND_VALUES = ", :s, NULL, :at, :at"
_CODE_BOUND_UPDATES = """,
        bound_store_id = EXCLUDED.bound_store_id, bound_koc_id = NULL, bound_at = EXCLUDED.bound_at,
        first_bound_at = COALESCE(m.first_bound_at, EXCLUDED.first_bound_at)"""


def code_touch_parts(
    *,
    store_id: int,
    at: datetime,
    bound: bool,
    previous_store_id: int | None,
    previous_koc_id: int | None,
    previous_bound_at: datetime | None,
) -> tuple[list[str], dict[str, Any]]:
    """The analytics of a scanned code's touch at ``store_id`` (``bound``: it bound the consumer there, replacing
    the previous binding), as CTEs and parameters for the touch's statement (which binds ``t``, ``c``, ``s``,
    ``at``).

    The nightly recompute is not queued from here (a link's touch, a payment or HQ queue it).
    """
    day = utc_day(at)
    old_day = utc_day(previous_bound_at) if previous_bound_at is not None else None
    moved = bound and (store_id, day) != (previous_store_id, old_day)
    if bound:
        milestone = _CODE_MILESTONE.format(
            bound_columns=_CODE_BOUND_COLUMNS, bound_values=_CODE_BOUND_VALUES, bound_updates=_CODE_BOUND_UPDATES
        )
    else:
        milestone = _CODE_MILESTONE.format(bound_columns="", bound_values="", bound_updates="")
    # The stores' totals read the milestones before their upsert: first, because Citus runs a modifying
    # statement's CTEs one after the other, each seeing the ones before it (PostgreSQL gives all one snapshot).
    ctes = [_BOUND_TOTALS, milestone] if bound else [milestone]
    if moved:
        ctes += _moves("store", None, day, previous_store_id, old_day)
    if bound:
        ctes += _moves("koc", None, day, previous_koc_id, old_day)
    params: dict[str, Any] = {"day": day, "nb": 1 if moved else 0, "store_new": store_id}
    if moved and previous_store_id is not None:
        params |= {"store_old": previous_store_id, "old_day": old_day}
    if bound and previous_koc_id is not None:
        params |= {"koc_old": previous_koc_id, "old_day": old_day}
    return ctes, params
