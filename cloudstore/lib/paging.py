"""Cursor paging: ``?limit=`` (1–100, default 20) and an opaque ``?cursor=``."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec

from cloudstore.lib.errors import ValidationFailed

__all__ = ("DEFAULT_LIMIT", "MAX_LIMIT", "check_limit", "decode_cursor", "encode_cursor")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(*key: Any) -> str:
    """An opaque cursor for the key of the last item on a page."""
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None, *types: type) -> tuple[Any, ...] | None:
    """The key inside a cursor, checked against the expected types; a bad cursor is a 422."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise ValidationFailed("cursor is not valid") from exc
    if not isinstance(values, list) or len(values) != len(types):
        raise ValidationFailed("cursor is not valid")
    for value, expected in zip(values, types, strict=True):
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ValidationFailed("cursor is not valid")
    return tuple(values)


def check_limit(limit: int | None) -> int:
    """The page size, defaulted and bounded."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}")
    return limit
