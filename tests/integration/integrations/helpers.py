"""Shared steps of the integration tests: endpoints, paid orders, and making queued retries due now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from tests.integration.network import Network, pay, place

if TYPE_CHECKING:
    from litestar import Litestar

    from tests.support import Api

__all__ = ("add_endpoint", "deliveries", "due_now", "paid_order", "rows")


async def add_endpoint(api: Api, net: Network, url: str, events: list[str] | None = None) -> dict[str, Any]:
    """Register an endpoint as HQ; returns the creation response (with its secret)."""
    r = await api.post(
        "/v1/hq/webhooks", token=net.tenant.hq_token, json={"url": url, "events": events or ["order.paid"]}
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def paid_order(api: Api, net: Network, key: str) -> str:
    """Place a one-line order and pay it; returns its number."""
    r = await place(api, net, [{"sku": "TEA-1", "qty": 1}], key=key)
    assert r.status_code == 201, r.text
    order_no: str = r.json()["order_no"]
    await pay(api, net, order_no, r.json()["total"])
    return order_no


async def deliveries(api: Api, net: Network, endpoint_id: int) -> list[dict[str, Any]]:
    """The endpoint's delivery log as HQ sees it."""
    r = await api.get(f"/v1/hq/webhooks/{endpoint_id}/deliveries", token=net.tenant.hq_token)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def rows(app: Litestar, tenant_id: int, sql: str, **params: Any) -> list[Any]:
    """Rows of a query scoped to the tenant."""
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tenant_id)
        return list((await s.execute(text(sql), {"t": tenant_id, **params})).all())


async def due_now(app: Litestar, tenant_id: int) -> int:
    """Make the tenant's queued delivery retries due now (instead of waiting out the backoff)."""
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tenant_id)
        done = await s.execute(
            text(
                "UPDATE jobs SET run_at = now() WHERE tenant_id = :t AND kind = 'webhooks.deliver' "
                "AND status = 'queued'"
            ),
            {"t": tenant_id},
        )
        return int(done.rowcount)
