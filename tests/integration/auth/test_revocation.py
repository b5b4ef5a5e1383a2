"""Disabling a staff account, or changing its password or role, ends the tokens it already holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support import Api, TenantHandle, problem, staff_token

if TYPE_CHECKING:
    from litestar import Litestar

PASSWORD = "first-pass-1"


async def _hq(api: Api, tenant: TenantHandle, username: str) -> str:
    return await staff_token(api, tenant, username=username, role="hq", password=PASSWORD)


async def test_disabled_account_loses_its_token_on_reads_and_writes(api: Api, tenant: TenantHandle) -> None:
    old = await _hq(api, tenant, "leaver")
    assert (await api.get("/v1/hq/staff", token=old)).status_code == 200
    r = await api.patch("/v1/hq/staff/leaver", token=tenant.hq_token, json={"active": False})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    body = problem(await api.get("/v1/hq/staff", token=old), 401, "unauthorized")
    assert "revoked" in body["detail"]
    new = {"username": "sneaky", "password": "p" * 8, "role": "hq"}
    problem(await api.post("/v1/hq/staff", token=old, json=new), 401, "unauthorized")
    problem(await api.patch("/v1/hq/staff/leaver", token=old, json={"active": True}), 401, "unauthorized")
    assert (await api.get("/v1/hq/staff/sneaky", token=tenant.hq_token)).status_code == 404
    # Enabled again by someone else, the account signs in afresh; the old token stays dead.
    assert (await api.patch("/v1/hq/staff/leaver", token=tenant.hq_token, json={"active": True})).status_code == 200
    problem(await api.get("/v1/hq/staff", token=old), 401, "unauthorized")
    creds = {"tenant": tenant.slug, "username": "leaver", "password": PASSWORD}
    fresh = (await api.post("/v1/auth/token", json=creds)).json()["access_token"]
    assert (await api.get("/v1/hq/staff", token=fresh)).status_code == 200


async def test_password_change_ends_old_tokens(api: Api, tenant: TenantHandle) -> None:
    old = await _hq(api, tenant, "rotator")
    r = await api.patch("/v1/hq/staff/rotator", token=tenant.hq_token, json={"password": "second-pass-2"})
    assert r.status_code == 200, r.text
    problem(await api.get("/v1/hq/staff", token=old), 401, "unauthorized")
    creds = {"tenant": tenant.slug, "username": "rotator", "password": PASSWORD}
    problem(await api.post("/v1/auth/token", json=creds), 401, "unauthorized")
    creds["password"] = "second-pass-2"
    fresh = (await api.post("/v1/auth/token", json=creds)).json()["access_token"]
    assert (await api.get("/v1/hq/staff", token=fresh)).status_code == 200


async def test_own_password_change_ends_own_old_token(api: Api, tenant: TenantHandle) -> None:
    old = await _hq(api, tenant, "self-rotator")
    r = await api.patch("/v1/hq/staff/self-rotator", token=old, json={"password": "second-pass-2"})
    assert r.status_code == 200, r.text
    problem(await api.get("/v1/hq/staff", token=old), 401, "unauthorized")


async def test_role_change_ends_old_tokens(api: Api, tenant: TenantHandle) -> None:
    r = await api.post(
        "/v1/hq/distributors", token=tenant.hq_token, json={"code": "D-RV", "name": "Revoke Co", "regions": ["4403"]}
    )
    assert r.status_code == 201, r.text
    old = await _hq(api, tenant, "demoted")
    r = await api.patch(
        "/v1/hq/staff/demoted", token=tenant.hq_token, json={"role": "distributor", "distributor_code": "D-RV"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "distributor"
    assert r.json()["distributor_code"] == "D-RV"
    problem(await api.get("/v1/hq/staff", token=old), 401, "unauthorized")
    creds = {"tenant": tenant.slug, "username": "demoted", "password": PASSWORD}
    r = await api.post("/v1/auth/token", json=creds)
    assert r.json()["role"] == "distributor"


async def test_nobody_changes_their_own_active_flag_or_role(api: Api, tenant: TenantHandle) -> None:
    me = f"/v1/hq/staff/{tenant.admin_username}"
    problem(await api.patch(me, token=tenant.hq_token, json={"active": False}), 403, "own_account")
    problem(await api.patch(me, token=tenant.hq_token, json={"active": True}), 403, "own_account")
    r = await api.post(
        "/v1/hq/distributors", token=tenant.hq_token, json={"code": "D-SF", "name": "Self Co", "regions": ["4401"]}
    )
    assert r.status_code == 201, r.text
    body = {"role": "distributor", "distributor_code": "D-SF"}
    problem(await api.patch(me, token=tenant.hq_token, json=body), 403, "own_account")
    r = await api.get(me, token=tenant.hq_token)
    assert r.json()["role"] == "hq"
    assert r.json()["active"] is True


async def test_update_rules(api: Api, tenant: TenantHandle) -> None:
    await _hq(api, tenant, "target")
    t = tenant.hq_token
    problem(await api.patch("/v1/hq/staff/target", token=t, json={}), 422, "validation_failed")
    problem(await api.patch("/v1/hq/staff/target", token=t, json={"role": "store"}), 422, "validation_failed")
    problem(await api.patch("/v1/hq/staff/target", token=t, json={"password": "short"}), 422, "validation_failed")
    problem(await api.patch("/v1/hq/staff/nobody", token=t, json={"active": False}), 404, "not_found")


async def test_staff_request_starts_with_one_statement(app: Litestar, api: Api, tenant: TenantHandle) -> None:
    from tests.integration.stores.test_statements import statements

    with statements(app) as seen:
        assert (await api.get(f"/v1/hq/staff/{tenant.admin_username}", token=tenant.hq_token)).status_code == 200
    # The account check rides in the round trip that scopes the transaction: no statement of its own.
    assert seen
    assert not any("set_config" in s or "credentials_epoch" in s for s in seen)
