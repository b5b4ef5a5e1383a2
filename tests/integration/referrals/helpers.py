"""A store network for referral tests, and orders written straight into the database.

The network goes through the HQ API (distributors, stores, staff) because the tests need store and
distributor tokens anyway. Products and orders are inserted as the runtime role, scoped to the tenant, so
the ledger can be driven by publishing order events directly — independent of the order routes.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloudstore.lib.db import set_tenant
from cloudstore.orders.events import OrderCompleted, OrderPaid, OrderRefunded, publish
from tests.support import Api, TenantHandle, staff_token

__all__ = (
    "PRODUCTS",
    "Net",
    "complete_order",
    "insert_order",
    "ledger_rows",
    "pay_order",
    "refund_lines",
    "seed_net",
    "session_for",
    "set_policy",
)

# product code -> (category, {sku: price})
PRODUCTS: dict[str, tuple[str, dict[str, int]]] = {
    "P-TEA": ("tea", {"TEA-1": 1290, "TEA-2": 2590}),
    "P-POT": ("teaware", {"POT-1": 19900}),
    "P-GIFT": ("gift", {"GIFT-1": 39999}),
}


class Net(msgspec.Struct):
    """Two stores under two distributors, their staff tokens, and the tenant's ids."""

    tenant: TenantHandle
    tenant_id: int
    store_a: str
    store_b: str
    distributor_a: str
    distributor_b: str
    store_a_token: str
    store_b_token: str
    distributor_a_token: str
    store_ids: dict[str, int]
    sku_ids: dict[str, tuple[int, int]]  # sku -> (sku id, product id)


def session_for(app: Litestar) -> AsyncSession:
    """A runtime-role session (subject to row-level security)."""
    session: AsyncSession = app.state.db.sessions()
    return session


async def seed_net(api: Api, app: Litestar, tenant: TenantHandle) -> Net:
    """Distributors DA (stores SA) and DB (store SB) through the HQ API; products straight into the database."""
    hq = tenant.hq_token
    for code, region in (("DA", "4403"), ("DB", "4401")):
        r = await api.post("/v1/hq/distributors", token=hq, json={"code": code, "name": code, "regions": [region]})
        assert r.status_code == 201, r.text
    for code, dist, region, lat, lng in (
        ("SA", "DA", "440305", 22.5333, 113.9304),
        ("SB", "DB", "440104", 23.1291, 113.2644),
    ):
        r = await api.post(
            "/v1/hq/stores",
            token=hq,
            json={
                "code": code,
                "name": f"Store {code}",
                "distributor_code": dist,
                "region": region,
                "lat": lat,
                "lng": lng,
            },
        )
        assert r.status_code == 201, r.text
    store_a_token = await staff_token(api, tenant, username="clerk-a", role="store", store="SA")
    store_b_token = await staff_token(api, tenant, username="clerk-b", role="store", store="SB")
    distributor_a_token = await staff_token(api, tenant, username="dist-a", role="distributor", distributor="DA")
    async with session_for(app) as s, s.begin():
        tid = int((await s.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant.slug})).scalar_one())
        await set_tenant(s, tid)
        store_ids = {r.code: int(r.id) for r in (await s.execute(text("SELECT id, code FROM stores"))).all()}
        sku_ids: dict[str, tuple[int, int]] = {}
        for product, (category, skus) in PRODUCTS.items():
            pid = (
                await s.execute(
                    text(
                        "INSERT INTO products (tenant_id, code, title, category, status, published_at) "
                        "VALUES (:t, :c, :c, :cat, 'published', now()) RETURNING id"
                    ),
                    {"t": tid, "c": product, "cat": category},
                )
            ).scalar_one()
            for sku, price in skus.items():
                sid = (
                    await s.execute(
                        text(
                            "INSERT INTO skus (tenant_id, product_id, code, spec, price, min_price, max_price) "
                            "VALUES (:t, :p, :c, 'std', :price, :price, :price) RETURNING id"
                        ),
                        {"t": tid, "p": pid, "c": sku, "price": price},
                    )
                ).scalar_one()
                sku_ids[sku] = (int(sid), int(pid))
    return Net(
        tenant=tenant,
        tenant_id=tid,
        store_a="SA",
        store_b="SB",
        distributor_a="DA",
        distributor_b="DB",
        store_a_token=store_a_token,
        store_b_token=store_b_token,
        distributor_a_token=distributor_a_token,
        store_ids=store_ids,
        sku_ids=sku_ids,
    )


async def set_policy(api: Api, tenant: TenantHandle, kind: str, doc: dict[str, Any]) -> None:
    """PUT an HQ policy."""
    r = await api.put(f"/v1/hq/policies/{kind}", token=tenant.hq_token, json=doc)
    assert r.status_code == 200, r.text


def _price(sku: str) -> tuple[str, str, int]:
    for product, (category, skus) in PRODUCTS.items():
        if sku in skus:
            return product, category, skus[sku]
    raise KeyError(sku)


async def insert_order(
    app: Litestar,
    net: Net,
    *,
    consumer_id: int,
    store: str,
    lines: list[tuple[str, int]],
    koc: str | None = None,
    via_link: bool = True,
) -> tuple[int, str]:
    """An order waiting for payment, written as the orders service would; returns (id, order_no)."""
    order_no = "O" + secrets.token_hex(6)
    goods = sum(_price(sku)[2] * qty for sku, qty in lines)
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        koc_id = None
        if koc is not None:
            koc_id = (await s.execute(text("SELECT id FROM kocs WHERE code = :c"), {"c": koc})).scalar_one()
        oid = (
            await s.execute(
                text(
                    "INSERT INTO orders (tenant_id, order_no, consumer_id, store_id, koc_id, via_link, mode, delivery, "
                    "goods_total, total, routing_trace) VALUES (:t, :no, :c, :s, :k, :v, 'pickup', '{}', :g, :g, '[]') "
                    "RETURNING id"
                ),
                {
                    "t": net.tenant_id,
                    "no": order_no,
                    "c": consumer_id,
                    "s": net.store_ids[store],
                    "k": koc_id,
                    "v": via_link,
                    "g": goods,
                },
            )
        ).scalar_one()
        for i, (sku, qty) in enumerate(lines, start=1):
            product, category, price = _price(sku)
            sku_id, product_id = net.sku_ids[sku]
            await s.execute(
                text(
                    "INSERT INTO order_lines (tenant_id, order_id, line_no, sku_id, product_id, sku_code, "
                    "product_code, title, spec, category, qty, unit_price, amount) "
                    "VALUES (:t, :o, :n, :sku_id, :pid, :sku, :product, :product, 'std', :cat, :q, :p, :a)"
                ),
                {
                    "t": net.tenant_id,
                    "o": oid,
                    "n": i,
                    "sku_id": sku_id,
                    "pid": product_id,
                    "sku": sku,
                    "product": product,
                    "cat": category,
                    "q": qty,
                    "p": price,
                    "a": price * qty,
                },
            )
    return int(oid), order_no


async def pay_order(app: Litestar, net: Net, order_id: int, *, paid_at: datetime | None = None) -> None:
    """Mark the order paid and publish ``OrderPaid`` in the same transaction, as the payment service does."""
    paid_at = paid_at or datetime.now(UTC)
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        o = (
            await s.execute(
                text(
                    "UPDATE orders SET status = 'paid', paid_at = :at WHERE id = :o "
                    "RETURNING order_no, consumer_id, store_id, koc_id, via_link"
                ),
                {"o": order_id, "at": paid_at},
            )
        ).one()
        await publish(
            s,
            OrderPaid(
                tenant_id=net.tenant_id,
                order_id=order_id,
                order_no=o.order_no,
                consumer_id=o.consumer_id,
                store_id=o.store_id,
                koc_id=o.koc_id,
                came_through_link=o.via_link,
                paid_at=paid_at,
            ),
        )


async def complete_order(app: Litestar, net: Net, order_id: int) -> datetime:
    """Mark the order completed and publish ``OrderCompleted``; returns ``completed_at``."""
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        completed_at: datetime = (
            await s.execute(
                text(
                    "UPDATE orders SET status = 'completed', completed_at = now() WHERE id = :o RETURNING completed_at"
                ),
                {"o": order_id},
            )
        ).scalar_one()
        await publish(s, OrderCompleted(tenant_id=net.tenant_id, order_id=order_id, completed_at=completed_at))
    return completed_at


async def refund_lines(app: Litestar, net: Net, order_id: int, qty_by_line: dict[int, int]) -> None:
    """Refund ``qty`` units of each line number and publish ``OrderRefunded``."""
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        amount = 0
        for line_no, qty in qty_by_line.items():
            price = (
                await s.execute(
                    text(
                        "UPDATE order_lines SET refunded_qty = refunded_qty + :q WHERE order_id = :o AND line_no = :n "
                        "RETURNING unit_price"
                    ),
                    {"q": qty, "o": order_id, "n": line_no},
                )
            ).scalar_one()
            amount += price * qty
        await s.execute(
            text("UPDATE orders SET refunded_total = refunded_total + :a WHERE id = :o"), {"a": amount, "o": order_id}
        )
        await publish(
            s,
            OrderRefunded(
                tenant_id=net.tenant_id,
                order_id=order_id,
                refund_no="R" + secrets.token_hex(5),
                amount=amount,
                refunded_at=datetime.now(UTC),
            ),
        )


async def ledger_rows(app: Litestar, net: Net, order_id: int | None = None) -> list[tuple[str, str, int, str, str]]:
    """(kind, beneficiary code, amount, status, entry kind) per ledger entry, in booking order."""
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        rows = (
            await s.execute(
                text(
                    "SELECT beneficiary_kind, beneficiary_code, amount, status, kind FROM ledger_entries "
                    "WHERE CAST(:o AS bigint) IS NULL OR order_id = :o ORDER BY id"
                ),
                {"o": order_id},
            )
        ).all()
    return [(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows]
