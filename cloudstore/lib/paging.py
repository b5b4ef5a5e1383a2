"""Cursor paging: ``?limit=`` (1–100, default 20) and an opaque ``?cursor=``.

Every paged list is keyset-paged the same way: the query starts after (or before) the key in the cursor
(:func:`page_start`), fetches ``limit + 1`` rows, and :func:`cut_page` keeps ``limit`` of them and makes the
next page's cursor from the key of the last one kept; there is a next page only if the extra row came back.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from cloudstore.lib.errors import ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = (
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "check_limit",
    "cut_page",
    "decode_cursor",
    "encode_cursor",
    "page_start",
)

T = TypeVar("T")

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


def page_start(cursor: str | None, *types: type, first: tuple[Any, ...]) -> tuple[Any, ...]:
    """The key a page starts from: the cursor's (checked against ``types``), or ``first`` for the first page.

    A bad cursor is a 422.
    """
    return decode_cursor(cursor, *types) or first


def cut_page(rows: Sequence[T], limit: int, key: Callable[[T], tuple[Any, ...]]) -> tuple[list[T], str | None]:
    """Rows fetched with ``LIMIT limit + 1``: the page, and the cursor of the next one (``None`` on the last).

    ``key`` gives a row's key in the order the query pages by; the cursor holds the last kept row's key.
    """
    if len(rows) > limit:
        return list(rows[:limit]), encode_cursor(*key(rows[limit - 1]))
    return list(rows), None
