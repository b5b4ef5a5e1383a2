"""Events of the code domain, published in the scan's transaction (subscribers are in :mod:`cloudstore.wiring`)."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ("CodeDiverted",)


class CodeDiverted(msgspec.Struct, frozen=True, kw_only=True):
    """A consumer scanned a unit outside the regions of the distributor it was shipped to: a signal, not a block."""

    tenant_id: int
    code: str
    batch_no: str
    sku: str
    distributor: str
    region: str
    scanned_at: datetime
