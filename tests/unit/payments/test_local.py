"""The local payment provider: HMAC-signed notifications, prepay hint, instant refunds."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudstore.payments.gateways.base import (
    InvalidNotification,
    InvalidSignature,
    PaymentNotification,
    PaymentProvider,
    Prepay,
)
from cloudstore.payments.gateways.local import (
    LocalPaymentProvider,
    encode_local_notification,
    sign_local_notification,
    verify_local_signature,
)

SECRET = b"local-pay-secret-for-tests"
NOW = datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)
PAID_AT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def provider() -> LocalPaymentProvider:
    return LocalPaymentProvider(SECRET)


def _body(**changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "payment_id": "pay_000001",
        "order_no": "SO20240501000001",
        "amount": 1290,
        "status": "SUCCESS",
        "paid_at": "2024-05-01T12:00:00Z",
    }
    fields.update(changes)
    return msgspec.json.encode({k: v for k, v in fields.items() if v is not None})


def _headers(body: bytes, secret: bytes = SECRET) -> dict[str, str]:
    return {"X-Local-Signature": sign_local_notification(secret, body)}


def test_signature_is_hex_hmac_sha256_rfc4231_vector() -> None:
    # RFC 4231 test case 2.
    assert (
        sign_local_notification(b"Jefe", b"what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_encode_local_notification_is_the_documented_body() -> None:
    body = encode_local_notification(
        payment_id="pay_000001",
        order_no="SO20240501000001",
        amount=1290,
        paid_at=datetime(2024, 5, 1, 20, 0, tzinfo=timezone(timedelta(hours=8))),
    )
    assert body == (
        b'{"payment_id":"pay_000001","order_no":"SO20240501000001","amount":1290,'
        b'"status":"SUCCESS","paid_at":"2024-05-01T12:00:00Z"}'
    )


def test_encode_local_notification_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        encode_local_notification(payment_id="pay_000001", order_no="SO1", amount=1, paid_at=datetime(2024, 5, 1))


def test_verify_good_notification(provider: LocalPaymentProvider) -> None:
    body = _body()
    notification = provider.verify_notification(_headers(body), body, now=NOW)
    assert notification == PaymentNotification(
        kind="payment",
        payment_id="pay_000001",
        order_no="SO20240501000001",
        amount=1290,
        status="SUCCESS",
        paid_at=PAID_AT,
        transaction_id=None,
        refund_id=None,
    )


def test_header_name_is_case_insensitive_and_hex_case_is_ignored(provider: LocalPaymentProvider) -> None:
    body = _body()
    headers = {"x-local-signature": sign_local_notification(SECRET, body).upper()}
    assert provider.verify_notification(headers, body, now=NOW).amount == 1290


def test_paid_at_with_offset_is_returned_in_utc(provider: LocalPaymentProvider) -> None:
    body = _body(paid_at="2024-05-01T20:00:00+08:00")
    paid_at = provider.verify_notification(_headers(body), body, now=NOW).paid_at
    assert paid_at == PAID_AT
    assert paid_at is not None
    assert paid_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda b: b.replace(b"1290", b"1"), id="amount-lowered"),
        pytest.param(lambda b: b.replace(b"pay_000001", b"pay_000002"), id="other-payment"),
        pytest.param(lambda b: b + b" ", id="trailing-space"),
        pytest.param(lambda b: b[:-1], id="truncated"),
    ],
)
def test_tampered_body_is_rejected(provider: LocalPaymentProvider, tamper: Any) -> None:
    body = _body()
    with pytest.raises(InvalidSignature):
        provider.verify_notification(_headers(body), tamper(body), now=NOW)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"X-Local-Signature": ""}, id="empty"),
        pytest.param({"X-Local-Signature": "00" * 32}, id="zeros"),
        pytest.param({"X-Local-Signature": "é" * 64}, id="non-ascii"),
        pytest.param({"X-Other-Signature": "x"}, id="other-header"),
    ],
)
def test_missing_or_garbage_signature_is_rejected(provider: LocalPaymentProvider, headers: dict[str, str]) -> None:
    with pytest.raises(InvalidSignature):
        provider.verify_notification(headers, _body(), now=NOW)


def test_signature_from_another_secret_is_rejected(provider: LocalPaymentProvider) -> None:
    body = _body()
    with pytest.raises(InvalidSignature):
        provider.verify_notification(_headers(body, secret=b"another-secret"), body, now=NOW)


def test_truncated_signature_is_rejected(provider: LocalPaymentProvider) -> None:
    body = _body()
    with pytest.raises(InvalidSignature):
        provider.verify_notification({"X-Local-Signature": sign_local_notification(SECRET, body)[:-2]}, body, now=NOW)


def test_signature_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    original = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # local.py looks it up on the module at call time
    body = _body()
    good = sign_local_notification(SECRET, body)
    assert verify_local_signature(SECRET, body, good) is True
    assert verify_local_signature(SECRET, body, "ab" * 32) is False
    assert calls == [(good.encode(), good.encode()), (good.encode(), ("ab" * 32).encode())]


@given(st.binary(max_size=256), st.binary(min_size=1, max_size=64))
def test_signature_round_trips_and_any_flipped_bit_fails(body: bytes, secret: bytes) -> None:
    signature = sign_local_notification(secret, body)
    assert verify_local_signature(secret, body, signature)
    flipped = f"{int(signature[0], 16) ^ 1:x}" + signature[1:]
    assert not verify_local_signature(secret, body, flipped)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_body(status="FAILED"), id="status-not-success"),
        pytest.param(_body(amount=0), id="zero-amount"),
        pytest.param(_body(amount=-5), id="negative-amount"),
        pytest.param(_body(amount="1290"), id="amount-as-string"),
        pytest.param(_body(paid_at="2024-05-01T12:00:00"), id="naive-paid-at"),
        pytest.param(_body(order_no=""), id="empty-order-no"),
        pytest.param(_body(extra="x"), id="unknown-field"),
        pytest.param(_body(paid_at=None), id="missing-paid-at"),
        pytest.param(b"not json", id="not-json"),
    ],
)
def test_signed_but_malformed_body_is_invalid_notification(provider: LocalPaymentProvider, body: bytes) -> None:
    with pytest.raises(InvalidNotification):
        provider.verify_notification(_headers(body), body, now=NOW)


async def test_prepay_returns_notify_hint(provider: LocalPaymentProvider) -> None:
    prepay = await provider.prepay(
        payment_id="pay_000001",
        order_no="SO20240501000001",
        amount=1290,
        description="雪梨 2 斤",
        payer_openid=None,
        expires_at=NOW + timedelta(minutes=15),
    )
    assert prepay == Prepay(
        payment_id="pay_000001",
        provider="local",
        params={
            "payment_id": "pay_000001",
            "order_no": "SO20240501000001",
            "amount": "1290",
            "notify_url": "/v1/payments/local/notify",
        },
    )


@pytest.mark.parametrize(
    ("payment_id", "amount", "message"),
    [
        ("pay_1", 100, "payment_id"),
        ("pay 000001", 100, "payment_id"),
        ("p" * 33, 100, "payment_id"),
        ("pay_000001", 0, "amount"),
    ],
)
async def test_prepay_rejects_what_wechat_would(
    provider: LocalPaymentProvider, payment_id: str, amount: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await provider.prepay(
            payment_id=payment_id,
            order_no="SO1",
            amount=amount,
            description="x",
            payer_openid=None,
            expires_at=NOW,
        )


async def test_refund_succeeds_at_once_with_fresh_provider_ids(provider: LocalPaymentProvider) -> None:
    first = await provider.refund(payment_id="pay_000001", refund_id="rf_1", amount=500, total=1290)
    second = await provider.refund(payment_id="pay_000001", refund_id="rf_2", amount=790, total=1290, reason="坏果")
    assert (first.refund_id, first.status) == ("rf_1", "SUCCESS")
    assert (second.refund_id, second.status) == ("rf_2", "SUCCESS")
    assert first.provider_refund_id is not None
    assert first.provider_refund_id.startswith("local-")
    assert first.provider_refund_id != second.provider_refund_id


@pytest.mark.parametrize(("amount", "total"), [(0, 100), (101, 100), (-1, 100)])
async def test_refund_outside_zero_and_total_is_refused(
    provider: LocalPaymentProvider, amount: int, total: int
) -> None:
    with pytest.raises(ValueError, match="refund amount"):
        await provider.refund(payment_id="pay_000001", refund_id="rf_1", amount=amount, total=total)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        LocalPaymentProvider(b"")


def test_repr_hides_the_secret(provider: LocalPaymentProvider) -> None:
    assert SECRET.decode() not in repr(provider)


def test_local_provider_satisfies_the_protocol(provider: LocalPaymentProvider) -> None:
    as_protocol: PaymentProvider = provider
    assert as_protocol.name == "local"
