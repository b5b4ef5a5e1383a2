"""Platform routes: tenants, staff tokens, health, OpenAPI."""

from __future__ import annotations

from tests.support import Api, TenantHandle, problem


async def test_healthz(api: Api) -> None:
    r = await api.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.headers["x-request-id"]


async def test_create_tenant_and_sign_in(api: Api, operator_token: str) -> None:
    r = await api.post(
        "/v1/platform/tenants",
        token=operator_token,
        json={"slug": "tea-brand-x1", "name": "茶韵", "admin": {"username": "boss", "password": "s3cret-pass"}},
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"slug": "tea-brand-x1", "name": "茶韵"}
    r = await api.post("/v1/auth/token", json={"tenant": "tea-brand-x1", "username": "boss", "password": "s3cret-pass"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "hq"
    assert body["access_token"].count(".") == 2


async def test_duplicate_tenant_is_conflict(api: Api, operator_token: str, tenant: TenantHandle) -> None:
    r = await api.post(
        "/v1/platform/tenants",
        token=operator_token,
        json={"slug": tenant.slug, "name": "again", "admin": {"username": "x-admin", "password": "password1"}},
    )
    problem(r, 409, "conflict")


async def test_operator_token_required(api: Api) -> None:
    body = {"slug": "nope-1", "name": "n", "admin": {"username": "abc", "password": "password1"}}
    problem(await api.post("/v1/platform/tenants", json=body), 401, "unauthorized")
    problem(await api.post("/v1/platform/tenants", json=body, token="wrong"), 401, "unauthorized")


async def test_tenant_validation(api: Api, operator_token: str) -> None:
    r = await api.post(
        "/v1/platform/tenants",
        token=operator_token,
        json={"slug": "Bad Slug!", "name": "n", "admin": {"username": "abc", "password": "short"}},
    )
    body = problem(r, 422, "validation_failed")
    assert "slug" in body["detail"]


async def test_malformed_json_is_400(api: Api, operator_token: str) -> None:
    r = await api.post(
        "/v1/platform/tenants",
        token=operator_token,
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_wrong_password_and_unknown_tenant_look_alike(api: Api, tenant: TenantHandle) -> None:
    a = await api.post("/v1/auth/token", json={"tenant": tenant.slug, "username": "admin", "password": "wrong-pw"})
    b = await api.post("/v1/auth/token", json={"tenant": "no-such-brand", "username": "admin", "password": "x"})
    c = await api.post("/v1/auth/token", json={"tenant": tenant.slug, "username": "nobody", "password": "x"})
    for r in (a, b, c):
        assert problem(r, 401, "unauthorized")["detail"] == "invalid tenant, username or password"


async def test_unknown_route_and_method(api: Api) -> None:
    problem(await api.get("/v1/nothing-here"), 404, "not_found")
    problem(await api.call("DELETE", "/healthz"), 405, "method_not_allowed")


async def test_openapi_lists_routes_and_errors(api: Api) -> None:
    r = await api.get("/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert "/v1/platform/tenants" in doc["paths"]
    assert "/v1/auth/token" in doc["paths"]
    op = doc["paths"]["/v1/platform/tenants"]["post"]
    assert {"201", "401", "409", "422", "500"} <= set(op["responses"])
    r = await api.get("/schema/swagger")
    assert r.status_code == 200


async def test_values_the_database_cannot_hold_are_422(api: Api, tenant: TenantHandle) -> None:
    huge = 82129126162206360379821391872
    problem(await api.get(f"/v1/hq/consumers/{huge}", token=tenant.hq_token), 422, "validation_failed")
    r = await api.get(
        "/v1/hq/ledger", token=tenant.hq_token, params={"beneficiary_kind": "koc", "beneficiary": "a\x00b"}
    )
    problem(r, 422, "validation_failed")
