"""Prepare the demo tenant of a throw-away server for `scripts/fuzz`, and the client its hooks share.

Run as ``fuzz_setup.py BASE_URL FOLDER RECEIVER_URL``: it signs in as HQ, a store, a distributor and a
consumer, makes the data the fuzzed operations need exist (stock at the store and at a warehouse, a KOC of the
store bound to the fuzzing consumer, paid orders with a fulfilment at each audience's own location, commission
that has matured and a settlement of it, staff accounts of its own, a coupon to claim and one claimed, webhook
endpoints at the local receiver and a delivery to one of them), and writes ``FOLDER/fuzz.json`` (tokens and identifiers,
read by `fuzz_hooks.py`) and ``FOLDER/schemathesis.toml`` (path parameters pinned to those identifiers).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import json
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TENANT = "chayun"
STORE = "SZ-NS-01"
DEMO_BATCH = "DEMO-LJ-001"  # tenants/demo.toml ships it to SZ-LH-01
DISTRIBUTOR = "D-SZ"
WAREHOUSE = "WH-SZ"
# The local payment provider's secret on a development server (CLOUDSTORE_LOCAL_PAY_SECRET's default).
LOCAL_PAY_SECRET = b"dev-local-pay-secret"
NANSHAN = {
    "mode": "delivery",
    "region": "440305",
    "lat": 22.54,
    "lng": 113.935,
    "address": "深圳市南山区科技园",
    "contact": "Fuzz",
    "phone": "13800000000",
}
LOGIN_PASSWORD = "fuzz-login-2026"
# Coupons of the demo tenant (tenants/demo.toml), and one with no cap that the fuzzing consumer may claim often.
DEMO_COUPONS = ["WELCOME-20", "NS-GREEN-15"]
CLAIM_COUPON = {
    "code": "FUZZ-CLAIM",
    "name": "Fuzz",
    "kind": "amount_off",
    "value": 100,
    "total": None,
    "per_consumer": 1000,
}
_keys = itertools.count(1)


class SetupFailed(RuntimeError):
    """A request the setup depends on did not answer as expected."""


class Api:
    """A small JSON client for the fuzzed server."""

    def __init__(self, base: str) -> None:
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {base!r}")
        self.base = base

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        *,
        key: bool = False,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Send one request; return its status and decoded JSON body (``{}`` when empty)."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if key:
            sent["Idempotency-Key"] = f"fuzz-setup-{time.time_ns()}-{next(_keys)}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, headers=sent, method=method)  # noqa: S310 (http(s) only)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read()
            try:
                return exc.code, json.loads(text or b"{}")
            except ValueError:
                return exc.code, {"detail": text.decode(errors="replace")}

    def need(self, method: str, path: str, token: str | None = None, body: Any = None, **kw: Any) -> Any:
        """Like `call`, but a status of 300 or more stops the setup."""
        status, answer = self.call(method, path, token, body, **kw)
        if status >= 300:
            raise SetupFailed(f"{method} {path} answered {status}: {answer}")
        return answer

    # --- orders -------------------------------------------------------------------------------------------

    def place(self, consumer: str, sku: str, *, pickup: bool, koc: str | None = None, qty: int = 1) -> Any:
        """A new unpaid order of `qty` of `sku` at the fuzzing store (picked up there, or delivered nearby)."""
        body = {
            "lines": [{"sku": sku, "qty": qty}],
            "delivery": {"mode": "pickup"} if pickup else NANSHAN,
            "store": STORE,
            "koc": koc,
        }
        return self.need("POST", f"/v1/shop/{TENANT}/orders", consumer, body, key=True)

    def pay(self, consumer: str, order_no: str) -> Any:
        """Start paying `order_no` with the local provider; returns its prepay parameters."""
        answer = self.need(
            "POST", f"/v1/shop/{TENANT}/orders/{order_no}/pay", consumer, {"provider": "local"}, key=True
        )
        return answer["params"]

    def notification(self, params: Any) -> tuple[bytes, str]:
        """The body and ``X-Local-Signature`` of the notification that the payment in `params` succeeded."""
        body = json.dumps(
            {
                "payment_id": params["payment_id"],
                "order_no": params["order_no"],
                "amount": int(params["amount"]),
                "status": "SUCCESS",
                "paid_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
        ).encode()
        return body, hmac.new(LOCAL_PAY_SECRET, body, hashlib.sha256).hexdigest()

    def paid(self, consumer: str, sku: str, *, pickup: bool, koc: str | None = None) -> Any:
        """A new order, paid: returns the order as placed."""
        order = self.place(consumer, sku, pickup=pickup, koc=koc)
        body, signature = self.notification(self.pay(consumer, order["order_no"]))
        self.need("POST", "/v1/payments/local/notify", raw=body, headers={"X-Local-Signature": signature})
        return order


def token(api: Api, username: str, password: str) -> str:
    answer = api.need("POST", "/v1/auth/token", body={"tenant": TENANT, "username": username, "password": password})
    return str(answer["access_token"])


def consumer(api: Api, openid: str) -> tuple[str, int]:
    answer = api.need("POST", f"/v1/shop/{TENANT}/auth/login", body={"code": f"local:{openid}"})
    return str(answer["access_token"]), int(answer["consumer_id"])


def own_koc(api: Api, store: str, consumer_id: int) -> str:
    """The code of the store's KOC bound to `consumer_id`, made if there is none."""
    status, answer = api.call("POST", "/v1/store/kocs", store, {"name": "Fuzz", "consumer_id": consumer_id})
    if status < 300:
        return str(answer["code"])
    cursor: str | None = ""
    while cursor is not None:
        page = api.need("GET", f"/v1/store/kocs?limit=100{'&cursor=' + cursor if cursor else ''}", store)
        for koc in page["items"]:
            if koc.get("consumer_id") == consumer_id:
                return str(koc["code"])
        cursor = page.get("next_cursor")
    raise SetupFailed(f"POST /v1/store/kocs answered {status}: {answer}")


def mature(api: Api, hq: str, order: Any) -> str:
    """Complete a paid pickup order and wait until its commission is available; returns when it became so."""
    return mature_all(api, hq, [order])[0]


def mature_all(api: Api, hq: str, orders: list[Any]) -> list[str]:
    """Complete paid pickup orders and wait until the commission of each is available; returns when it became so
    for each (waiting once for the worker, not once per order)."""
    for order in orders:
        fulfilment = order["fulfilments"][0]["id"]
        for action in ("ready", "pickup"):
            api.need("POST", f"/v1/hq/fulfilments/{fulfilment}/{action}", hq)
    matured: list[str] = []
    for order in orders:
        for _ in range(120):
            entries = api.need("GET", f"/v1/hq/ledger?order_no={order['order_no']}&status=available&limit=100", hq)
            times = [e["available_at"] for e in entries["items"] if e.get("available_at")]
            if times:
                matured.append(max(times))
                break
            time.sleep(0.5)
        else:
            raise SetupFailed(f"the commission of order {order['order_no']} never became available")
    return matured


def webhook(api: Api, hq: str, url: str, events: list[str]) -> int:
    """A new endpoint at `url` for `events`; returns its id."""
    return int(api.need("POST", "/v1/hq/webhooks", hq, {"url": url, "events": events})["id"])


def delivery(api: Api, hq: str, endpoint: int) -> int:
    """The id of a delivery to `endpoint` (waiting for the first event to be queued for it)."""
    for _ in range(120):
        page = api.need("GET", f"/v1/hq/webhooks/{endpoint}/deliveries?limit=1", hq)
        if page["items"]:
            return int(page["items"][0]["id"])
        time.sleep(0.5)
    raise SetupFailed(f"no delivery was made to webhook {endpoint}")


def codes_csv(api: Api, hq: str, batch_no: str) -> list[dict[str, str]]:
    """The printer's CSV of a batch, as rows."""
    request = urllib.request.Request(  # noqa: S310 (http(s) only)
        f"{api.base}/v1/hq/code-batches/{batch_no}/codes.csv", headers={"Authorization": f"Bearer {hq}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return list(csv.DictReader(io.StringIO(response.read().decode())))


def code_batch(api: Api, hq: str, sku: str) -> tuple[str, list[dict[str, str]]]:
    """A fresh batch of 60 units in cases of 6, once the server's worker has generated it."""
    batch_no = api.need("POST", "/v1/hq/code-batches", hq, {"sku": sku, "units": 60, "units_per_case": 6})["batch_no"]
    deadline = time.monotonic() + 60
    while api.need("GET", f"/v1/hq/code-batches/{batch_no}", hq)["status"] != "ready":
        if time.monotonic() > deadline:
            raise SetupFailed(f"code batch {batch_no} was not generated")
        time.sleep(0.2)
    return batch_no, codes_csv(api, hq, batch_no)


def toml_operations(pinned: dict[str, dict[str, Any]]) -> str:
    out = []
    for regex, values in pinned.items():
        present = {k: v for k, v in values.items() if v is not None}
        if not present:
            continue
        params = ", ".join(f'"path.{k}" = {json.dumps(v)}' for k, v in present.items())
        out.append(f"[[operations]]\ninclude-path-regex = {json.dumps(regex)}\nparameters = {{ {params} }}\n")
    return "\n".join(out)


def main(base: str, folder: Path, receiver: str) -> None:
    api = Api(base)
    hq = token(api, "hq", "chayun-hq-2026")
    store = token(api, "sz-ns-01", "store-pass-2026")
    distributor = token(api, "d-sz", "distributor-pass-2026")
    shopper, shopper_id = consumer(api, "fuzzer")
    buyer, _ = consumer(api, "fuzz-buyer")

    # Commission matures the moment an order completes, so a settlement can be made (terms are taken per order).
    policy = api.need("GET", "/v1/hq/policies/commission", hq)
    api.need("PUT", "/v1/hq/policies/commission", hq, {**policy, "frozen_days": 0})

    # Two SKUs on sale at the store: one stocked there (its orders are fulfilled by the store), one stocked only
    # at the distributor's warehouse (its orders are shipped by the distributor).
    shelf = api.need("GET", f"/v1/shop/{TENANT}/stores/{STORE}/products?limit=100")
    on_sale = sorted({s["code"] for p in shelf["items"] for s in p.get("skus", [])})
    if len(on_sale) < 2:
        raise SetupFailed(f"store {STORE} has {len(on_sale)} SKUs on sale")
    at_store, at_warehouse = on_sale[0], on_sale[1]
    stock = [
        {"location": STORE, "sku": at_store, "on_hand": 100000},
        {"location": STORE, "sku": at_warehouse, "on_hand": 0},
        {"location": WAREHOUSE, "sku": at_warehouse, "on_hand": 100000},
    ]
    api.need("PUT", "/v1/hq/stock", hq, {"items": stock})

    product = api.need("GET", "/v1/hq/products?limit=1", hq)["items"][0]["code"]
    sku = api.need("GET", f"/v1/hq/products/{product}", hq)["skus"][0]["code"]

    # The fuzzing consumer is a KOC of the store (so it has earnings); consumers that are not KOCs yet, for
    # the store to make into ones.
    koc = own_koc(api, store, shopper_id)
    # Another KOC for the settlements, which no fuzzed route names (the store pass removes the pinned one).
    referrer = own_koc(api, store, consumer(api, "fuzz-referrer")[1])
    spare_consumers = [consumer(api, f"fuzz-koc-{i}")[1] for i in range(1, 13)]

    # Staff accounts of their own: fuzzing a password or an `active` flag never revokes the tokens in use.
    staff = [
        {"username": "fuzz-staff", "password": "fuzz-staff-2026", "role": "hq"},
        {"username": "fuzz-login", "password": LOGIN_PASSWORD, "role": "store", "store_code": STORE},
    ]
    for account in staff:
        status, answer = api.call("POST", "/v1/hq/staff", hq, account)
        if status == 409:  # a database used before (DATABASE_URL): put the account back as it was
            update = {"password": account["password"], "active": True}
            api.need("PATCH", f"/v1/hq/staff/{account['username']}", hq, update)
        elif status >= 300:
            raise SetupFailed(f"POST /v1/hq/staff answered {status}: {answer}")

    # A coupon to claim, claimed once: its id goes with quotes. Endpoints at the local receiver (loopback URLs are
    # allowed outside prod): one subscribed to the events the paid orders below publish, so it has a delivery,
    # and one for DELETE to remove.
    status, answer = api.call("POST", "/v1/hq/coupons", hq, CLAIM_COUPON)
    if status >= 300 and status != 409:
        raise SetupFailed(f"POST /v1/hq/coupons answered {status}: {answer}")
    claimed = api.need("POST", f"/v1/shop/{TENANT}/coupons/{CLAIM_COUPON['code']}/claim", shopper)["id"]
    endpoint = webhook(api, hq, f"{receiver}/main", ["order.created", "order.paid"])
    spare_endpoint = webhook(api, hq, f"{receiver}/spare", ["order.paid"])

    pinned_order = api.place(shopper, at_store, pickup=False)
    store_order = api.paid(shopper, at_store, pickup=True)
    warehouse_order = api.paid(shopper, at_warehouse, pickup=False)
    hq_order = api.paid(shopper, at_store, pickup=False)

    # Matured commission, settled at once: a settlement to read. The hooks mature more for the fuzzed runs.
    matured = mature(api, hq, api.paid(buyer, at_store, pickup=True, koc=referrer))
    first = api.need(
        "POST", "/v1/hq/settlements", hq, {"beneficiary_kind": "store", "beneficiary": STORE, "up_to": matured}
    )

    delivery_id = delivery(api, hq, endpoint)

    # Codes: the demo's shipped batch to scan, and a fresh one whose cases and units the fuzzed shipments take.
    shipped = [row["code"] for row in codes_csv(api, hq, DEMO_BATCH) if row["level"] == "unit"]
    batch_no, fresh = code_batch(api, hq, sku)

    data = {
        "base": base,
        "receiver": receiver,
        "coupons": [CLAIM_COUPON["code"], *DEMO_COUPONS],
        "claimed": claimed,
        "tokens": {"hq": hq, "store": store, "distributor": distributor, "consumer": shopper, "buyer": buyer},
        "tenant": TENANT,
        "store": STORE,
        "stores": [STORE, "SZ-FT-01", "GZ-TH-01"],
        "distributor": DISTRIBUTOR,
        "distributors": [DISTRIBUTOR, "D-GZ"],
        "warehouse": WAREHOUSE,
        "on_sale": on_sale,
        "at_store": at_store,
        "at_warehouse": at_warehouse,
        "koc": koc,
        "referrer": referrer,
        "spare_consumers": spare_consumers,
        "login": {"tenant": TENANT, "username": "fuzz-login", "password": LOGIN_PASSWORD},
        "delivery": NANSHAN,
        "batch": batch_no,
        "scan_codes": shipped[:12],
        "ship_codes": [row["code"] for row in fresh],
    }
    (folder / "fuzz.json").write_text(json.dumps(data, ensure_ascii=False, indent=2))
    pinned = {
        # `code` is a product's, except on the coupon routes.
        r"^/v1/shop/\{tenant\}/(?!coupons/)": {
            "tenant": TENANT,
            "store": STORE,
            "code": product,
            "order_no": pinned_order["order_no"],
        },
        r"^/v1/shop/\{tenant\}/coupons/": {"tenant": TENANT, "code": CLAIM_COUPON["code"]},
        "^/v1/hq/products/": {"code": product, "sku": sku},
        # HQ archives what these name: others than the ones the hooks order from and settle for.
        "^/v1/hq/stores/": {"code": "SZ-FT-01"},
        "^/v1/hq/distributors/": {"code": "D-GZ"},
        "^/v1/hq/locations/": {"code": "WH-GZ"},
        "^/v1/hq/orders/": {"order_no": hq_order["order_no"]},
        "^/v1/hq/fulfilments/": {"fulfilment_id": hq_order["fulfilments"][0]["id"]},
        "^/v1/store/fulfilments/": {"fulfilment_id": store_order["fulfilments"][0]["id"]},
        "^/v1/distributor/fulfilments/": {"fulfilment_id": warehouse_order["fulfilments"][0]["id"]},
        "^/v1/hq/staff/": {"username": "fuzz-staff"},
        "^/v1/hq/settlements/": {"settlement_no": first["settlement_no"]},
        "^/v1/hq/consumers/": {"consumer_id": shopper_id},
        "^/v1/store/kocs/": {"code": koc},
        "^/v1/store/storefront/items/": {"product_code": product},
        # DELETE removes the spare endpoint; the deliveries are the main one's.
        r"^/v1/hq/webhooks/\{webhook_id\}$": {"webhook_id": spare_endpoint},
        r"^/v1/hq/webhooks/\{webhook_id\}/": {"webhook_id": endpoint, "delivery_id": delivery_id},
        "^/v1/hq/code-batches/": {"batch_no": batch_no},
        "^/v1/hq/codes/": {"code": shipped[0]},
    }
    (folder / "schemathesis.toml").write_text(toml_operations(pinned))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
