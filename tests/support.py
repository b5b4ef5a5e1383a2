"""Test helpers: a thin JSON client and tenant factory used across the suite."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
from httpx import Response
from litestar import Litestar
from sqlalchemy import text

__all__ = (
    "SEED_STOCK",
    "Api",
    "CatalogSeed",
    "TenantHandle",
    "consumer",
    "new_koc",
    "new_tenant",
    "on_citus",
    "problem",
    "running",
    "seed_catalog",
    "staff_token",
)


class Api:
    """Calls the API with an optional bearer token and returns the httpx response."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
    ) -> Response:
        """One request."""
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if json is not None:
            content = msgspec.json.encode(json)
            h.setdefault("Content-Type", "application/json")
        return await self.client.request(method, path, content=content, headers=h, params=params)

    async def get(self, path: str, **kw: Any) -> Response:
        """GET."""
        return await self.call("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Response:
        """POST."""
        return await self.call("POST", path, **kw)

    async def put(self, path: str, **kw: Any) -> Response:
        """PUT."""
        return await self.call("PUT", path, **kw)

    async def patch(self, path: str, **kw: Any) -> Response:
        """PATCH."""
        return await self.call("PATCH", path, **kw)

    async def delete(self, path: str, **kw: Any) -> Response:
        """DELETE."""
        return await self.call("DELETE", path, **kw)


class TenantHandle(msgspec.Struct):
    """A tenant created for one test, with its HQ admin's token."""

    slug: str
    hq_token: str
    admin_username: str
    admin_password: str


async def new_tenant(api: Api, operator_token: str, *, slug: str | None = None) -> TenantHandle:
    """Create a tenant through the platform API and sign its admin in."""
    slug = slug or f"t-{secrets.token_hex(5)}"
    password = "admin-pass-" + secrets.token_hex(4)
    r = await api.post(
        "/v1/platform/tenants",
        token=operator_token,
        json={"slug": slug, "name": f"Brand {slug}", "admin": {"username": "admin", "password": password}},
    )
    assert r.status_code == 201, r.text
    r = await api.post("/v1/auth/token", json={"tenant": slug, "username": "admin", "password": password})
    assert r.status_code == 200, r.text
    return TenantHandle(slug=slug, hq_token=r.json()["access_token"], admin_username="admin", admin_password=password)


async def on_citus(app: Litestar) -> bool:
    """Whether the database under test is a Citus coordinator (some statements keep a round trip there)."""
    async with app.state.db.sessions() as session:
        return bool(await session.scalar(text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")))


def problem(response: Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is a problem+json with ``status`` and ``code``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


@contextlib.asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """Drive the app's ASGI lifespan in the current event loop (start-up on enter, shut-down on exit)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        await outbox.put(message)

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"app failed to start: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


# --- a small catalog and store network, built through the HQ API --------------------------------------------------

# (location, sku) -> on hand; see seed_catalog for what it gives each store's shelves.
SEED_STOCK: dict[tuple[str, str], int] = {
    ("S-NS", "LJ-100"): 5,
    ("S-NS", "DHP-100"): 2,
    ("S-FT", "LJ-100"): 1,
    ("S-TH", "PE-357"): 3,
    ("WH-SZ", "LJ-250"): 20,
    ("WH-SZ", "PE-357"): 10,
    ("WH-GZ", "LJ-100"): 30,
    ("WH-GZ", "HC-50"): 12,
    ("WH-C", "CUP-1"): 100,
}


STAFF_PASSWORD = "staff-pass-2026"


class CatalogSeed(msgspec.Struct):
    """Codes of what :func:`seed_catalog` created."""

    tenant: TenantHandle
    distributors: list[str]
    warehouses: list[str]
    stores: list[str]
    products: list[str]  # published
    draft: str  # a draft product (not on any storefront)
    skus: dict[str, list[str]]  # product -> its SKU codes, in order
    prices: dict[str, int]  # sku -> list price (fen)
    bands: dict[str, tuple[int, int]]  # sku -> (min_price, max_price)
    stock: dict[tuple[str, str], int]  # (location, sku) -> on hand as seeded


async def seed_catalog(
    api: Api, tenant: TenantHandle, *, stock: dict[tuple[str, str], int] | None = None
) -> CatalogSeed:
    """Create a tea brand's network through the HQ API and return its codes.

    * distributors ``D-SZ`` (regions ``4403``) and ``D-GZ`` (``4401``);
    * warehouses ``WH-SZ`` (regional, 4403, run by D-SZ), ``WH-GZ`` (regional, 4401, D-GZ), ``WH-C`` (central);
    * stores ``S-NS`` (Nanshan 440305, D-SZ, 5 km delivery), ``S-FT`` (Futian 440304, D-SZ),
      ``S-TH`` (Tianhe 440106, D-GZ);
    * published products, SKU (list price fen, band):
      ``P-LJ`` 绿茶 ``LJ-100`` (8800, 7900-9900), ``LJ-250`` (19800, 17800-21800);
      ``P-DHP`` 乌龙茶 ``DHP-100`` (12800, band = price); ``P-PE`` 普洱 ``PE-357`` (29800, 26800-32800);
      ``P-BC`` 白茶 ``BC-100`` (6800, no stock anywhere); ``P-HC`` 花茶 ``HC-50`` (3800, only WH-GZ holds it);
      ``P-CUP`` 茶具 ``CUP-1`` (3600); and the draft ``P-NEW`` 红茶 ``NEW-1`` (5000);
    * ``stock`` (default :data:`SEED_STOCK`), set with ``PUT /v1/hq/stock``.

    With the default stock, S-NS shows LJ-100 and DHP-100 ``in_store``; LJ-250, PE-357 (WH-SZ) and CUP-1 (WH-C)
    ``cloud``; BC-100 and HC-50 ``sold_out`` (WH-GZ does not serve Shenzhen). S-TH shows PE-357 in store, LJ-100,
    HC-50 (WH-GZ) and CUP-1 on the cloud shelf, and LJ-250, DHP-100 and BC-100 sold out.
    """
    hq = tenant.hq_token

    async def create(path: str, body: dict[str, Any]) -> None:
        r = await api.post(path, token=hq, json=body)
        assert r.status_code == 201, r.text

    await create("/v1/hq/distributors", {"code": "D-SZ", "name": "深圳茶韵商贸", "regions": ["4403"]})
    await create("/v1/hq/distributors", {"code": "D-GZ", "name": "广州茶韵商贸", "regions": ["4401"]})
    warehouses = [
        {"code": "WH-SZ", "name": "深圳仓", "kind": "regional", "regions": ["4403"], "lat": 22.62, "lng": 114.03,
         "distributor_code": "D-SZ"},
        {"code": "WH-GZ", "name": "广州仓", "kind": "regional", "regions": ["4401"], "lat": 23.16, "lng": 113.27,
         "distributor_code": "D-GZ"},
        {"code": "WH-C", "name": "东莞总仓", "kind": "central", "lat": 23.02, "lng": 113.75},
    ]  # fmt: skip
    for w in warehouses:
        await create("/v1/hq/locations", w)
    stores = [
        {"code": "S-NS", "name": "南山店", "distributor_code": "D-SZ", "region": "440305", "lat": 22.5333,
         "lng": 113.9304, "address": "南山区科技园南区", "delivery_radius_km": 5},
        {"code": "S-FT", "name": "福田店", "distributor_code": "D-SZ", "region": "440304", "lat": 22.5431,
         "lng": 114.0579, "address": "福田区福华路"},
        {"code": "S-TH", "name": "天河店", "distributor_code": "D-GZ", "region": "440106", "lat": 23.1291,
         "lng": 113.3612, "address": "天河区天河路"},
    ]  # fmt: skip
    for st in stores:
        await create("/v1/hq/stores", st)
    catalog: list[tuple[str, str, str, list[tuple[str, str, int, int | None, int | None]]]] = [
        # product, title, category, [(sku, spec, price, min, max)]
        ("P-LJ", "西湖龙井", "绿茶", [("LJ-100", "100g罐装", 8800, 7900, 9900),
                                    ("LJ-250", "250g礼盒", 19800, 17800, 21800)]),
        ("P-DHP", "武夷大红袍", "乌龙茶", [("DHP-100", "100g罐装", 12800, None, None)]),
        ("P-PE", "云南普洱熟茶饼", "普洱", [("PE-357", "357g饼", 29800, 26800, 32800)]),
        ("P-BC", "福鼎白毫银针", "白茶", [("BC-100", "100g罐装", 6800, None, None)]),
        ("P-HC", "茉莉花茶", "花茶", [("HC-50", "50g袋装", 3800, None, None)]),
        ("P-CUP", "白瓷盖碗", "茶具", [("CUP-1", "150ml", 3600, None, None)]),
        ("P-NEW", "正山小种", "红茶", [("NEW-1", "100g罐装", 5000, None, None)]),
    ]  # fmt: skip
    skus: dict[str, list[str]] = {}
    prices: dict[str, int] = {}
    bands: dict[str, tuple[int, int]] = {}
    for code, title, category, variants in catalog:
        body_skus = []
        for sku, spec, price, low, high in variants:
            entry: dict[str, Any] = {"code": sku, "spec": spec, "price": price}
            if low is not None:
                entry |= {"min_price": low, "max_price": high}
            body_skus.append(entry)
            prices[sku] = price
            bands[sku] = (low or price, high or price)
        skus[code] = [v[0] for v in variants]
        await create("/v1/hq/products", {"code": code, "title": title, "category": category, "skus": body_skus})
        if code != "P-NEW":
            r = await api.post(f"/v1/hq/products/{code}/publish", token=hq)
            assert r.status_code == 200, r.text
    levels = SEED_STOCK if stock is None else stock
    if levels:
        items = [{"location": loc, "sku": sku, "on_hand": n} for (loc, sku), n in levels.items()]
        r = await api.put("/v1/hq/stock", token=hq, json={"items": items})
        assert r.status_code == 200, r.text
    return CatalogSeed(
        tenant=tenant,
        distributors=["D-SZ", "D-GZ"],
        warehouses=["WH-SZ", "WH-GZ", "WH-C"],
        stores=["S-NS", "S-FT", "S-TH"],
        products=[c[0] for c in catalog if c[0] != "P-NEW"],
        draft="P-NEW",
        skus=skus,
        prices=prices,
        bands=bands,
        stock=dict(levels),
    )


async def staff_token(
    api: Api,
    tenant: TenantHandle,
    *,
    username: str,
    role: str,
    store: str | None = None,
    distributor: str | None = None,
    password: str | None = None,
) -> str:
    """Create a staff account through ``POST /v1/hq/staff`` and sign it in; returns its token."""
    password = password or STAFF_PASSWORD
    body: dict[str, Any] = {"username": username, "password": password, "role": role}
    if store is not None:
        body["store_code"] = store
    if distributor is not None:
        body["distributor_code"] = distributor
    r = await api.post("/v1/hq/staff", token=tenant.hq_token, json=body)
    assert r.status_code == 201, r.text
    r = await api.post("/v1/auth/token", json={"tenant": tenant.slug, "username": username, "password": password})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def consumer(api: Api, tenant: TenantHandle, openid: str) -> tuple[str, int]:
    """Sign a consumer in with the local identity provider; returns (token, consumer id)."""
    r = await api.post(f"/v1/shop/{tenant.slug}/auth/login", json={"code": f"local:{openid}"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"], int(r.json()["consumer_id"])


async def new_koc(api: Api, token: str, name: str = "k", consumer_id: int | None = None) -> str:
    """Register a KOC through ``POST /v1/store/kocs`` with a store token; returns its code."""
    body: dict[str, Any] = {"name": name}
    if consumer_id is not None:
        body["consumer_id"] = consumer_id
    r = await api.post("/v1/store/kocs", token=token, json=body)
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    return code
