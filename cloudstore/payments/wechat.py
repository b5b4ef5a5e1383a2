"""WeChat Pay API v3 for mini-programs (JSAPI): prepay, notifications, refunds.

The wire format is implemented in pure functions (request signing, response and notification verification,
AEAD_AES_256_GCM resource decryption, ``wx.requestPayment`` parameters) so each can be tested alone;
:class:`WeChatPayProvider` strings them together over ``httpx``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import msgspec
from cryptography import x509
from cryptography.exceptions import InvalidSignature as _BadRsaSignature
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudstore.payments.provider import (
    InvalidNotification,
    InvalidResponseSignature,
    InvalidSignature,
    PaymentNotification,
    Prepay,
    ProviderRejected,
    ProviderUnavailable,
    RefundResult,
    check_prepay_request,
    check_refund_request,
    header_value,
)

if TYPE_CHECKING:
    from types import TracebackType

__all__ = (
    "AUTHORIZATION_SCHEMA",
    "CHINA_TZ",
    "SIGNATURE_WINDOW",
    "WeChatPayConfig",
    "WeChatPayProvider",
    "build_authorization",
    "build_pay_params",
    "decode_notification",
    "decrypt_resource",
    "encrypt_resource",
    "format_time_expire",
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
CHINA_TZ = timezone(timedelta(hours=8))
SIGNATURE_WINDOW = timedelta(minutes=5)

_JSAPI_PATH = "/v3/pay/transactions/jsapi"
_REFUND_PATH = "/v3/refund/domestic/refunds"
_AEAD = "AEAD_AES_256_GCM"
_REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})
_DESCRIPTION_MAX = 127
_ATTACH_MAX = 128
_REASON_MAX = 80
_AUTH_PARAM = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class WeChatPayConfig(msgspec.Struct, frozen=True):
    """Merchant credentials and endpoints for WeChat Pay API v3.

    Attributes:
        mchid: Merchant id (商户号).
        appid: The mini-program's appid the merchant is bound to.
        merchant_serial_no: Serial number of the merchant API certificate (goes into ``Authorization``).
        merchant_private_key_pem: The merchant API private key (``apiclient_key.pem``).
        apiv3_key: The 32-byte APIv3 key that encrypts notification resources.
        platform_public_key_pem: WeChat Pay's public key (or platform certificate) that signs responses
            and notifications.
        platform_serial: Its id (``PUB_KEY_ID_...`` or certificate serial), expected in ``Wechatpay-Serial``.
        notify_url: Public HTTPS URL WeChat Pay posts payment and refund notifications to.
        base_url: API origin.
        timeout_s: Per-request timeout in seconds.
    """

    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_key_pem: str
    apiv3_key: str
    platform_public_key_pem: str
    platform_serial: str
    notify_url: str
    base_url: str = "https://api.mch.weixin.qq.com"
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if len(self.apiv3_key.encode("utf-8")) != 32:
            raise ValueError("apiv3_key must be exactly 32 bytes")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")

    def __repr__(self) -> str:
        # Keys must never reach logs or tracebacks through a repr.
        return (
            f"WeChatPayConfig(mchid={self.mchid!r}, appid={self.appid!r}, "
            f"merchant_serial_no={self.merchant_serial_no!r}, platform_serial={self.platform_serial!r}, "
            f"notify_url={self.notify_url!r}, base_url={self.base_url!r}, timeout_s={self.timeout_s!r}, "
            "merchant_private_key_pem=<redacted>, apiv3_key=<redacted>)"
        )


# --- keys and signatures -------------------------------------------------------------------------------


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


def format_time_expire(expires_at: datetime) -> str:
    """Format an expiry as WeChat wants it: RFC 3339 in China time, whole seconds, ``+08:00``."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return expires_at.astimezone(CHINA_TZ).replace(microsecond=0).isoformat()


# --- notification payloads -----------------------------------------------------------------------------

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


# --- API responses -------------------------------------------------------------------------------------


class _PrepayResponse(msgspec.Struct, frozen=True):
    prepay_id: str


class _RefundResponse(msgspec.Struct, frozen=True):
    out_refund_no: str
    status: str
    refund_id: str | None = None


class _ErrorResponse(msgspec.Struct, frozen=True):
    code: str
    message: str = ""


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        error = msgspec.json.decode(response.content, type=_ErrorResponse)
    except msgspec.DecodeError:
        return f"HTTP_{response.status_code}", response.text[:200]
    return error.code, error.message


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WeChatPayProvider:
    """The ``wechat`` payment provider: JSAPI prepay, v3 notifications and refunds.

    Args:
        config: Merchant credentials and endpoints.
        client: An ``httpx.AsyncClient`` to share; one is created (and closed by :meth:`aclose`) if omitted.
        clock: Source of the current time for request timestamps and response checks.
    """

    name = "wechat"

    def __init__(
        self,
        config: WeChatPayConfig,
        client: httpx.AsyncClient | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._config = config
        self._private_key = load_private_key(config.merchant_private_key_pem)
        self._platform_key = load_platform_public_key(config.platform_public_key_pem)
        self._apiv3_key = config.apiv3_key.encode("utf-8")
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=config.timeout_s)
        self._clock = clock

    def __repr__(self) -> str:
        return f"WeChatPayProvider(mchid={self._config.mchid!r}, base_url={self._config.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> WeChatPayProvider:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

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
        """Create a JSAPI transaction and return signed ``wx.requestPayment`` parameters.

        Raises:
            ValueError: Bad ids or amount, no payer openid, naive ``expires_at`` or an over-long order number.
            ProviderUnavailable: Network failure, timeout, 5xx/429, or a response without a valid signature.
            ProviderRejected: WeChat Pay answered 4xx.
        """
        check_prepay_request(payment_id=payment_id, amount=amount)
        if not payer_openid:
            raise ValueError("a WeChat JSAPI payment needs the payer's openid")
        if len(order_no) > _ATTACH_MAX:
            raise ValueError(f"order_no longer than {_ATTACH_MAX} characters cannot ride in attach")
        config = self._config
        payload = {
            "appid": config.appid,
            "mchid": config.mchid,
            "description": description.strip()[:_DESCRIPTION_MAX] or order_no,
            "out_trade_no": payment_id,
            "time_expire": format_time_expire(expires_at),
            "attach": order_no,
            "notify_url": config.notify_url,
            "amount": {"total": amount, "currency": "CNY"},
            "payer": {"openid": payer_openid},
        }
        content = await self._call("POST", _JSAPI_PATH, payload)
        try:
            prepay_id = msgspec.json.decode(content, type=_PrepayResponse).prepay_id
        except msgspec.DecodeError as exc:
            raise ProviderUnavailable(f"malformed prepay response: {exc}") from exc
        timestamp = str(int(self._clock().timestamp()))
        params = build_pay_params(
            appid=config.appid,
            prepay_id=prepay_id,
            private_key=self._private_key,
            timestamp=timestamp,
            nonce=new_nonce(),
        )
        return Prepay(payment_id=payment_id, provider=self.name, params=params)

    def verify_notification(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> PaymentNotification:
        """Verify the ``Wechatpay-*`` signature of a notification, then decrypt and decode it.

        Raises:
            InvalidSignature: Bad/missing signature, unknown serial, timestamp more than 5 minutes from ``now``,
                or a resource that fails AES-256-GCM authentication.
            InvalidNotification: Authentic but malformed, for another merchant, or of an unsupported type.
        """
        verify_wechatpay_signature(
            headers, body, public_key=self._platform_key, platform_serial=self._config.platform_serial, now=now
        )
        return decode_notification(body, apiv3_key=self._apiv3_key, mchid=self._config.mchid, appid=self._config.appid)

    async def refund(
        self, *, payment_id: str, refund_id: str, amount: int, total: int, reason: str | None = None
    ) -> RefundResult:
        """Request a refund of ``amount`` fen out of the ``total`` paid for ``payment_id``.

        Raises:
            ValueError: Bad ids, or not ``0 < amount <= total``.
            ProviderUnavailable: Network failure, timeout, 5xx/429, or a response without a valid signature.
            ProviderRejected: WeChat Pay answered 4xx.
        """
        check_refund_request(payment_id=payment_id, refund_id=refund_id, amount=amount, total=total)
        payload: dict[str, Any] = {
            "out_trade_no": payment_id,
            "out_refund_no": refund_id,
            "notify_url": self._config.notify_url,
            "amount": {"refund": amount, "total": total, "currency": "CNY"},
        }
        if reason:
            payload["reason"] = reason[:_REASON_MAX]
        content = await self._call("POST", _REFUND_PATH, payload)
        try:
            answer = msgspec.json.decode(content, type=_RefundResponse)
        except msgspec.DecodeError as exc:
            raise ProviderUnavailable(f"malformed refund response: {exc}") from exc
        if answer.out_refund_no != refund_id:
            raise ProviderUnavailable("refund response is for another refund")
        return RefundResult(refund_id=refund_id, status=answer.status, provider_refund_id=answer.refund_id)

    async def _call(self, method: str, path: str, payload: Mapping[str, Any] | None) -> bytes:
        """Send a signed request; return the body of a 2xx answer whose signature checks out."""
        body = msgspec.json.encode(payload) if payload is not None else b""
        url = httpx.URL(self._config.base_url.rstrip("/") + path)
        authorization = build_authorization(
            mchid=self._config.mchid,
            serial_no=self._config.merchant_serial_no,
            private_key=self._private_key,
            method=method,
            url=url.raw_path.decode("ascii"),
            body=body,
            timestamp=str(int(self._clock().timestamp())),
            nonce=new_nonce(),
        )
        headers = {"Authorization": authorization, "Accept": "application/json", "User-Agent": "cloudstore"}
        if body:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._client.request(
                method, url, content=body, headers=headers, timeout=self._config.timeout_s
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"WeChat Pay {method} {path}: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300:
            try:
                verify_wechatpay_signature(
                    response.headers,
                    response.content,
                    public_key=self._platform_key,
                    platform_serial=self._config.platform_serial,
                    now=self._clock(),
                )
            except InvalidSignature as exc:
                raise InvalidResponseSignature(f"WeChat Pay {method} {path}: {exc}") from exc
            return response.content
        code, message = _error_of(response)
        if 400 <= status < 500 and status != 429:
            raise ProviderRejected(status, code, message)
        raise ProviderUnavailable(f"WeChat Pay {method} {path}: {status} {code}: {message}")
