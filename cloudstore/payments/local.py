"""Old import path of :mod:`cloudstore.payments.gateways.local`, kept so existing imports keep working."""

from __future__ import annotations

from cloudstore.payments.gateways.local import (
    LOCAL_NOTIFY_PATH,
    LOCAL_SIGNATURE_HEADER,
    LocalPaymentProvider,
    encode_local_notification,
    sign_local_notification,
    verify_local_signature,
)

__all__ = (
    "LOCAL_NOTIFY_PATH",
    "LOCAL_SIGNATURE_HEADER",
    "LocalPaymentProvider",
    "encode_local_notification",
    "sign_local_notification",
    "verify_local_signature",
)
