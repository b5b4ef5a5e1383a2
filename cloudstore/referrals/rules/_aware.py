"""Shared argument check for the referral rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ("require_aware",)


def require_aware(value: datetime, name: str) -> None:
    """Reject a naive datetime, which cannot be compared with the aware times the rules work in.

    Raises:
        ValueError: Naming the argument.
    """
    if value.utcoffset() is None:
        msg = f"{name} must be timezone-aware, got naive {value.isoformat()}"
        raise ValueError(msg)
