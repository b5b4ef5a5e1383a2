"""Tokens: expired, forged, tampered, for another tenant, for the wrong role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloudstore.auth.tokens import Principal, TokenCodec
from cloudstore.lib.errors import Unauthorized
from tests.support import Api, TenantHandle, problem

SECRET = "test-secret-key-" + "x" * 32


async def test_staff_routes_need_a_token(api: Api) -> None:
    problem(await api.get("/v1/hq/staff"), 401, "unauthorized")
    problem(await api.get("/v1/hq/staff", headers={"Authorization": "Basic abc"}), 401, "unauthorized")


async def test_expired_token_is_refused(api: Api, tenant: TenantHandle) -> None:
    me = TokenCodec(SECRET, timedelta(hours=1)).verify(tenant.hq_token)
    old, _ = TokenCodec(SECRET, timedelta(seconds=1)).issue(me, datetime.now(UTC) - timedelta(hours=2))
    body = problem(await api.get("/v1/hq/staff", token=old), 401, "unauthorized")
    assert "expired" in body["detail"]


def test_a_token_verified_before_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = TokenCodec(SECRET, timedelta(minutes=5))
    me = Principal(tenant_id=1, tenant="t", subject_id=7, role="consumer")
    token, expires = codec.issue(me, datetime.now(UTC))
    assert codec.verify(token) == me
    assert codec.verify(token) == me  # remembered
    with pytest.raises(Unauthorized, match="not valid"):
        codec.verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))  # another string is checked in full
    monkeypatch.setattr("cloudstore.auth.tokens.time.time", lambda: expires.timestamp())
    with pytest.raises(Unauthorized, match="expired"):
        codec.verify(token)


async def test_forged_and_tampered_tokens_are_refused(api: Api, tenant: TenantHandle) -> None:
    me = TokenCodec(SECRET, timedelta(hours=1)).verify(tenant.hq_token)
    forged, _ = TokenCodec("another-secret-" + "y" * 32, timedelta(hours=1)).issue(me, datetime.now(UTC))
    problem(await api.get("/v1/hq/staff", token=forged), 401, "unauthorized")
    head, payload, sig = tenant.hq_token.split(".")
    tampered = ".".join((head, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"), sig))
    problem(await api.get("/v1/hq/staff", token=tampered), 401, "unauthorized")
    problem(await api.get("/v1/hq/staff", token="not-a-jwt"), 401, "unauthorized")


async def test_consumer_token_is_bound_to_its_tenant(
    api: Api, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    r = await api.post(f"/v1/shop/{tenant.slug}/auth/login", json={"code": "local:bob"})
    token = r.json()["access_token"]
    body = problem(await api.get(f"/v1/shop/{other_tenant.slug}/orders", token=token), 401, "unauthorized")
    assert "another tenant" in body["detail"]


async def test_consumer_token_cannot_reach_staff_routes(api: Api, tenant: TenantHandle) -> None:
    token = (await api.post(f"/v1/shop/{tenant.slug}/auth/login", json={"code": "local:carol"})).json()["access_token"]
    problem(await api.get("/v1/hq/staff", token=token), 401, "unauthorized")


async def test_role_guard(api: Api, tenant: TenantHandle) -> None:
    me = TokenCodec(SECRET, timedelta(hours=1)).verify(tenant.hq_token)
    as_store = Principal(tenant_id=me.tenant_id, tenant=me.tenant, subject_id=me.subject_id, role="store", store_id=1)
    token, _ = TokenCodec(SECRET, timedelta(hours=1)).issue(as_store, datetime.now(UTC))
    problem(await api.get("/v1/hq/staff", token=token), 403, "forbidden")


async def test_disabled_staff_cannot_sign_in(api: Api, tenant: TenantHandle) -> None:
    r = await api.post(
        "/v1/hq/staff", token=tenant.hq_token, json={"username": "temp", "password": "temp-pass-1", "role": "hq"}
    )
    assert r.status_code == 201
    creds = {"tenant": tenant.slug, "username": "temp", "password": "temp-pass-1"}
    assert (await api.post("/v1/auth/token", json=creds)).status_code == 200
    r = await api.patch("/v1/hq/staff/temp", token=tenant.hq_token, json={"active": False})
    assert r.json()["active"] is False
    problem(await api.post("/v1/auth/token", json=creds), 401, "unauthorized")


async def test_staff_creation_rules(api: Api, tenant: TenantHandle) -> None:
    t = tenant.hq_token
    problem(
        await api.post("/v1/hq/staff", token=t, json={"username": "s1", "password": "p" * 8, "role": "store"}),
        422,
        "validation_failed",
    )
    body = problem(
        await api.post(
            "/v1/hq/staff",
            token=t,
            json={"username": "s1x", "password": "p" * 8, "role": "store", "store_code": "NOPE"},
        ),
        422,
        "validation_failed",
    )
    assert "NOPE" in body["detail"]
    problem(
        await api.post("/v1/hq/staff", token=t, json={"username": "admin", "password": "p" * 8, "role": "hq"}),
        409,
        "conflict",
    )
    problem(
        await api.post("/v1/hq/staff", token=t, json={"username": "x", "password": "p" * 8, "role": "hq"}),
        422,
        "validation_failed",
    )
    problem(
        await api.post("/v1/hq/staff", token=t, json={"username": "abc", "password": "p" * 8, "role": "boss"}),
        422,
        "validation_failed",
    )


async def test_consumer_login(api: Api, tenant: TenantHandle) -> None:
    first = (await api.post(f"/v1/shop/{tenant.slug}/auth/login", json={"code": "local:dave"})).json()
    again = (await api.post(f"/v1/shop/{tenant.slug}/auth/login", json={"code": "local:dave"})).json()
    assert first["consumer_id"] == again["consumer_id"]
    problem(await api.post(f"/v1/shop/{tenant.slug}/auth/login", json={"code": "local:"}), 401, "unauthorized")
    problem(await api.post(f"/v1/shop/{tenant.slug}/auth/login", json={"code": "wx-code-123"}), 401, "unauthorized")
    problem(await api.post("/v1/shop/no-such-tenant/auth/login", json={"code": "local:dave"}), 404, "not_found")
