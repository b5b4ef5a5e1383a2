"""The real WeChat code paths through the API, against the local fake WeChat servers.

Mini-program login (code2session), JSAPI prepay, the signed and encrypted payment notification, a refund
and its notification: each goes through the route, the service and the real provider, and only the far end
is the fake.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar

from cloudstore.auth.identity import WeChatIdentityProvider
from cloudstore.payments.gateways.wechat import WeChatPayProvider
from tests.fakes.wechat import FakeWeChat
from tests.integration.network import Network, place
from tests.support import Api, problem


@pytest.fixture
def wechat(app: Litestar, api: Api, fake: FakeWeChat) -> Iterator[FakeWeChat]:
    """The app talks to the fake WeChat for login and payments while the test runs."""
    fake.reset()
    client = httpx.AsyncClient()
    providers = dict(app.state.payment_providers)
    original_identity = app.state.identity_for
    identity = WeChatIdentityProvider(fake.appid, fake.mini_secret, base_url=fake.base_url, client=client)
    # In place: the worker's refund job holds this same mapping.
    app.state.payment_providers["wechat"] = WeChatPayProvider(fake.config(), client=client)
    app.state.identity_for = lambda code: identity
    try:
        yield fake
    finally:
        app.state.payment_providers.clear()
        app.state.payment_providers.update(providers)
        app.state.identity_for = original_identity
        close = client.aclose
        del close


async def test_login_pay_notify_refund(api: Api, network: Network, wechat: FakeWeChat) -> None:
    slug = network.tenant.slug
    wechat.add_login_code("wx-code-1", "o-wechat-user-1", "u-union-1")
    r = await api.post(f"/v1/shop/{slug}/auth/login", json={"code": "wx-code-1"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    problem(await api.post(f"/v1/shop/{slug}/auth/login", json={"code": "wx-code-1"}), 401, "unauthorized")

    order = (await place(api, network, [{"sku": "TEA-1", "qty": 2}], key="wx-1", token=token)).json()
    r = await api.post(
        f"/v1/shop/{slug}/orders/{order['order_no']}/pay",
        token=token,
        json={"provider": "wechat"},
        headers={"Idempotency-Key": "wx-pay-1"},
    )
    assert r.status_code == 200, r.text
    pay = r.json()
    assert pay["provider"] == "wechat"
    assert pay["params"]["package"].startswith("prepay_id=wx")
    assert pay["params"]["signType"] == "RSA"
    sent = wechat.transactions[pay["payment_id"]]["request"]
    assert sent["amount"] == {"total": order["total"], "currency": "CNY"}
    assert sent["payer"] == {"openid": "o-wechat-user-1"}

    resource = wechat.encrypted_resource(
        wechat.transaction(out_trade_no=pay["payment_id"], total=order["total"]), original_type="transaction"
    )
    headers, body = wechat.notification("TRANSACTION.SUCCESS", resource)
    tampered = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESs")
    problem(await api.post("/v1/payments/wechat/notify", content=tampered, headers=headers), 401, "invalid_signature")
    r = await api.post("/v1/payments/wechat/notify", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "paid"
    r = await api.post("/v1/payments/wechat/notify", content=body, headers=headers)
    assert r.json()["message"] == "duplicate"
    got = (await api.get(f"/v1/shop/{slug}/orders/{order['order_no']}", token=token)).json()
    assert got["status"] == "paid"

    r = await api.post(
        f"/v1/hq/orders/{order['order_no']}/refunds",
        token=network.tenant.hq_token,
        json={"lines": [{"sku": "TEA-1", "qty": 1}]},
        headers={"Idempotency-Key": "wx-refund-1"},
    )
    assert r.status_code == 201, r.text
    refund = r.json()
    assert refund["amount"] == 1290
    refund_resource = wechat.encrypted_resource(
        wechat.refund_resource(
            out_trade_no=pay["payment_id"], out_refund_no=refund["refund_no"], refund=1290, total=order["total"]
        ),
        original_type="refund",
        associated_data="refund",
    )
    headers, body = wechat.notification("REFUND.SUCCESS", refund_resource, summary="退款成功")
    r = await api.post("/v1/payments/wechat/notify", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["message"] in ("refund_succeeded", "duplicate")
    hq = (await api.get(f"/v1/hq/orders/{order['order_no']}", token=network.tenant.hq_token)).json()
    assert hq["refunded_total"] == 1290
    assert hq["lines"][0]["refunded_qty"] == 1


async def test_wrong_amount_and_stale_notifications_change_nothing(
    api: Api, network: Network, wechat: FakeWeChat
) -> None:
    slug = network.tenant.slug
    order = (await place(api, network, [{"sku": "TEA-1", "qty": 1}], key="wx-2")).json()
    pay = (
        await api.post(
            f"/v1/shop/{slug}/orders/{order['order_no']}/pay",
            token=network.consumer_token,
            json={"provider": "wechat"},
            headers={"Idempotency-Key": "wx-pay-2"},
        )
    ).json()
    wrong = wechat.encrypted_resource(
        wechat.transaction(out_trade_no=pay["payment_id"], total=order["total"] - 1), original_type="transaction"
    )
    headers, body = wechat.notification("TRANSACTION.SUCCESS", wrong)
    problem(await api.post("/v1/payments/wechat/notify", content=body, headers=headers), 409, "amount_mismatch")
    right = wechat.encrypted_resource(
        wechat.transaction(out_trade_no=pay["payment_id"], total=order["total"]), original_type="transaction"
    )
    headers, body = wechat.notification("TRANSACTION.SUCCESS", right, timestamp=1_600_000_000)
    problem(await api.post("/v1/payments/wechat/notify", content=body, headers=headers), 401, "invalid_signature")
    got = (await api.get(f"/v1/shop/{slug}/orders/{order['order_no']}", token=network.consumer_token)).json()
    assert got["status"] == "pending_payment"
