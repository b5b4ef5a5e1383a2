"""The analysis models against a brute-force recomputation from the raw tables, after a random history."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Litestar
from sqlalchemy import text

from cloudstore.analytics.models import TENANT_DAY_SLOTS
from cloudstore.analytics.rfm import score
from cloudstore.analytics.schemas import AnalyticsPolicyDoc
from cloudstore.lib.db import set_tenant
from tests.conftest import LOCAL_PAY_SECRET
from tests.integration.codes.helpers import make_batch, scan, ship
from tests.integration.network import FAR_SHENZHEN_ADDRESS, NANSHAN_ADDRESS, Network, place, seed
from tests.support import Api, TenantHandle, consumer, new_koc, problem, staff_token

STORES = ("SZ-NS-01", "SZ-FT-01")
SKUS = ("TEA-1", "TEA-2", "POT-1", "GIFT-1")
PLENTY = {
    "SZ-NS-01": {"TEA-1": 500, "TEA-2": 500},
    "SZ-FT-01": {"TEA-1": 500},
    "WH-SZ": {"TEA-1": 500, "POT-1": 500, "TEA-2": 500},
    "WH-GZ": {"GIFT-1": 500},
    "WH-CN": {"TEA-1": 500, "POT-1": 500, "GIFT-1": 500},
}
BOUND_OUTCOMES = {"new", "expired_rebound", "rebound", "refreshed"}


async def _pay_at(api: Api, slug: str, token: str, order: dict[str, Any], paid_at: datetime) -> None:
    r = await api.post(
        f"/v1/shop/{slug}/orders/{order['order_no']}/pay",
        token=token,
        json={"provider": "local"},
        headers={"Idempotency-Key": f"pay-{order['order_no']}"},
    )
    assert r.status_code == 200, r.text
    body = msgspec.json.encode(
        {
            "payment_id": r.json()["payment_id"],
            "order_no": order["order_no"],
            "amount": order["total"],
            "status": "SUCCESS",
            "paid_at": paid_at.isoformat(),
        }
    )
    sig = hmac.new(LOCAL_PAY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    r = await api.post(
        "/v1/payments/local/notify",
        content=body,
        headers={"X-Local-Signature": sig, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text


async def _history(app: Litestar, api: Api, tenant: TenantHandle, rng: random.Random) -> tuple[int, dict[str, str]]:
    """Touches, rebindings, orders paid over ten days, shipments, partial and whole refunds; returns the tenant id."""
    tid = await seed(app, tenant.slug, stock=PLENTY)
    hq = tenant.hq_token
    r = await api.put("/v1/hq/policies/commission", token=hq, json={"store_bp": 500, "koc_bp": 300})
    assert r.status_code == 200, r.text
    r = await api.put(
        "/v1/hq/policies/attribution", token=hq, json={"model": "last_touch", "protection_days": 0, "binding_days": 60}
    )
    assert r.status_code == 200, r.text
    shoppers = [await consumer(api, tenant, f"shopper-{i}") for i in range(8)]
    store_tokens = {s: await staff_token(api, tenant, username=f"staff-{s}", role="store", store=s) for s in STORES}
    # KOCs without an account take orders; the referrer's KOC (shopper 0's own) only shares links.
    kocs = {
        "SZ-NS-01": [
            await new_koc(api, store_tokens["SZ-NS-01"], "ns-a"),
            await new_koc(api, store_tokens["SZ-NS-01"], "ns-b"),
        ],
        "SZ-FT-01": [await new_koc(api, store_tokens["SZ-FT-01"], "ft-a")],
    }
    referrer = await new_koc(api, store_tokens["SZ-NS-01"], "ref", consumer_id=shoppers[0][1])
    now = datetime.now(UTC)
    paid: list[dict[str, Any]] = []
    for step in range(70):
        token, _cid = rng.choice(shoppers[1:]) if step % 5 else rng.choice(shoppers)
        action = rng.random()
        if action < 0.3:
            store = rng.choice(STORES)
            koc = rng.choice([None, referrer if store == "SZ-NS-01" else None, *kocs[store]])
            body = {"store": store} | ({"koc": koc} if koc else {})
            r = await api.post(f"/v1/shop/{tenant.slug}/touches", token=token, json=body)
            assert r.status_code == 201, r.text
        elif action < 0.8 or not paid:
            store = rng.choice(STORES)
            lines = [{"sku": sku, "qty": rng.randint(1, 3)} for sku in rng.sample(SKUS, rng.randint(1, 3))]
            koc = rng.choice([None, *kocs[store]])
            delivery = NANSHAN_ADDRESS if rng.random() < 0.7 else FAR_SHENZHEN_ADDRESS
            net = Network(tenant=tenant, tenant_id=tid, consumer_token=token, consumer_id=0)
            r = await place(api, net, lines, key=f"o{step}", delivery=delivery, store=store, koc=koc, token=token)
            assert r.status_code == 201, r.text
            if rng.random() < 0.85:
                at = now - timedelta(days=rng.randint(0, 9), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
                await _pay_at(api, tenant.slug, token, r.json(), at)
                paid.append(r.json())
        else:
            order = rng.choice(paid)
            if rng.random() < 0.3:
                r = await api.post(
                    f"/v1/hq/orders/{order['order_no']}/refunds", token=hq, json={"all": True},
                    headers={"Idempotency-Key": f"ra{step}"},
                )  # fmt: skip
                assert r.status_code in (201, 409, 422), r.text
                continue
            await _ship(app, api, tid, hq, order["order_no"])
            line = rng.choice(order["lines"])
            r = await api.post(
                f"/v1/hq/orders/{order['order_no']}/refunds",
                token=hq,
                json={"lines": [{"sku": line["sku"], "qty": 1}]},
                headers={"Idempotency-Key": f"rl{step}"},
            )
            assert r.status_code in (201, 409, 422), r.text
    # Scanned product codes touch (and bind to) the store each unit was shipped to: a consumer first touched by a
    # scan and then taken by the other store's link, and shoppers rebound by a scan.
    net = Network(tenant=tenant, tenant_id=tid, consumer_token=shoppers[0][0], consumer_id=shoppers[0][1])
    r = await api.put("/v1/hq/policies/codes", token=hq, json={"bind_on_scan": True})
    assert r.status_code == 200, r.text
    batch = await make_batch(app, api, net, 4, 2)
    for case, store in zip(batch.cases, STORES, strict=True):
        r = await ship(api, net, [case], store=store)
        assert r.status_code == 201, r.text
    scanner = await consumer(api, tenant, "scanner")
    ns, ft = (batch.units_of(case) for case in batch.cases)
    for (token, _cid), unit in ((scanner, ns[0]), (shoppers[3], ft[0]), (shoppers[4], ns[1]), (shoppers[3], ft[1])):
        r = await scan(api, net, token, unit, region="440305")
        assert r.status_code == 200, r.text
    r = await api.post(f"/v1/shop/{tenant.slug}/touches", token=scanner[0], json={"store": STORES[1]})
    assert (r.status_code, r.json()["outcome"]) == (201, "rebound"), r.text
    # a binding that lapses and is taken again at the other store, and one that lapses and stays lapsed
    for (token, cid), again in ((shoppers[1], True), (shoppers[2], False)):
        r = await api.post(f"/v1/shop/{tenant.slug}/touches", token=token, json={"store": STORES[0]})
        assert r.status_code == 201, r.text
        await _lapse(app, tid, cid)
        if again:
            r = await api.post(f"/v1/shop/{tenant.slug}/touches", token=token, json={"store": STORES[1]})
            assert (r.status_code, r.json()["outcome"]) == (201, "expired_rebound"), r.text
    return tid, store_tokens


async def _lapse(app: Litestar, tid: int, consumer_id: int) -> None:
    """Let the consumer's binding lapse (as its validity running out would)."""
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        await s.execute(
            text(
                "UPDATE bindings SET protected_until = now() - interval '2 seconds', "
                "expires_at = now() - interval '1 second' WHERE tenant_id = :t AND consumer_id = :c"
            ),
            {"t": tid, "c": consumer_id},
        )


async def _ship(app: Litestar, api: Api, tid: int, hq: str, order_no: str) -> None:
    """Ship the order's pending delivery fulfilments (so a later partial refund leaves their lines as they were)."""
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        ids = (
            (
                await s.execute(
                    text(
                        "SELECT f.id FROM fulfilments f "
                        "JOIN orders o ON o.tenant_id = f.tenant_id AND o.id = f.order_id "
                        "WHERE f.tenant_id = :t AND o.order_no = :n AND f.status = 'pending'"
                    ),
                    {"t": tid, "n": order_no},
                )
            )
            .scalars()
            .all()
        )
    for fid in ids:
        r = await api.post(
            f"/v1/hq/fulfilments/{fid}/ship", token=hq, json={"carrier": "SF", "tracking_no": f"SF{fid}"}
        )
        assert r.status_code in (200, 409), r.text


class Raw(msgspec.Struct):
    """The raw tables, as plain rows."""

    orders: list[Any]
    lines: list[Any]
    shipped: list[Any]
    stores: list[Any]
    ledger: list[Any]
    touches: list[Any]
    bindings: list[Any]
    kocs: list[Any]
    skus: dict[int, str]


async def _raw(app: Litestar, tid: int) -> Raw:
    queries = {
        "orders": "SELECT id, consumer_id, COALESCE(credited_store_id, store_id) AS store_id, "
        "credited_koc_id AS koc_id, paid_at FROM orders WHERE paid_at IS NOT NULL",
        "lines": "SELECT order_id, sku_id, amount - discount AS paid, qty, refunded_qty FROM order_lines",
        "shipped": "SELECT f.order_id, f.location_id, fl.sku_id, fl.qty FROM fulfilments f "
        "JOIN fulfilment_lines fl ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id",
        "stores": "SELECT id, code, location_id, distributor_id FROM stores",
        "ledger": "SELECT order_id, beneficiary_kind, amount FROM ledger_entries",
        "touches": "SELECT id, consumer_id, store_id, koc_id, outcome, source, created_at FROM touches ORDER BY id",
        "bindings": "SELECT consumer_id, store_id, koc_id, bound_at, expires_at FROM bindings",
        "kocs": "SELECT id, code, store_id, consumer_id FROM kocs",
    }
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        got = {k: list((await s.execute(text(q))).all()) for k, q in queries.items()}
        skus = {r.id: r.code for r in (await s.execute(text("SELECT id, code FROM skus"))).all()}
    return Raw(**got, skus=skus)


class OrderTruth(msgspec.Struct):
    id: int
    consumer_id: int
    store_id: int
    koc_id: int | None
    paid_at: datetime
    gmv: int
    refunds: int
    in_store: int
    store_commission: int
    koc_commission: int
    cloud: dict[int, tuple[int, int]]  # sku -> (units, goods) shipped by another location


def _truth(raw: Raw) -> list[OrderTruth]:
    location = {s.id: s.location_id for s in raw.stores}
    out = []
    for o in raw.orders:
        per_sku: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        refunds = 0
        for line in raw.lines:
            if line.order_id == o.id:
                per_sku[line.sku_id][0] += line.paid
                per_sku[line.sku_id][1] += line.qty
                refunds += line.paid * line.refunded_qty // line.qty
        own: dict[int, int] = defaultdict(int)
        for f in raw.shipped:
            if f.order_id == o.id and f.location_id == location[o.store_id]:
                own[f.sku_id] += f.qty
        in_store, cloud = 0, {}
        for sku, (amount, qty) in per_sku.items():
            mine = amount * min(own[sku], qty) // qty
            in_store += mine
            if qty > min(own[sku], qty):
                cloud[sku] = (qty - min(own[sku], qty), amount - mine)
        ledger = [e for e in raw.ledger if e.order_id == o.id]
        out.append(
            OrderTruth(
                id=o.id,
                consumer_id=o.consumer_id,
                store_id=o.store_id,
                koc_id=o.koc_id,
                paid_at=o.paid_at,
                gmv=sum(a for a, _ in per_sku.values()),
                refunds=refunds,
                in_store=in_store,
                store_commission=sum(e.amount for e in ledger if e.beneficiary_kind == "store"),
                koc_commission=sum(e.amount for e in ledger if e.beneficiary_kind == "koc"),
                cloud=cloud,
            )
        )
    return out


def _in(at: datetime, since: datetime, until: datetime) -> bool:
    return since <= at < until


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _expected_overview(raw: Raw, truth: list[OrderTruth], since: datetime, until: datetime) -> dict[str, Any]:
    w = [o for o in truth if _in(o.paid_at, since, until)]
    gmv = sum(o.gmv for o in w)
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in w:
        d = days[o.paid_at.astimezone(UTC).date().isoformat()]
        d[0] += o.gmv
        d[1] += 1
    return {
        "gmv": gmv,
        "refunds": sum(o.refunds for o in w),
        "net_sales": gmv - sum(o.refunds for o in w),
        "orders": len(w),
        "aov": gmv // len(w) if w else 0,
        "paying_consumers": len({o.consumer_id for o in w}),
        "bound_consumers": len(raw.bindings),
        "in_store_sales": sum(o.in_store for o in w),
        "cloud_shelf_sales": gmv - sum(o.in_store for o in w),
        "by_day": [{"date": k, "gmv": v[0], "orders": v[1]} for k, v in sorted(days.items())],
    }


def _first_touches(raw: Raw) -> dict[int, Any]:
    first: dict[int, Any] = {}
    for t in raw.touches:
        first.setdefault(t.consumer_id, t)
    return first


def _paid_orders(truth: list[OrderTruth]) -> dict[int, list[OrderTruth]]:
    by: dict[int, list[OrderTruth]] = defaultdict(list)
    for o in truth:
        by[o.consumer_id].append(o)
    return by


def _expected_profile(
    raw: Raw, truth: list[OrderTruth], store: Any, since: datetime, until: datetime
) -> dict[str, Any]:
    w = [o for o in truth if o.store_id == store.id and _in(o.paid_at, since, until)]
    gmv, refunds = sum(o.gmv for o in w), sum(o.refunds for o in w)
    first = _first_touches(raw)
    by_consumer = _paid_orders(truth)
    cohort = [c for c, t in first.items() if t.store_id == store.id and _in(t.created_at, since, until)]
    counts: dict[int, int] = defaultdict(int)
    for o in w:
        counts[o.consumer_id] += 1
    store_kocs = {k.id for k in raw.kocs if k.store_id == store.id}
    active = {t.koc_id for t in raw.touches if t.koc_id in store_kocs and _in(t.created_at, since, until)}
    active |= {o.koc_id for o in truth if o.koc_id in store_kocs and _in(o.paid_at, since, until)}
    gmv_of: dict[int, int] = defaultdict(int)
    for o in truth:
        if _in(o.paid_at, since, until):
            gmv_of[o.store_id] += o.gmv
    at_most = sum(1 for s in raw.stores if gmv_of[s.id] <= gmv_of[store.id])
    return {
        "store": store.code,
        "gmv": gmv,
        "refunds": refunds,
        "net_sales": gmv - refunds,
        "orders": len(w),
        "aov": gmv // len(w) if w else 0,
        "in_store_sales": sum(o.in_store for o in w),
        "cloud_shelf_sales": gmv - sum(o.in_store for o in w),
        "touches": sum(1 for t in raw.touches if t.store_id == store.id and _in(t.created_at, since, until)),
        "new_bindings": sum(1 for b in raw.bindings if b.store_id == store.id and _in(b.bound_at, since, until)),
        "bound_consumers": sum(1 for b in raw.bindings if b.store_id == store.id),
        "conversion": _rate(sum(1 for c in cohort if by_consumer.get(c)), len(cohort)),
        "repeat_rate": _rate(sum(1 for n in counts.values() if n >= 2), len(counts)),
        "refund_rate": _rate(refunds, gmv),
        "commission": sum(o.store_commission for o in w),
        "active_kocs": len(active),
        "gmv_percentile": round(100 * at_most / len(raw.stores), 1),
    }


def _referrers(raw: Raw) -> set[int]:
    owner = {k.id: k.consumer_id for k in raw.kocs if k.consumer_id is not None}
    return {
        owner[t.koc_id]
        for t in raw.touches
        if t.koc_id in owner and owner[t.koc_id] != t.consumer_id and t.outcome in BOUND_OUTCOMES
    }


def _expected_funnel(
    raw: Raw,
    truth: list[OrderTruth],
    since: datetime,
    until: datetime,
    *,
    store: int | None = None,
    koc: int | None = None,
) -> list[dict[str, Any]]:
    first = _first_touches(raw)
    by_consumer = _paid_orders(truth)
    bound = {b.consumer_id for b in raw.bindings}
    referrers = _referrers(raw)
    cohort = [
        c
        for c, t in first.items()
        if _in(t.created_at, since, until)
        and (store is None or t.store_id == store)
        and (koc is None or t.koc_id == koc)
    ]
    counts = {
        "touched": len(cohort),
        "bound": sum(1 for c in cohort if c in bound),
        "first_order": sum(1 for c in cohort if by_consumer.get(c)),
        "repeat_order": sum(1 for c in cohort if len(by_consumer.get(c, [])) >= 2),
        "referred": sum(1 for c in cohort if c in referrers),
    }
    return [{"step": k, "consumers": v} for k, v in counts.items()]


def _expected_kocs(raw: Raw, truth: list[OrderTruth], since: datetime, until: datetime) -> list[dict[str, Any]]:
    code = {s.id: s.code for s in raw.stores}
    items = []
    for k in raw.kocs:
        orders = [o for o in truth if o.koc_id == k.id and _in(o.paid_at, since, until)]
        row = {
            "koc": k.code,
            "store": code[k.store_id],
            "touches": sum(1 for t in raw.touches if t.koc_id == k.id and _in(t.created_at, since, until)),
            "bindings": sum(1 for b in raw.bindings if b.koc_id == k.id and _in(b.bound_at, since, until)),
            "orders": len(orders),
            "sales": sum(o.gmv - o.refunds for o in orders),
            "commission": sum(o.koc_commission for o in orders),
        }
        if row["touches"] + row["bindings"] + row["orders"]:
            items.append(row)
    return sorted(items, key=lambda r: (-r["sales"], -r["orders"], r["koc"]))


def _expected_suggestions(raw: Raw, truth: list[OrderTruth], store: int, since: datetime, until: datetime) -> list[Any]:
    agg: dict[str, dict[str, Any]] = {}
    for o in truth:
        if o.store_id != store or not _in(o.paid_at, since, until):
            continue
        for sku, (units, goods) in o.cloud.items():
            a = agg.setdefault(raw.skus[sku], {"units": 0, "orders": set(), "consumers": set(), "goods": 0})
            a["units"] += units
            a["goods"] += goods
            a["orders"].add(o.id)
            a["consumers"].add(o.consumer_id)
    items = [
        {
            "sku": sku,
            "units": a["units"],
            "orders": len(a["orders"]),
            "consumers": len(a["consumers"]),
            "goods": a["goods"],
        }
        for sku, a in agg.items()
    ]
    return sorted(items, key=lambda r: (-r["units"], -r["orders"], r["sku"]))


def _windows(now: datetime) -> list[tuple[datetime, datetime]]:
    """Whole days with edges, one partial day, a window of whole days only, everything, and one that ended
    before consumers paid again."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        (now - timedelta(days=4, hours=5), now + timedelta(minutes=1)),
        (now - timedelta(hours=7), now + timedelta(seconds=1)),
        (midnight - timedelta(days=6), midnight + timedelta(days=1)),
        (now - timedelta(days=30), now + timedelta(days=1)),
        (now - timedelta(days=7, hours=3), now - timedelta(days=2, hours=5)),
    ]


async def _assert_maintained_counts(app: Litestar, tid: int, raw: Raw, truth: list[OrderTruth]) -> None:
    """The tenant's days (per slot) and the stores' bound consumers, against the raw tables."""
    days: dict[tuple[Any, int], list[int]] = defaultdict(lambda: [0] * 6)
    for o in truth:
        d = days[(o.paid_at.astimezone(UTC).date(), o.consumer_id % TENANT_DAY_SLOTS)]
        for i, v in enumerate((1, o.gmv, o.refunds, o.in_store, o.gmv - o.in_store)):
            d[i] += v
    for c, orders in _paid_orders(truth).items():
        days[(max(o.paid_at for o in orders).astimezone(UTC).date(), c % TENANT_DAY_SLOTS)][5] += 1
    bound: dict[int, int] = defaultdict(int)
    for b in raw.bindings:
        bound[b.store_id] += 1
    async with app.state.db.sessions() as s, s.begin():
        await set_tenant(s, tid)
        got = {
            (r.day, r.slot): [r.orders, r.gmv, r.refunds, r.in_store_sales, r.cloud_shelf_sales, r.last_payers]
            for r in (await s.execute(text("SELECT * FROM tenant_daily"))).all()
        }
        totals = {
            r.store_id: r.bound_consumers
            for r in (await s.execute(text("SELECT * FROM store_totals"))).all()
            if r.bound_consumers
        }
    assert {k: v for k, v in got.items() if any(v)} == dict(days)
    assert totals == dict(bound)


def _q(since: datetime, until: datetime, **more: str) -> dict[str, str]:
    return {"since": since.isoformat(), "until": until.isoformat(), **more}


def _without_window(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("since", "until")}


async def test_every_figure_matches_the_raw_tables(app: Litestar, api: Api, tenant: TenantHandle) -> None:
    tid, _ = await _history(app, api, tenant, random.Random(14))
    hq = tenant.hq_token
    raw = await _raw(app, tid)
    truth = _truth(raw)
    assert any(o.refunds for o in truth)
    assert any(o.cloud for o in truth)
    assert any(o.in_store for o in truth)
    assert any(t.outcome == "rebound" for t in raw.touches)
    assert any(t.outcome == "expired_rebound" for t in raw.touches)
    assert {t.outcome for t in raw.touches if t.source == "code"} >= {"new", "rebound"}
    now = datetime.now(UTC)
    assert any(b.expires_at is not None and b.expires_at < now for b in raw.bindings)
    days_paid = [{o.paid_at.date() for o in orders} for orders in _paid_orders(truth).values()]
    assert any(len(d) >= 2 for d in days_paid)  # consumers who paid again on a later day
    await _assert_maintained_counts(app, tid, raw, truth)
    for since, until in _windows(now):
        q = _q(since, until)
        got = (await api.get("/v1/hq/analytics/overview", token=hq, params=q)).json()
        assert _without_window(got) == _expected_overview(raw, truth, since, until)
        for store in raw.stores:
            got = (await api.get(f"/v1/hq/analytics/stores/{store.code}", token=hq, params=q)).json()
            assert _without_window(got) == _expected_profile(raw, truth, store, since, until), store.code
            got = (
                await api.get("/v1/hq/analytics/stock-suggestions", token=hq, params=_q(since, until, store=store.code))
            ).json()
            assert got["items"] == _expected_suggestions(raw, truth, store.id, since, until)
            got = (await api.get("/v1/hq/analytics/funnel", token=hq, params=_q(since, until, store=store.code))).json()
            assert got["steps"] == _expected_funnel(raw, truth, since, until, store=store.id)
        got = (await api.get("/v1/hq/analytics/funnel", token=hq, params=q)).json()
        assert got["steps"] == _expected_funnel(raw, truth, since, until)
        assert [sum(c["steps"][i]["consumers"] for c in got["cohorts"]) for i in range(5)] == [
            s["consumers"] for s in got["steps"]
        ]
        for k in raw.kocs:
            got = (await api.get("/v1/hq/analytics/funnel", token=hq, params=_q(since, until, koc=k.code))).json()
            assert got["steps"] == _expected_funnel(raw, truth, since, until, koc=k.id)
        got = (await api.get("/v1/hq/analytics/kocs", token=hq, params=q)).json()
        assert got["items"] == _expected_kocs(raw, truth, since, until)


async def test_segments_and_consumers_match_the_scores_of_the_raw_tables(
    app: Litestar, api: Api, tenant: TenantHandle
) -> None:
    tid, _ = await _history(app, api, tenant, random.Random(15))
    hq = tenant.hq_token
    r = await api.post("/v1/hq/analytics/recompute", token=hq)
    assert r.status_code == 200, r.text
    # a consumer first seen after the recompute is counted by the next one, which replaces every count
    token, _ = await consumer(api, tenant, "late-comer")
    r = await api.post(f"/v1/shop/{tenant.slug}/touches", token=token, json={"store": STORES[1]})
    assert r.status_code == 201, r.text
    r = await api.post("/v1/hq/analytics/recompute", token=hq)
    assert r.status_code == 200, r.text
    scored_at = datetime.fromisoformat(r.json()["scored_at"])
    raw = await _raw(app, tid)
    truth = _truth(raw)
    first = _first_touches(raw)
    by_consumer = _paid_orders(truth)
    referrers = _referrers(raw)
    bound = {b.consumer_id: b.store_id for b in raw.bindings}
    code = {s.id: s.code for s in raw.stores}
    known = set(first) | set(by_consumer) | set(bound) | referrers
    scanners = {t.consumer_id for t in raw.touches if t.source == "code"}
    assert scanners
    assert r.json()["consumers"] == len(known)
    expected = {}
    policy = AnalyticsPolicyDoc()
    for c in known:
        orders = by_consumer.get(c, [])
        last = max((o.paid_at for o in orders), default=None)
        start = min((o.paid_at for o in orders), default=first[c].created_at if c in first else None)
        s = score(
            policy,
            recency_days=(scored_at - last) // timedelta(days=1) if last else None,
            first_days=(scored_at - start) // timedelta(days=1) if start else None,
            orders=len(orders),
            net_goods=sum(o.gmv - o.refunds for o in orders),
            scanned=c in scanners,
            referred=c in referrers,
        )
        expected[c] = (s, orders, last)
    segments = (await api.get("/v1/hq/analytics/segments", token=hq)).json()
    seg_counts: dict[str, int] = defaultdict(int)
    stage_counts: dict[str, int] = defaultdict(int)
    for s, _, _ in expected.values():
        seg_counts[s.segment] += 1
        stage_counts[s.lifecycle] += 1
    assert {x["name"]: x["consumers"] for x in segments["segments"]} == seg_counts
    assert {x["name"]: x["consumers"] for x in segments["lifecycle"]} == stage_counts
    before = datetime.now(UTC)
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = (
            await api.get(
                "/v1/hq/analytics/consumers", token=hq, params={"limit": 3} | ({"cursor": cursor} if cursor else {})
            )
        ).json()
        listed += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [c["consumer_id"] for c in listed] == sorted(known)
    for c in listed:
        s, orders, last = expected[c["consumer_id"]]
        assert c["bound_store"] == (code[bound[c["consumer_id"]]] if c["consumer_id"] in bound else None)
        assert (c["orders"], c["net_goods"]) == (len(orders), sum(o.gmv - o.refunds for o in orders))
        assert (c["segment"], c["lifecycle"], c["tags"]) == (s.segment, s.lifecycle, list(s.tags))
        if last is None:
            assert c["recency_days"] is None
        else:
            assert c["recency_days"] in ((before - last) // timedelta(days=1), (before - last) // timedelta(days=1) + 1)
    ns = [c for c in listed if c["bound_store"] == "SZ-NS-01"]
    got = (await api.get("/v1/hq/analytics/consumers", token=hq, params={"store": "SZ-NS-01", "limit": 100})).json()
    assert got["items"] == ns
    seg = listed[0]["segment"]
    got = (await api.get("/v1/hq/analytics/consumers", token=hq, params={"segment": seg, "limit": 100})).json()
    assert got["items"] == [c for c in listed if c["segment"] == seg]
    csv = await api.get("/v1/hq/analytics/consumers", token=hq, params={"format": "csv", "segment": seg})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    rows = csv.text.strip().split("\n")
    assert rows[0] == "consumer_id,bound_store,recency_days,orders,net_goods,segment,lifecycle,tags"
    assert [int(r.split(",")[0]) for r in rows[1:]] == [c["consumer_id"] for c in listed if c["segment"] == seg]
    problem(await api.get("/v1/hq/analytics/consumers", token=hq, params={"cursor": "nope"}), 422, "validation_failed")
    problem(await api.get("/v1/hq/analytics/consumers", token=hq, params={"store": "NOPE"}), 404, "not_found")
