"""cloudstore: a multi-tenant backend for BC-integrated social cloud stores."""

from __future__ import annotations

__all__ = ("__version__",)

__version__ = "0.1.0"
