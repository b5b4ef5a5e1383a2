"""A local payment provider with WeChat Pay's shape, for development and tests.

Prepay returns a hint instead of calling anyone; whoever plays the payer posts a notification whose raw body
is signed with ``HMAC-SHA256(secret, body)`` in the ``X-Local-Signature`` header (hex). Refunds succeed at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from cloudstore.payments.gateways.base import (
    InvalidNotification,
    InvalidSignature,
    PaymentNotification,
    Prepay,
    RefundResult,
    check_prepay_request,
    check_refund_request,
    header_value,
)

__all__ = (
    "LOCAL_NOTIFY_PATH",
    "LOCAL_SIGNATURE_HEADER",
    "LocalPaymentProvider",
    "encode_local_notification",
    "sign_local_notification",
    "verify_local_signature",
)

LOCAL_NOTIFY_PATH = "/v1/payments/local/notify"
LOCAL_SIGNATURE_HEADER = "X-Local-Signature"


class _LocalNotificationBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    payment_id: Annotated[str, msgspec.Meta(min_length=1)]
    order_no: Annotated[str, msgspec.Meta(min_length=1)]
    amount: Annotated[int, msgspec.Meta(gt=0)]
    status: Literal["SUCCESS"]
    paid_at: Annotated[datetime, msgspec.Meta(tz=True)]


_body_decoder = msgspec.json.Decoder(_LocalNotificationBody)


def sign_local_notification(secret: bytes, body: bytes) -> str:
    """Return the ``X-Local-Signature`` value for a raw notification body: hex HMAC-SHA256."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_local_signature(secret: bytes, body: bytes, signature: str | None) -> bool:
    """Check a ``X-Local-Signature`` value against the raw body, in constant time."""
    if not signature:
        return False
    expected = sign_local_notification(secret, body).encode("ascii")
    try:
        given = signature.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)


def encode_local_notification(*, payment_id: str, order_no: str, amount: int, paid_at: datetime) -> bytes:
    """Build the JSON body of a successful local payment notification (``paid_at`` as RFC 3339 UTC)."""
    if paid_at.tzinfo is None:
        raise ValueError("paid_at must be timezone-aware")
    return msgspec.json.encode(
        {
            "payment_id": payment_id,
            "order_no": order_no,
            "amount": amount,
            "status": "SUCCESS",
            "paid_at": paid_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
    )


class LocalPaymentProvider:
    """The ``local`` payment provider: HMAC-signed notifications, instant refunds.

    Args:
        secret: The shared HMAC key (``CLOUDSTORE_LOCAL_PAY_SECRET``).
    """

    name = "local"

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the local payment secret must not be empty")
        self._secret = secret

    def __repr__(self) -> str:
        return "LocalPaymentProvider(secret=<redacted>)"

    async def prepay(
        self,
        *,
        payment_id: str,
        order_no: str,
        amount: int,
        description: str,
        payer_openid: str | None,
        expires_at: datetime,
    ) -> Prepay:
        """Return where and what to notify; nothing is called.

        Raises:
            ValueError: See :func:`~cloudstore.payments.gateways.base.check_prepay_request`.
        """
        check_prepay_request(payment_id=payment_id, amount=amount)
        return Prepay(
            payment_id=payment_id,
            provider=self.name,
            params={
                "payment_id": payment_id,
                "order_no": order_no,
                "amount": str(amount),
                "notify_url": LOCAL_NOTIFY_PATH,
            },
        )

    def verify_notification(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> PaymentNotification:
        """Check the HMAC of the raw body, then decode it.

        Raises:
            InvalidSignature: The signature header is missing or wrong.
            InvalidNotification: The body is signed but not the documented shape.
        """
        if not verify_local_signature(self._secret, body, header_value(headers, LOCAL_SIGNATURE_HEADER)):
            raise InvalidSignature("bad or missing X-Local-Signature")
        try:
            decoded = _body_decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise InvalidNotification(f"malformed local notification: {exc}") from exc
        return PaymentNotification(
            kind="payment",
            payment_id=decoded.payment_id,
            order_no=decoded.order_no,
            amount=decoded.amount,
            status=decoded.status,
            paid_at=decoded.paid_at.astimezone(UTC),
            transaction_id=None,
            refund_id=None,
        )

    async def refund(
        self, *, payment_id: str, refund_id: str, amount: int, total: int, reason: str | None = None
    ) -> RefundResult:
        """Succeed at once with a fresh provider refund id.

        Raises:
            ValueError: See :func:`~cloudstore.payments.gateways.base.check_refund_request`.
        """
        check_refund_request(payment_id=payment_id, refund_id=refund_id, amount=amount, total=total)
        return RefundResult(refund_id=refund_id, status="SUCCESS", provider_refund_id=f"local-{secrets.token_hex(12)}")
