"""Auth API types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = (
    "ConsumerLogin",
    "ConsumerRead",
    "ConsumerToken",
    "StaffCreate",
    "StaffPage",
    "StaffRead",
    "StaffUpdate",
    "TokenRequest",
    "TokenResponse",
)

Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/auth/token``."""

    tenant: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class TokenResponse(msgspec.Struct):
    """A staff access token."""

    access_token: str
    token_type: Literal["bearer"]
    role: str
    expires_at: datetime


class StaffCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/staff``: a store account names its store, a distributor account its distributor.

    Role ``store`` needs an existing ``store_code`` and no ``distributor_code``; role ``distributor`` needs an
    existing ``distributor_code`` and no ``store_code``; role ``hq`` takes neither (422 otherwise).
    """

    username: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")]
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
    role: Literal["hq", "distributor", "store"]
    store_code: Code | None = None
    distributor_code: Code | None = None


class StaffRead(msgspec.Struct):
    """A staff account (never its password)."""

    username: str
    role: str
    store_code: str | None
    distributor_code: str | None
    active: bool


class ConsumerLogin(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/shop/{tenant}/auth/login`` with the code from ``wx.login``."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class ConsumerToken(msgspec.Struct):
    """A consumer access token."""

    access_token: str
    consumer_id: int
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime | None = None


class StaffPage(msgspec.Struct):
    """A page of staff accounts."""

    items: list[StaffRead]
    next_cursor: str | None


class StaffUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /v1/hq/staff/{username}``: any of these; a new role names its store or distributor like on create.

    Disabling an account, or changing its password or role, ends every token it holds. At least one of
    ``active``, ``password`` or ``role`` must be given; ``store_code`` and ``distributor_code`` only go with a
    new ``role``, under the same rules as on create (422 otherwise). Nobody changes their own ``active`` or role.
    """

    active: bool | None = None
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)] | None = None
    role: Literal["hq", "distributor", "store"] | None = None
    store_code: Code | None = None
    distributor_code: Code | None = None


class ConsumerRead(msgspec.Struct):
    """A consumer as HQ sees them."""

    consumer_id: int
    openid: str
    created_at: datetime
    last_login_at: datetime
