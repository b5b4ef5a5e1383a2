"""Local stand-ins for external services (WeChat Pay, WeChat login), served on 127.0.0.1 in tests."""

from __future__ import annotations

__all__ = ()
