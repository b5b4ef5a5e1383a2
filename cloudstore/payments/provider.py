"""Old import path of :mod:`cloudstore.payments.gateways.base`, kept so existing imports keep working."""

from __future__ import annotations

from cloudstore.payments.gateways.base import (
    InvalidNotification,
    InvalidResponseSignature,
    InvalidSignature,
    PaymentError,
    PaymentNotification,
    PaymentProvider,
    Prepay,
    ProviderRejected,
    ProviderUnavailable,
    RefundResult,
    check_prepay_request,
    check_refund_request,
    header_value,
)

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
