"""Placing an order: one snapshot of what it needs, a plan from the routing engine, and the order's rows.

The place journey (:mod:`cloudstore.checkout.place`) composes these with the stock reservation of
:mod:`cloudstore.inventory.reservations`: :func:`prepare` reads one snapshot (the storefront, the binding, the SKUs
with their store prices, the candidate warehouses, their free stock unlocked, the policies;
:mod:`cloudstore.orders.snapshot` holds the statement and its rows), :func:`plan` asks the pure routing engine
for a plan on the stock it is given, :func:`price` asks the pure pricing core what that plan costs, and
:func:`record` writes the order at that price (each line's discount frozen), its lines and fulfilments and queues
its expiry. Nothing here locks or writes stock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

import msgspec
from sqlalchemy import text

from cloudstore.lib.db import fetch, insert_part, write_together
from cloudstore.lib.errors import InsufficientStock, ValidationFailed
from cloudstore.lib.jobs import enqueue_part
from cloudstore.orders.schemas import FulfilmentLineRead, FulfilmentRead, OrderCreate, OrderCreated, PricedLineRead
from cloudstore.orders.snapshot import (
    SNAPSHOT,
    SNAPSHOT_CLAIMING,
    Koc,
    Origin,
    SnapshotSku,
    SnapshotStock,
    Warehouse,
    json_value,
    koc_from_row,
    origin_from_row,
)
from cloudstore.pricing.cart import ItemPrice, pricing_cart
from cloudstore.pricing.engine import price_cart
from cloudstore.pricing.service.terms import terms_from_row
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
    from collections.abc import Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.db import Part
    from cloudstore.lib.idempotency import Reply
    from cloudstore.pricing.model import PriceBreakdown
    from cloudstore.pricing.service.terms import PricingTerms
    from cloudstore.tenancy.service import Policies

T = TypeVar("T")

__all__ = ("Basket", "PlannedOrder", "StockRow", "order_no_for", "plan", "prepare", "price", "record")

_ORDER_COLUMNS = (
    "id",
    "tenant_id",
    "order_no",
    "consumer_id",
    "store_id",
    "koc_id",
    "via_link",
    "mode",
    "delivery",
    "goods_total",
    "discount_total",
    "shipping_fee",
    "total",
    "promotion_code",
    "routing_trace",
    "expires_at",
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
    "discount",
)
_FULFILMENT_COLUMNS = ("id", "tenant_id", "order_id", "location_id", "kind")
_FULFILMENT_LINE_COLUMNS = ("tenant_id", "fulfilment_id", "sku_id", "qty")
_MORE_FULFILMENT_IDS = text("SELECT nextval('fulfilments_id_seq') FROM generate_series(1, CAST(:n AS int))")


# An order's number: its day and 10 digits drawn from its id (from a sequence, so never drawn twice) by
# multiplying modulo 10**10 by a number prime to 10, which maps 0 … 10**10 - 1 onto itself one to one: unique
# without a retry, and consecutive orders do not get consecutive numbers. Random digits collided: among 100,000
# orders of one day, two share a 10-digit number about once in two days.
_ORDER_NO_DIGITS = 10**10
_ORDER_NO_FACTOR = 3_141_592_653


def order_no_for(order_id: int, now: datetime) -> str:
    """The order number of the order with ``order_id`` placed at ``now`` (``YYYYMMDD`` and 10 digits)."""
    return f"{now:%Y%m%d}{order_id * _ORDER_NO_FACTOR % _ORDER_NO_DIGITS:010d}"


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


class StockRow(Protocol):
    """Free units of one SKU at one location, as the inventory reads them."""

    @property
    def location_id(self) -> int: ...
    @property
    def sku_id(self) -> int: ...
    @property
    def available(self) -> int: ...


@dataclass(frozen=True)
class Basket:
    """Everything the plan and the order rows need, read in one snapshot."""

    consumer_id: int
    data: OrderCreate
    policies: Policies
    origin: Origin
    koc: Koc | None
    skus: dict[str, SnapshotSku]
    warehouses: list[Warehouse]
    routing: RoutingPolicy
    terms: PricingTerms
    snapshot_stock: list[SnapshotStock]
    order_id: int
    fulfilment_ids: list[int]

    @property
    def region(self) -> str | None:
        """The region the goods go to: the address's, or the store's for a pickup."""
        d = self.data.delivery
        return d.region if d.mode == "delivery" else self.origin.region

    @property
    def location_ids(self) -> list[int]:
        """Every location that could serve this order, in key order."""
        eligible = [w for w in self.warehouses if w.kind == "central" or region_served(w.regions, self.region)]
        return sorted({self.origin.location_id, *(w.id for w in eligible)})

    @property
    def stock(self) -> list[SnapshotStock]:
        """Free stock (unlocked, as of the snapshot) of the order's SKUs at every location that could serve it."""
        locations = set(self.location_ids)
        return [row for row in self.snapshot_stock if row.location_id in locations]

    @property
    def sku_ids(self) -> list[int]:
        """The order's SKUs, in key order."""
        return sorted(s.id for s in self.skus.values())

    @property
    def sku_codes(self) -> list[str]:
        """The order's SKU codes."""
        return sorted(self.skus)


@dataclass(frozen=True)
class PlannedOrder:
    """A routing plan and the location ids its shipments name."""

    plan: RoutingPlan
    locations: dict[str, int]
    skus: dict[str, SnapshotSku]

    def takes(self) -> list[tuple[int, int, int]]:
        """(location id, sku id, quantity) the plan takes, in key order."""
        return sorted(
            (self.locations[shipment.location], self.skus[line.sku].id, line.qty)
            for shipment in self.plan.shipments
            for line in shipment.lines
        )


async def prepare(
    session: AsyncSession,
    tenant_id: int,
    consumer_id: int,
    data: OrderCreate,
    now: datetime,
    *,
    claim: Reply | None = None,
) -> Basket:
    """Check the request and read its snapshot (the pricing terms in force at ``now`` included): 422 for what
    cannot be sold or delivered, 404 for no store.

    With ``claim`` (a request whose idempotency key is not claimed yet), the snapshot claims it too, and what
    the claim found is settled first (:meth:`~cloudstore.lib.idempotency.Reply.settle` raises for a key answered
    before or in use).
    """
    _check_delivery(data)
    wanted = sorted({line.sku for line in data.lines})
    params = {
        "t": tenant_id,
        "c": consumer_id,
        "store": data.store,
        "skus": wanted,
        "koc": data.koc,
        "now": now,
        "nf": len(data.lines),  # a shipment per line at most, unless lines may be split
    }
    if claim is None or claim.claimed:
        (snap,) = await fetch(session, SNAPSHOT, params)
    else:
        (snap,) = await fetch(session, SNAPSHOT_CLAIMING, {**params, **claim.claim_params()})
        claim.settle(snap)
    policies = policies_from_row(json_value(snap["policies"]))
    origin = origin_from_row(snap["origin"], data)
    skus = {s.code: s for s in _decode(snap["skus"], list[SnapshotSku])}
    unknown = [code for code in wanted if code not in skus or not skus[code].sellable]
    if unknown:
        raise ValidationFailed(f"not for sale: {', '.join(unknown)}", errors=[{"sku": c} for c in unknown])
    return Basket(
        consumer_id=consumer_id,
        data=data,
        policies=policies,
        origin=origin,
        koc=koc_from_row(snap["koc"], data, origin),
        skus=skus,
        warehouses=_decode(snap["warehouses"], list[Warehouse]),
        routing=_routing_policy(policies),
        terms=terms_from_row(snap["delivery_policy"], snap["promotions"], snap["coupons"]),
        snapshot_stock=_decode(snap["stock"], list[SnapshotStock]),
        order_id=snap["order_id"],
        fulfilment_ids=list(snap["fulfilment_ids"]),
    )


def _decode(raw: object, kind: type[list[T]]) -> list[T]:
    """A JSON array column (text from the driver, or NULL for none) straight into its structs."""
    if raw is None:
        return []
    if isinstance(raw, str | bytes):
        return msgspec.json.decode(raw, type=kind)
    return msgspec.convert(raw, kind)


def plan(basket: Basket, stock: Sequence[StockRow]) -> PlannedOrder:
    """Ask the routing engine where each line ships from, on the stock given; raises if some is short."""
    origin, skus, d = basket.origin, basket.skus, basket.data.delivery
    by_id = {s.id: s.code for s in skus.values()}
    free: dict[int, dict[str, int]] = defaultdict(dict)
    for row in stock:
        free[row.location_id][by_id[row.sku_id]] = max(0, int(row.available))
    candidates = [
        Candidate(
            code=origin.code,
            tier=Tier.STORE,
            lat=origin.lat,
            lng=origin.lng,
            delivery_radius_km=origin.delivery_radius_km,
            pickup=origin.pickup,
            stock=free.get(origin.location_id, {}) if origin.location_status == "active" else {},
        ),
        *(
            Candidate(
                code=w.code,
                tier=Tier(w.kind),
                lat=w.lat,
                lng=w.lng,
                regions=tuple(w.regions),
                stock=free.get(w.id, {}),
            )
            for w in basket.warehouses
        ),
    ]
    destination = Destination(mode=d.mode, origin_store=origin.code, region=basket.region, lat=d.lat, lng=d.lng)
    routed = plan_route(
        [OrderLine(sku=line.sku, qty=line.qty) for line in basket.data.lines], destination, candidates, basket.routing
    )
    if routed.short:
        raise InsufficientStock(
            [{"sku": s.sku, "requested": s.requested, "available": s.available} for s in routed.short]
        )
    locations = {origin.code: origin.location_id, **{w.code: w.id for w in basket.warehouses}}
    return PlannedOrder(plan=routed, locations=locations, skus=skus)


def price(basket: Basket, planned: PlannedOrder, now: datetime) -> PriceBreakdown:
    """What the planned order costs: the pure pricing core on the snapshot's terms and the plan.

    Raises:
        RegionNotServed: the delivery policy does not deliver to the order's region.
    """
    data, skus = basket.data, basket.skus
    items = [
        ItemPrice(
            sku=line.sku,
            product=skus[line.sku].product,
            category=skus[line.sku].category,
            qty=line.qty,
            unit_price=skus[line.sku].price,
        )
        for line in data.lines
    ]
    cart = pricing_cart(items, planned.plan, store=basket.origin.code, mode=data.delivery.mode, region=basket.region)
    terms = basket.terms
    return price_cart(cart, terms.policy, terms.promotions, terms.coupons, coupon_id=data.coupon, now=now)


async def _fulfilment_ids(session: AsyncSession, basket: Basket, shipments: int) -> list[int]:
    """Ids for ``shipments`` fulfilments: the snapshot's, and more from the sequence when split lines need them."""
    ids = basket.fulfilment_ids
    if shipments > len(ids):
        more = await fetch(session, _MORE_FULFILMENT_IDS, {"n": shipments - len(ids)})
        ids = [*ids, *(row[0] for row in more)]
    return ids[:shipments]


async def record(
    session: AsyncSession,
    tenant_id: int,
    basket: Basket,
    planned: PlannedOrder,
    priced: PriceBreakdown,
    now: datetime,
    *,
    first: Sequence[Part] = (),
    also: Callable[[OrderCreated], Sequence[Part]] = lambda _: (),
) -> tuple[int, OrderCreated, int]:
    """Write the order waiting for payment at its price (discounts frozen per line), its lines and
    fulfilments, and queue its expiry, all in one statement; returns the order's id, what the consumer is told
    and the row count of the statement's last part.

    ``first`` are parts for the same statement before the order's own (the stock reservation, on one server);
    ``also`` gives, for what the consumer is told, more parts after them (what the subscribers of the order being
    placed write, and the stored response).
    """
    data, policies, origin, koc, skus = basket.data, basket.policies, basket.origin, basket.koc, basket.skus
    consumer_id, plan, locations = basket.consumer_id, planned.plan, planned.locations
    t, order_id, mode = tenant_id, basket.order_id, data.delivery.mode
    goods = priced.goods_total
    expires_at = now + timedelta(minutes=policies.orders.payment_ttl_minutes)
    order_no = order_no_for(order_id, now)
    order_row = (
        order_id,
        t,
        order_no,
        consumer_id,
        origin.id,
        koc.id if koc else None,
        data.store is not None,
        mode,
        msgspec.json.encode(data.delivery).decode(),
        goods,
        priced.discount_total,
        priced.delivery_fee,
        priced.total,
        priced.promotion.code if priced.promotion is not None else None,
        msgspec.json.encode(plan.trace).decode(),
        expires_at,
    )
    line_rows = [
        (t, order_id, n, s.id, s.product_id, s.code, s.product, s.title, s.spec, s.category, q, s.price, q * s.price, d)
        for n, s, q, d in (
            (i + 1, skus[line.sku], line.qty, priced.lines[i].discount) for i, line in enumerate(data.lines)
        )
    ]
    fids = await _fulfilment_ids(session, basket, len(plan.shipments))
    fulfilment_rows = [
        (fid, t, order_id, locations[sh.location], mode) for fid, sh in zip(fids, plan.shipments, strict=True)
    ]
    fline_rows = [
        (t, fid, skus[line.sku].id, line.qty) for fid, sh in zip(fids, plan.shipments, strict=True) for line in sh.lines
    ]
    # The order first: Citus runs the parts in this order, and each row's foreign keys need the ones before it.
    parts = (
        insert_part("o", "orders", _ORDER_COLUMNS, [order_row]),
        insert_part("l", "order_lines", _LINE_COLUMNS, line_rows),
        insert_part("f", "fulfilments", _FULFILMENT_COLUMNS, fulfilment_rows),
        insert_part("fl", "fulfilment_lines", _FULFILMENT_LINE_COLUMNS, fline_rows),
        enqueue_part(
            tenant_id=t,
            kind="orders.expire",
            payload={"order_id": order_id},
            run_at=expires_at,
            dedupe_key=f"expire:{order_id}",
        ),
    )
    fulfilments = [
        FulfilmentRead(
            id=fid,
            location=sh.location,
            kind=mode,
            status="pending",
            lines=[FulfilmentLineRead(sku=line.sku, qty=line.qty) for line in sh.lines],
        )
        for fid, sh in zip(fids, plan.shipments, strict=True)
    ]
    created = OrderCreated(
        order_no=order_no,
        status="pending_payment",
        goods_total=goods,
        total=priced.total,
        expires_at=expires_at,
        fulfilments=fulfilments,
        discount_total=priced.discount_total,
        delivery_fee=priced.delivery_fee,
        lines=[
            PricedLineRead(sku=p.sku, qty=p.qty, unit_price=p.unit_price, discount=p.discount, paid=p.paid)
            for p in priced.lines
        ],
    )
    count = await write_together(session, [*first, *parts, *also(created)])
    return order_id, created, count
