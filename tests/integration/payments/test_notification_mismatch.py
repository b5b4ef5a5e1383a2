"""Authentic notifications that do not match their payment are refused with a 4xx and change nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from cloudstore.payments.gateways.wechat import WeChatPayProvider
from tests.fakes.wechat import FakeWeChat
from tests.integration.network import Network, place, seed, signed_notification
from tests.support import Api, TenantHandle, consumer, problem

NOTIFY = "/v1/payments/local/notify"


async def _pending(api: Api, net: Network, key: str, provider: str = "local") -> tuple[dict[str, Any], str]:
    order = (await place(api, net, [{"sku": "TEA-1", "qty": 1}], key=key)).json()
    r = await api.post(
        f"/v1/shop/{net.tenant.slug}/orders/{order['order_no']}/pay",
        token=net.consumer_token,
        json={"provider": provider},
        headers={"Idempotency-Key": f"pay-{key}"},
    )
    assert r.status_code in (200, 201), r.text
    return order, r.json()["payment_id"]


async def _status(api: Api, net: Network, order_no: str) -> str:
    r = await api.get(f"/v1/hq/orders/{order_no}", token=net.tenant.hq_token)
    status: str = r.json()["status"]
    return status


async def test_local_notification_for_another_order_or_tenant_or_payment(
    api: Api, app: Litestar, network: Network, other_tenant: TenantHandle, caplog: pytest.LogCaptureFixture
) -> None:
    order, payment_id = await _pending(api, network, "mm-1")
    other, _ = await _pending(api, network, "mm-2")
    other_tid = await seed(app, other_tenant.slug)
    token, cid = await consumer(api, other_tenant, "elsewhere")
    far = Network(tenant=other_tenant, tenant_id=other_tid, consumer_token=token, consumer_id=cid)
    foreign, foreign_payment = await _pending(api, far, "mm-3")

    caplog.set_level(logging.WARNING, logger="cloudstore.payments.api")
    # This payment, but the other order of the same tenant.
    body, headers = signed_notification(payment_id, other["order_no"], order["total"])
    problem(await api.post(NOTIFY, content=body, headers=headers), 409, "notification_mismatch")
    # This payment, but an order of another tenant.
    body, headers = signed_notification(payment_id, foreign["order_no"], order["total"])
    problem(await api.post(NOTIFY, content=body, headers=headers), 409, "notification_mismatch")
    # Another tenant's payment naming this tenant's order.
    body, headers = signed_notification(foreign_payment, order["order_no"], order["total"])
    problem(await api.post(NOTIFY, content=body, headers=headers), 409, "notification_mismatch")
    # Other amount.
    body, headers = signed_notification(payment_id, order["order_no"], order["total"] - 1)
    problem(await api.post(NOTIFY, content=body, headers=headers), 409, "amount_mismatch")
    # Unknown payments: well-formed for this tenant, for a tenant that does not exist, malformed.
    for unknown in (f"p{network.tenant_id}x{'0' * 16}", f"p999999x{'0' * 16}"):
        body, headers = signed_notification(unknown, order["order_no"], order["total"])
        problem(await api.post(NOTIFY, content=body, headers=headers), 404, "not_found")
    body, headers = signed_notification("nonsense-id", order["order_no"], order["total"])
    problem(await api.post(NOTIFY, content=body, headers=headers), 422, "validation_failed")

    assert await _status(api, network, order["order_no"]) == "pending_payment"
    assert await _status(api, network, other["order_no"]) == "pending_payment"
    assert await _status(api, far, foreign["order_no"]) == "pending_payment"
    refused = [r for r in caplog.records if r.getMessage() == "payment notification refused"]
    assert {getattr(r, "code", None) for r in refused} >= {"notification_mismatch", "amount_mismatch", "not_found"}
    # The right notification still pays.
    body, headers = signed_notification(payment_id, order["order_no"], order["total"])
    assert (await api.post(NOTIFY, content=body, headers=headers)).status_code == 200
    assert await _status(api, network, order["order_no"]) == "paid"


@pytest.fixture
def wechat(app: Litestar, fake: FakeWeChat) -> Iterator[FakeWeChat]:
    """The app's WeChat Pay provider talks to the fake while the test runs."""
    fake.reset()
    client = httpx.AsyncClient()
    providers = dict(app.state.payment_providers)
    # In place: the worker's refund job holds this same mapping.
    app.state.payment_providers["wechat"] = WeChatPayProvider(fake.config(), client=client)
    try:
        yield fake
    finally:
        app.state.payment_providers.clear()
        app.state.payment_providers.update(providers)


async def test_wechat_notification_for_another_order_or_unknown_payment(
    api: Api, network: Network, wechat: FakeWeChat
) -> None:
    order, payment_id = await _pending(api, network, "wm-1", provider="wechat")
    other, _ = await _pending(api, network, "wm-2", provider="wechat")

    async def notify(out_trade_no: str, attach: str, total: int) -> httpx.Response:
        resource = wechat.encrypted_resource(
            wechat.transaction(out_trade_no=out_trade_no, total=total, attach=attach), original_type="transaction"
        )
        headers, body = wechat.notification("TRANSACTION.SUCCESS", resource)
        return await api.post("/v1/payments/wechat/notify", content=body, headers=headers)

    problem(await notify(payment_id, other["order_no"], order["total"]), 409, "notification_mismatch")
    problem(await notify(f"p{network.tenant_id}x{'1' * 16}", order["order_no"], order["total"]), 404, "not_found")
    problem(await notify(payment_id, order["order_no"], order["total"] + 5), 409, "amount_mismatch")
    assert await _status(api, network, order["order_no"]) == "pending_payment"
    assert await _status(api, network, other["order_no"]) == "pending_payment"
    assert (await notify(payment_id, order["order_no"], order["total"])).status_code == 200
    assert await _status(api, network, order["order_no"]) == "paid"
