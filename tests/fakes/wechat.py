"""A fake WeChat Pay API v3 and a fake ``jscode2session``, served by uvicorn on 127.0.0.1.

The fake plays WeChat's side of the wire format for real: it checks every merchant request's
``Authorization`` signature with the merchant public key, answers with ``Wechatpay-*`` headers signed by its
own platform key, and builds signed, AES-256-GCM encrypted notifications. Keys are RSA-2048, generated when
the fake is created. Tests can queue misbehaving answers with :meth:`FakeWeChat.respond_next`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
import secrets
import socket
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import parse_qs

import msgspec
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudstore.payments.gateways.wechat import WeChatPayConfig

__all__ = (
    "FakeWeChat",
    "RecordedRequest",
    "Signing",
    "generate_rsa_key",
    "private_key_pem",
    "public_key_pem",
    "serve_asgi",
    "silent_server",
)

Signing = Literal["valid", "none", "forged", "wrong_serial", "stale", "tampered"]

_TIME_EXPIRE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")
_OUT_TRADE_NO = re.compile(r"[A-Za-z0-9_\-|*]{6,32}")

_AUTHORIZATION = re.compile(
    r'WECHATPAY2-SHA256-RSA2048 mchid="(?P<mchid>[^"]*)",nonce_str="(?P<nonce>[^"]*)",'
    r'signature="(?P<signature>[^"]*)",timestamp="(?P<timestamp>[0-9]+)",serial_no="(?P<serial>[^"]*)"'
)
CHINA_TZ = timezone(timedelta(hours=8))

ASGIMessage = dict[str, Any]

# The fake implements WeChat's side of the wire format on its own (not with cloudstore's helpers), so a
# mistake in cloudstore's signing or encryption cannot be mirrored here and pass unnoticed.


def _sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _verifies(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error):
        return False
    return True


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """Generate an RSA-2048 key pair."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM of a private key, like the merchant's ``apiclient_key.pem``."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def public_key_pem(key: rsa.RSAPrivateKey) -> str:
    """SubjectPublicKeyInfo PEM of a key pair's public half, like WeChat Pay's ``pub_key.pem``."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return msgspec.json.decode(self.body)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    signing: Signing
    content_type: str = "application/json"


@dataclass
class FakeWeChat:
    """WeChat's side: merchant credentials, platform key, recorded requests and queued answers."""

    mchid: str = "1900000109"
    appid: str = "wxd678efh567hg6787"
    mini_secret: str = "mini-program-secret-0123456789ab"
    merchant_serial: str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    platform_serial: str = "PUB_KEY_ID_0119000001092024112200000000000001"
    apiv3_key: str = field(default_factory=lambda: secrets.token_hex(16))
    merchant_key: rsa.RSAPrivateKey = field(default_factory=generate_rsa_key)
    platform_key: rsa.RSAPrivateKey = field(default_factory=generate_rsa_key)
    forger_key: rsa.RSAPrivateKey = field(default_factory=generate_rsa_key)
    base_url: str = "http://127.0.0.1:0"
    requests: list[RecordedRequest] = field(default_factory=list)
    sign_failures: list[str] = field(default_factory=list)
    login_codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)
    login_errors: dict[str, tuple[int, str]] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    _queued: deque[_Answer] = field(default_factory=deque)

    # --- configuration for the code under test -----------------------------------------------------------

    def config(self, **changes: Any) -> WeChatPayConfig:
        """A :class:`WeChatPayConfig` pointing at this fake, with optional field changes."""
        fields: dict[str, Any] = {
            "mchid": self.mchid,
            "appid": self.appid,
            "merchant_serial_no": self.merchant_serial,
            "merchant_private_key_pem": private_key_pem(self.merchant_key),
            "apiv3_key": self.apiv3_key,
            "platform_public_key_pem": public_key_pem(self.platform_key),
            "platform_serial": self.platform_serial,
            "notify_url": "https://shop.example.com/v1/payments/wechat/notify",
            "base_url": self.base_url,
            "timeout_s": 2.0,
        }
        fields.update(changes)
        return WeChatPayConfig(**fields)

    def reset(self) -> None:
        """Forget requests, queued answers, orders, refunds and login codes."""
        self.requests.clear()
        self.sign_failures.clear()
        self.login_codes.clear()
        self.used_codes.clear()
        self.login_errors.clear()
        self.transactions.clear()
        self.refunds.clear()
        self._queued.clear()

    def respond_next(
        self,
        status: int,
        body: Mapping[str, Any] | bytes,
        *,
        signing: Signing = "valid",
        content_type: str = "application/json",
    ) -> None:
        """Queue the answer to the next request (after its Authorization has been checked)."""
        raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
        self._queued.append(_Answer(status, raw, signing, content_type))

    def add_login_code(self, code: str, openid: str, unionid: str | None = None) -> None:
        """Make ``code`` a valid, single-use ``wx.login`` code for ``openid``."""
        self.login_codes[code] = (openid, unionid)

    # --- WeChat Pay signing --------------------------------------------------------------------------------

    def signed_headers(
        self,
        body: bytes,
        *,
        key: rsa.RSAPrivateKey | None = None,
        serial: str | None = None,
        timestamp: int | None = None,
        nonce: str | None = None,
        signed_body: bytes | None = None,
    ) -> dict[str, str]:
        """``Wechatpay-*`` headers for ``body`` signed with the platform key (or ``key``)."""
        ts = str(int(datetime.now(UTC).timestamp()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(16)
        message = b"%s\n%s\n%s\n" % (ts.encode(), nonce.encode(), body if signed_body is None else signed_body)
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": _sign(key or self.platform_key, message),
            "Wechatpay-Serial": self.platform_serial if serial is None else serial,
        }

    def encrypted_resource(
        self,
        plaintext: Mapping[str, Any],
        *,
        original_type: str,
        apiv3_key: str | None = None,
        associated_data: str = "transaction",
        nonce: str | None = None,
    ) -> dict[str, str]:
        """An ``encrypt-resource`` object as WeChat Pay puts in a notification."""
        nonce = nonce or secrets.token_hex(6)
        aead = AESGCM((apiv3_key or self.apiv3_key).encode("utf-8"))
        sealed = aead.encrypt(nonce.encode(), msgspec.json.encode(plaintext), associated_data.encode())
        return {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode(),
            "associated_data": associated_data,
            "nonce": nonce,
        }

    def notification(
        self,
        event_type: str,
        resource: Mapping[str, Any],
        *,
        summary: str = "支付成功",
        **signing: Any,
    ) -> tuple[dict[str, str], bytes]:
        """A complete notification: headers and body; ``signing`` goes to :meth:`signed_headers`."""
        body = msgspec.json.encode(
            {
                "id": "EV-2018022511223320873",
                "create_time": datetime.now(CHINA_TZ).replace(microsecond=0).isoformat(),
                "resource_type": "encrypt-resource",
                "event_type": event_type,
                "summary": summary,
                "resource": dict(resource),
            }
        )
        return self.signed_headers(body, **signing), body

    def transaction(
        self,
        *,
        out_trade_no: str,
        total: int,
        attach: str = "",
        success_time: str = "2024-05-01T20:00:00+08:00",
        mchid: str | None = None,
        trade_state: str = "SUCCESS",
        currency: str = "CNY",
    ) -> dict[str, Any]:
        """A decrypted ``transaction`` resource of a successful JSAPI payment."""
        return {
            "appid": self.appid,
            "mchid": mchid or self.mchid,
            "out_trade_no": out_trade_no,
            "transaction_id": "4200000000202405011234567890",
            "trade_type": "JSAPI",
            "trade_state": trade_state,
            "trade_state_desc": "支付成功",
            "bank_type": "CMC",
            "attach": attach,
            "success_time": success_time,
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {"total": total, "payer_total": total, "currency": currency, "payer_currency": "CNY"},
        }

    def refund_resource(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        refund: int,
        total: int,
        refund_status: str = "SUCCESS",
        success_time: str = "2024-05-02T09:30:00+08:00",
    ) -> dict[str, Any]:
        """A decrypted ``refund`` resource."""
        return {
            "mchid": self.mchid,
            "out_trade_no": out_trade_no,
            "transaction_id": "4200000000202405011234567890",
            "out_refund_no": out_refund_no,
            "refund_id": "50000000382019052709732678859",
            "refund_status": refund_status,
            "success_time": success_time,
            "user_received_account": "招商银行信用卡0403",
            "amount": {"total": total, "refund": refund, "payer_total": total, "payer_refund": refund},
        }

    # --- the ASGI app --------------------------------------------------------------------------------------

    async def __call__(self, scope: ASGIMessage, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query_string: bytes = scope.get("query_string", b"")
        signed_url = raw_path.decode() + (f"?{query_string.decode()}" if query_string else "")
        request = RecordedRequest(
            method=scope["method"],
            path=scope["path"],
            query={k: v[0] for k, v in parse_qs(query_string.decode(), keep_blank_values=True).items()},
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=body,
        )
        self.requests.append(request)
        answer = self._route(request, signed_url)
        await self._send(send, answer)

    def _route(self, request: RecordedRequest, signed_url: str) -> _Answer:
        if request.path == "/sns/jscode2session" and request.method == "GET":
            return self._queued.popleft() if self._queued else self._jscode2session(request.query)
        if not request.path.startswith("/v3/"):
            return _Answer(404, b'{"code":"NOT_FOUND","message":"no such API"}', "valid")
        failure = self._check_authorization(request, signed_url)
        if failure is not None:
            self.sign_failures.append(failure)
            return _json(401, {"code": "SIGN_ERROR", "message": failure})
        if self._queued:
            return self._queued.popleft()
        if request.path == "/v3/pay/transactions/jsapi" and request.method == "POST":
            return self._jsapi(request.json())
        if request.path == "/v3/refund/domestic/refunds" and request.method == "POST":
            return self._refund(request.json())
        return _json(404, {"code": "NOT_FOUND", "message": "no such API"})

    def _check_authorization(self, request: RecordedRequest, signed_url: str) -> str | None:
        match = _AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
        if match is None:
            return "bad Authorization header"
        if match["mchid"] != self.mchid:
            return "mchid does not match"
        if match["serial"] != self.merchant_serial:
            return "unknown merchant certificate serial"
        if abs(datetime.now(UTC).timestamp() - int(match["timestamp"])) > 300:
            return "timestamp expired"
        head = f"{request.method}\n{signed_url}\n{match['timestamp']}\n{match['nonce']}\n".encode()
        if not _verifies(self.merchant_key.public_key(), head + request.body + b"\n", match["signature"]):
            return "signature does not verify with the merchant public key"
        return None

    def _jsapi(self, order: Any) -> _Answer:
        problem = _jsapi_problem(order, appid=self.appid, mchid=self.mchid)
        if problem is not None:
            return _json(400, {"code": "PARAM_ERROR", "message": problem})
        known = self.transactions.get(order["out_trade_no"])
        if known is not None:
            if known["request"] != order:
                return _json(400, {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"})
            return _json(200, {"prepay_id": known["prepay_id"]})
        prepay_id = "wx" + secrets.token_hex(16)
        self.transactions[order["out_trade_no"]] = {"request": order, "prepay_id": prepay_id, "refunded": 0}
        return _json(200, {"prepay_id": prepay_id})

    def _refund(self, request: Any) -> _Answer:
        transaction = self.transactions.get(request.get("out_trade_no", ""))
        if transaction is None:
            return _json(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
        amount = request["amount"]
        if amount["total"] != transaction["request"]["amount"]["total"] or amount.get("currency") != "CNY":
            return _json(400, {"code": "PARAM_ERROR", "message": "订单金额或退款金额与之前请求不一致"})
        known = self.refunds.get(request["out_refund_no"])
        if known is None:
            if transaction["refunded"] + amount["refund"] > amount["total"]:
                return _json(400, {"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"})
            transaction["refunded"] += amount["refund"]
            known = {
                "refund_id": "5" + "".join(str(secrets.randbelow(10)) for _ in range(28)),
                "out_refund_no": request["out_refund_no"],
                "transaction_id": "4200000000202405011234567890",
                "out_trade_no": request["out_trade_no"],
                "channel": "ORIGINAL",
                "user_received_account": "支付用户零钱",
                "create_time": datetime.now(CHINA_TZ).replace(microsecond=0).isoformat(),
                "status": "PROCESSING",
                "funds_account": "AVAILABLE",
                "amount": {
                    "total": amount["total"],
                    "refund": amount["refund"],
                    "payer_total": amount["total"],
                    "payer_refund": amount["refund"],
                    "settlement_refund": amount["refund"],
                    "settlement_total": amount["total"],
                    "discount_refund": 0,
                    "currency": "CNY",
                },
            }
            self.refunds[request["out_refund_no"]] = known
        return _json(200, known)

    def _jscode2session(self, query: Mapping[str, str]) -> _Answer:
        if query.get("grant_type") != "authorization_code":
            return _login(40002, "invalid grant_type")
        if query.get("appid") != self.appid:
            return _login(40013, "invalid appid")
        if query.get("secret") != self.mini_secret:
            return _login(40125, "invalid appsecret")
        code = query.get("js_code", "")
        if code in self.login_errors:
            return _login(*self.login_errors[code])
        if code in self.used_codes:
            return _login(40163, "code been used")
        if code not in self.login_codes:
            return _login(40029, "invalid code")
        self.used_codes.add(code)
        openid, unionid = self.login_codes[code]
        answer = {"openid": openid, "session_key": "tiihtNczf5v6AKRyjwEUhQ=="}
        if unionid is not None:
            answer["unionid"] = unionid
        return _Answer(200, msgspec.json.encode(answer), "none", "text/plain")

    async def _send(self, send: Any, answer: _Answer) -> None:
        headers = [(b"content-type", answer.content_type.encode()), (b"request-id", secrets.token_hex(8).encode())]
        signing = self._signing_headers(answer)
        headers += [(k.lower().encode(), v.encode()) for k, v in signing.items()]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    def _signing_headers(self, answer: _Answer) -> dict[str, str]:
        now = int(datetime.now(UTC).timestamp())
        match answer.signing:
            case "none":
                return {}
            case "forged":
                return self.signed_headers(answer.body, key=self.forger_key)
            case "wrong_serial":
                return self.signed_headers(answer.body, serial="PUB_KEY_ID_SOMEONE_ELSE")
            case "stale":
                return self.signed_headers(answer.body, timestamp=now - 600)
            case "tampered":
                return self.signed_headers(answer.body, signed_body=answer.body + b" ")
            case _:
                return self.signed_headers(answer.body)


def _json(status: int, body: Mapping[str, Any]) -> _Answer:
    return _Answer(status, msgspec.json.encode(body), "valid")


def _login(errcode: int, errmsg: str) -> _Answer:
    body = {"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(4)}"}
    return _Answer(200, msgspec.json.encode(body), "none", "text/plain")


def _jsapi_problem(order: Any, *, appid: str, mchid: str) -> str | None:
    """What WeChat Pay would reject in a JSAPI order, or ``None``."""
    if not isinstance(order, dict):
        return "body must be a JSON object"
    expected_keys = {"appid", "mchid", "description", "out_trade_no", "time_expire", "attach", "notify_url"}
    checks: list[tuple[bool, str]] = [
        (expected_keys | {"amount", "payer"} >= set(order), "unexpected field"),
        (order.get("appid") == appid and order.get("mchid") == mchid, "appid和mch_id不匹配"),
        (0 < len(order.get("description", "")) <= 127, "description长度不合法"),
        (bool(_OUT_TRADE_NO.fullmatch(order.get("out_trade_no", ""))), "out_trade_no格式不合法"),
        (bool(_TIME_EXPIRE.fullmatch(order.get("time_expire", ""))), "time_expire格式不合法"),
        (str(order.get("notify_url", "")).startswith("https://"), "notify_url必须为https"),
        (isinstance(order.get("amount", {}).get("total"), int) and order["amount"]["total"] > 0, "total不合法"),
        (order.get("amount", {}).get("currency") == "CNY", "currency不合法"),
        (bool(order.get("payer", {}).get("openid")), "缺少参数openid"),
    ]
    for ok, problem in checks:
        if not ok:
            return problem
    return None


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port in the running loop; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _QuietServer(uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A 127.0.0.1 server that accepts connections, reads, and never answers; yields its base URL."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()
