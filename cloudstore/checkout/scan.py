"""A consumer scans a product's code: authenticity, a touch for the shipped-to store, the first scanner's reward.

At most four statements for a shipped unit: one snapshot (the code with its batch, product, the store or
distributor it shipped to and that distributor's regions, the consumer's binding and whether they scanned it
before, the code and attribution policies), locking the consumer's row as every binding decision does; the
scan and the unit's counters (:func:`cloudstore.codes.service.record_scan`); the touch with the binding it
makes (:func:`cloudstore.referrals.service.record_code_touch`), carrying the analytics rows a link's touch
keeps through its events (:func:`cloudstore.analytics.maintain.code_touch_parts`); and, for the first scan
only, the reward coupon
(:func:`cloudstore.pricing.service.give_coupon`). A diverted scan by a new scanner also publishes
:class:`~cloudstore.codes.events.CodeDiverted` (the ``code.diversion`` webhook's outbox row) when an endpoint
subscribes to it. A malformed code, or one naming another tenant, costs no statement and answers exactly as a
well-formed code that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from cloudstore.analytics.maintain import code_touch_parts
from cloudstore.codes.events import CodeDiverted
from cloudstore.codes.format import parse
from cloudstore.codes.rules import outside
from cloudstore.codes.schemas import ScanCreate, ScanResult, ScanReward
from cloudstore.codes.service import policy_from, record_scan
from cloudstore.lib.events import publish
from cloudstore.lib.tables import utcnow
from cloudstore.pricing.service import give_coupon
from cloudstore.referrals.rules import Binding, binding_is_active
from cloudstore.referrals.service import record_code_touch
from cloudstore.tenancy.schemas import AttributionPolicyDoc
from cloudstore.tenancy.service import policies_from_row

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("scan_code",)

_COLUMNS = """
    c.code, c.level, c.batch_id, c.store_id, c.distributor_id AS shipped_distributor_id,
    b.batch_no, k.code AS sku, p.title AS product, s.code AS store,
    d.id AS distributor_id, d.code AS distributor, d.regions,
    (SELECT policy FROM code_policies WHERE tenant_id = :t) AS code_policy,
    EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = :t AND e.active
            AND 'code.diversion' = ANY(e.events)) AS diversion_hook
"""
_CODE_JOINS = """
    LEFT JOIN code_batches b ON b.tenant_id = :t AND b.id = c.batch_id
    LEFT JOIN skus k ON k.tenant_id = :t AND k.id = b.sku_id
    LEFT JOIN products p ON p.tenant_id = :t AND p.id = k.product_id
    LEFT JOIN stores s ON s.tenant_id = :t AND s.id = c.store_id
    LEFT JOIN distributors d ON d.tenant_id = :t AND d.id = COALESCE(c.distributor_id, s.distributor_id)
"""
# A signed-in consumer's scan: their row locked (binding decisions queue on it), their binding, their past scans.
_SNAPSHOT = text(
    f"""
    SELECT {_COLUMNS},
           EXISTS (SELECT 1 FROM code_scans x WHERE x.tenant_id = :t AND x.code = :code AND x.consumer_id = :c) AS seen,
           (SELECT attribution FROM tenant_policies WHERE tenant_id = :t) AS attribution,
           bs.code AS bound_store, bk.code AS bound_koc, bd.bound_at, bd.protected_until, bd.expires_at,
           bd.store_id AS bound_store_id, bd.koc_id AS bound_koc_id
    FROM consumers cn
    LEFT JOIN codes c ON c.tenant_id = :t AND c.code = :code
    {_CODE_JOINS}
    LEFT JOIN bindings bd ON bd.tenant_id = :t AND bd.consumer_id = cn.id
    LEFT JOIN stores bs ON bs.tenant_id = :t AND bs.id = bd.store_id
    LEFT JOIN kocs bk ON bk.tenant_id = :t AND bk.id = bd.koc_id
    WHERE cn.tenant_id = :t AND cn.id = :c
    FOR UPDATE OF cn
    """  # noqa: S608 (fixed fragments)
)
# A scan from the printed URL opened in a browser, signed in to nothing: counted, never a touch or a reward.
_ANONYMOUS = text(
    f"""
    SELECT {_COLUMNS}, false AS seen, NULL AS attribution
    FROM codes c
    {_CODE_JOINS}
    WHERE c.tenant_id = :t AND c.code = :code
    """  # noqa: S608 (fixed fragments)
)


def _unknown() -> ScanResult:
    return ScanResult(result="unknown", scans=0, scanners=0, diversion=False)


def _binding(row: Any) -> Binding | None:
    if row.bound_store is None:
        return None
    return Binding(
        store=row.bound_store,
        koc=row.bound_koc,
        bound_at=row.bound_at,
        protected_until=row.protected_until,
        expires_at=row.expires_at,
    )


def _attribution(row: Any) -> AttributionPolicyDoc:
    return policies_from_row((None, row.attribution, None, None)).attribution


async def scan_code(
    session: AsyncSession, tenant_id: int, consumer_id: int | None, data: ScanCreate, now: datetime | None = None
) -> ScanResult:
    """What the scanned code says about the item, with the scan's effects (see the module docstring).

    ``consumer_id`` None: the printed URL opened in a browser; the scan is counted (not as a distinct scanner),
    and neither touches a store nor earns the reward.
    """
    parsed = parse(data.code)
    if parsed is None or parsed[0] != tenant_id:
        return _unknown()
    code = parsed[1]
    snapshot = _SNAPSHOT if consumer_id is not None else _ANONYMOUS
    row = (await session.execute(snapshot, {"t": tenant_id, "c": consumer_id, "code": code})).first()
    if row is None or row.code is None:
        return _unknown()
    now = now or utcnow()  # read once the consumer is ours, like a link's touch
    shipped = row.store_id is not None or row.shipped_distributor_id is not None
    diverted = shipped and outside(data.region, row.regions or [])
    count = await record_scan(
        session,
        tenant_id,
        code,
        batch_id=row.batch_id,
        consumer_id=consumer_id,
        distributor_id=row.distributor_id,
        region=data.region,
        lat=data.lat,
        lng=data.lng,
        diverted=diverted,
        new_scanner=consumer_id is not None and not row.seen,
        now=now,
    )
    result = ScanResult(
        result="genuine" if shipped else "not_distributed",
        product=row.product,
        sku=row.sku,
        first_scanned_at=count.first_scanned_at,
        first_scan=count.first,
        scans=count.scans,
        scanners=count.scanners,
        store=row.store,
        diversion=diverted,
    )
    if not shipped or row.level != "unit" or consumer_id is None:
        return result
    policy = policy_from(row.code_policy)
    binding = _binding(row)
    if row.store_id is not None:
        binding = await record_code_touch(
            session,
            tenant_id,
            consumer_id,
            store_id=row.store_id,
            store=row.store,
            current=binding,
            policy=_attribution(row),
            bind=policy.bind_on_scan,
            now=now,
            also=lambda bound: code_touch_parts(
                store_id=row.store_id,
                at=now,
                bound=bound,
                previous_store_id=row.bound_store_id,
                previous_koc_id=row.bound_koc_id,
                previous_bound_at=row.bound_at,
            ),
        )
    if binding_is_active(binding, now):
        assert binding is not None
        result.binding = binding.store
    reward = policy.reward if count.first else None
    if reward is not None and await give_coupon(session, tenant_id, consumer_id, reward.coupon, now):
        result.reward = ScanReward(kind="coupon", coupon=reward.coupon)
    if diverted and not row.seen and row.diversion_hook:
        await publish(
            session,
            CodeDiverted(
                tenant_id=tenant_id,
                code=code,
                batch_no=row.batch_no,
                sku=row.sku,
                distributor=row.distributor,
                region=data.region or "",
                scanned_at=now,
            ),
        )
    return result
