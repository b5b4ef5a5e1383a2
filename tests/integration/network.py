"""A small store network seeded straight into the database, for order, payment and referral tests."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Litestar
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from tests.conftest import LOCAL_PAY_SECRET
from tests.support import Api, TenantHandle


class Network(msgspec.Struct):
    """Codes of what was seeded, and a consumer token."""

    tenant: TenantHandle
    tenant_id: int
    consumer_token: str
    consumer_id: int
    store: str = "SZ-NS-01"  # Nanshan store, delivers 5 km
    other_store: str = "SZ-FT-01"  # Futian store
    regional: str = "WH-SZ"  # serves 4403
    central: str = "WH-CN"


# Nanshan store (22.5333, 113.9304); Futian store (22.5431, 114.0579); Shenzhen warehouse; central in Dongguan.
_LOCATIONS = [
    ("SZ-NS-01", "store", 22.5333, 113.9304, []),
    ("SZ-FT-01", "store", 22.5431, 114.0579, []),
    ("WH-SZ", "regional", 22.6, 114.0, ["4403"]),
    ("WH-GZ", "regional", 23.13, 113.26, ["4401"]),
    ("WH-CN", "central", 23.02, 113.75, []),
]
_SKUS = [  # sku, product, category, price
    ("TEA-1", "P-TEA", "绿茶", 1290),
    ("TEA-2", "P-TEA", "绿茶", 2590),
    ("POT-1", "P-POT", "茶具", 19900),
    ("GIFT-1", "P-GIFT", "礼盒", 39900),
]
# stock: location -> {sku: on_hand}
DEFAULT_STOCK = {
    "SZ-NS-01": {"TEA-1": 5, "TEA-2": 2},
    "SZ-FT-01": {"TEA-1": 3},
    "WH-SZ": {"TEA-1": 50, "POT-1": 4, "TEA-2": 10},
    "WH-GZ": {"GIFT-1": 10},
    "WH-CN": {"TEA-1": 100, "POT-1": 10, "GIFT-1": 3},
}


async def seed(app: Litestar, tenant_slug: str, stock: dict[str, dict[str, int]] | None = None) -> int:
    """Insert the network for a tenant; returns the tenant id."""
    async with app.state.db.sessions() as session, session.begin():
        tid = (await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant_slug})).scalar_one()
        await set_tenant(session, tid)
        p = {"t": tid}
        dist = (
            await session.execute(
                text(
                    "INSERT INTO distributors (tenant_id, code, name, regions) "
                    "VALUES (:t, 'D-SZ', '深圳经销', '{4403}') RETURNING id"
                ),
                p,
            )
        ).scalar_one()
        loc_ids = {}
        for code, kind, lat, lng, regions in _LOCATIONS:
            loc_ids[code] = (
                await session.execute(
                    text(
                        "INSERT INTO locations (tenant_id, code, name, kind, lat, lng, regions, distributor_id) "
                        "VALUES (:t, :c, :c, :k, :lat, :lng, :r, :d) RETURNING id"
                    ),
                    {
                        **p,
                        "c": code,
                        "k": kind,
                        "lat": lat,
                        "lng": lng,
                        "r": regions,
                        "d": dist if kind == "regional" and code == "WH-SZ" else None,
                    },
                )
            ).scalar_one()
        for code, region in (("SZ-NS-01", "440305"), ("SZ-FT-01", "440304")):
            await session.execute(
                text(
                    "INSERT INTO stores (tenant_id, code, name, location_id, distributor_id, region, address, "
                    "delivery_radius_km, pickup) VALUES (:t, :c, :c, :l, :d, :r, 'addr', 5, true)"
                ),
                {**p, "c": code, "l": loc_ids[code], "d": dist, "r": region},
            )
        products: dict[str, int] = {}
        sku_ids = {}
        for sku, product, category, price in _SKUS:
            if product not in products:
                products[product] = (
                    await session.execute(
                        text(
                            "INSERT INTO products (tenant_id, code, title, category, status, published_at) "
                            "VALUES (:t, :c, :title, :cat, 'published', now()) RETURNING id"
                        ),
                        {**p, "c": product, "title": f"产品 {product}", "cat": category},
                    )
                ).scalar_one()
            sku_ids[sku] = (
                await session.execute(
                    text(
                        "INSERT INTO skus (tenant_id, product_id, code, spec, price, min_price, max_price) "
                        "VALUES (:t, :p, :c, '100g', :price, :price, :price) RETURNING id"
                    ),
                    {**p, "p": products[product], "c": sku, "price": price},
                )
            ).scalar_one()
        for loc, items in (stock or DEFAULT_STOCK).items():
            for sku, qty in items.items():
                await session.execute(
                    text("INSERT INTO stock_levels (tenant_id, location_id, sku_id, on_hand) VALUES (:t, :l, :s, :q)"),
                    {**p, "l": loc_ids[loc], "s": sku_ids[sku], "q": qty},
                )
    return int(tid)


NANSHAN_ADDRESS = {
    "mode": "delivery",
    "region": "440305",
    "lat": 22.5400,
    "lng": 113.9350,
    "address": "南山区科技园",
    "contact": "张三",
    "phone": "13800000000",
}
FAR_SHENZHEN_ADDRESS = {**NANSHAN_ADDRESS, "region": "440307", "lat": 22.72, "lng": 114.25, "address": "龙岗区"}


async def place(
    api: Api,
    net: Network,
    lines: list[dict[str, Any]],
    *,
    key: str,
    delivery: dict[str, Any] | None = None,
    store: str | None = "SZ-NS-01",
    koc: str | None = None,
    token: str | None = None,
) -> Any:
    """POST an order."""
    body: dict[str, Any] = {"lines": lines, "delivery": delivery or NANSHAN_ADDRESS}
    if store is not None:
        body["store"] = store
    if koc is not None:
        body["koc"] = koc
    return await api.post(
        f"/v1/shop/{net.tenant.slug}/orders",
        token=token or net.consumer_token,
        json=body,
        headers={"Idempotency-Key": key},
    )


def signed_notification(payment_id: str, order_no: str, amount: int) -> tuple[bytes, dict[str, str]]:
    """A local-provider notification body and its signature header."""
    body = msgspec.json.encode(
        {
            "payment_id": payment_id,
            "order_no": order_no,
            "amount": amount,
            "status": "SUCCESS",
            "paid_at": datetime.now(UTC).isoformat(),
        }
    )
    sig = hmac.new(LOCAL_PAY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Local-Signature": sig, "Content-Type": "application/json"}


async def pay(api: Api, net: Network, order_no: str, total: int, *, token: str | None = None) -> str:
    """Start a local payment and deliver its notification; returns the payment id."""
    r = await api.post(
        f"/v1/shop/{net.tenant.slug}/orders/{order_no}/pay",
        token=token or net.consumer_token,
        json={"provider": "local"},
        headers={"Idempotency-Key": f"pay-{order_no}"},
    )
    assert r.status_code == 200, r.text
    payment_id: str = r.json()["payment_id"]
    body, headers = signed_notification(payment_id, order_no, total)
    r = await api.post("/v1/payments/local/notify", content=body, headers=headers)
    assert r.status_code == 200, r.text
    return payment_id


async def stock(app: Litestar, net: Network, location: str, sku: str) -> tuple[int, int]:
    """On hand and reserved of one SKU at one location."""
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, net.tenant_id)
        row = (
            await s.execute(
                text(
                    "SELECT sl.on_hand, sl.reserved FROM stock_levels sl "
                    "JOIN locations l ON l.tenant_id = sl.tenant_id "
                    "AND l.id = sl.location_id JOIN skus k ON k.tenant_id = sl.tenant_id AND k.id = sl.sku_id "
                    "WHERE l.code = :l AND k.code = :k"
                ),
                {"l": location, "k": sku},
            )
        ).one()
    return int(row.on_hand), int(row.reserved)
