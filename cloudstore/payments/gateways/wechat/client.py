"""WeChat Pay API v3 client for mini-programs (JSAPI): prepay, notifications, refunds over ``httpx``.

The wire format lives in :mod:`~cloudstore.payments.gateways.wechat.signing` and
:mod:`~cloudstore.payments.gateways.wechat.notifications`; :class:`WeChatPayProvider` strings them together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from cloudstore.payments.gateways.base import (
    InvalidResponseSignature,
    InvalidSignature,
    PaymentNotification,
    Prepay,
    ProviderRejected,
    ProviderUnavailable,
    RefundResult,
    check_prepay_request,
    check_refund_request,
)
from cloudstore.payments.gateways.wechat.notifications import decode_notification
from cloudstore.payments.gateways.wechat.signing import (
    build_authorization,
    build_pay_params,
    load_platform_public_key,
    load_private_key,
    new_nonce,
    verify_wechatpay_signature,
)

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ("CHINA_TZ", "WeChatPayConfig", "WeChatPayProvider", "format_time_expire")

CHINA_TZ = timezone(timedelta(hours=8))

_JSAPI_PATH = "/v3/pay/transactions/jsapi"
_REFUND_PATH = "/v3/refund/domestic/refunds"
_DESCRIPTION_MAX = 127
_ATTACH_MAX = 128
_REASON_MAX = 80


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


def format_time_expire(expires_at: datetime) -> str:
    """Format an expiry as WeChat wants it: RFC 3339 in China time, whole seconds, ``+08:00``."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return expires_at.astimezone(CHINA_TZ).replace(microsecond=0).isoformat()


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
