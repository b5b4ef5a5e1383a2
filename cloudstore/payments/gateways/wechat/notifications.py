"""WeChat Pay API v3 notification decoding: AEAD_AES_256_GCM resources and the payment/refund payloads.

The client checks a notification's signature first (``signing.verify_wechatpay_signature``); this module then
decrypts and decodes what it carries.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudstore.payments.gateways.base import (
    InvalidNotification,
    InvalidSignature,
    PaymentNotification,
)

__all__ = ("decode_notification", "decrypt_resource", "encrypt_resource")

_AEAD = "AEAD_AES_256_GCM"
_REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})


def decrypt_resource(apiv3_key: bytes, *, ciphertext: str, nonce: str, associated_data: str) -> bytes:
    """Decrypt an ``AEAD_AES_256_GCM`` notification resource with the APIv3 key.

    Raises:
        InvalidSignature: The ciphertext fails authentication (wrong key, tampered data or tag).
        InvalidNotification: The fields are malformed.
    """
    if len(apiv3_key) != 32:
        raise ValueError("the APIv3 key must be 32 bytes")
    try:
        raw = base64.b64decode(ciphertext, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidNotification("resource ciphertext is not base64") from exc
    nonce_bytes = nonce.encode("utf-8")
    if not 8 <= len(nonce_bytes) <= 128 or len(raw) < 16:
        raise InvalidNotification("malformed resource nonce or ciphertext")
    try:
        return AESGCM(apiv3_key).decrypt(nonce_bytes, raw, associated_data.encode("utf-8") or None)
    except InvalidTag as exc:
        raise InvalidSignature("resource failed AES-256-GCM authentication") from exc


def encrypt_resource(apiv3_key: bytes, plaintext: bytes, *, nonce: str, associated_data: str) -> str:
    """Encrypt like WeChat Pay does for a notification resource; returns base64 ciphertext+tag."""
    sealed = AESGCM(apiv3_key).encrypt(nonce.encode("utf-8"), plaintext, associated_data.encode("utf-8") or None)
    return base64.b64encode(sealed).decode("ascii")


_AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]


class _Resource(msgspec.Struct, frozen=True):
    algorithm: str
    ciphertext: str
    nonce: str
    associated_data: str = ""


class _Envelope(msgspec.Struct, frozen=True):
    id: str
    event_type: str
    resource: _Resource


class _TransactionAmount(msgspec.Struct, frozen=True):
    total: int
    payer_total: int | None = None
    currency: str = "CNY"


class _Transaction(msgspec.Struct, frozen=True):
    appid: str
    mchid: str
    out_trade_no: str
    transaction_id: str
    trade_state: str
    amount: _TransactionAmount
    success_time: _AwareTime | None = None
    attach: str = ""


class _RefundAmount(msgspec.Struct, frozen=True):
    total: int
    refund: int


class _Refund(msgspec.Struct, frozen=True):
    mchid: str
    out_trade_no: str
    out_refund_no: str
    refund_status: str
    amount: _RefundAmount
    transaction_id: str | None = None
    refund_id: str | None = None
    success_time: _AwareTime | None = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_transaction_decoder = msgspec.json.Decoder(_Transaction)
_refund_decoder = msgspec.json.Decoder(_Refund)


def decode_notification(body: bytes, *, apiv3_key: bytes, mchid: str, appid: str) -> PaymentNotification:
    """Decrypt and decode the body of a notification whose signature has already been verified.

    ``TRANSACTION.SUCCESS`` becomes a ``payment`` (amount = ``amount.total``, order number from ``attach``);
    ``REFUND.SUCCESS``/``REFUND.ABNORMAL``/``REFUND.CLOSED`` become a ``refund`` (amount = ``amount.refund``).

    Raises:
        InvalidSignature: The resource fails authenticated decryption.
        InvalidNotification: Malformed, for another merchant, or of an unsupported event type.
    """
    try:
        envelope = _envelope_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidNotification(f"malformed notification: {exc}") from exc
    resource = envelope.resource
    if resource.algorithm != _AEAD:
        raise InvalidNotification(f"unsupported resource algorithm {resource.algorithm!r}")
    if envelope.event_type != "TRANSACTION.SUCCESS" and envelope.event_type not in _REFUND_EVENTS:
        raise InvalidNotification(f"unsupported event type {envelope.event_type!r}")
    plaintext = decrypt_resource(
        apiv3_key, ciphertext=resource.ciphertext, nonce=resource.nonce, associated_data=resource.associated_data
    )
    try:
        if envelope.event_type == "TRANSACTION.SUCCESS":
            return _payment_notification(_transaction_decoder.decode(plaintext), mchid=mchid, appid=appid)
        return _refund_notification(_refund_decoder.decode(plaintext), mchid=mchid)
    except msgspec.DecodeError as exc:
        raise InvalidNotification(f"malformed notification resource: {exc}") from exc


def _payment_notification(transaction: _Transaction, *, mchid: str, appid: str) -> PaymentNotification:
    if transaction.mchid != mchid or transaction.appid != appid:
        raise InvalidNotification("notification is for another merchant or app")
    if transaction.amount.currency != "CNY":
        raise InvalidNotification(f"unsupported currency {transaction.amount.currency!r}")
    return PaymentNotification(
        kind="payment",
        payment_id=transaction.out_trade_no,
        order_no=transaction.attach or None,
        amount=transaction.amount.total,
        status=transaction.trade_state,
        paid_at=transaction.success_time.astimezone(UTC) if transaction.success_time else None,
        transaction_id=transaction.transaction_id,
        refund_id=None,
    )


def _refund_notification(refund: _Refund, *, mchid: str) -> PaymentNotification:
    if refund.mchid != mchid:
        raise InvalidNotification("notification is for another merchant")
    return PaymentNotification(
        kind="refund",
        payment_id=refund.out_trade_no,
        order_no=None,
        amount=refund.amount.refund,
        status=refund.refund_status,
        paid_at=refund.success_time.astimezone(UTC) if refund.success_time else None,
        transaction_id=refund.transaction_id,
        refund_id=refund.out_refund_no,
    )
