"""The snapshot an order is placed on: one statement, and the rows it decodes into.

:data:`SNAPSHOT` reads, in one round trip, the origin store (named, else the consumer's binding), the SKUs with
the store's prices, the candidate warehouses, the free stock of those SKUs at the store and the warehouses
(unlocked, as ``[location_id, sku_id, available]`` rows), the KOC, the tenant's policies, the pricing terms
(:data:`~cloudstore.pricing.service.terms.TERMS_COLUMNS`), and the ids the order's rows will take: the order's and
``:nf`` fulfilments' (drawn from their sequences, so the rows can be written in one statement that names them).
Parameters: ``:t``, ``:c``, ``:store``, ``:skus``, ``:koc``, ``:now`` and ``:nf``. :data:`SNAPSHOT_CLAIMING` also
claims a request's idempotency key in the same round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import NotFound, ValidationFailed
from cloudstore.lib.idempotency import CLAIM_COLUMNS
from cloudstore.pricing.service.terms import TERMS_COLUMNS

if TYPE_CHECKING:
    from cloudstore.orders.schemas import OrderCreate

__all__ = (
    "SNAPSHOT",
    "SNAPSHOT_CLAIMING",
    "Koc",
    "Origin",
    "SnapshotSku",
    "SnapshotStock",
    "Warehouse",
    "json_value",
    "koc_from_row",
    "origin_from_row",
)

_SELECT = """
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
      -- The candidate rows by the primary key (arrays, not IN (...) semi-joins the planner may answer with the
      -- tenant's whole stock).
      (SELECT json_agg(json_build_array(sl.location_id, sl.sku_id, sl.on_hand - sl.reserved))
       FROM stock_levels sl
       WHERE sl.tenant_id = :t
         AND sl.location_id = ANY(ARRAY(
           SELECT location_id FROM origin
           UNION ALL
           SELECT l.id FROM locations l
           WHERE l.tenant_id = :t AND l.status = 'active' AND l.kind IN ('regional', 'central')))
         AND sl.sku_id = ANY(ARRAY(
           SELECT k.id FROM skus k WHERE k.tenant_id = :t AND k.code = ANY(CAST(:skus AS text[]))))) AS stock,
      (SELECT json_build_object('id', k.id, 'store_id', k.store_id)
       FROM kocs k WHERE k.tenant_id = :t AND k.code = :koc AND k.active) AS koc,
      (SELECT json_build_array(p.routing, p.attribution, p.commission, p.orders)
       FROM tenant_policies p WHERE p.tenant_id = :t) AS policies,
      nextval('orders_id_seq') AS order_id,
      ARRAY(SELECT nextval('fulfilments_id_seq') FROM generate_series(1, CAST(:nf AS int))) AS fulfilment_ids,
    """
# The pricing terms (delivery policy, promotions, the consumer's coupons) ride in the same round trip.
SNAPSHOT = text("".join((_SELECT, TERMS_COLUMNS)))
# And, for a request under an idempotency key, the key's claim (:data:`cloudstore.lib.idempotency.CLAIM_COLUMNS`).
SNAPSHOT_CLAIMING = text("".join((_SELECT, TERMS_COLUMNS, ",", CLAIM_COLUMNS)))


class SnapshotSku(msgspec.Struct):
    """A SKU asked for, at the origin store's price."""

    id: int
    code: str
    spec: str
    product_id: int
    product: str
    title: str
    category: str
    price: int
    sellable: bool


class SnapshotStock(msgspec.Struct, array_like=True, frozen=True):
    """Free units of one SKU at one location, read without a lock."""

    location_id: int
    sku_id: int
    available: int


class Origin(msgspec.Struct):
    """The store the order is placed through, with its location."""

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


class Warehouse(msgspec.Struct):
    """An active regional or central warehouse."""

    id: int
    code: str
    kind: str
    lat: float
    lng: float
    regions: list[str]


class Koc(msgspec.Struct):
    """The KOC named in the order."""

    id: int
    store_id: int


def origin_from_row(raw: Any, data: OrderCreate) -> Origin:
    """The origin store of the snapshot: 422 when none was named and none is bound, 404 for an unknown one."""
    if raw is None:
        if data.store is None:
            raise ValidationFailed("no store given and the consumer is not bound to one")
        raise NotFound("store", data.store)
    return msgspec.convert(json_value(raw), Origin)


def koc_from_row(raw: Any, data: OrderCreate, origin: Origin) -> Koc | None:
    """The KOC named in the order, if any: 422 when it does not exist or belongs to another store."""
    if data.koc is None:
        return None
    if raw is None:
        raise ValidationFailed(f"KOC {data.koc!r} does not exist")
    koc = msgspec.convert(json_value(raw), Koc)
    if koc.store_id != origin.id:
        raise ValidationFailed(f"KOC {data.koc!r} does not belong to store {origin.code!r}")
    return koc


def json_value(value: Any) -> Any:
    """A JSON column's value, decoded when it comes back as text."""
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value
