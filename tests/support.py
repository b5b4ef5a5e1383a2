"""Test helpers: a thin JSON client and tenant factory used across the suite."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from httpx import Response
from litestar import Litestar

__all__ = ("Api", "TenantHandle", "new_tenant", "problem", "running")


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
