"""Every route of the whole journey answers as recorded: HQ set-up, share, touch, order, pay, ship, refund, settle.

The journey of ``test_journey`` is driven through a client that keeps each response's status and body, with
values that differ from run to run (ids, numbers, codes, tokens, timestamps, the tenant's slug) replaced by
stable placeholders in the order they first appear. The result is compared with ``recorded_journey.json``.
Run with ``CLOUDSTORE_RECORD_JOURNEY=1`` to write the recording again after an intended change of answers.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from httpx import Response
from litestar import Litestar

from cloudstore.lib.jobs import Worker
from tests.e2e import test_journey as journey
from tests.support import Api, TenantHandle

RECORDING = Path(__file__).with_name("recorded_journey.json")
VOLATILE_KEYS = frozenset(
    {
        "id",
        "access_token",
        "token",
        "consumer_id",
        "payment_id",
        "order_no",
        "settlement_no",
        "code",
        "koc",
        "bound_koc",
        "beneficiary",
        "fulfilment_id",
        "refund_no",
        "prepay",
        "params",
        "request_id",
        "created_by",
    }
)
NUMBER_SEGMENT = re.compile(r"/\d+(?=/|$)")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")
HEX_OR_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Normaliser:
    """Replaces run-specific values by placeholders, the same value always by the same placeholder."""

    def __init__(self, slug: str) -> None:
        self.seen: dict[str, str] = {slug: "<slug>"}
        self.numbers: dict[tuple[str, int], str] = {}

    def placeholder(self, value: Any, key: str) -> Any:
        if not isinstance(value, str | int) or isinstance(value, bool):
            return value
        text = str(value)
        if isinstance(value, int):  # sequence numbers of different tables coincide: number them per key
            return self.numbers.setdefault((key, value), f"<{key}:{len(self.numbers)}>")
        if text not in self.seen:
            self.seen[text] = f"<{key}:{len(self.seen)}>"
        return self.seen[text]

    def __call__(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, key) for v in value]
        if key in VOLATILE_KEYS or key.endswith("_id"):
            return self.placeholder(value, key)
        if isinstance(value, str):
            if TIMESTAMP.match(value) or key.endswith("_at") or key in {"expires", "date"}:
                return "<timestamp>"
            if HEX_OR_UUID.match(value):
                return self.placeholder(value, key or "uuid")
            for raw, stable in sorted(self.seen.items(), key=lambda kv: -len(kv[0])):
                if len(raw) >= 4 and raw in value:
                    value = value.replace(raw, stable)
        return value


class RecordingApi(Api):
    """An ``Api`` that keeps every exchange, normalised."""

    def __init__(self, api: Api, slug: str) -> None:
        super().__init__(api.client)
        self.normalise = Normaliser(slug)
        self.exchanges: list[dict[str, Any]] = []

    async def call(self, method: str, path: str, **kw: Any) -> Response:
        """One request, recorded."""
        response = await super().call(method, path, **kw)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        self.exchanges.append(
            {
                "request": f"{method} {NUMBER_SEGMENT.sub('/<n>', self.normalise(path))}",
                "status": response.status_code,
                "body": self.normalise(body),
            }
        )
        return response


async def test_journey_answers_as_recorded(api: Api, app: Litestar, worker: Worker, tenant: TenantHandle) -> None:
    recorder = RecordingApi(api, tenant.slug)
    recorder.normalise(tenant.hq_token, "access_token")
    await journey.test_koc_referral_journey(recorder, app, worker, tenant)
    if os.environ.get("CLOUDSTORE_RECORD_JOURNEY") == "1":
        RECORDING.write_text(json.dumps(recorder.exchanges, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    recorded = json.loads(RECORDING.read_text(encoding="utf-8"))
    assert len(recorder.exchanges) == len(recorded)
    for got, want in zip(recorder.exchanges, recorded, strict=True):
        assert got == want
