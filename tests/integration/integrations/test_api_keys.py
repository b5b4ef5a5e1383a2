"""API keys: the scope matrix over every HQ route, location binding, revocation, storage as a hash."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from cloudstore.integrations.schemas import SCOPES
from cloudstore.integrations.scopes import ROUTE_SCOPES
from tests.integration.integrations.helpers import paid_order, rows
from tests.support import problem

if TYPE_CHECKING:
    from litestar import Litestar

    from tests.integration.network import Network
    from tests.support import Api, TenantHandle

_PLACEHOLDERS = {"fulfilment_id": "999999", "action": "ship", "consumer_id": "999999"}


def _hq_routes(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if not route.path_format.startswith("/v1/hq"):
            continue
        for method in sorted(getattr(route, "methods", ())):
            if method not in ("HEAD", "OPTIONS"):
                found.append((method, route.path_format))
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: _PLACEHOLDERS.get(m.group(1), "999999"), path)


async def new_key(api: Api, tenant: TenantHandle, scopes: list[str], location: str | None = None) -> dict[str, Any]:
    """Issue a key as HQ."""
    body: dict[str, Any] = {"name": f"wms {'+'.join(scopes)}", "scopes": scopes}
    if location is not None:
        body["location"] = location
    r = await api.post("/v1/hq/api-keys", token=tenant.hq_token, json=body)
    assert r.status_code == 201, r.text
    key: dict[str, Any] = r.json()
    return key


async def test_every_hq_route_against_every_scope(app: Litestar, api: Api, network: Network) -> None:
    routes = _hq_routes(app)
    assert set(ROUTE_SCOPES) <= set(routes), set(ROUTE_SCOPES) - set(routes)  # no stale entries
    keys = {scope: (await new_key(api, network.tenant, [scope]))["key"] for scope in SCOPES}
    outcomes: dict[tuple[str, str, str], int] = {}
    for method, path in routes:
        for scope, key in keys.items():
            kw: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            r = await api.call(method, _concrete(path), token=key, **kw)
            outcomes[(method, path, scope)] = r.status_code
            if ROUTE_SCOPES.get((method, path)) == scope:
                assert r.status_code not in (401, 403), (method, path, scope, r.text)
            else:
                assert r.status_code == 403, (method, path, scope, r.text)
                assert r.json()["code"] == "forbidden"
    allowed = [k for k, status in outcomes.items() if status not in (401, 403)]
    assert len(allowed) == len(ROUTE_SCOPES)


async def test_keys_do_not_open_store_distributor_or_shop_routes(api: Api, network: Network) -> None:
    key = (await new_key(api, network.tenant, list(SCOPES)))["key"]
    r = await api.get("/v1/store/orders", token=key)
    problem(r, 403, "forbidden")
    r = await api.post("/v1/distributor/fulfilments/1/ship", token=key)
    problem(r, 403, "forbidden")
    r = await api.get(f"/v1/shop/{network.tenant.slug}/orders", token=key)
    problem(r, 401, "unauthorized")
    r = await api.post("/v1/hq/api-keys", token=key, json={"name": "escalate", "scopes": ["orders:read"]})
    problem(r, 403, "forbidden")


async def test_a_key_reads_orders_and_is_revoked_at_once(app: Litestar, api: Api, network: Network) -> None:
    created = await new_key(api, network.tenant, ["orders:read"])
    order_no = await paid_order(api, network, "key-read")
    r = await api.get(f"/v1/hq/orders/{order_no}", token=created["key"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid"

    r = await api.get("/v1/hq/api-keys", token=network.tenant.hq_token)
    [listed] = r.json()["items"]
    assert (listed["id"], listed["scopes"], listed["revoked_at"]) == (created["id"], ["orders:read"], None)
    assert created["key"] not in r.text
    stored = await rows(app, network.tenant_id, "SELECT * FROM api_keys WHERE tenant_id = :t")
    assert stored[0].key_hash == hashlib.sha256(created["key"].encode()).hexdigest()
    assert created["key"] not in repr([tuple(row) for row in stored])

    r = await api.delete(f"/v1/hq/api-keys/{created['id']}", token=network.tenant.hq_token)
    assert r.status_code == 204
    r = await api.get(f"/v1/hq/orders/{order_no}", token=created["key"])
    problem(r, 401, "unauthorized")
    r = await api.get("/v1/hq/api-keys", token=network.tenant.hq_token)
    assert r.json()["items"][0]["revoked_at"] is not None


async def test_bad_keys_are_refused(api: Api, network: Network, other_tenant: TenantHandle) -> None:
    created = await new_key(api, network.tenant, ["orders:read"])
    key: str = created["key"]
    for forged in (key[:-2] + ("AA" if not key.endswith("AA") else "BB"), "csk_x_y", "csk_1_short"):
        r = await api.get("/v1/hq/orders", token=forged)
        problem(r, 401, "unauthorized")
    # The same secret claimed for another tenant is not a key of that tenant.
    prefix, tenant_id, secret = key.split("_", 2)
    r = await api.get("/v1/hq/orders", token=f"{prefix}_{int(tenant_id) + 1}_{secret}")
    problem(r, 401, "unauthorized")
    r = await api.delete(f"/v1/hq/api-keys/{created['id']}", token=other_tenant.hq_token)
    problem(r, 404, "not_found")
    r = await api.post(
        "/v1/hq/api-keys",
        token=network.tenant.hq_token,
        json={"name": "x", "scopes": ["orders:read"], "location": "NOPE"},
    )
    problem(r, 422, "validation_failed")
    r = await api.post("/v1/hq/api-keys", token=network.tenant.hq_token, json={"name": "x", "scopes": ["admin"]})
    problem(r, 422, "validation_failed")
    r = await api.post("/v1/hq/api-keys", token=network.tenant.hq_token, json={"name": "x", "scopes": []})
    problem(r, 422, "validation_failed")


async def _fulfilment(api: Api, net: Network, order_no: str) -> dict[str, Any]:
    r = await api.get(f"/v1/hq/orders/{order_no}", token=net.tenant.hq_token)
    [f] = r.json()["fulfilments"]
    assert f["location"] == net.store
    fulfilment: dict[str, Any] = f
    return fulfilment


async def test_a_location_bound_key_acts_only_on_its_location(api: Api, network: Network) -> None:
    scopes = ["fulfilments:write", "stock:write"]
    elsewhere = (await new_key(api, network.tenant, scopes, location=network.regional))["key"]
    here = (await new_key(api, network.tenant, scopes, location=network.store))["key"]
    order_no = await paid_order(api, network, "key-location")
    f = await _fulfilment(api, network, order_no)

    r = await api.post(f"/v1/hq/fulfilments/{f['id']}/ship", token=elsewhere)
    problem(r, 404, "not_found")
    r = await api.post(f"/v1/hq/fulfilments/{f['id']}/ship", token=here)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "shipped"

    r = await api.put(
        "/v1/hq/stock", token=here, json={"items": [{"location": network.regional, "sku": "TEA-1", "on_hand": 1}]}
    )
    problem(r, 403, "forbidden")
    r = await api.put(
        "/v1/hq/stock", token=here, json={"items": [{"location": network.store, "sku": "TEA-1", "on_hand": 9}]}
    )
    assert r.status_code == 200, r.text
    r = await api.get("/v1/hq/stock", token=here)
    assert r.status_code == 200, r.text
    assert {i["location"] for i in r.json()["items"]} == {network.store}
    r = await api.get(f"/v1/hq/stock?location={network.regional}", token=here)
    problem(r, 403, "forbidden")
    r = await api.get(f"/v1/hq/stock/movements?location={network.regional}", token=here)
    problem(r, 403, "forbidden")
    r = await api.get("/v1/hq/stock", token=network.tenant.hq_token)
    assert {i["location"] for i in r.json()["items"]} > {network.store}
