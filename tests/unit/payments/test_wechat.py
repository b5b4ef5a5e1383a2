"""WeChat Pay v3: wire-format functions, notifications, and the provider against a fake WeChat Pay."""

from __future__ import annotations

import base64
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from cloudstore.payments.gateways.base import (
    InvalidNotification,
    InvalidResponseSignature,
    InvalidSignature,
    PaymentNotification,
    PaymentProvider,
    ProviderRejected,
    ProviderUnavailable,
    RefundResult,
)
from cloudstore.payments.gateways.wechat import (
    WeChatPayConfig,
    WeChatPayProvider,
    build_authorization,
    build_pay_params,
    decrypt_resource,
    encrypt_resource,
    format_time_expire,
    load_platform_public_key,
    parse_authorization,
    pay_sign_message,
    request_message,
    response_message,
    rsa_sign,
    rsa_verify,
    verify_wechatpay_signature,
)
from tests.fakes.wechat import FakeWeChat, Signing, generate_rsa_key, private_key_pem, silent_server

APIV3_KEY = b"0123456789abcdef0123456789abcdef"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
EXPIRES = datetime(2030, 1, 1, 4, 0, 0, 500_000, tzinfo=UTC)
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
TRANSACTION_ID = "4200000000202405011234567890"


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeWeChat) -> None:
    fake.reset()


@pytest.fixture(scope="module")
def provider(fake: FakeWeChat, http: httpx.AsyncClient) -> WeChatPayProvider:
    return WeChatPayProvider(fake.config(), client=http)


async def _prepay(provider: WeChatPayProvider, payment_id: str = "pay_000001", amount: int = 1290) -> Any:
    return await provider.prepay(
        payment_id=payment_id,
        order_no="SO20240501000001",
        amount=amount,
        description="雪梨 2 斤",
        payer_openid=OPENID,
        expires_at=EXPIRES,
    )


# --- pure wire-format functions ------------------------------------------------------------------------


def test_request_message_is_five_lines_each_ending_in_newline() -> None:
    assert request_message("post", "/v3/pay/transactions/jsapi", "1554208460", "593BEC0C", b'{"a":1}') == (
        b'POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C\n{"a":1}\n'
    )
    assert request_message("GET", "/v3/certificates?x=1", "1554208460", "N", b"") == (
        b"GET\n/v3/certificates?x=1\n1554208460\nN\n\n"
    )


def test_response_and_pay_sign_messages() -> None:
    assert response_message("1554209980", "c5ac7061fccab6bf3e254dcf98995b8c", b"{}") == (
        b"1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n{}\n"
    )
    assert pay_sign_message("wx8888888888888888", "1414561699", "5K8264ILTKCH16CQ", "prepay_id=wx201410272009") == (
        b"wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ\nprepay_id=wx201410272009\n"
    )


def test_authorization_header_format_and_signature(fake: FakeWeChat) -> None:
    body = b'{"appid":"wx"}'
    header = build_authorization(
        mchid="1900000109",
        serial_no="SERIAL01",
        private_key=fake.merchant_key,
        method="POST",
        url="/v3/pay/transactions/jsapi",
        body=body,
        timestamp="1554208460",
        nonce="593BEC0C930BF1AFEB40B4A08C8FB242",
    )
    assert header.startswith(
        'WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242"'
    )
    assert header.endswith(',timestamp="1554208460",serial_no="SERIAL01"')
    params = parse_authorization(header)
    assert (params["mchid"], params["serial_no"], params["timestamp"]) == ("1900000109", "SERIAL01", "1554208460")
    message = b'POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{"appid":"wx"}\n'
    assert rsa_verify(fake.merchant_key.public_key(), message, params["signature"])
    assert not rsa_verify(fake.merchant_key.public_key(), message + b"x", params["signature"])


@pytest.mark.parametrize(
    "header",
    [
        'Bearer mchid="1",nonce_str="n",signature="s",timestamp="1",serial_no="x"',
        'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",signature="s",timestamp="1"',
        'WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",nonce_str="n",signature="s",timestamp="1",serial_no="x"',
        "WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str=n,signature=s,timestamp=1,serial_no=x",
        "WECHATPAY2-SHA256-RSA2048",
        "",
    ],
)
def test_parse_authorization_rejects_malformed_headers(header: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every malformation is a plain ValueError
        parse_authorization(header)


def test_rsa_verify_rejects_the_wechat_signature_probe_and_garbage(fake: FakeWeChat) -> None:
    key = fake.platform_key.public_key()
    assert not rsa_verify(key, b"m", "WECHATPAY/SIGNTEST/" + base64.b64encode(b"x" * 256).decode())
    assert not rsa_verify(key, b"m", "not base64 !!")
    assert not rsa_verify(key, b"m", "")
    assert rsa_verify(key, b"m", rsa_sign(fake.platform_key, b"m"))


def test_pay_params_are_signed_over_appid_timestamp_nonce_package(fake: FakeWeChat) -> None:
    params = build_pay_params(
        appid="wxd678efh567hg6787",
        prepay_id="wx201410272009395522657a690389285100",
        private_key=fake.merchant_key,
        timestamp="1414561699",
        nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    )
    assert {k: v for k, v in params.items() if k != "paySign"} == {
        "appId": "wxd678efh567hg6787",
        "timeStamp": "1414561699",
        "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "package": "prepay_id=wx201410272009395522657a690389285100",
        "signType": "RSA",
    }
    message = (
        b"wxd678efh567hg6787\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
        b"prepay_id=wx201410272009395522657a690389285100\n"
    )
    assert rsa_verify(fake.merchant_key.public_key(), message, params["paySign"])


def test_time_expire_is_china_time_whole_seconds() -> None:
    assert format_time_expire(EXPIRES) == "2030-01-01T12:00:00+08:00"
    assert format_time_expire(datetime(2024, 12, 31, 20, 30, tzinfo=UTC)) == "2025-01-01T04:30:00+08:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time_expire(datetime(2030, 1, 1))


def test_decrypt_resource_matches_wechat_scheme() -> None:
    # Encrypted independently of the module under test: AES-256-GCM, nonce and associated data as UTF-8.
    sealed = AESGCM(APIV3_KEY).encrypt(b"fdasflkja484", b'{"out_trade_no":"pay_1"}', b"transaction")
    ciphertext = base64.b64encode(sealed).decode()
    plaintext = decrypt_resource(APIV3_KEY, ciphertext=ciphertext, nonce="fdasflkja484", associated_data="transaction")
    assert plaintext == b'{"out_trade_no":"pay_1"}'


def test_encrypt_resource_round_trips_with_empty_associated_data() -> None:
    ciphertext = encrypt_resource(APIV3_KEY, b"hello", nonce="abcdefabcdef", associated_data="")
    assert decrypt_resource(APIV3_KEY, ciphertext=ciphertext, nonce="abcdefabcdef", associated_data="") == b"hello"


def _flip(ciphertext: str, index: int) -> str:
    raw = bytearray(base64.b64decode(ciphertext))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("key", "change"),
    [
        pytest.param(b"f" * 32, {}, id="wrong-apiv3-key"),
        pytest.param(APIV3_KEY, {"flip": -1}, id="bad-tag"),
        pytest.param(APIV3_KEY, {"flip": 0}, id="tampered-ciphertext"),
        pytest.param(APIV3_KEY, {"associated_data": "refund"}, id="other-associated-data"),
        pytest.param(APIV3_KEY, {"nonce": "fdasflkja485"}, id="other-nonce"),
    ],
)
def test_decrypt_resource_fails_authentication(key: bytes, change: dict[str, Any]) -> None:
    ciphertext = encrypt_resource(APIV3_KEY, b'{"a":1}', nonce="fdasflkja484", associated_data="transaction")
    if "flip" in change:
        ciphertext = _flip(ciphertext, change["flip"])
    with pytest.raises(InvalidSignature, match="AES-256-GCM"):
        decrypt_resource(
            key,
            ciphertext=ciphertext,
            nonce=change.get("nonce", "fdasflkja484"),
            associated_data=change.get("associated_data", "transaction"),
        )


def test_decrypt_resource_rejects_non_base64_as_malformed() -> None:
    with pytest.raises(InvalidNotification, match="base64"):
        decrypt_resource(APIV3_KEY, ciphertext="***", nonce="fdasflkja484", associated_data="")


def test_verify_signature_needs_an_aware_now(fake: FakeWeChat) -> None:
    body = b"{}"
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_wechatpay_signature(
            fake.signed_headers(body),
            body,
            public_key=fake.platform_key.public_key(),
            platform_serial=fake.platform_serial,
            now=datetime(2024, 5, 1),
        )


# --- notifications -------------------------------------------------------------------------------------


def _payment_notification(fake: FakeWeChat, **signing: Any) -> tuple[dict[str, str], bytes]:
    transaction = fake.transaction(out_trade_no="pay_000001", total=1290, attach="SO20240501000001")
    transaction["amount"]["payer_total"] = 1000  # a 2.90 coupon: the order total is still 1290
    resource = fake.encrypted_resource(transaction, original_type="transaction")
    return fake.notification("TRANSACTION.SUCCESS", resource, **signing)


def test_payment_notification_is_verified_and_decoded(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    headers, body = _payment_notification(fake)
    notification = provider.verify_notification(headers, body, now=datetime.now(UTC))
    assert notification == PaymentNotification(
        kind="payment",
        payment_id="pay_000001",
        order_no="SO20240501000001",
        amount=1290,
        status="SUCCESS",
        paid_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        transaction_id=TRANSACTION_ID,
        refund_id=None,
    )
    assert notification.paid_at is not None
    assert notification.paid_at.utcoffset() == timedelta(0)


def test_header_names_are_case_insensitive(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    headers, body = _payment_notification(fake)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert provider.verify_notification(lowered, body, now=datetime.now(UTC)).payment_id == "pay_000001"


def test_payment_without_attach_has_no_order_no(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    resource = fake.encrypted_resource(fake.transaction(out_trade_no="pay_000001", total=5), original_type="t")
    headers, body = fake.notification("TRANSACTION.SUCCESS", resource)
    notification = provider.verify_notification(headers, body, now=datetime.now(UTC))
    assert (notification.order_no, notification.amount) == (None, 5)


@pytest.mark.parametrize(("event", "status"), [("REFUND.SUCCESS", "SUCCESS"), ("REFUND.ABNORMAL", "ABNORMAL")])
def test_refund_notification_is_verified_and_decoded(
    fake: FakeWeChat, provider: WeChatPayProvider, event: str, status: str
) -> None:
    refund = fake.refund_resource(
        out_trade_no="pay_000001", out_refund_no="rf_000001", refund=500, total=1290, refund_status=status
    )
    headers, body = fake.notification(event, fake.encrypted_resource(refund, original_type="refund"))
    assert provider.verify_notification(headers, body, now=datetime.now(UTC)) == PaymentNotification(
        kind="refund",
        payment_id="pay_000001",
        order_no=None,
        amount=500,
        status=status,
        paid_at=datetime(2024, 5, 2, 1, 30, tzinfo=UTC),
        transaction_id=TRANSACTION_ID,
        refund_id="rf_000001",
    )


def test_tampered_notification_body_is_rejected(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    headers, body = _payment_notification(fake)
    tampered = body.replace(b"EV-2018022511223320873", b"EV-2018022511223320874")
    assert tampered != body
    with pytest.raises(InvalidSignature, match="bad Wechatpay-Signature"):
        provider.verify_notification(headers, tampered, now=datetime.now(UTC))


def test_notification_signed_by_another_key_is_rejected(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    headers, body = _payment_notification(fake, key=fake.forger_key)
    with pytest.raises(InvalidSignature, match="bad Wechatpay-Signature"):
        provider.verify_notification(headers, body, now=datetime.now(UTC))


def test_notification_with_another_serial_is_rejected(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    headers, body = _payment_notification(fake, serial="PUB_KEY_ID_0119000001092024112200000000000002")
    with pytest.raises(InvalidSignature, match="serial"):
        provider.verify_notification(headers, body, now=datetime.now(UTC))


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86_400])
def test_notification_more_than_five_minutes_away_is_rejected(
    fake: FakeWeChat, provider: WeChatPayProvider, offset: int
) -> None:
    headers, body = _payment_notification(fake, timestamp=int(NOW.timestamp()) + offset)
    with pytest.raises(InvalidSignature, match="5 minutes"):
        provider.verify_notification(headers, body, now=NOW)


@pytest.mark.parametrize("offset", [-300, -299, 0, 299, 300])
def test_notification_within_five_minutes_is_accepted(
    fake: FakeWeChat, provider: WeChatPayProvider, offset: int
) -> None:
    headers, body = _payment_notification(fake, timestamp=int(NOW.timestamp()) + offset)
    assert provider.verify_notification(headers, body, now=NOW).amount == 1290


@pytest.mark.parametrize(
    "missing", ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"]
)
def test_notification_missing_a_signature_header_is_rejected(
    fake: FakeWeChat, provider: WeChatPayProvider, missing: str
) -> None:
    headers, body = _payment_notification(fake)
    del headers[missing]
    with pytest.raises(InvalidSignature, match="missing"):
        provider.verify_notification(headers, body, now=datetime.now(UTC))


def test_notification_with_malformed_timestamp_is_rejected(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    headers, body = _payment_notification(fake)
    headers["Wechatpay-Timestamp"] = " " + headers["Wechatpay-Timestamp"]
    with pytest.raises(InvalidSignature, match="malformed"):
        provider.verify_notification(headers, body, now=datetime.now(UTC))


def test_signature_probe_notification_is_rejected(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    headers, body = _payment_notification(fake)
    headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + base64.b64encode(b"probe" * 40).decode()
    with pytest.raises(InvalidSignature):
        provider.verify_notification(headers, body, now=datetime.now(UTC))


def test_notification_with_bad_gcm_tag_is_rejected(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    resource = fake.encrypted_resource(fake.transaction(out_trade_no="pay_000001", total=1290), original_type="t")
    resource["ciphertext"] = _flip(resource["ciphertext"], -1)
    headers, body = fake.notification("TRANSACTION.SUCCESS", resource)  # validly signed around a broken tag
    with pytest.raises(InvalidSignature, match="AES-256-GCM"):
        provider.verify_notification(headers, body, now=datetime.now(UTC))


def test_notification_encrypted_with_another_apiv3_key_is_rejected(
    fake: FakeWeChat, provider: WeChatPayProvider
) -> None:
    transaction = fake.transaction(out_trade_no="pay_000001", total=1290)
    resource = fake.encrypted_resource(transaction, original_type="transaction", apiv3_key="z" * 32)
    headers, body = fake.notification("TRANSACTION.SUCCESS", resource)
    with pytest.raises(InvalidSignature, match="AES-256-GCM"):
        provider.verify_notification(headers, body, now=datetime.now(UTC))


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("other-merchant", "another merchant"),
        ("usd", "currency"),
        ("unknown-event", "unsupported event type"),
        ("sm4", "algorithm"),
        ("not-json", "malformed notification"),
        ("resource-not-transaction", "malformed notification resource"),
    ],
)
def test_authentic_but_unusable_notification(
    fake: FakeWeChat, provider: WeChatPayProvider, case: str, match: str
) -> None:
    transaction = fake.transaction(
        out_trade_no="pay_000001",
        total=1290,
        mchid="1900000999" if case == "other-merchant" else None,
        currency="USD" if case == "usd" else "CNY",
    )
    plaintext: dict[str, Any] = {"hello": "world"} if case == "resource-not-transaction" else transaction
    resource = fake.encrypted_resource(plaintext, original_type="transaction")
    if case == "sm4":
        resource["algorithm"] = "AEAD_SM4_GCM"
    event = "MCHTRANSFER.BILL.FINISHED" if case == "unknown-event" else "TRANSACTION.SUCCESS"
    headers, body = fake.notification(event, resource)
    if case == "not-json":
        body = b"<xml>not json</xml>"
        headers = fake.signed_headers(body)
    with pytest.raises(InvalidNotification, match=match):
        provider.verify_notification(headers, body, now=datetime.now(UTC))


def test_platform_key_may_be_given_as_a_certificate(fake: FakeWeChat, http: httpx.AsyncClient) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(fake.platform_key.public_key())
        .serial_number(0x5157F09EFDC096DE)
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2034, 1, 1, tzinfo=UTC))
        .sign(fake.platform_key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    loaded = load_platform_public_key(pem)
    assert loaded.public_numbers() == fake.platform_key.public_key().public_numbers()
    provider = WeChatPayProvider(fake.config(platform_public_key_pem=pem), client=http)
    headers, body = _payment_notification(fake)
    assert provider.verify_notification(headers, body, now=datetime.now(UTC)).amount == 1290


# --- the provider against the fake WeChat Pay ----------------------------------------------------------


async def test_prepay_sends_a_signed_jsapi_order_and_returns_signed_pay_params(
    fake: FakeWeChat, provider: WeChatPayProvider
) -> None:
    before = int(datetime.now(UTC).timestamp())
    prepay = await _prepay(provider)

    assert fake.sign_failures == []
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v3/pay/transactions/jsapi")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    authorization = parse_authorization(request.headers["authorization"])
    assert (authorization["mchid"], authorization["serial_no"]) == (fake.mchid, fake.merchant_serial)
    assert request.json() == {
        "appid": fake.appid,
        "mchid": fake.mchid,
        "description": "雪梨 2 斤",
        "out_trade_no": "pay_000001",
        "time_expire": "2030-01-01T12:00:00+08:00",
        "attach": "SO20240501000001",
        "notify_url": "https://shop.example.com/v1/payments/wechat/notify",
        "amount": {"total": 1290, "currency": "CNY"},
        "payer": {"openid": OPENID},
    }

    prepay_id = fake.transactions["pay_000001"]["prepay_id"]
    assert (prepay.payment_id, prepay.provider) == ("pay_000001", "wechat")
    params = prepay.params
    assert sorted(params) == ["appId", "nonceStr", "package", "paySign", "signType", "timeStamp"]
    assert (params["appId"], params["package"], params["signType"]) == (fake.appid, f"prepay_id={prepay_id}", "RSA")
    assert len(params["nonceStr"]) == 32
    assert before <= int(params["timeStamp"]) <= before + 60
    message = pay_sign_message(params["appId"], params["timeStamp"], params["nonceStr"], params["package"])
    assert rsa_verify(fake.merchant_key.public_key(), message, params["paySign"])


async def test_prepay_again_for_the_same_payment_returns_the_same_prepay_id(provider: WeChatPayProvider) -> None:
    first = await _prepay(provider)
    second = await _prepay(provider)
    assert first.params["package"] == second.params["package"]
    assert first.params["nonceStr"] != second.params["nonceStr"]


async def test_prepay_description_is_cut_to_127_characters(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    await provider.prepay(
        payment_id="pay_000002",
        order_no="SO2",
        amount=1,
        description="梨" * 200,
        payer_openid=OPENID,
        expires_at=EXPIRES,
    )
    assert fake.requests[0].json()["description"] == "梨" * 127


async def test_merchant_signature_is_checked_by_wechat(fake: FakeWeChat, http: httpx.AsyncClient) -> None:
    impostor = WeChatPayProvider(fake.config(merchant_private_key_pem=private_key_pem(generate_rsa_key())), client=http)
    with pytest.raises(ProviderRejected) as caught:
        await _prepay(impostor)
    assert (caught.value.status_code, caught.value.code) == (401, "SIGN_ERROR")
    assert fake.sign_failures == ["signature does not verify with the merchant public key"]
    assert fake.transactions == {}


async def test_request_timestamp_comes_from_the_clock(fake: FakeWeChat, http: httpx.AsyncClient) -> None:
    late = WeChatPayProvider(fake.config(), client=http, clock=lambda: datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(ProviderRejected) as caught:
        await _prepay(late)
    assert caught.value.code == "SIGN_ERROR"
    assert fake.sign_failures == ["timestamp expired"]


async def test_reusing_a_payment_id_for_another_amount_is_rejected(provider: WeChatPayProvider) -> None:
    await _prepay(provider, amount=1290)
    with pytest.raises(ProviderRejected) as caught:
        await _prepay(provider, amount=990)
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (
        400,
        "INVALID_REQUEST",
        "201 商户订单号重复",
    )


@pytest.mark.parametrize("signing", ["none", "forged", "wrong_serial", "stale", "tampered"])
async def test_response_without_a_valid_signature_is_not_trusted(
    fake: FakeWeChat, provider: WeChatPayProvider, signing: Signing
) -> None:
    fake.respond_next(200, {"prepay_id": "wx_from_an_attacker"}, signing=signing)
    with pytest.raises(InvalidResponseSignature) as caught:
        await _prepay(provider)
    assert isinstance(caught.value, ProviderUnavailable)
    assert fake.sign_failures == []


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (400, {"code": "PARAM_ERROR", "message": "参数错误"}, "PARAM_ERROR", "参数错误"),
        (403, {"code": "NO_AUTH", "message": "商户无权限"}, "NO_AUTH", "商户无权限"),
        (404, b"<html>not found</html>", "HTTP_404", "<html>not found</html>"),
    ],
)
async def test_4xx_is_provider_rejected(
    fake: FakeWeChat, provider: WeChatPayProvider, status: int, body: Any, code: str, message: str
) -> None:
    fake.respond_next(status, body)
    with pytest.raises(ProviderRejected) as caught:
        await _prepay(provider)
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (status, code, message)


@pytest.mark.parametrize(
    ("status", "body", "fragment"),
    [
        (500, {"code": "SYSTEM_ERROR", "message": "系统繁忙"}, "500 SYSTEM_ERROR"),
        (502, b"bad gateway", "502 HTTP_502"),
        (429, {"code": "FREQUENCY_LIMITED", "message": "频率超限"}, "429 FREQUENCY_LIMITED"),
    ],
)
async def test_5xx_and_429_are_provider_unavailable(
    fake: FakeWeChat, provider: WeChatPayProvider, status: int, body: Any, fragment: str
) -> None:
    fake.respond_next(status, body)
    with pytest.raises(ProviderUnavailable, match=fragment) as caught:
        await _prepay(provider)
    assert not isinstance(caught.value, InvalidResponseSignature)


async def test_signed_but_malformed_response_is_provider_unavailable(
    fake: FakeWeChat, provider: WeChatPayProvider
) -> None:
    fake.respond_next(200, {"unexpected": True})
    with pytest.raises(ProviderUnavailable, match="malformed prepay response"):
        await _prepay(provider)


async def test_timeout_is_provider_unavailable(fake: FakeWeChat, http: httpx.AsyncClient) -> None:
    async with silent_server() as base_url:
        provider = WeChatPayProvider(fake.config(base_url=base_url, timeout_s=0.2), client=http)
        with pytest.raises(ProviderUnavailable, match="ReadTimeout") as caught:
            await _prepay(provider)
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


async def test_refused_connection_is_provider_unavailable(fake: FakeWeChat, http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = WeChatPayProvider(fake.config(base_url=f"http://127.0.0.1:{port}"), client=http)
    with pytest.raises(ProviderUnavailable, match="ConnectError"):
        await provider.refund(payment_id="pay_000001", refund_id="rf_000001", amount=1, total=1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"payer_openid": None}, "openid"),
        ({"expires_at": datetime(2030, 1, 1)}, "timezone-aware"),
        ({"payment_id": "pay-0000-0000-0000-0000-0000-0000-0000"}, "payment_id"),
        ({"amount": 0}, "amount"),
        ({"order_no": "S" * 129}, "attach"),
    ],
)
async def test_prepay_refuses_what_wechat_cannot_take_without_calling_it(
    fake: FakeWeChat, provider: WeChatPayProvider, changes: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "payment_id": "pay_000001",
        "order_no": "SO1",
        "amount": 100,
        "description": "x",
        "payer_openid": OPENID,
        "expires_at": EXPIRES,
    }
    arguments.update(changes)
    with pytest.raises(ValueError, match=message):
        await provider.prepay(**arguments)
    assert fake.requests == []


async def test_refund_sends_a_signed_request_and_returns_the_wechat_refund(
    fake: FakeWeChat, provider: WeChatPayProvider
) -> None:
    await _prepay(provider)
    result = await provider.refund(
        payment_id="pay_000001", refund_id="rf_000001", amount=500, total=1290, reason="坏果"
    )

    assert result == RefundResult(
        refund_id="rf_000001", status="PROCESSING", provider_refund_id=fake.refunds["rf_000001"]["refund_id"]
    )
    assert fake.sign_failures == []
    request = fake.requests[-1]
    assert (request.method, request.path) == ("POST", "/v3/refund/domestic/refunds")
    assert request.json() == {
        "out_trade_no": "pay_000001",
        "out_refund_no": "rf_000001",
        "notify_url": "https://shop.example.com/v1/payments/wechat/notify",
        "amount": {"refund": 500, "total": 1290, "currency": "CNY"},
        "reason": "坏果",
    }


async def test_refunds_beyond_the_total_are_rejected_by_wechat(provider: WeChatPayProvider) -> None:
    await _prepay(provider)
    await provider.refund(payment_id="pay_000001", refund_id="rf_000001", amount=1000, total=1290)
    with pytest.raises(ProviderRejected) as caught:
        await provider.refund(payment_id="pay_000001", refund_id="rf_000002", amount=300, total=1290)
    assert (caught.value.status_code, caught.value.code) == (400, "INVALID_REQUEST")


async def test_refund_of_an_unknown_payment_is_rejected(provider: WeChatPayProvider) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await provider.refund(payment_id="pay_999999", refund_id="rf_000001", amount=1, total=1)
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (
        404,
        "RESOURCE_NOT_EXISTS",
        "订单不存在",
    )


async def test_refund_answer_for_another_refund_is_refused(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    fake.respond_next(
        200, {"out_refund_no": "rf_other", "refund_id": "50000000382019052709732678859", "status": "SUCCESS"}
    )
    with pytest.raises(ProviderUnavailable, match="another refund"):
        await provider.refund(payment_id="pay_000001", refund_id="rf_000001", amount=1, total=1)


async def test_unsigned_refund_answer_is_not_trusted(fake: FakeWeChat, provider: WeChatPayProvider) -> None:
    fake.respond_next(200, {"out_refund_no": "rf_000001", "status": "SUCCESS"}, signing="none")
    with pytest.raises(InvalidResponseSignature):
        await provider.refund(payment_id="pay_000001", refund_id="rf_000001", amount=1, total=1)


async def test_refund_amount_outside_zero_and_total_is_refused_locally(
    fake: FakeWeChat, provider: WeChatPayProvider
) -> None:
    with pytest.raises(ValueError, match="refund amount"):
        await provider.refund(payment_id="pay_000001", refund_id="rf_000001", amount=1291, total=1290)
    assert fake.requests == []


async def test_provider_with_its_own_client(fake: FakeWeChat) -> None:
    async with WeChatPayProvider(fake.config()) as provider:
        prepay = await _prepay(provider)
    assert prepay.params["package"] == f"prepay_id={fake.transactions['pay_000001']['prepay_id']}"


def test_config_checks_the_apiv3_key_and_hides_secrets(fake: FakeWeChat) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        fake.config(apiv3_key="short")
    config = fake.config()
    text = repr(config)
    assert fake.apiv3_key not in text
    assert "PRIVATE KEY" not in text
    assert fake.mchid in text
    assert isinstance(config, WeChatPayConfig)


def test_wechat_provider_satisfies_the_protocol(provider: WeChatPayProvider) -> None:
    as_protocol: PaymentProvider = provider
    assert as_protocol.name == "wechat"
