"""After-sales events other domains react to (the webhook outbox), published in the changing transaction."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ("AfterSaleRefunded", "AfterSaleRequested")


class AfterSaleRequested(msgspec.Struct, frozen=True, kw_only=True):
    """A consumer asked for a refund of unshipped units or a return of shipped ones."""

    tenant_id: int
    after_sale_id: int
    order_no: str
    kind: str
    lines: list[dict[str, object]]
    refund_amount: int
    at: datetime


class AfterSaleRefunded(msgspec.Struct, frozen=True, kw_only=True):
    """An after-sale's money went back through the provider (``OrderRefunded`` is published with it)."""

    tenant_id: int
    after_sale_id: int
    order_no: str
    kind: str
    refund_no: str
    amount: int
    at: datetime
