"""Opening share links: touches, bindings under the tenant's attribution policy, refusals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from tests.integration.referrals.helpers import Net, seed_net, session_for, set_policy
from tests.support import Api, TenantHandle, consumer, new_koc, problem


async def touch(api: Api, net: Net, token: str, store: str, koc_code: str | None = None) -> dict[str, Any]:
    body = {"store": store, **({"koc": koc_code} if koc_code else {})}
    r = await api.post(f"/v1/shop/{net.tenant.slug}/touches", token=token, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_first_link_binds_and_protects(api: Api, net: Net) -> None:
    k1 = await new_koc(api, net.store_a_token)
    k2 = await new_koc(api, net.store_b_token)
    token, _ = await consumer(api, net.tenant, "alice")
    before = datetime.now(UTC)
    first = await touch(api, net, token, "SA", k1)
    assert (first["bound_store"], first["bound_koc"], first["outcome"]) == ("SA", k1, "new")
    # default policy: first_touch, 15 days of protection, 30 days of validity
    assert before + timedelta(days=15) <= at(first["protected_until"]) <= datetime.now(UTC) + timedelta(days=15)
    assert at(first["expires_at"]) - at(first["protected_until"]) == timedelta(days=15)
    # another store's KOC during protection changes nothing
    second = await touch(api, net, token, "SB", k2)
    assert (second["bound_store"], second["bound_koc"], second["outcome"]) == ("SA", k1, "protected")
    assert second["protected_until"] == first["protected_until"]
    # the store's plain link keeps the KOC
    plain = await touch(api, net, token, "SA")
    assert (plain["bound_store"], plain["bound_koc"], plain["outcome"]) == ("SA", k1, "same")
    binding = (await api.get(f"/v1/shop/{net.tenant.slug}/me/binding", token=token)).json()
    assert (binding["store"], binding["koc"], binding["active"]) == ("SA", k1, True)


async def test_after_protection_another_link_rebinds(api: Api, net: Net) -> None:
    await set_policy(api, net.tenant, "attribution", {"model": "first_touch", "protection_days": 0, "binding_days": 30})
    k1 = await new_koc(api, net.store_a_token)
    k2 = await new_koc(api, net.store_b_token)
    token, _ = await consumer(api, net.tenant, "bob")
    await touch(api, net, token, "SA", k1)
    again = await touch(api, net, token, "SB", k2)
    assert (again["bound_store"], again["bound_koc"], again["outcome"]) == ("SB", k2, "rebound")


async def test_last_touch_refreshes_the_same_link(api: Api, net: Net) -> None:
    await set_policy(
        api, net.tenant, "attribution", {"model": "last_touch", "protection_days": 0, "binding_days": None}
    )
    k1 = await new_koc(api, net.store_a_token)
    token, _ = await consumer(api, net.tenant, "carol")
    first = await touch(api, net, token, "SA", k1)
    assert first["expires_at"] is None  # permanent
    again = await touch(api, net, token, "SA", k1)
    assert again["outcome"] == "refreshed"
    assert at(again["protected_until"]) > at(first["protected_until"])


async def test_expired_binding_is_replaced(api: Api, app: Litestar, net: Net) -> None:
    k1 = await new_koc(api, net.store_a_token)
    k2 = await new_koc(api, net.store_b_token)
    token, cid = await consumer(api, net.tenant, "dave")
    await touch(api, net, token, "SA", k1)
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        await s.execute(
            text(
                "UPDATE bindings SET protected_until = now() - interval '2 days', "
                "expires_at = now() - interval '1 day' WHERE consumer_id = :c"
            ),
            {"c": cid},
        )
    assert (await api.get(f"/v1/shop/{net.tenant.slug}/me/binding", token=token)).json()["active"] is False
    result = await touch(api, net, token, "SB", k2)
    assert (result["bound_store"], result["bound_koc"], result["outcome"]) == ("SB", k2, "expired_rebound")


async def test_binding_to_oneself_is_refused(api: Api, net: Net) -> None:
    token, cid = await consumer(api, net.tenant, "kol")
    own = await new_koc(api, net.store_a_token, consumer_id=cid)
    result = await touch(api, net, token, "SA", own)
    # the store keeps its customer, the KOC is not bound to themselves
    assert (result["bound_store"], result["bound_koc"], result["outcome"]) == ("SA", None, "self_referral")


async def test_loops_are_refused(api: Api, net: Net) -> None:
    await set_policy(api, net.tenant, "attribution", {"model": "last_touch", "protection_days": 0, "binding_days": 30})
    a_token, a_id = await consumer(api, net.tenant, "a")
    b_token, b_id = await consumer(api, net.tenant, "b")
    ka = await new_koc(api, net.store_a_token, "A", consumer_id=a_id)
    kb = await new_koc(api, net.store_b_token, "B", consumer_id=b_id)
    assert (await touch(api, net, b_token, "SA", ka))["bound_koc"] == ka  # B is brought by A
    refused = await touch(api, net, a_token, "SB", kb)  # A through B's link: A→B→A
    assert (refused["bound_store"], refused["bound_koc"], refused["outcome"]) == ("SB", None, "loop")


async def test_unknown_links_are_not_found(api: Api, app: Litestar, net: Net, other_tenant: TenantHandle) -> None:
    token, _ = await consumer(api, net.tenant, "erin")
    kb = await new_koc(api, net.store_b_token)
    slug = net.tenant.slug
    for body in ({"store": "NOPE"}, {"store": "SA", "koc": "KNOPE"}, {"store": "SA", "koc": kb}):
        problem(await api.post(f"/v1/shop/{slug}/touches", token=token, json=body), 404, "not_found")
    # another tenant's store and KOC, with a consumer of that tenant
    other = await seed_net(api, app, other_tenant)
    ko = await new_koc(api, other.store_a_token)
    other_token, _ = await consumer(api, other_tenant, "erin")
    problem(
        await api.post(f"/v1/shop/{other_tenant.slug}/touches", token=other_token, json={"store": "SA", "koc": kb}),
        404,
        "not_found",
    )
    problem(await api.post(f"/v1/shop/{slug}/touches", token=token, json={"store": "SA", "koc": ko}), 404, "not_found")
    problem(await api.get(f"/v1/shop/{slug}/me/binding", token=token), 404, "not_found")


async def test_touches_need_a_consumer_of_the_tenant(api: Api, net: Net, other_tenant: TenantHandle) -> None:
    slug = net.tenant.slug
    foreign, _ = await consumer(api, other_tenant, "frank")
    problem(await api.post(f"/v1/shop/{slug}/touches", json={"store": "SA"}), 401, "unauthorized")
    problem(
        await api.post(f"/v1/shop/{slug}/touches", token=net.store_a_token, json={"store": "SA"}), 401, "unauthorized"
    )
    problem(await api.post(f"/v1/shop/{slug}/touches", token=foreign, json={"store": "SA"}), 401, "unauthorized")
    problem(await api.post("/v1/shop/no-such-tenant/touches", token=foreign, json={"store": "SA"}), 404, "not_found")
    token, _ = await consumer(api, net.tenant, "frank")
    for body in ({}, {"store": ""}, {"store": "SA", "koc": 5}, {"store": "SA", "x": 1}):
        problem(await api.post(f"/v1/shop/{slug}/touches", token=token, json=body), 422, "validation_failed")
    r = await api.post(
        f"/v1/shop/{slug}/touches", token=token, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code in (400, 422)


async def test_protection_longer_than_validity_is_refused(api: Api, net: Net) -> None:
    r = await api.put(
        "/v1/hq/policies/attribution", token=net.tenant.hq_token, json={"protection_days": 60, "binding_days": 10}
    )
    body = problem(r, 422, "validation_failed")
    assert "protection_days" in body["detail"]


async def test_links_opened_at_once_bind_the_consumer_once(api: Api, net: Net) -> None:
    kocs = [await new_koc(api, net.store_a_token, f"k{i}") for i in range(4)]
    token, _ = await consumer(api, net.tenant, "racer")
    results = await asyncio.gather(*(touch(api, net, token, "SA", k) for k in kocs))
    # first_touch with protection: exactly one link won, and every answer names the same winner
    assert sorted(r["outcome"] for r in results) == ["new", "protected", "protected", "protected"]
    assert len({(r["bound_store"], r["bound_koc"]) for r in results}) == 1
