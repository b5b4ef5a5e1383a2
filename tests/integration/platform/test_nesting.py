"""Deeply nested JSON is refused with 400 on every route that takes a body; a too large body stays 413."""

from __future__ import annotations

import re
from typing import Any

from tests.support import Api, TenantHandle, problem

DEEP = b"[" * 3000 + b"]" * 3000


def _concrete(path: str, params: list[dict[str, Any]], tenant: str) -> str:
    kinds = {p["name"]: p.get("schema", {}).get("type") for p in params if p.get("in") == "path"}

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "tenant":
            return tenant
        return "1" if kinds.get(name) == "integer" else "X-1"

    return re.sub(r"\{([^}]+)\}", value, path)


async def test_every_json_route_refuses_deep_nesting(api: Api, tenant: TenantHandle) -> None:
    doc = (await api.get("/schema/openapi.json")).json()
    walked = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            content = (op.get("requestBody") or {}).get("content", {})
            if not any("json" in media for media in content):
                continue
            url = _concrete(path, [*item.get("parameters", []), *op.get("parameters", [])], tenant.slug)
            for body in (DEEP, b'{"a":' * 3000 + b"1" + b"}" * 3000):
                r = await api.call(
                    method.upper(),
                    url,
                    content=body,
                    token=tenant.hq_token,
                    headers={"Content-Type": "application/json", "Idempotency-Key": "deep-1"},
                )
                assert 400 <= r.status_code < 500, (method, url, r.status_code, r.text)
                problem(r, 400, "validation_failed")
            walked.append((method, path))
    assert len(walked) >= 10, walked
    assert ("post", "/v1/auth/token") in walked
    assert ("put", "/v1/hq/stock") in walked
    assert ("post", "/v1/shop/{tenant}/orders") in walked


async def test_deep_json_without_a_token_or_content_type(api: Api) -> None:
    r = await api.post("/v1/auth/token", content=DEEP)
    problem(r, 400, "validation_failed")
    r = await api.post("/v1/payments/local/notify", content=DEEP)
    assert 400 <= r.status_code < 500


async def test_shallow_brackets_in_strings_pass_and_large_bodies_stay_413(api: Api, tenant: TenantHandle) -> None:
    creds = {"tenant": tenant.slug, "username": tenant.admin_username, "password": tenant.admin_password}
    r = await api.post("/v1/auth/token", json={**creds, "username": "[" * 60})
    problem(r, 401, "unauthorized")
    r = await api.post("/v1/auth/token", json=creds)
    assert r.status_code == 200
    big = b'{"tenant": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    r = await api.post("/v1/auth/token", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
