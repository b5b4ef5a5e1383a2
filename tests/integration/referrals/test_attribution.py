"""Attribution at payment and pending commission, driven by order events published straight to the subscribers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from sqlalchemy import text

from cloudstore.lib.db import set_tenant
from cloudstore.referrals.service import order_attribution
from tests.integration.referrals.helpers import (
    Net,
    insert_order,
    ledger_rows,
    pay_order,
    seed_net,
    session_for,
    set_policy,
)
from tests.support import Api, TenantHandle, consumer, new_koc

COMMISSION = {
    "store_bp": 500,
    "distributor_bp": 200,
    "koc_bp": 300,
    "frozen_days": 7,
    "by_category": {"teaware": {"store_bp": 1000, "distributor_bp": 0, "koc_bp": 500}},
    "by_product": {"P-GIFT": {"store_bp": 0, "distributor_bp": 0, "koc_bp": 0}},
}
# TEA-1 × 2 (2580, default rates) + POT-1 × 1 (19900, teaware rates)
LINES = [("TEA-1", 2), ("POT-1", 1)]
STORE_FEE = (2580 * 500 + 19900 * 1000) // 10000  # 2119
DISTRIBUTOR_FEE = (2580 * 200) // 10000  # 51 (51.6 rounded down)
KOC_FEE = (2580 * 300 + 19900 * 500) // 10000  # 1072


@pytest.fixture
async def net(api: Api, app: Litestar, tenant: TenantHandle) -> Net:
    n = await seed_net(api, app, tenant)
    await set_policy(api, tenant, "commission", COMMISSION)
    return n


async def binding_of(app: Litestar, net: Net, consumer_id: int) -> tuple[str, str | None, datetime | None] | None:
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        row = (
            await s.execute(
                text(
                    "SELECT s.code, k.code, b.expires_at FROM bindings b JOIN stores s ON s.id = b.store_id "
                    "LEFT JOIN kocs k ON k.id = b.koc_id WHERE b.consumer_id = :c"
                ),
                {"c": consumer_id},
            )
        ).first()
    return (row[0], row[1], row[2]) if row else None


async def attribution(app: Litestar, net: Net, order_id: int) -> tuple[str | None, str | None, str | None, str | None]:
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        a, _ = await order_attribution(s, net.tenant_id, order_id)
    return a.store, a.distributor, a.koc, a.source


async def test_link_order_is_credited_and_booked_pending(api: Api, app: Litestar, net: Net) -> None:
    k1 = await new_koc(api, net.store_a_token)
    token, cid = await consumer(api, net.tenant, "alice")
    await api.post(f"/v1/shop/{net.tenant.slug}/touches", token=token, json={"store": "SA", "koc": k1})
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SA", koc=k1, lines=LINES)
    await pay_order(app, net, oid)
    assert await attribution(app, net, oid) == ("SA", "DA", k1, "link")
    expected = [
        ("store", "SA", STORE_FEE, "pending", "commission"),
        ("distributor", "DA", DISTRIBUTOR_FEE, "pending", "commission"),
        ("koc", k1, KOC_FEE, "pending", "commission"),
    ]
    assert await ledger_rows(app, net, oid) == expected
    # a repeated payment event books nothing more
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        await s.execute(text("UPDATE orders SET status = 'pending_payment' WHERE id = :o"), {"o": oid})
    await pay_order(app, net, oid)
    assert await ledger_rows(app, net, oid) == expected
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        _, commissions = await order_attribution(s, net.tenant_id, oid)
    assert [(c.beneficiary_kind, c.beneficiary, c.amount, c.status, c.kind) for c in commissions] == expected


async def test_generic_entry_order_is_credited_to_the_binding_and_renews_it(api: Api, app: Litestar, net: Net) -> None:
    k2 = await new_koc(api, net.store_b_token)
    token, cid = await consumer(api, net.tenant, "bob")
    await api.post(f"/v1/shop/{net.tenant.slug}/touches", token=token, json={"store": "SB", "koc": k2})
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        await s.execute(
            text("UPDATE bindings SET expires_at = now() + interval '1 day' WHERE consumer_id = :c"), {"c": cid}
        )
    # no store named: the orders service used the bound store
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SB", lines=[("TEA-2", 1)], via_link=False)
    paid_at = datetime.now(UTC)
    await pay_order(app, net, oid, paid_at=paid_at)
    assert await attribution(app, net, oid) == ("SB", "DB", k2, "binding")
    bound = await binding_of(app, net, cid)
    assert bound is not None
    assert bound[:2] == ("SB", k2)
    assert bound[2] is not None
    assert abs(bound[2] - (paid_at + timedelta(days=30))) < timedelta(seconds=1)
    assert [r[:3] for r in await ledger_rows(app, net, oid)] == [
        ("store", "SB", 2590 * 500 // 10000),
        ("distributor", "DB", 2590 * 200 // 10000),
        ("koc", k2, 2590 * 300 // 10000),
    ]


async def test_link_order_of_an_unbound_consumer_binds_them(api: Api, app: Litestar, net: Net) -> None:
    k1 = await new_koc(api, net.store_a_token)
    _, cid = await consumer(api, net.tenant, "carol")
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SA", koc=k1, lines=[("TEA-1", 1)])
    await pay_order(app, net, oid)
    bound = await binding_of(app, net, cid)
    assert bound is not None
    assert bound[:2] == ("SA", k1)


async def test_another_stores_link_credits_that_store_and_leaves_the_binding(api: Api, app: Litestar, net: Net) -> None:
    k1 = await new_koc(api, net.store_a_token)
    token, cid = await consumer(api, net.tenant, "dave")
    await api.post(f"/v1/shop/{net.tenant.slug}/touches", token=token, json={"store": "SA", "koc": k1})
    before = await binding_of(app, net, cid)
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SB", lines=[("TEA-1", 1)])
    await pay_order(app, net, oid)
    # the bound KOC belongs to SA: it does not follow the consumer into SB
    assert await attribution(app, net, oid) == ("SB", "DB", None, "storefront")
    assert await binding_of(app, net, cid) == before
    assert {r[0] for r in await ledger_rows(app, net, oid)} == {"store", "distributor"}


async def test_a_koc_buying_for_themselves_earns_nothing_unless_allowed(api: Api, app: Litestar, net: Net) -> None:
    _, cid = await consumer(api, net.tenant, "kol")
    own = await new_koc(api, net.store_a_token, consumer_id=cid)
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SA", koc=own, lines=[("TEA-1", 4)])
    await pay_order(app, net, oid)
    assert await attribution(app, net, oid) == ("SA", "DA", None, "link")
    assert {r[0] for r in await ledger_rows(app, net, oid)} == {"store", "distributor"}
    await set_policy(api, net.tenant, "attribution", {"self_referral": True})
    oid2, _ = await insert_order(app, net, consumer_id=cid, store="SA", koc=own, lines=[("TEA-1", 4)])
    await pay_order(app, net, oid2)
    assert await attribution(app, net, oid2) == ("SA", "DA", own, "link")
    assert ("koc", own, 4 * 1290 * 300 // 10000, "pending", "commission") in await ledger_rows(app, net, oid2)


async def test_an_inactive_koc_earns_nothing(api: Api, app: Litestar, net: Net) -> None:
    k1 = await new_koc(api, net.store_a_token)
    token, cid = await consumer(api, net.tenant, "erin")
    await api.post(f"/v1/shop/{net.tenant.slug}/touches", token=token, json={"store": "SA", "koc": k1})
    r = await api.patch(f"/v1/store/kocs/{k1}", token=net.store_a_token, json={"active": False})
    assert r.status_code == 200
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SA", lines=[("TEA-1", 1)], via_link=False)
    await pay_order(app, net, oid)
    assert await attribution(app, net, oid) == ("SA", "DA", None, "binding")


async def test_products_with_zero_rates_and_zero_shares_book_nothing(api: Api, app: Litestar, net: Net) -> None:
    _, cid = await consumer(api, net.tenant, "fay")
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SA", lines=[("GIFT-1", 1)])
    await pay_order(app, net, oid)
    assert await attribution(app, net, oid) == ("SA", "DA", None, "storefront")
    assert await ledger_rows(app, net, oid) == []


async def test_lapsed_binding_still_credits_the_store_the_order_was_placed_through(
    api: Api, app: Litestar, net: Net
) -> None:
    k1 = await new_koc(api, net.store_a_token)
    token, cid = await consumer(api, net.tenant, "gus")
    await api.post(f"/v1/shop/{net.tenant.slug}/touches", token=token, json={"store": "SA", "koc": k1})
    oid, _ = await insert_order(app, net, consumer_id=cid, store="SA", lines=[("TEA-1", 1)], via_link=False)
    async with session_for(app) as s, s.begin():
        await set_tenant(s, net.tenant_id)
        await s.execute(
            text(
                "UPDATE bindings SET protected_until = now() - interval '1 day', expires_at = now() "
                "WHERE consumer_id = :c"
            ),
            {"c": cid},
        )
    await pay_order(app, net, oid)
    assert await attribution(app, net, oid) == ("SA", "DA", None, "storefront")
