"""How much work the checkout journeys cost, counted at the driver."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event

from tests.integration.network import Network, place, signed_notification
from tests.support import Api

pytestmark = pytest.mark.slow

_LOCK = re.compile(r"\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|SHARE|KEY\s+SHARE)\b(?:\s+OF\s+([\w\s,]+))?", re.I)
_ORDERS = re.compile(r"\b(?:FROM|JOIN)\s+orders(?:\s+(?!WHERE\b|JOIN\b|ON\b)(\w+))?", re.I)


def _order_lock_mode(statement: str) -> str | None:
    """The mode a statement locks ``orders`` rows in, or None if it does not lock them."""
    lock, table = _LOCK.search(statement), _ORDERS.search(statement)
    if lock is None or table is None:
        return None
    if lock.group(2) is not None:
        locked = {name.strip() for name in lock.group(2).split(",")}
        if (table.group(1) or "orders") not in locked:
            return None
    return " ".join(lock.group(1).upper().split())


async def test_applying_a_payment_notification_is_short_and_locks_the_order_once(
    app: Litestar, api: Api, network: Network
) -> None:
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="count-pay")).json()
    pay = await api.post(
        f"/v1/shop/{network.tenant.slug}/orders/{order['order_no']}/pay",
        token=network.consumer_token,
        json={"provider": "local"},
        headers={"Idempotency-Key": "count-pay-start"},
    )
    assert pay.status_code == 200, pay.text
    body, headers = signed_notification(pay.json()["payment_id"], order["order_no"], order["total"])
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        r = await api.post("/v1/payments/local/notify", content=body, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "paid"
    # 16 with the webhook outbox, one for the analytics rows, one more because this payment binds the consumer
    assert len(statements) < 19, "\n---\n".join(statements)
    assert len([s for s in statements if "order_facts" in s]) == 1
    assert len([s for s in statements if "webhook_deliveries" in s]) == 1
    order_locks = [(mode, s) for s in statements if (mode := _order_lock_mode(s)) is not None]
    assert len(order_locks) == 1, order_locks
    assert order_locks[0][0] == "NO KEY UPDATE", order_locks
