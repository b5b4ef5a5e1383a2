"""WeChat Pay API v3 signing: keys, request and response signatures, ``Authorization``, ``paySign``.

Pure functions over bytes and keys, each testable alone; the client composes them.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _BadRsaSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cloudstore.payments.gateways.base import (
    InvalidSignature,
    header_value,
)

__all__ = (
    "AUTHORIZATION_SCHEMA",
    "SIGNATURE_WINDOW",
    "build_authorization",
    "build_pay_params",
    "load_platform_public_key",
    "load_private_key",
    "new_nonce",
    "parse_authorization",
    "pay_sign_message",
    "request_message",
    "response_message",
    "rsa_sign",
    "rsa_verify",
    "verify_wechatpay_signature",
)

AUTHORIZATION_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
SIGNATURE_WINDOW = timedelta(minutes=5)

_AUTH_PARAM = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Load an unencrypted RSA private key from PEM (PKCS#8 or PKCS#1)."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the merchant private key must be an RSA key")
    return key


def load_platform_public_key(pem: str) -> rsa.RSAPublicKey:
    """Load WeChat Pay's RSA public key from a ``PUBLIC KEY`` PEM or an X.509 platform certificate PEM."""
    data = pem.encode("ascii")
    if b"-----BEGIN CERTIFICATE-----" in data:
        key: object = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the WeChat Pay platform key must be an RSA key")
    return key


def new_nonce() -> str:
    """Return a fresh 32-character random string for ``nonce_str`` / ``nonceStr``."""
    return secrets.token_hex(16).upper()


def request_message(method: str, url: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """Build the string a merchant signs for a request: ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n``.

    Args:
        method: HTTP method.
        url: The path with its query string, as sent (e.g. ``/v3/pay/transactions/jsapi``).
        timestamp: Unix seconds.
        nonce: Random string.
        body: The exact request body bytes (empty for GET).
    """
    head = f"{method.upper()}\n{url}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """Build the string WeChat Pay signs for a response or notification: ``TIMESTAMP\\nNONCE\\nBODY\\n``."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


def pay_sign_message(appid: str, timestamp: str, nonce: str, package: str) -> bytes:
    """Build the string signed into ``paySign``: ``appId\\ntimeStamp\\nnonceStr\\npackage\\n``."""
    return f"{appid}\n{timestamp}\n{nonce}\n{package}\n".encode()


def rsa_sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Sign with SHA256withRSA (PKCS#1 v1.5) and return base64."""
    return base64.b64encode(private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def rsa_verify(public_key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    """Check a base64 SHA256withRSA (PKCS#1 v1.5) signature."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
    except _BadRsaSignature:
        return False
    return True


def build_authorization(
    *,
    mchid: str,
    serial_no: str,
    private_key: rsa.RSAPrivateKey,
    method: str,
    url: str,
    body: bytes,
    timestamp: str,
    nonce: str,
) -> str:
    """Build the ``Authorization`` header value of a merchant request."""
    signature = rsa_sign(private_key, request_message(method, url, timestamp, nonce, body))
    return (
        f'{AUTHORIZATION_SCHEMA} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def parse_authorization(header: str) -> dict[str, str]:
    """Split an ``Authorization`` header into its parameters (``mchid``, ``nonce_str``, ...).

    Raises:
        ValueError: Not a ``WECHATPAY2-SHA256-RSA2048`` header or a malformed one.
    """
    schema, _, rest = header.partition(" ")
    if schema != AUTHORIZATION_SCHEMA or not rest:
        raise ValueError("not a WECHATPAY2-SHA256-RSA2048 authorization")
    params: dict[str, str] = {}
    for part in rest.split(","):
        match = _AUTH_PARAM.fullmatch(part)
        if match is None or match.group(1) in params:
            raise ValueError("malformed authorization parameter")
        params[match.group(1)] = match.group(2)
    missing = {"mchid", "nonce_str", "signature", "timestamp", "serial_no"} - params.keys()
    if missing:
        raise ValueError(f"authorization lacks {sorted(missing)}")
    return params


def verify_wechatpay_signature(
    headers: Mapping[str, str],
    body: bytes,
    *,
    public_key: rsa.RSAPublicKey,
    platform_serial: str,
    now: datetime,
) -> None:
    """Check the ``Wechatpay-*`` headers of a response or notification against its raw body.

    The serial must be the configured platform key's, the timestamp within five minutes of ``now`` either
    way, and the signature valid for ``TIMESTAMP\\nNONCE\\nBODY\\n``.

    Raises:
        InvalidSignature: Any of those checks fails.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    timestamp = header_value(headers, "Wechatpay-Timestamp")
    nonce = header_value(headers, "Wechatpay-Nonce")
    signature = header_value(headers, "Wechatpay-Signature")
    serial = header_value(headers, "Wechatpay-Serial")
    if not timestamp or not nonce or not signature or not serial:
        raise InvalidSignature("missing Wechatpay-Timestamp/Nonce/Signature/Serial")
    if serial != platform_serial:
        raise InvalidSignature(f"unknown WeChat Pay key serial {serial!r}")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise InvalidSignature("malformed Wechatpay-Timestamp")
    skew = abs(now.timestamp() - int(timestamp))
    if skew > SIGNATURE_WINDOW.total_seconds():
        raise InvalidSignature("Wechatpay-Timestamp is more than 5 minutes away")
    if not rsa_verify(public_key, response_message(timestamp, nonce, body), signature):
        raise InvalidSignature("bad Wechatpay-Signature")


def build_pay_params(
    *, appid: str, prepay_id: str, private_key: rsa.RSAPrivateKey, timestamp: str, nonce: str
) -> dict[str, str]:
    """Build the ``wx.requestPayment`` arguments for a prepay id, ``paySign`` included."""
    package = f"prepay_id={prepay_id}"
    return {
        "appId": appid,
        "timeStamp": timestamp,
        "nonceStr": nonce,
        "package": package,
        "signType": "RSA",
        "paySign": rsa_sign(private_key, pay_sign_message(appid, timestamp, nonce, package)),
    }
