"""The payment provider interface: value types, the Protocol every gateway implements, and its errors.

Gateways (``local``, ``wechat``) live in their own modules and import only from here; services depend on
:class:`PaymentProvider` and never on a concrete gateway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal, Protocol

from msgspec import Struct

__all__ = (
    "InvalidNotification",
    "InvalidResponseSignature",
    "InvalidSignature",
    "PaymentError",
    "PaymentNotification",
    "PaymentProvider",
    "Prepay",
    "ProviderRejected",
    "ProviderUnavailable",
    "RefundResult",
    "check_prepay_request",
    "check_refund_request",
    "header_value",
)

# WeChat Pay's limits on out_trade_no and out_refund_no; every provider enforces them so that an id that
# works with the local provider in development also works with WeChat in production.
_PAYMENT_ID = re.compile(r"[A-Za-z0-9_\-|*]{6,32}")
_REFUND_ID = re.compile(r"[A-Za-z0-9_\-|*@]{1,64}")


class PaymentError(Exception):
    """Base class of every payment provider error."""


class InvalidSignature(PaymentError):
    """A notification is not authentic: missing/bad signature, unknown key serial, stale timestamp, or a
    ciphertext that fails authenticated decryption."""


class InvalidNotification(PaymentError):
    """A notification is authentic but cannot be used (malformed or of an unsupported kind)."""


class ProviderUnavailable(PaymentError):
    """The provider could not be reached or answered with a server error; retrying later may succeed."""


class InvalidResponseSignature(ProviderUnavailable):
    """An API response did not carry a valid provider signature, so its content cannot be trusted."""


class ProviderRejected(PaymentError):
    """The provider refused the request (a 4xx answer).

    Attributes:
        status_code: The HTTP status the provider answered with.
        code: The provider's machine-readable error code (e.g. ``PARAM_ERROR``).
        message: The provider's human-readable message.
    """

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message


class PaymentNotification(Struct, frozen=True, kw_only=True):
    """A verified, decoded notification from a payment provider.

    Attributes:
        kind: ``"payment"`` when money came in, ``"refund"`` when it went back.
        payment_id: Our payment id (WeChat's ``out_trade_no``).
        order_no: The order the payment belongs to, when the provider echoes it.
        amount: Fen; the total paid for a payment, the refunded amount for a refund.
        status: The provider's status word, ``"SUCCESS"`` when the money moved.
        paid_at: When the money moved (payment or refund success time), in UTC.
        transaction_id: The provider's transaction id.
        refund_id: Our refund id (WeChat's ``out_refund_no``) for refunds, else ``None``.
    """

    kind: Literal["payment", "refund"]
    payment_id: str
    order_no: str | None
    amount: int
    status: str
    paid_at: datetime | None
    transaction_id: str | None
    refund_id: str | None = None


class Prepay(Struct, frozen=True, kw_only=True):
    """The answer to a prepay call: what the client needs to start paying.

    Attributes:
        payment_id: Our payment id.
        provider: The provider's name.
        params: For WeChat the ``wx.requestPayment`` arguments; for local the notify hint.
    """

    payment_id: str
    provider: str
    params: dict[str, str]


class RefundResult(Struct, frozen=True, kw_only=True):
    """The provider's answer to a refund request.

    Attributes:
        refund_id: Our refund id.
        status: ``"SUCCESS"`` or ``"PROCESSING"`` (WeChat may also answer ``"CLOSED"`` or ``"ABNORMAL"``).
        provider_refund_id: The provider's id for the refund.
    """

    refund_id: str
    status: str
    provider_refund_id: str | None


class PaymentProvider(Protocol):
    """A payment gateway."""

    name: str

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
        """Register a payment with the provider and return what the client needs to pay it.

        Raises:
            ProviderUnavailable: The provider could not be reached or failed.
            ProviderRejected: The provider refused the request.
        """
        ...

    def verify_notification(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> PaymentNotification:
        """Authenticate and decode a provider notification.

        Raises:
            InvalidSignature: The notification is not authentic.
            InvalidNotification: It is authentic but unusable.
        """
        ...

    async def refund(
        self, *, payment_id: str, refund_id: str, amount: int, total: int, reason: str | None = None
    ) -> RefundResult:
        """Refund ``amount`` fen of the payment ``payment_id`` whose total was ``total`` fen.

        Raises:
            ProviderUnavailable: The provider could not be reached or failed.
            ProviderRejected: The provider refused the request.
        """
        ...


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Return a header's value whatever the case of its name in ``headers``, or ``None``."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def check_prepay_request(*, payment_id: str, amount: int) -> None:
    """Reject a prepay call that no provider could accept.

    Raises:
        ValueError: ``payment_id`` is not 6–32 of ``[A-Za-z0-9_-|*]`` or ``amount`` is not positive.
    """
    if not _PAYMENT_ID.fullmatch(payment_id):
        raise ValueError("payment_id must be 6-32 characters of [A-Za-z0-9_-|*]")
    if amount <= 0:
        raise ValueError("amount must be a positive number of fen")


def check_refund_request(*, payment_id: str, refund_id: str, amount: int, total: int) -> None:
    """Reject a refund call that no provider could accept.

    Raises:
        ValueError: A malformed id, or not ``0 < amount <= total``.
    """
    if not _PAYMENT_ID.fullmatch(payment_id):
        raise ValueError("payment_id must be 6-32 characters of [A-Za-z0-9_-|*]")
    if not _REFUND_ID.fullmatch(refund_id):
        raise ValueError("refund_id must be 1-64 characters of [A-Za-z0-9_-|*@]")
    if not 0 < amount <= total:
        raise ValueError("refund amount must be positive and at most the payment total")
