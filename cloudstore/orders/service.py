"""Placing, reading, cancelling and fulfilling orders.

Placing an order reads one snapshot (the storefront, the SKUs and their prices, the candidate locations),
locks the candidate stock rows in key order (so concurrent orders queue instead of deadlocking), asks the
pure routing engine for a plan on those fresh numbers, and reserves exactly what the plan takes. Either
every line is reserved or the transaction rolls back with the list of short SKUs.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.db import insert_rows
from cloudstore.lib.errors import InsufficientStock, InvalidState, NotFound, ValidationFailed
from cloudstore.lib.jobs import JobContext, enqueue
from cloudstore.orders.events import FulfilmentMoved, OrderClosed, OrderCompleted, OrderPlaced, publish
from cloudstore.orders.schemas import (
    FulfilmentLineRead,
    FulfilmentRead,
    OrderCreate,
    OrderCreated,
    OrderLineRead,
    OrderRead,
    OrderSummary,
    Shipment,
    TraceRead,
)
from cloudstore.routing.engine import (
    Candidate,
    Destination,
    OrderLine,
    RoutingPlan,
    RoutingPolicy,
    Tier,
    plan_route,
    region_served,
)
from cloudstore.tenancy.service import policies_from_row

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.auth.tokens import Principal
    from cloudstore.tenancy.service import Policies

__all__ = ("OrderService", "close_order", "release_reservations")

_SNAPSHOT = text(
    """
    WITH origin AS (
      SELECT s.id, s.code, s.location_id, s.region, s.delivery_radius_km, s.pickup, s.distributor_id,
             l.lat, l.lng, l.status AS location_status
      FROM stores s JOIN locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
      WHERE s.tenant_id = :t AND s.status = 'active' AND s.id = COALESCE(
        (SELECT id FROM stores WHERE tenant_id = :t AND code = :store),
        (SELECT b.store_id FROM bindings b WHERE b.tenant_id = :t AND b.consumer_id = :c
           AND CAST(:store AS text) IS NULL AND (b.expires_at IS NULL OR b.expires_at > now())))
    )
    SELECT
      (SELECT row_to_json(origin) FROM origin) AS origin,
      (SELECT json_agg(json_build_object(
          'id', k.id, 'code', k.code, 'spec', k.spec, 'product_id', p.id, 'product', p.code, 'title', p.title,
          'category', p.category, 'price', COALESCE(sp.price, k.price),
          'sellable', k.active AND p.status = 'published'))
       FROM skus k JOIN products p ON p.tenant_id = k.tenant_id AND p.id = k.product_id
       LEFT JOIN store_sku_prices sp ON sp.tenant_id = k.tenant_id AND sp.sku_id = k.id
            AND sp.store_id = (SELECT id FROM origin)
       WHERE k.tenant_id = :t AND k.code = ANY(CAST(:skus AS text[]))) AS skus,
      (SELECT json_agg(json_build_object('id', l.id, 'code', l.code, 'kind', l.kind, 'lat', l.lat, 'lng', l.lng,
                                         'regions', l.regions))
       FROM locations l
       WHERE l.tenant_id = :t AND l.status = 'active' AND l.kind IN ('regional', 'central')) AS warehouses,
      (SELECT json_build_object('id', k.id, 'store_id', k.store_id)
       FROM kocs k WHERE k.tenant_id = :t AND k.code = :koc AND k.active) AS koc,
      (SELECT json_build_array(p.routing, p.attribution, p.commission, p.orders)
       FROM tenant_policies p WHERE p.tenant_id = :t) AS policies
    """
)

_READ_STOCK = text(
    """
    SELECT location_id, sku_id, on_hand - reserved AS available
    FROM stock_levels
    WHERE tenant_id = :t AND location_id = ANY(CAST(:locs AS bigint[])) AND sku_id = ANY(CAST(:skus AS bigint[]))
    """
)

# The same rows, locked in key order so concurrent orders queue instead of deadlocking.
_LOCK_STOCK = text(
    """
    SELECT location_id, sku_id, on_hand - reserved AS available
    FROM stock_levels
    WHERE tenant_id = :t AND location_id = ANY(CAST(:locs AS bigint[])) AND sku_id = ANY(CAST(:skus AS bigint[]))
    ORDER BY location_id, sku_id
    FOR NO KEY UPDATE
    """
)

_LOCK_PLANNED = text(
    """
    SELECT sl.location_id, sl.sku_id, sl.on_hand - sl.reserved - v.qty AS left_after
    FROM stock_levels sl
    JOIN unnest(CAST(:locs AS bigint[]), CAST(:skus AS bigint[]), CAST(:qtys AS bigint[]))
         AS v(location_id, sku_id, qty)
      ON sl.location_id = v.location_id AND sl.sku_id = v.sku_id
    WHERE sl.tenant_id = :t
    ORDER BY sl.location_id, sl.sku_id
    FOR NO KEY UPDATE OF sl
    """
)

_RESERVE = text(
    """
    UPDATE stock_levels sl SET reserved = sl.reserved + v.qty, updated_at = now()
    FROM unnest(CAST(:locs AS bigint[]), CAST(:skus AS bigint[]), CAST(:qtys AS bigint[]))
         AS v(location_id, sku_id, qty)
    WHERE sl.tenant_id = :t AND sl.location_id = v.location_id AND sl.sku_id = v.sku_id
      AND sl.on_hand - sl.reserved >= v.qty
    """
)

_INSERT_ORDER = text(
    """
    INSERT INTO orders (tenant_id, order_no, consumer_id, store_id, koc_id, via_link, mode, delivery, goods_total,
                        total, routing_trace, expires_at)
    VALUES (:t, :order_no, :c, :store_id, :koc_id, :via_link, :mode, CAST(:delivery AS jsonb), :goods, :total,
            CAST(:trace AS jsonb), :expires_at)
    RETURNING id
    """
)

_LINE_COLUMNS = (
    "tenant_id",
    "order_id",
    "line_no",
    "sku_id",
    "product_id",
    "sku_code",
    "product_code",
    "title",
    "spec",
    "category",
    "qty",
    "unit_price",
    "amount",
)


_MOVEMENT_COLUMNS = ("tenant_id", "location_id", "sku_id", "delta", "on_hand_after", "reason", "reference", "actor")
_FULFILMENT_COLUMNS = ("tenant_id", "order_id", "location_id", "kind")
_FULFILMENT_LINE_COLUMNS = ("tenant_id", "fulfilment_id", "sku_id", "qty")


class _Sku(msgspec.Struct):
    id: int
    code: str
    spec: str
    product_id: int
    product: str
    title: str
    category: str
    price: int
    sellable: bool


class _Origin(msgspec.Struct):
    id: int
    code: str
    location_id: int
    region: str
    delivery_radius_km: float | None
    pickup: bool
    distributor_id: int | None
    lat: float
    lng: float
    location_status: str


class _Warehouse(msgspec.Struct):
    id: int
    code: str
    kind: str
    lat: float
    lng: float
    regions: list[str]


class _Koc(msgspec.Struct):
    id: int
    store_id: int


def _reservation(
    plan: RoutingPlan, locations: dict[str, int], skus: dict[str, _Sku]
) -> tuple[list[int], list[int], list[int]]:
    """(location ids, sku ids, quantities) the plan takes, in key order."""
    rows = sorted(
        (locations[shipment.location], skus[line.sku].id, line.qty)
        for shipment in plan.shipments
        for line in shipment.lines
    )
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _new_order_no(now: datetime) -> str:
    return f"{now:%Y%m%d}{secrets.randbelow(10**10):010d}"


def _routing_policy(policies: Policies) -> RoutingPolicy:
    doc = policies.routing
    return RoutingPolicy(
        tier_order=tuple(Tier(t) for t in doc.tier_order),
        max_shipments=doc.max_shipments,
        allow_line_split=doc.allow_line_split,
        default_radius_km=doc.default_radius_km,
        ship_to_store=doc.ship_to_store,
    )


def _check_delivery(data: OrderCreate) -> None:
    d = data.delivery
    if d.mode == "delivery":
        missing = [f for f in ("region", "lat", "lng", "address", "contact", "phone") if getattr(d, f) is None]
        if missing:
            raise ValidationFailed(f"delivery needs {', '.join(missing)}")


class OrderService:
    """Orders of one tenant."""

    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def place(self, consumer_id: int, data: OrderCreate, now: datetime | None = None) -> OrderCreated:
        """Route the order, reserve its stock atomically, and record it as waiting for payment.

        The plan is made on an unlocked read of the stock and the order rows are written first; the planned
        stock rows are then locked (in key order) and reserved just before the transaction commits, so a hot
        row is held for as short a time as possible. If another order took the stock in between, everything
        since the plan is rolled back and the order is planned again on locked, fresh numbers.
        """
        now = now or datetime.now(UTC)
        _check_delivery(data)
        t = self.tenant_id
        wanted = sorted({line.sku for line in data.lines})
        snap = (
            await self.session.execute(
                _SNAPSHOT, {"t": t, "c": consumer_id, "store": data.store, "skus": wanted, "koc": data.koc}
            )
        ).one()
        policies = policies_from_row(_json(snap.policies))
        origin = self._origin(snap.origin, data)
        skus = {s.code: s for s in msgspec.convert(_json(snap.skus) or [], list[_Sku])}
        unknown = [code for code in wanted if code not in skus or not skus[code].sellable]
        if unknown:
            raise ValidationFailed(f"not for sale: {', '.join(unknown)}", errors=[{"sku": c} for c in unknown])
        koc = self._koc(snap.koc, data, origin)
        warehouses = msgspec.convert(_json(snap.warehouses) or [], list[_Warehouse])
        routing = _routing_policy(policies)
        plan, locations = await self._plan(data, origin, warehouses, skus, routing, lock=False)
        await self.session.execute(text("SAVEPOINT before_reservation"))
        created = await self._record(consumer_id, data, now, policies, origin, koc, skus, plan, locations)
        if not await self._reserve_planned(plan, locations, skus):
            # Lost a race for the stock: start again from the plan, this time planning on locked rows.
            await self.session.execute(text("ROLLBACK TO SAVEPOINT before_reservation"))
            plan, locations = await self._plan(data, origin, warehouses, skus, routing, lock=True)
            created = await self._record(consumer_id, data, now, policies, origin, koc, skus, plan, locations)
            await self._reserve(plan, locations, skus)
        placed = OrderPlaced(
            tenant_id=t, order_no=created.order_no, total=created.total, expires_at=created.expires_at, placed_at=now
        )
        await publish(self.session, placed)
        return created

    async def _reserve_planned(self, plan: RoutingPlan, locations: dict[str, int], skus: dict[str, _Sku]) -> bool:
        """Lock the planned rows and reserve them if every one still has enough; False if one does not."""
        locs, sku_ids, qtys = _reservation(plan, locations, skus)
        rows = (
            await self.session.execute(
                _LOCK_PLANNED, {"t": self.tenant_id, "locs": locs, "skus": sku_ids, "qtys": qtys}
            )
        ).all()
        if len(rows) != len(locs) or any(r.left_after < 0 for r in rows):
            return False
        await self._reserve(plan, locations, skus)
        return True

    @staticmethod
    def _origin(raw: Any, data: OrderCreate) -> _Origin:
        if raw is None:
            if data.store is None:
                raise ValidationFailed("no store given and the consumer is not bound to one")
            raise NotFound("store", data.store)
        return msgspec.convert(_json(raw), _Origin)

    @staticmethod
    def _koc(raw: Any, data: OrderCreate, origin: _Origin) -> _Koc | None:
        if data.koc is None:
            return None
        if raw is None:
            raise ValidationFailed(f"KOC {data.koc!r} does not exist")
        koc = msgspec.convert(_json(raw), _Koc)
        if koc.store_id != origin.id:
            raise ValidationFailed(f"KOC {data.koc!r} does not belong to store {origin.code!r}")
        return koc

    async def _plan(
        self,
        data: OrderCreate,
        origin: _Origin,
        warehouses: list[_Warehouse],
        skus: dict[str, _Sku],
        routing: RoutingPolicy,
        *,
        lock: bool,
    ) -> tuple[RoutingPlan, dict[str, int]]:
        d = data.delivery
        region = d.region if d.mode == "delivery" else origin.region
        # Read (or lock, in key order) the stock of every location that could serve this order, then plan on it.
        eligible = [w for w in warehouses if w.kind == "central" or region_served(w.regions, region)]
        loc_ids = sorted({origin.location_id, *(w.id for w in eligible)})
        rows = (
            await self.session.execute(
                _LOCK_STOCK if lock else _READ_STOCK,
                {"t": self.tenant_id, "locs": loc_ids, "skus": sorted(s.id for s in skus.values())},
            )
        ).all()
        by_id = {s.id: s.code for s in skus.values()}
        stock: dict[int, dict[str, int]] = defaultdict(dict)
        for row in rows:
            stock[row.location_id][by_id[row.sku_id]] = max(0, int(row.available))
        candidates = [
            Candidate(
                code=origin.code,
                tier=Tier.STORE,
                lat=origin.lat,
                lng=origin.lng,
                delivery_radius_km=origin.delivery_radius_km,
                pickup=origin.pickup,
                stock=stock.get(origin.location_id, {}) if origin.location_status == "active" else {},
            ),
            *(
                Candidate(
                    code=w.code,
                    tier=Tier(w.kind),
                    lat=w.lat,
                    lng=w.lng,
                    regions=tuple(w.regions),
                    stock=stock.get(w.id, {}),
                )
                for w in warehouses
            ),
        ]
        destination = Destination(mode=d.mode, origin_store=origin.code, region=region, lat=d.lat, lng=d.lng)
        plan = plan_route(
            [OrderLine(sku=line.sku, qty=line.qty) for line in data.lines], destination, candidates, routing
        )
        if plan.short:
            raise InsufficientStock(
                [{"sku": s.sku, "requested": s.requested, "available": s.available} for s in plan.short]
            )
        locations = {origin.code: origin.location_id, **{w.code: w.id for w in warehouses}}
        return plan, locations

    async def _reserve(self, plan: RoutingPlan, locations: dict[str, int], skus: dict[str, _Sku]) -> None:
        locs, sku_ids, qtys = _reservation(plan, locations, skus)
        result = await self.session.execute(
            _RESERVE, {"t": self.tenant_id, "locs": locs, "skus": sku_ids, "qtys": qtys}
        )
        if result.rowcount != len(locs):  # type: ignore[attr-defined]
            # Cannot happen while the rows are locked; kept so a broken invariant never oversells.
            raise InsufficientStock([{"sku": s, "requested": 0, "available": 0} for s in sorted(skus)])

    async def _record(
        self,
        consumer_id: int,
        data: OrderCreate,
        now: datetime,
        policies: Policies,
        origin: _Origin,
        koc: _Koc | None,
        skus: dict[str, _Sku],
        plan: RoutingPlan,
        locations: dict[str, int],
    ) -> OrderCreated:
        t = self.tenant_id
        goods = sum(skus[line.sku].price * line.qty for line in data.lines)
        expires_at = now + timedelta(minutes=policies.orders.payment_ttl_minutes)
        order_no = _new_order_no(now)
        delivery = msgspec.to_builtins(data.delivery)
        order_id = (
            await self.session.execute(
                _INSERT_ORDER,
                {
                    "t": t,
                    "order_no": order_no,
                    "c": consumer_id,
                    "store_id": origin.id,
                    "koc_id": koc.id if koc else None,
                    "mode": data.delivery.mode,
                    "delivery": msgspec.json.encode(delivery).decode(),
                    "via_link": data.store is not None,
                    "goods": goods,
                    "total": goods,
                    "trace": msgspec.json.encode(plan.trace).decode(),
                    "expires_at": expires_at,
                },
            )
        ).scalar_one()
        lines = [(i + 1, skus[line.sku], line.qty) for i, line in enumerate(data.lines)]
        line_rows = [
            (
                t,
                order_id,
                n,
                s.id,
                s.product_id,
                s.code,
                s.product,
                s.title,
                s.spec,
                s.category,
                q,
                s.price,
                q * s.price,
            )
            for n, s, q in lines
        ]
        await insert_rows(self.session, "order_lines", _LINE_COLUMNS, line_rows)
        loc_ids = [locations[sh.location] for sh in plan.shipments]
        created = await insert_rows(
            self.session,
            "fulfilments",
            _FULFILMENT_COLUMNS,
            [(t, order_id, loc, data.delivery.mode) for loc in loc_ids],
            suffix="RETURNING id, location_id",
        )
        fid_by_loc = {row.location_id: row.id for row in created}
        fids, fskus, fqtys = [], [], []
        fulfilments = []
        for sh in plan.shipments:
            fid = fid_by_loc[locations[sh.location]]
            for line in sh.lines:
                fids.append(fid)
                fskus.append(skus[line.sku].id)
                fqtys.append(line.qty)
            fulfilments.append(
                FulfilmentRead(
                    id=fid,
                    location=sh.location,
                    kind=data.delivery.mode,
                    status="pending",
                    lines=[FulfilmentLineRead(sku=line.sku, qty=line.qty) for line in sh.lines],
                )
            )
        fline_rows = [(t, f, k, q) for f, k, q in zip(fids, fskus, fqtys, strict=True)]
        await insert_rows(self.session, "fulfilment_lines", _FULFILMENT_LINE_COLUMNS, fline_rows)
        await enqueue(
            self.session,
            tenant_id=t,
            kind="orders.expire",
            payload={"order_id": order_id},
            run_at=expires_at,
            dedupe_key=f"expire:{order_id}",
        )
        return OrderCreated(
            order_no=order_no,
            status="pending_payment",
            goods_total=goods,
            total=goods,
            expires_at=expires_at,
            fulfilments=fulfilments,
        )

    # --- reading -------------------------------------------------------------------------------------

    async def _order_row(self, order_no: str, *, consumer_id: int | None = None, lock: bool = False) -> Any:
        sql = (
            "SELECT o.*, s.code AS store_code, k.code AS koc_code FROM orders o "
            "JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = o.store_id "
            "LEFT JOIN kocs k ON k.tenant_id = o.tenant_id AND k.id = o.koc_id "
            "WHERE o.tenant_id = :t AND o.order_no = :n AND (CAST(:c AS bigint) IS NULL OR o.consumer_id = :c)"
        )
        if lock:
            sql += " FOR NO KEY UPDATE OF o"
        row = (await self.session.execute(text(sql), {"t": self.tenant_id, "n": order_no, "c": consumer_id})).first()
        if row is None:
            raise NotFound("order", order_no)
        return row

    async def _lines_and_fulfilments(self, order_id: int) -> tuple[list[OrderLineRead], list[FulfilmentRead]]:
        rows = (
            await self.session.execute(
                text(
                    """
                    SELECT 'line' AS kind, line_no AS id, sku_code AS sku, product_code AS product, title, spec, qty,
                           unit_price, amount, refunded_qty, NULL AS location, NULL AS fkind, NULL AS status,
                           NULL AS carrier, NULL AS tracking_no
                    FROM order_lines WHERE tenant_id = :t AND order_id = :o
                    UNION ALL
                    SELECT 'fulfilment', f.id, k.code, NULL, NULL, NULL, fl.qty, NULL, NULL, NULL, l.code, f.kind,
                           f.status, f.carrier, f.tracking_no
                    FROM fulfilments f
                    JOIN locations l ON l.tenant_id = f.tenant_id AND l.id = f.location_id
                    LEFT JOIN fulfilment_lines fl ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id
                    LEFT JOIN skus k ON k.tenant_id = fl.tenant_id AND k.id = fl.sku_id
                    WHERE f.tenant_id = :t AND f.order_id = :o
                    ORDER BY 1 DESC, 2, 3
                    """
                ),
                {"t": self.tenant_id, "o": order_id},
            )
        ).all()
        lines = [
            OrderLineRead(
                sku=r.sku,
                product=r.product,
                title=r.title,
                spec=r.spec,
                qty=r.qty,
                unit_price=r.unit_price,
                amount=r.amount,
                refunded_qty=r.refunded_qty,
            )
            for r in rows
            if r.kind == "line"
        ]
        fulfilments: dict[int, FulfilmentRead] = {}
        for r in rows:
            if r.kind != "fulfilment":
                continue
            f = fulfilments.setdefault(
                r.id,
                FulfilmentRead(
                    id=r.id,
                    location=r.location,
                    kind=r.fkind,
                    status=r.status,
                    lines=[],
                    carrier=r.carrier,
                    tracking_no=r.tracking_no,
                ),
            )
            if r.sku is not None:
                f.lines.append(FulfilmentLineRead(sku=r.sku, qty=r.qty))
        return lines, list(fulfilments.values())

    async def read(self, order_no: str, *, consumer_id: int | None = None) -> OrderRead:
        """One order; a consumer sees only their own (anyone else's is not found)."""
        o = await self._order_row(order_no, consumer_id=consumer_id)
        lines, fulfilments = await self._lines_and_fulfilments(o.id)
        return OrderRead(
            order_no=o.order_no,
            status=o.status,
            store=o.store_code,
            mode=o.mode,
            goods_total=o.goods_total,
            total=o.total,
            refunded_total=o.refunded_total,
            lines=lines,
            fulfilments=fulfilments,
            created_at=o.created_at,
            expires_at=o.expires_at,
            paid_at=o.paid_at,
            completed_at=o.completed_at,
        )

    async def read_for_hq(self, order_no: str) -> Any:
        """The order with its trace; attribution and commissions are added by the caller."""
        o = await self._order_row(order_no)
        lines, fulfilments = await self._lines_and_fulfilments(o.id)
        return o, lines, fulfilments, [msgspec.convert(t, TraceRead) for t in o.routing_trace]

    async def page(
        self,
        *,
        limit: int,
        before: int | None,
        consumer_id: int | None = None,
        status: str | None = None,
        store: str | None = None,
        store_id: int | None = None,
    ) -> tuple[list[OrderSummary], int | None]:
        """Orders newest first, filtered; ``store_id`` means credited to or fulfilled by that store."""
        rows = (
            await self.session.execute(
                text(
                    """
                    SELECT o.id, o.order_no, o.status, s.code AS store, o.total, o.refunded_total, o.created_at
                    FROM orders o JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = o.store_id
                    WHERE o.tenant_id = :t
                      AND (CAST(:before AS bigint) IS NULL OR o.id < :before)
                      AND (CAST(:c AS bigint) IS NULL OR o.consumer_id = :c)
                      AND (CAST(:status AS text) IS NULL OR o.status = :status)
                      AND (CAST(:store AS text) IS NULL OR s.code = :store)
                      AND (CAST(:sid AS bigint) IS NULL OR o.store_id = :sid OR o.credited_store_id = :sid
                           OR EXISTS (SELECT 1 FROM fulfilments f JOIN stores fs
                                        ON fs.tenant_id = f.tenant_id AND fs.location_id = f.location_id
                                      WHERE f.tenant_id = o.tenant_id AND f.order_id = o.id AND fs.id = :sid))
                    ORDER BY o.id DESC
                    LIMIT :n
                    """
                ),
                {
                    "t": self.tenant_id,
                    "before": before,
                    "c": consumer_id,
                    "status": status,
                    "store": store,
                    "sid": store_id,
                    "n": limit + 1,
                },
            )
        ).all()
        items = [
            OrderSummary(
                order_no=r.order_no,
                status=r.status,
                store=r.store,
                total=r.total,
                refunded_total=r.refunded_total,
                created_at=r.created_at,
            )
            for r in rows[:limit]
        ]
        return items, (rows[limit - 1].id if len(rows) > limit else None)

    # --- cancelling and expiring ---------------------------------------------------------------------

    async def lock_for_cancel(self, order_no: str, *, consumer_id: int | None) -> Any:
        """Lock the order and check it may be cancelled: unpaid, or paid with nothing shipped or handed over."""
        o = await self._order_row(order_no, consumer_id=consumer_id, lock=True)
        if o.status not in ("pending_payment", "paid"):
            raise InvalidState(f"order {order_no} is {o.status} and cannot be cancelled")
        if o.status == "paid":
            moved = (
                await self.session.execute(
                    text(
                        "SELECT count(*) FROM fulfilments WHERE tenant_id = :t AND order_id = :o "
                        "AND status IN ('shipped', 'delivered', 'picked_up')"
                    ),
                    {"t": self.tenant_id, "o": o.id},
                )
            ).scalar_one()
            if moved:
                raise InvalidState(f"order {order_no} has shipped and can no longer be cancelled")
        return o

    # --- fulfilment ----------------------------------------------------------------------------------

    async def fulfil(
        self, fulfilment_id: int, action: str, principal: Principal, shipment: Shipment | None = None
    ) -> FulfilmentRead:
        """Move one fulfilment forward; stores act on their own, distributors on their warehouses, HQ on all.

        ``shipment`` (carrier and tracking number) goes with ``ship`` only. The change is published as a
        :class:`FulfilmentMoved` event in this transaction.
        """
        if shipment is not None and action != "ship":
            raise ValidationFailed("a carrier and tracking number go with ship only")
        f = (
            await self.session.execute(
                text(
                    """
                    SELECT f.id, f.order_id, f.kind, f.status, f.location_id, l.code AS location, l.kind AS lkind,
                           l.distributor_id, o.status AS order_status, o.order_no, s.id AS store_id
                    FROM fulfilments f
                    JOIN orders o ON o.tenant_id = f.tenant_id AND o.id = f.order_id
                    JOIN locations l ON l.tenant_id = f.tenant_id AND l.id = f.location_id
                    LEFT JOIN stores s ON s.tenant_id = l.tenant_id AND s.location_id = l.id
                    WHERE f.tenant_id = :t AND f.id = :f
                    FOR NO KEY UPDATE OF f, o
                    """
                ),
                {"t": self.tenant_id, "f": fulfilment_id},
            )
        ).first()
        if f is None or not _may_act(principal, f):
            raise NotFound("fulfilment", str(fulfilment_id))
        new_status = _next_status(f.kind, f.status, action)
        if f.order_status != "paid":
            raise InvalidState(f"order {f.order_no} is {f.order_status}; only paid orders are fulfilled")
        if action in ("ship", "pickup"):
            await self._consume(f, principal)
        await self.session.execute(
            text(
                "UPDATE fulfilments SET status = :s, updated_at = now(), "
                "shipped_at = CASE WHEN :s IN ('shipped', 'ready_for_pickup') THEN :at ELSE shipped_at END, "
                "completed_at = CASE WHEN :s IN ('delivered', 'picked_up') THEN :at ELSE completed_at END, "
                "carrier = COALESCE(:carrier, carrier), tracking_no = COALESCE(:tracking, tracking_no) "
                "WHERE tenant_id = :t AND id = :f"
            ),
            # the time is a parameter: Citus refuses now() inside a CASE
            {
                "s": new_status,
                "t": self.tenant_id,
                "f": f.id,
                "at": (at := datetime.now(UTC)),
                "carrier": shipment.carrier if shipment else None,
                "tracking": shipment.tracking_no if shipment else None,
            },
        )
        if new_status in ("delivered", "picked_up"):
            await self._complete_if_done(f.order_id)
        _lines, fulfilments = await self._lines_and_fulfilments(f.order_id)
        moved = next(x for x in fulfilments if x.id == f.id)
        await publish(
            self.session,
            FulfilmentMoved(
                tenant_id=self.tenant_id,
                fulfilment_id=f.id,
                order_no=f.order_no,
                location=f.location,
                status=new_status,
                carrier=moved.carrier,
                tracking_no=moved.tracking_no,
                at=at,
            ),
        )
        return moved

    async def _consume(self, f: Any, principal: Principal) -> None:
        """Turn the fulfilment's reservation into stock leaving the location (with movement rows)."""
        params = {"t": self.tenant_id, "f": f.id, "l": f.location_id}
        await self.session.execute(
            text(
                "SELECT 1 FROM stock_levels sl JOIN fulfilment_lines fl "
                "ON fl.tenant_id = sl.tenant_id AND fl.sku_id = sl.sku_id AND fl.fulfilment_id = :f "
                "WHERE sl.tenant_id = :t AND sl.location_id = :l ORDER BY sl.sku_id FOR UPDATE OF sl"
            ),
            params,
        )
        # Two statements, not an UPDATE … RETURNING feeding an INSERT in one: Citus would run that INSERT as a
        # COPY, which row-level security refuses.
        moved = await self.session.execute(
            text(
                """
                UPDATE stock_levels sl
                SET on_hand = sl.on_hand - fl.qty, reserved = sl.reserved - fl.qty, updated_at = now()
                FROM fulfilment_lines fl
                WHERE fl.tenant_id = sl.tenant_id AND fl.fulfilment_id = :f AND fl.sku_id = sl.sku_id
                  AND sl.tenant_id = :t AND sl.location_id = :l
                RETURNING sl.sku_id, fl.qty, sl.on_hand
                """
            ),
            params,
        )
        reason = "ship" if f.kind == "delivery" else "pickup"
        rows = [
            (self.tenant_id, f.location_id, m.sku_id, -m.qty, m.on_hand, reason, f.order_no, principal.actor)
            for m in moved
        ]
        await insert_rows(self.session, "stock_movements", _MOVEMENT_COLUMNS, sorted(rows))

    async def _complete_if_done(self, order_id: int) -> None:
        done = (
            await self.session.execute(
                text(
                    """
                    UPDATE orders o SET status = 'completed', completed_at = now(), updated_at = now()
                    WHERE o.tenant_id = :t AND o.id = :o AND o.status = 'paid'
                      AND NOT EXISTS (SELECT 1 FROM fulfilments f WHERE f.tenant_id = o.tenant_id AND f.order_id = o.id
                                      AND f.status NOT IN ('delivered', 'picked_up', 'cancelled'))
                    RETURNING completed_at
                    """
                ),
                {"t": self.tenant_id, "o": order_id},
            )
        ).first()
        if done is not None:
            await publish(
                self.session,
                OrderCompleted(tenant_id=self.tenant_id, order_id=order_id, completed_at=done.completed_at),
            )


_TRANSITIONS = {
    ("delivery", "pending", "ship"): "shipped",
    ("delivery", "shipped", "deliver"): "delivered",
    ("pickup", "pending", "ready"): "ready_for_pickup",
    ("pickup", "ready_for_pickup", "pickup"): "picked_up",
}


def _next_status(kind: str, status: str, action: str) -> str:
    new = _TRANSITIONS.get((kind, status, action))
    if new is None:
        raise InvalidState(f"cannot {action} a {kind} fulfilment that is {status}")
    return new


def _may_act(principal: Principal, f: Any) -> bool:
    if principal.role == "hq":
        return principal.location is None or f.location == principal.location  # a location-bound API key
    if principal.role == "store":
        return f.store_id is not None and f.store_id == principal.store_id
    if principal.role == "distributor":
        return f.lkind != "store" and f.distributor_id is not None and f.distributor_id == principal.distributor_id
    return False


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


async def release_reservations(session: AsyncSession, tenant_id: int, order_id: int) -> None:
    """Give back the stock held by the order's unshipped fulfilments and cancel them (rows locked in key order)."""
    params = {"t": tenant_id, "o": order_id}
    await session.execute(
        text(
            """
            SELECT 1 FROM stock_levels sl
            JOIN fulfilments f ON f.tenant_id = sl.tenant_id AND f.location_id = sl.location_id
            JOIN fulfilment_lines fl ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id AND fl.sku_id = sl.sku_id
            WHERE sl.tenant_id = :t AND f.order_id = :o AND f.status IN ('pending', 'ready_for_pickup')
            ORDER BY sl.location_id, sl.sku_id
            FOR UPDATE OF sl
            """
        ),
        params,
    )
    await session.execute(
        text(
            """
            WITH held AS (
              SELECT f.location_id, fl.sku_id, sum(fl.qty) AS qty
              FROM fulfilments f JOIN fulfilment_lines fl ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id
              WHERE f.tenant_id = :t AND f.order_id = :o AND f.status IN ('pending', 'ready_for_pickup')
              GROUP BY 1, 2
            ), released AS (
              UPDATE stock_levels sl SET reserved = sl.reserved - held.qty, updated_at = now()
              FROM held WHERE sl.tenant_id = :t AND sl.location_id = held.location_id AND sl.sku_id = held.sku_id
              RETURNING 1
            )
            UPDATE fulfilments SET status = 'cancelled', updated_at = now()
            WHERE tenant_id = :t AND order_id = :o AND status IN ('pending', 'ready_for_pickup')
            """
        ),
        params,
    )


async def close_order(session: AsyncSession, tenant_id: int, order_id: int, status: str, *, release: bool) -> None:
    """Mark an order (already locked by the caller) ``cancelled`` or ``expired``, and publish :class:`OrderClosed`."""
    if release:
        await release_reservations(session, tenant_id, order_id)
    closed = (
        await session.execute(
            text(
                "UPDATE orders SET status = :s, cancelled_at = now(), updated_at = now() "
                "WHERE tenant_id = :t AND id = :o RETURNING order_no, cancelled_at"
            ),
            {"s": status, "t": tenant_id, "o": order_id},
        )
    ).one()
    await publish(
        session,
        OrderClosed(
            tenant_id=tenant_id,
            order_id=order_id,
            order_no=closed.order_no,
            status=status,
            closed_at=closed.cancelled_at,
        ),
    )


async def expire_order(ctx: JobContext) -> None:
    """An unpaid order past its time gives its stock back."""
    order_id = int(ctx.payload["order_id"])
    row = (
        await ctx.session.execute(
            text("SELECT status FROM orders WHERE tenant_id = :t AND id = :o FOR NO KEY UPDATE"),
            {"t": ctx.tenant_id, "o": order_id},
        )
    ).first()
    if row is None or row.status != "pending_payment":
        return
    await close_order(ctx.session, ctx.tenant_id, order_id, "expired", release=True)
