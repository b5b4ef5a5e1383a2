"""Signed access tokens (JWT, HS256, via PyJWT) for staff and consumers."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Literal

import jwt
import msgspec

from cloudstore.lib.errors import Unauthorized

__all__ = ("Principal", "TokenCodec")

Role = Literal["hq", "distributor", "store", "consumer"]
_ISSUER = "cloudstore"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: decoded from a verified token."""

    tenant_id: int
    tenant: str
    subject_id: int
    role: Role
    store_id: int | None = None
    distributor_id: int | None = None
    #: The staff account's credentials epoch when the token was issued (consumers: always 0).
    epoch: int = 0
    #: An API key acting for HQ (``subject_id`` is the key's id), optionally bound to one location's code.
    key: bool = False
    location: str | None = None

    @property
    def is_consumer(self) -> bool:
        """Consumers sign in through the mini-program; everyone else is staff."""
        return self.role == "consumer"

    @property
    def actor(self) -> str:
        """A short label for audit rows, e.g. ``staff:12``."""
        kind = "consumer" if self.is_consumer else ("key" if self.key else "staff")
        return f"{kind}:{self.subject_id}"


#: Tokens verified once and remembered (then forgotten all at once): a consumer's every request carries the same
#: token, and checking its signature again is a tenth of an order's CPU.
_VERIFIED_KEPT = 10_000


class TokenCodec:
    """Issue and verify tokens with one secret key."""

    def __init__(self, secret: str, ttl: timedelta) -> None:
        self._secret = secret
        self.ttl = ttl
        self._verified: dict[str, tuple[Principal, int]] = {}

    def issue(self, principal: Principal, now: datetime) -> tuple[str, datetime]:
        """A token for ``principal`` and when it expires."""
        expires = now + self.ttl
        claims = {
            "iss": _ISSUER,
            "sub": str(principal.subject_id),
            "tid": principal.tenant_id,
            "ten": principal.tenant,
            "role": principal.role,
            "sid": principal.store_id,
            "did": principal.distributor_id,
            "ver": principal.epoch,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256"), expires

    def verify(self, token: str) -> Principal:
        """The principal inside a valid token; anything else is :class:`Unauthorized`.

        A token verified before is looked up (the very same string), its expiry checked again.
        """
        known = self._verified.get(token)
        if known is not None:
            if known[1] > time.time():
                return known[0]
            del self._verified[token]
            raise Unauthorized("the access token has expired")
        principal, expires = self._decode(token)
        if len(self._verified) >= _VERIFIED_KEPT:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _decode(self, token: str) -> tuple[Principal, int]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            if claims.get("role") not in ("hq", "distributor", "store", "consumer"):
                raise ValueError("unknown role")
            principal = Principal(
                tenant_id=int(claims["tid"]),
                tenant=str(claims["ten"]),
                subject_id=int(claims["sub"]),
                role=claims["role"],
                store_id=claims.get("sid"),
                distributor_id=claims.get("did"),
                epoch=int(claims.get("ver", 0)),
            )
            return principal, int(claims["exp"])
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the access token has expired") from exc
        except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
            raise Unauthorized("the access token is not valid") from exc
