"""Consumer identity providers: turn a mini-program login code into a WeChat identity.

:class:`WeChatIdentityProvider` calls ``jscode2session``; :class:`LocalIdentityProvider` accepts
``local:<openid>`` codes for development and tests.
"""

from __future__ import annotations

import logging
import re
from typing import Final, Protocol

import httpx
import msgspec

__all__ = (
    "INVALID_CODE_ERRCODES",
    "Identity",
    "IdentityError",
    "IdentityProvider",
    "IdentityUnavailable",
    "InvalidLoginCode",
    "LocalIdentityProvider",
    "WeChatIdentityProvider",
)

#: jscode2session errcodes that mean the code itself is bad: invalid (40029), already used (40163), or the
#: user is blocked as high-risk (40226). Everything else (-1 busy, 45011 rate limit, 40013/40125 bad
#: credentials, ...) is our side's or WeChat's problem.
INVALID_CODE_ERRCODES: Final = frozenset({40029, 40163, 40226})

_LOCAL_CODE = re.compile(r"local:([A-Za-z0-9_-]{1,64})")
_MAX_CODE_LENGTH = 256
_SECRET_IN_URL = re.compile(r"(secret=)[^&\s\"']*")


class IdentityError(Exception):
    """Base class of identity provider errors."""


class InvalidLoginCode(IdentityError):
    """The login code is malformed, unknown, expired, already used, or refused for this user."""


class IdentityUnavailable(IdentityError):
    """The identity provider could not be reached, was busy, or refused our credentials."""


class Identity(msgspec.Struct, frozen=True):
    """Who the login code belongs to.

    Attributes:
        openid: The user's id within this mini-program.
        unionid: The user's id across the brand's WeChat apps, when WeChat discloses it.
    """

    openid: str
    unionid: str | None = None


class IdentityProvider(Protocol):
    """Resolves a mini-program login code to an identity."""

    async def resolve(self, code: str) -> Identity:
        """Exchange ``code`` for the user's identity.

        Raises:
            InvalidLoginCode: The code is not usable.
            IdentityUnavailable: The provider failed; retrying later may succeed.
        """
        ...


class LocalIdentityProvider:
    """Accepts ``local:<openid>`` where openid is 1–64 characters of ``[A-Za-z0-9_-]``."""

    async def resolve(self, code: str) -> Identity:
        """Return the identity named by a ``local:<openid>`` code.

        Raises:
            InvalidLoginCode: Anything else.
        """
        match = _LOCAL_CODE.fullmatch(code)
        if match is None:
            raise InvalidLoginCode("expected local:<openid> with 1-64 characters of [A-Za-z0-9_-]")
        return Identity(openid=match.group(1), unionid=None)


class _Code2Session(msgspec.Struct, frozen=True):
    openid: str | None = None
    unionid: str | None = None
    errcode: int = 0
    errmsg: str = ""


class _RedactSecret(logging.Filter):
    """Scrubs ``secret=`` query values from httpx's request log lines (jscode2session takes it in the URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("secret=" in str(arg) for arg in record.args):
            record.args = tuple(_redact(arg) for arg in record.args)
        elif isinstance(record.msg, str) and "secret=" in record.msg:
            record.msg = _SECRET_IN_URL.sub(r"\1<redacted>", record.msg)
        return True


def _redact(arg: object) -> object:
    text = str(arg)
    return _SECRET_IN_URL.sub(r"\1<redacted>", text) if "secret=" in text else arg


def _install_log_redaction() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _RedactSecret) for existing in logger.filters):
        logger.addFilter(_RedactSecret())


class WeChatIdentityProvider:
    """Resolves login codes with WeChat's ``jscode2session``.

    Neither the app secret nor the returned ``session_key`` is ever logged, put in an error, or kept.

    Args:
        appid: The mini-program's appid.
        secret: The mini-program's app secret.
        base_url: API origin.
        client: An ``httpx.AsyncClient`` to share; one is created (and closed by :meth:`aclose`) if omitted.
        timeout_s: Per-request timeout in seconds.
    """

    def __init__(
        self,
        appid: str,
        secret: str,
        base_url: str = "https://api.weixin.qq.com",
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self._appid = appid
        self._secret = secret
        self._url = base_url.rstrip("/") + "/sns/jscode2session"
        self._timeout_s = timeout_s
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout_s)
        _install_log_redaction()

    def __repr__(self) -> str:
        return f"WeChatIdentityProvider(appid={self._appid!r}, secret=<redacted>)"

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            await self._client.aclose()

    async def resolve(self, code: str) -> Identity:
        """Exchange a ``wx.login`` code for the user's openid and unionid.

        Raises:
            InvalidLoginCode: Empty or malformed code, or errcode 40029/40163/40226.
            IdentityUnavailable: Network failure, timeout, non-200, errcode -1/45011 or any other errcode.
        """
        if not code or len(code) > _MAX_CODE_LENGTH or not code.isprintable() or " " in code:
            raise InvalidLoginCode("malformed login code")
        params = {"appid": self._appid, "secret": self._secret, "js_code": code, "grant_type": "authorization_code"}
        try:
            response = await self._client.get(self._url, params=params, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            # ``from None``: the httpx error holds the request, whose URL carries the secret.
            raise IdentityUnavailable(f"jscode2session unreachable: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise IdentityUnavailable(f"jscode2session answered HTTP {response.status_code}")
        try:
            answer = msgspec.json.decode(response.content, type=_Code2Session)
        except msgspec.DecodeError:
            raise IdentityUnavailable("jscode2session answered malformed JSON") from None
        if answer.errcode in INVALID_CODE_ERRCODES:
            raise InvalidLoginCode(f"jscode2session errcode {answer.errcode}: {answer.errmsg}")
        if answer.errcode != 0:
            raise IdentityUnavailable(f"jscode2session errcode {answer.errcode}: {answer.errmsg}")
        if not answer.openid:
            raise IdentityUnavailable("jscode2session answered without an openid")
        return Identity(openid=answer.openid, unionid=answer.unionid or None)
