"""A Hypothesis state machine over the whole referral ledger, driven through the real API.

Random sequences of touches, coupon claims, orders (some with a coupon the quote found usable: HQ or store,
amount off, percent off with a cap, free delivery; sometimes under a promotion and a delivery fee), payments
(with repeated notifications), refunds (partial and whole), after-sales (refund-only before shipment, returns
received and refunded after delivery), fulfilment to completion, the after-sales window
passing, commission policy changes and settlements. A model
built on the pure rules (``rules.apply_touch``/``attribute``/``renew_on_paid``/``compute_commission``) predicts
bindings and attribution; after every step the ledger is read from the database and checked:

- per order the commission base is Σ paid − Σ refunded: the lines' frozen paid amounts (after the promotion
  and coupon, never the delivery fee: they add up to ``total − delivery_fee``) less what the refunds returned
  for goods (``refunded_total`` less the fee a whole refund before shipment gave back);
- per order and beneficiary the entries sum to ``compute_commission`` of that base per line (each line's paid
  amount less its refunded units' exact share), at the rates in force when the order was paid, credited to the
  store/distributor/KOC the model predicts;
- nothing is double-counted: at most one ``commission`` entry per order and beneficiary, none for unpaid orders;
- no balance is negative: per beneficiary pending ≥ 0, settled ≥ 0 and available + settled ≥ 0 (a negative
  available balance is a debt from reversing already-settled commission, see ``referrals.service.ledger``);
- entries never change amount, statuses only move forward, settled entries never change at all, and the
  settlements' recorded totals equal what their entries add up to;
- an order's entries are all pending until its release, and none are pending after it.

The app runs in its own event loop on a background thread (the state machine itself is synchronous).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
from collections import Counter
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import httpx
import msgspec
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from litestar import Litestar
from sqlalchemy import text

from cloudstore.app import create_app
from cloudstore.lib.db import set_tenant
from cloudstore.lib.settings import Settings
from cloudstore.payments.gateways.local import encode_local_notification
from cloudstore.pricing.engine import refund_share
from cloudstore.referrals.rules import (
    AttributionModel,
    AttributionPolicy,
    Beneficiaries,
    Binding,
    CommissionPolicy,
    CommissionRates,
    PaidLine,
    Touch,
    apply_touch,
    attribute,
    binding_is_active,
    compute_commission,
    renew_on_paid,
)
from tests.conftest import LOCAL_PAY_SECRET, OPERATOR_TOKEN
from tests.support import Api, new_tenant, running, seed_catalog, staff_token

T = TypeVar("T")

STEPS_PER_EXAMPLE = 50
EXAMPLES = 24
MIN_TOTAL_STEPS = 1000

# sku -> (product, category, list price)
SKUS = {
    "LJ-100": ("P-LJ", "绿茶", 8800),
    "LJ-250": ("P-LJ", "绿茶", 19800),
    "PE-357": ("P-PE", "普洱", 29800),
    "CUP-1": ("P-CUP", "茶具", 3600),
    "DHP-100": ("P-DHP", "乌龙茶", 12800),
}
STOCK = {(loc, sku): 100_000 for loc in ("WH-SZ", "WH-C") for sku in SKUS} | {("S-NS", "LJ-100"): 100_000}
DISTRIBUTOR = {"S-NS": "D-SZ", "S-FT": "D-SZ", "S-TH": "D-GZ"}
# KOCs: name -> (store, index of the consumer it is, if any)
KOCS = {"K0": ("S-NS", 0), "K1": ("S-NS", None), "K2": ("S-FT", 1), "K3": ("S-TH", None)}
LINKS = [("S-NS", None), ("S-NS", "K0"), ("S-NS", "K1"), ("S-FT", None), ("S-FT", "K2"), ("S-TH", "K3"), ("S-TH", None)]
CONSUMERS = 4
NANSHAN = {
    "mode": "delivery",
    "region": "440305",
    "lat": 22.54,
    "lng": 113.935,
    "address": "科技园",
    "contact": "张三",
    "phone": "13800000000",
}
# Coupons (HQ ones usable everywhere, the store's only at S-NS): code -> (issuing store or None, terms)
COUPONS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "C-AMT": (None, {"kind": "amount_off", "value": 1000, "min_goods": 15000}),
    "C-PCT": (None, {"kind": "percent_off", "value": 1500, "max_discount": 2500, "stackable": False}),
    "C-FREE": (None, {"kind": "free_delivery", "value": 0}),
    "C-NS": ("S-NS", {"kind": "amount_off", "value": 801, "categories": ["绿茶", "茶具"]}),
}
DELIVERY = {
    "basis": "per_order",
    "rules": [{"regions": ["4403"], "first_fee": 1000, "extra_fee": 200}],
    "default_rule": None,
    "free_over": 60000,
    "store_fee": 500,
    "no_delivery_regions": [],
}
ORDER_LINES = st.dictionaries(st.sampled_from(sorted(SKUS)), st.integers(1, 3), min_size=1, max_size=3)
STATUS_RANK = {"pending": 0, "available": 1, "settled": 2}


class Loop:
    """An event loop on a background thread, for the app and its HTTP client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class Env(msgspec.Struct):
    """What every example shares: the loop, the app and a client."""

    loop: Loop
    app: Litestar
    api: Api


@st.composite
def commission_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A commission policy: default rates, sometimes overrides, every total at most 3000 bp."""

    def rates() -> dict[str, int]:
        store = draw(st.integers(0, 2000))
        distributor = draw(st.integers(0, min(800, 3000 - store)))
        koc = draw(st.integers(0, 3000 - store - distributor))
        return {"store_bp": store, "distributor_bp": distributor, "koc_bp": koc}

    doc: dict[str, Any] = {**rates(), "frozen_days": draw(st.integers(0, 10))}
    if draw(st.booleans()):
        doc["by_category"] = {"普洱": rates()}
    if draw(st.booleans()):
        doc["by_product"] = {"P-CUP": rates()}
    return doc


def commission_policy(doc: dict[str, Any]) -> CommissionPolicy:
    def rates(d: dict[str, int]) -> CommissionRates:
        return CommissionRates(store_bp=d["store_bp"], distributor_bp=d["distributor_bp"], koc_bp=d["koc_bp"])

    return CommissionPolicy(
        default=rates(doc),
        by_category={k: rates(v) for k, v in doc.get("by_category", {}).items()},
        by_product={k: rates(v) for k, v in doc.get("by_product", {}).items()},
        frozen_days=doc["frozen_days"],
    )


class Order(msgspec.Struct, kw_only=True):
    """The model of one order."""

    no: str
    consumer: int
    store: str
    koc: str | None
    via_link: bool
    lines: dict[str, int]  # sku -> qty
    refunded: dict[str, int]
    total: int
    paid: dict[str, int]  # sku -> what the line cost after the promotion and coupon, as the order froze it
    delivery_fee: int = 0
    coupon: str | None = None
    fee_refunded: bool = False
    status: str = "pending_payment"
    payment_id: str | None = None
    who: Beneficiaries | None = None
    policy: CommissionPolicy | None = None
    completed: bool = False
    released: bool = False

    def paid_lines(self) -> list[PaidLine]:
        return [
            PaidLine(
                product=SKUS[s][0],
                category=SKUS[s][1],
                paid=self.paid[s] - refund_share(self.paid[s], q, 0, self.refunded.get(s, 0)),
            )
            for s, q in self.lines.items()
        ]


class LedgerMachine(RuleBasedStateMachine):
    """See the module docstring."""

    env: ClassVar[Env]
    steps: ClassVar[int] = 0
    examples: ClassVar[int] = 0
    tally: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[Order] = []
        self.bindings: dict[int, Binding] = {}
        self.seen_status: dict[int, str] = {}
        self.seen_amount: dict[int, int] = {}
        self.settled: dict[int, tuple[int, int]] = {}
        self.ledger: list[Any] = []

    # --- plumbing -------------------------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.env.loop.run(coro)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.run(self.env.api.call(method, path, **kw))

    async def _query(self, sql: str, **params: Any) -> list[Any]:
        async with self.env.app.state.db.sessions() as s, s.begin():
            await set_tenant(s, self.tenant_id)
            return list((await s.execute(text(sql), params)).all())

    def query(self, sql: str, **params: Any) -> list[Any]:
        return self.run(self._query(sql, **params))

    async def _execute(self, sql: str, **params: Any) -> None:
        async with self.env.app.state.db.sessions() as s, s.begin():
            await set_tenant(s, self.tenant_id)
            await s.execute(text(sql), params)

    # --- set-up ----------------------------------------------------------------------------------------------

    @initialize(
        model=st.sampled_from(["first_touch", "last_touch"]),
        protection=st.sampled_from([0, 15]),
        validity=st.sampled_from([30, None]),
        self_referral=st.booleans(),
        commission=commission_docs(),
        promotion=st.sampled_from([None, "amount_off", "percent_off"]),
        delivery=st.booleans(),
    )
    def setup(
        self,
        model: str,
        protection: int,
        validity: int | None,
        self_referral: bool,
        commission: dict[str, Any],
        promotion: str | None,
        delivery: bool,
    ) -> None:
        type(self).examples += 1
        api = self.env.api
        tenant = self.run(new_tenant(api, OPERATOR_TOKEN))
        self.tenant = tenant
        self.run(seed_catalog(api, tenant, stock=STOCK))
        self.tenant_id = self.run(self._tenant_id(tenant.slug))
        attribution = {
            "model": model,
            "protection_days": protection,
            "binding_days": validity,
            "self_referral": self_referral,
        }
        for kind, doc in (("attribution", attribution), ("commission", commission)):
            r = self.call("PUT", f"/v1/hq/policies/{kind}", token=tenant.hq_token, json=doc)
            assert r.status_code == 200, r.text
        if promotion is not None:
            # Discounts make the line amounts differ from list price: commission must follow the frozen paid ones.
            terms = (
                {"kind": "amount_off", "value": 1501, "min_goods": 20000}
                if promotion == "amount_off"
                else {"kind": "percent_off", "value": 1250, "max_discount": 2999, "categories": ["绿茶"]}
            )
            r = self.call(
                "POST",
                "/v1/hq/promotions",
                token=tenant.hq_token,
                json={
                    "code": "PROMO",
                    "name": "promotion",
                    "valid_from": "2026-01-01T00:00:00Z",
                    "valid_until": "2099-01-01T00:00:00Z",
                    **terms,
                },
            )
            assert r.status_code == 201, r.text
        if delivery:
            r = self.call("PUT", "/v1/hq/policies/delivery", token=tenant.hq_token, json=DELIVERY)
            assert r.status_code == 200, r.text
        self.delivery = delivery
        self.attribution = AttributionPolicy(
            model=AttributionModel(model),
            protection_days=protection,
            binding_days=validity,
            self_referral=self_referral,
        )
        self.commission = commission_policy(commission)
        self.consumer_tokens: list[str] = []
        self.consumer_ids: list[int] = []
        for i in range(CONSUMERS):
            r = self.call("POST", f"/v1/shop/{tenant.slug}/auth/login", json={"code": f"local:c{i}"})
            self.consumer_tokens.append(r.json()["access_token"])
            self.consumer_ids.append(r.json()["consumer_id"])
        store_tokens = {
            store: self.run(staff_token(api, tenant, username=f"clerk-{store.lower()}", role="store", store=store))
            for store in DISTRIBUTOR
        }
        self.koc_code: dict[str, str] = {}
        self.own_koc: dict[int, str] = {}  # consumer -> code
        self.koc_consumer: dict[str, int] = {}  # code -> consumer
        for name, (store, who) in KOCS.items():
            body: dict[str, Any] = {"name": name}
            if who is not None:
                body["consumer_id"] = self.consumer_ids[who]
            r = self.call("POST", "/v1/store/kocs", token=store_tokens[store], json=body)
            assert r.status_code == 201, r.text
            code = r.json()["code"]
            self.koc_code[name] = code
            if who is not None:
                self.own_koc[who] = code
                self.koc_consumer[code] = who
        for coupon, (issuer, terms) in COUPONS.items():
            doc = {"code": coupon, "name": coupon, "total": None, "per_consumer": 100, "valid_days": 30, **terms}
            path, token = (
                ("/v1/hq/coupons", tenant.hq_token) if issuer is None else ("/v1/store/coupons", store_tokens[issuer])
            )
            r = self.call("POST", path, token=token, json=doc)
            assert r.status_code == 201, r.text
            for token in self.consumer_tokens:  # each consumer holds two of each (the orders lock and use them)
                for _ in range(2):
                    r = self.call("POST", f"/v1/shop/{tenant.slug}/coupons/{coupon}/claim", token=token)
                    assert r.status_code == 201, r.text

    async def _tenant_id(self, slug: str) -> int:
        async with self.env.app.state.db.sessions() as s:
            return int((await s.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})).scalar_one())

    # --- the model's binding rules ---------------------------------------------------------------------------

    def koc_bound_koc(self, koc: str | None, now: datetime) -> str | None:
        who = self.koc_consumer.get(koc) if koc else None
        bound = self.bindings.get(who) if who is not None else None
        return bound.koc if bound is not None and binding_is_active(bound, now) else None

    def apply_touch(self, consumer: int, store: str, koc: str | None, now: datetime) -> Binding | None:
        decision = apply_touch(
            self.bindings.get(consumer),
            Touch(store=store, koc=koc, at=now),
            self.attribution,
            consumer_koc=self.own_koc.get(consumer),
            koc_bound_koc=self.koc_bound_koc(koc, now),
        )
        if decision.changed and decision.binding is not None:
            self.bindings[consumer] = decision.binding
        return decision.binding

    # --- rules -----------------------------------------------------------------------------------------------

    @rule(consumer=st.integers(0, CONSUMERS - 1), link=st.sampled_from(LINKS))
    def touch(self, consumer: int, link: tuple[str, str | None]) -> None:
        store, koc_name = link
        koc = self.koc_code[koc_name] if koc_name else None
        body = {"store": store, **({"koc": koc} if koc else {})}
        r = self.call("POST", f"/v1/shop/{self.tenant.slug}/touches", token=self.consumer_tokens[consumer], json=body)
        assert r.status_code == 201, r.text
        self.tally[f"touch:{r.json()['outcome']}"] += 1
        bound = self.apply_touch(consumer, store, koc, datetime.now(UTC))
        assert bound is not None
        assert (r.json()["bound_store"], r.json()["bound_koc"]) == (bound.store, bound.koc), (r.json(), bound)

    def _coupon_for(self, consumer: int, body: dict[str, Any], store: str, pick: int) -> str | None:
        """Ask the quote which of the consumer's coupons apply, take one and the total it shows."""
        r = self.call("POST", f"/v1/shop/{self.tenant.slug}/quote", token=self.consumer_tokens[consumer], json=body)
        assert r.status_code == 200, r.text
        offers = r.json()["coupons"]
        for offer in offers:
            if COUPONS[offer["coupon"]][0] not in (None, store):
                assert not offer["usable"], (offer, store)  # a store's coupon only at that store
        usable = [o for o in offers if o["usable"]]
        if not usable:
            self.tally["coupon:none-usable" if offers else "coupon:none-held"] += 1
            return None
        chosen = usable[pick % len(usable)]
        body["coupon"] = chosen["id"]
        r = self.call("POST", f"/v1/shop/{self.tenant.slug}/quote", token=self.consumer_tokens[consumer], json=body)
        assert r.status_code == 200, r.text
        assert (r.json()["coupon"] or {}).get("id") == chosen["id"], r.text
        body["expected_total"] = r.json()["total"]
        code: str = chosen["coupon"]
        return code

    def _place(
        self, consumer: int, link: tuple[str, str | None] | None, lines: dict[str, int], coupon: int | None = None
    ) -> Order | None:
        body: dict[str, Any] = {"lines": [{"sku": s, "qty": q} for s, q in lines.items()], "delivery": NANSHAN}
        koc = None
        if link is not None:
            body["store"] = link[0]
            if link[1] is not None:
                koc = self.koc_code[link[1]]
                body["koc"] = koc
        bound = self.bindings.get(consumer)
        unbound = link is None and (bound is None or not binding_is_active(bound, datetime.now(UTC)))
        store = link[0] if link is not None else bound.store if bound is not None else ""
        used = None if coupon is None or unbound else self._coupon_for(consumer, body, store, coupon)
        r = self.call(
            "POST",
            f"/v1/shop/{self.tenant.slug}/orders",
            token=self.consumer_tokens[consumer],
            json=body,
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )
        if unbound:
            assert r.status_code == 422, r.text  # no store named and not bound
            return None
        assert r.status_code == 201, r.text
        goods = sum(SKUS[s][2] * q for s, q in lines.items())
        total, fee = r.json()["total"], r.json()["delivery_fee"]
        assert r.json()["goods_total"] == goods
        assert total == goods - r.json()["discount_total"] + fee
        if "expected_total" in body:
            assert total == body["expected_total"]
        if not self.delivery or used == "C-FREE":
            assert fee == 0, r.text
        paid = {line["sku"]: line["paid"] for line in r.json()["lines"]}
        assert sum(paid.values()) == total - fee  # the goods paid never include the delivery fee
        self.tally[f"order:{used or 'no-coupon'}:{'fee' if fee else 'no-fee'}"] += 1
        order = Order(
            no=r.json()["order_no"],
            consumer=consumer,
            store=store,
            koc=koc,
            via_link=link is not None,
            lines=dict(lines),
            refunded={},
            total=total,
            paid=paid,
            delivery_fee=fee,
            coupon=used,
        )
        self.orders.append(order)
        return order

    @rule(
        consumer=st.integers(0, CONSUMERS - 1),
        link=st.none() | st.sampled_from(LINKS),
        lines=ORDER_LINES,
        coupon=st.none() | st.integers(0, 10),
    )
    def place_order(
        self, consumer: int, link: tuple[str, str | None] | None, lines: dict[str, int], coupon: int | None
    ) -> None:
        self._place(consumer, link, lines, coupon)

    @rule(
        consumer=st.integers(0, CONSUMERS - 1),
        link=st.none() | st.sampled_from(LINKS),
        lines=ORDER_LINES,
        notifications=st.integers(1, 3),
        complete=st.booleans(),
        coupon=st.none() | st.integers(0, 10),
    )
    def buy(
        self,
        consumer: int,
        link: tuple[str, str | None] | None,
        lines: dict[str, int],
        notifications: int,
        complete: bool,
        coupon: int | None,
    ) -> None:
        """Place, pay and (maybe) receive an order in one step, so runs reach released commission often."""
        order = self._place(consumer, link, lines, coupon)
        if order is not None:
            self._pay(order, notifications)
            if complete:
                self._fulfil(order)

    def _pick(self, pick: int, *statuses: str) -> Order | None:
        candidates = [o for o in self.orders if o.status in statuses]
        return candidates[pick % len(candidates)] if candidates else None

    def _notify(self, order: Order) -> None:
        assert order.payment_id is not None
        body = encode_local_notification(
            payment_id=order.payment_id, order_no=order.no, amount=order.total, paid_at=datetime.now(UTC)
        )
        sig = hmac.new(LOCAL_PAY_SECRET.encode(), body, hashlib.sha256).hexdigest()
        r = self.call(
            "POST",
            "/v1/payments/local/notify",
            content=body,
            headers={"X-Local-Signature": sig, "Content-Type": "application/json"},
        )
        assert r.status_code == 200, r.text

    @precondition(lambda self: any(o.status == "pending_payment" for o in self.orders))
    @rule(pick=st.integers(0, 10_000), notifications=st.integers(1, 3))
    def pay(self, pick: int, notifications: int) -> None:
        order = self._pick(pick, "pending_payment")
        assert order is not None
        self._pay(order, notifications)

    def _pay(self, order: Order, notifications: int) -> None:
        r = self.call(
            "POST",
            f"/v1/shop/{self.tenant.slug}/orders/{order.no}/pay",
            token=self.consumer_tokens[order.consumer],
            json={"provider": "local"},
            headers={"Idempotency-Key": f"pay-{order.no}"},
        )
        assert r.status_code == 200, r.text
        order.payment_id = r.json()["payment_id"]
        now = datetime.now(UTC)
        for _ in range(notifications):
            self._notify(order)
        order.status = "paid"
        order.policy = self.commission
        order.who = self._attribute(order, now)
        self.tally[f"paid:{'koc' if order.who.koc else 'no-koc'}:{notifications}x"] += 1

    def _attribute(self, order: Order, now: datetime) -> Beneficiaries:
        binding = self.bindings.get(order.consumer)
        own = self.own_koc.get(order.consumer)
        result = attribute(
            order_store=order.store if order.via_link else None,
            order_koc=order.koc if order.via_link else None,
            binding=binding,
            consumer_koc=own,
            policy=self.attribution,
            now=now,
        )
        if result.store is None:
            result = attribute(
                order_store=order.store,
                order_koc=None,
                binding=None,
                consumer_koc=own,
                policy=self.attribution,
                now=now,
            )
        if binding is not None and binding_is_active(binding, now):
            if result.store == binding.store:
                self.bindings[order.consumer] = renew_on_paid(binding, self.attribution, now)
        elif order.via_link:
            self.apply_touch(order.consumer, order.store, order.koc, now)
        assert result.store is not None
        return Beneficiaries(store=result.store, distributor=DISTRIBUTOR[result.store], koc=result.koc)

    @precondition(lambda self: any(o.status in ("paid", "completed") for o in self.orders))
    @rule(pick=st.integers(0, 10_000))
    def repeat_notification(self, pick: int) -> None:
        order = self._pick(pick, "paid", "completed")
        assert order is not None
        self._notify(order)

    @precondition(lambda self: any(o.status in ("paid", "completed") for o in self.orders))
    @rule(pick=st.integers(0, 10_000), everything=st.booleans(), data=st.data())
    def refund(self, pick: int, everything: bool, data: st.DataObject) -> None:
        order = self._pick(pick, "paid", "completed")
        assert order is not None
        left = {s: q - order.refunded.get(s, 0) for s, q in order.lines.items() if q > order.refunded.get(s, 0)}
        most = left
        if everything or not most:
            body: dict[str, Any] = {"all": True}
            taken = left
        else:
            sku = data.draw(st.sampled_from(sorted(most)))
            taken = {sku: data.draw(st.integers(1, most[sku]))}
            body = {"lines": [{"sku": sku, "qty": taken[sku]}]}
        r = self.call(
            "POST",
            f"/v1/hq/orders/{order.no}/refunds",
            token=self.tenant.hq_token,
            json=body,
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )
        assert r.status_code == 201, r.text
        self.tally[f"refund:{order.status}:{'released' if order.released else 'pending'}"] += 1
        if everything and order.status == "paid":
            order.fee_refunded = True  # nothing shipped yet: the delivery fee goes back too
        for sku, qty in taken.items():
            order.refunded[sku] = order.refunded.get(sku, 0) + qty
        if all(order.refunded.get(s, 0) == q for s, q in order.lines.items()):
            order.status = "refunded"

    @precondition(lambda self: any(o.status in ("paid", "completed") for o in self.orders))
    @rule(pick=st.integers(0, 10_000), restock=st.booleans(), data=st.data())
    def after_sale(self, pick: int, restock: bool, data: st.DataObject) -> None:
        """The consumer asks for a refund of unshipped units (a paid order) or returns delivered ones (completed);
        HQ approves, receives a return and refunds it."""
        order = self._pick(pick, "paid", "completed")
        assert order is not None
        left = {s: q - order.refunded.get(s, 0) for s, q in order.lines.items() if q > order.refunded.get(s, 0)}
        sku = data.draw(st.sampled_from(sorted(left)))
        qty = data.draw(st.integers(1, left[sku]))
        kind = "refund_only" if order.status == "paid" else "return"
        r = self.call(
            "POST",
            f"/v1/shop/{self.tenant.slug}/orders/{order.no}/after-sales",
            token=self.consumer_tokens[order.consumer],
            json={"kind": kind, "lines": [{"sku": sku, "qty": qty}], "reason": "state machine"},
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )
        assert r.status_code == 201, r.text
        path = f"/v1/hq/after-sales/{r.json()['id']}"
        r = self.call("POST", f"{path}/approve", token=self.tenant.hq_token)
        assert r.status_code == 200, r.text
        if kind == "return":
            detail = self.call("GET", f"/v1/hq/orders/{order.no}", token=self.tenant.hq_token).json()
            receipt = {
                "location": detail["fulfilments"][0]["location"],
                "lines": [{"sku": sku, "qty": qty, "restock": restock}],
            }
            r = self.call("POST", f"{path}/receive", token=self.tenant.hq_token, json=receipt)
            assert r.status_code == 200, r.text
            r = self.call("POST", f"{path}/refund", token=self.tenant.hq_token)
            assert r.status_code == 200, r.text
        assert r.json()["status"] == "refunded", r.text
        self.tally[f"after_sale:{kind}:{'released' if order.released else 'pending'}"] += 1
        order.refunded[sku] = order.refunded.get(sku, 0) + qty
        if all(order.refunded.get(s, 0) == q for s, q in order.lines.items()):
            if kind == "refund_only":
                order.fee_refunded = True  # the refund empties an order that never shipped: the fee goes back
            order.status = "refunded"

    @precondition(lambda self: any(o.status == "paid" for o in self.orders))
    @rule(pick=st.integers(0, 10_000))
    def fulfil(self, pick: int) -> None:
        order = self._pick(pick, "paid")
        assert order is not None
        self._fulfil(order)

    def _fulfil(self, order: Order) -> None:
        detail = self.call("GET", f"/v1/hq/orders/{order.no}", token=self.tenant.hq_token).json()
        for f in detail["fulfilments"]:
            for action in ("ship", "deliver"):
                if f["status"] in ("pending", "shipped"):
                    r = self.call("POST", f"/v1/hq/fulfilments/{f['id']}/{action}", token=self.tenant.hq_token)
                    assert r.status_code == 200, r.text
                    f = r.json()
        status = self.call("GET", f"/v1/hq/orders/{order.no}", token=self.tenant.hq_token).json()["status"]
        assert status == "completed", status
        order.status = "completed"
        order.completed = True

    @precondition(lambda self: any(o.completed and not o.released for o in self.orders))
    @rule()
    def after_sales_window_passes(self) -> None:
        self.run(self._execute("UPDATE jobs SET run_at = now() WHERE kind = 'referrals.release' AND status = 'queued'"))
        self.run(self.env.app.state.worker.run_pending())
        for order in self.orders:
            if order.completed:
                order.released = True

    @rule(doc=commission_docs())
    def change_commission_policy(self, doc: dict[str, Any]) -> None:
        r = self.call("PUT", "/v1/hq/policies/commission", token=self.tenant.hq_token, json=doc)
        assert r.status_code == 200, r.text
        self.commission = commission_policy(doc)

    @precondition(lambda self: any(e.status == "available" for e in self.ledger))
    @rule(
        scope=st.sampled_from(["all", "kind", "one"]),
        kind=st.sampled_from(["store", "distributor", "koc"]),
        pick=st.integers(0, 10_000),
    )
    def settle(self, scope: str, kind: str, pick: int) -> None:
        nets: dict[tuple[str, str], int] = {}
        for e in self.ledger:
            if e.status == "available":
                nets[(e.beneficiary_kind, e.beneficiary_code)] = (
                    nets.get((e.beneficiary_kind, e.beneficiary_code), 0) + e.amount
                )
        body: dict[str, Any] = {}
        if scope != "all":
            body["beneficiary_kind"] = kind
            nets = {k: v for k, v in nets.items() if k[0] == kind}
        if scope == "one":
            codes = sorted({e.beneficiary_code for e in self.ledger if e.beneficiary_kind == kind})
            if not codes:
                return
            body["beneficiary"] = codes[pick % len(codes)]
            nets = {k: v for k, v in nets.items() if k[1] == body["beneficiary"]}
        payable = {k: v for k, v in nets.items() if v >= 0}
        r = self.call("POST", "/v1/hq/settlements", token=self.tenant.hq_token, json=body)
        if not payable or (scope == "one" and any(v < 0 for v in nets.values())):
            assert r.status_code == 409, r.text
            self.tally["settle:refused"] += 1
            return
        assert r.status_code == 201, r.text
        self.tally["settle:paid"] += 1
        if any(v < 0 for v in nets.values()):
            self.tally["settle:skipped-a-debtor"] += 1
        assert r.json()["total"] == sum(payable.values())
        assert {(p["beneficiary_kind"], p["beneficiary"]): p["amount"] for p in r.json()["payouts"]} == payable

    # --- invariants ------------------------------------------------------------------------------------------

    def read_ledger(self) -> None:
        self.ledger = self.query(
            "SELECT e.id, o.order_no, e.beneficiary_kind, e.beneficiary_code, e.amount, e.kind, e.status, "
            "e.settlement_id FROM ledger_entries e JOIN orders o ON o.tenant_id = e.tenant_id AND o.id = e.order_id "
            "ORDER BY e.id"
        )

    @invariant()
    def ledger_is_sound(self) -> None:
        """Read the ledger once, then check it (one invariant, so the checks see the same rows)."""
        if not hasattr(self, "tenant_id"):
            return
        type(self).steps += 1
        self.read_ledger()
        self.ledger_matches_the_rules()
        self.balances_are_never_negative_and_history_never_changes()

    def ledger_matches_the_rules(self) -> None:
        by_order: dict[str, list[Any]] = {}
        for e in self.ledger:
            by_order.setdefault(e.order_no, []).append(e)
        credited = {
            r.order_no: r[1:]
            for r in self.query(
                "SELECT o.order_no, s.code, d.code, k.code FROM orders o "
                "LEFT JOIN stores s ON s.tenant_id = o.tenant_id AND s.id = o.credited_store_id "
                "LEFT JOIN distributors d ON d.tenant_id = o.tenant_id AND d.id = o.credited_distributor_id "
                "LEFT JOIN kocs k ON k.tenant_id = o.tenant_id AND k.id = o.credited_koc_id"
            )
        }
        stored: dict[str, list[Any]] = {}
        for row in self.query(
            "SELECT o.order_no, o.total, o.shipping_fee, o.refunded_total, l.sku_code, l.qty, l.amount - l.discount, "
            "l.refunded_qty FROM orders o JOIN order_lines l ON l.tenant_id = o.tenant_id AND l.order_id = o.id"
        ):
            stored.setdefault(row.order_no, []).append(row)
        for order in self.orders:
            self.commission_base_is_paid_less_refunded(order, stored[order.no])
            entries = by_order.pop(order.no, [])
            if order.who is None:
                assert entries == [], (order.no, "unpaid order with ledger entries")
                assert credited[order.no] == (None, None, None)
                continue
            assert order.policy is not None
            assert credited[order.no] == (order.who.store, order.who.distributor, order.who.koc), order.no
            target = {
                (s.beneficiary_kind, s.beneficiary): s.amount
                for s in compute_commission(order.paid_lines(), order.who, order.policy)
            }
            booked: dict[tuple[str, str], int] = {}
            commissions: dict[tuple[str, str], int] = {}
            for e in entries:
                key = (e.beneficiary_kind, e.beneficiary_code)
                booked[key] = booked.get(key, 0) + e.amount
                if e.kind == "commission":
                    commissions[key] = commissions.get(key, 0) + 1
            assert {k: v for k, v in booked.items() if v} == target, (order.no, booked, target)
            assert all(n == 1 for n in commissions.values()), (order.no, commissions)
            statuses = {e.status for e in entries}
            if order.released:
                assert "pending" not in statuses, (order.no, statuses)
            else:
                assert statuses <= {"pending"}, (order.no, statuses)
        assert by_order == {}, "entries for orders the model does not know"

    def commission_base_is_paid_less_refunded(self, order: Order, rows: list[Any]) -> None:
        """The order's stored lines and refunds against the model: Σ base = Σ paid − Σ refunded, fee excluded."""
        total, fee, refunded_total = rows[0][1], rows[0][2], rows[0][3]
        assert (total, fee) == (order.total, order.delivery_fee), order.no
        lines = {r[4]: (r[5], r[6], r[7]) for r in rows}
        assert {s: (q, order.paid[s], order.refunded.get(s, 0)) for s, q in order.lines.items()} == lines, order.no
        paid = sum(p for _, p, _ in lines.values())
        refunded = sum(refund_share(p, q, 0, r) for q, p, r in lines.values())
        assert paid == total - fee, (order.no, "the goods paid include the delivery fee")
        assert refunded_total == refunded + (fee if order.fee_refunded else 0), (order.no, refunded_total, refunded)
        base = sum(line.paid for line in order.paid_lines())
        assert base == paid - refunded, (order.no, base, paid, refunded)

    def balances_are_never_negative_and_history_never_changes(self) -> None:
        balances: dict[tuple[str, str], dict[str, int]] = {}
        for e in self.ledger:
            b = balances.setdefault(
                (e.beneficiary_kind, e.beneficiary_code), {"pending": 0, "available": 0, "settled": 0}
            )
            b[e.status] += e.amount
            if e.id in self.seen_status:
                assert STATUS_RANK[e.status] >= STATUS_RANK[self.seen_status[e.id]], (e.id, e.status)
                assert self.seen_amount[e.id] == e.amount
            if e.id in self.settled:
                assert (e.status, e.amount, e.settlement_id) == ("settled", *self.settled[e.id])
            if e.status == "settled":
                self.settled[e.id] = (e.amount, e.settlement_id)
            self.seen_status[e.id] = e.status
            self.seen_amount[e.id] = e.amount
        assert len(self.seen_status) == len(self.ledger), "an entry disappeared"
        for who, b in balances.items():
            if b["available"] < 0:
                self.tally["debt"] += 1
            assert b["pending"] >= 0, (who, b)
            assert b["settled"] >= 0, (who, b)
            assert b["available"] + b["settled"] >= 0, (who, b)
        recorded = self.query("SELECT COALESCE(sum(total), 0) FROM settlements")[0][0]
        assert int(recorded) == sum(e.amount for e in self.ledger if e.status == "settled")

    def teardown(self) -> None:
        """Cross-check the API's balances against the rows, per beneficiary."""
        if not hasattr(self, "tenant_id"):
            return
        self.read_ledger()
        totals: dict[tuple[str, str], dict[str, int]] = {}
        for e in self.ledger:
            b = totals.setdefault(
                (e.beneficiary_kind, e.beneficiary_code), {"pending": 0, "available": 0, "settled": 0}
            )
            b[e.status] += e.amount
        for (kind, code), expected in totals.items():
            r = self.call(
                "GET",
                "/v1/hq/ledger",
                token=self.tenant.hq_token,
                params={"beneficiary_kind": kind, "beneficiary": code},
            )
            assert r.json()["balances"] == expected, (kind, code)


def test_ledger_state_machine(settings: Settings, database_url: str) -> None:
    loop = Loop()
    app = create_app(settings, database_url=database_url)
    lifespan = running(app)
    loop.run(lifespan.__aenter__())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    client = httpx.AsyncClient(transport=transport, base_url="http://t")
    LedgerMachine.env = Env(loop=loop, app=app, api=Api(client))
    LedgerMachine.steps = 0
    LedgerMachine.examples = 0
    LedgerMachine.tally = Counter()
    try:
        # Hypothesis may end an example early; run another round until the step budget is met.
        for _ in range(3):
            run_state_machine_as_test(LedgerMachine, settings=settings_for_machine())
            if LedgerMachine.steps >= MIN_TOTAL_STEPS:
                break
    finally:
        loop.run(client.aclose())
        loop.run(lifespan.__aexit__(None, None, None))
        loop.close()
    tally = LedgerMachine.tally
    print(f"{LedgerMachine.examples} examples, {LedgerMachine.steps} steps:", dict(sorted(tally.items())))
    assert LedgerMachine.steps >= MIN_TOTAL_STEPS, LedgerMachine.steps
    # The runs reached the interesting states (a vacuous run would pass the invariants trivially).
    for prefix in (
        "paid:",
        "refund:",
        "after_sale:refund_only",
        "after_sale:return",
        "settle:paid",
        "touch:",
        "order:C-",
    ):
        assert sum(n for outcome, n in tally.items() if outcome.startswith(prefix)) > 0, (prefix, tally)


def settings_for_machine() -> settings:
    return settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS_PER_EXAMPLE,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
