"""After-sales API types: the consumer's request, staff's receipt of returned units, and the request as read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from cloudstore.orders.schemas import Code, LineIn

__all__ = (
    "AfterSaleCreate",
    "AfterSaleLineRead",
    "AfterSalePage",
    "AfterSaleRead",
    "AfterSaleStatus",
    "ReceiptIn",
    "ReceivedLineIn",
)

AfterSaleKind = Literal["refund_only", "return"]
AfterSaleStatus = Literal["requested", "approved", "received", "refunded", "rejected", "cancelled"]


class AfterSaleCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/shop/{tenant}/orders/{order_no}/after-sales``.

    ``refund_only`` asks for units that have not left their location, ``return`` for units shipped or picked up;
    never more than were bought less those refunded or in open after-sales (422 otherwise).
    """

    kind: AfterSaleKind
    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=50)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class ReceivedLineIn(msgspec.Struct, forbid_unknown_fields=True):
    """Units of one SKU received back, and whether they go back to sellable stock."""

    sku: Code
    qty: Annotated[int, msgspec.Meta(ge=1, le=999)]
    restock: bool


class ReceiptIn(msgspec.Struct, forbid_unknown_fields=True):
    """``receive``: where the returned units arrived and, per line, whether each goes back to stock.

    The lines account for every unit of the return (the same SKU may appear twice, part restocked, part not).
    """

    location: Code
    lines: Annotated[list[ReceivedLineIn], msgspec.Meta(min_length=1, max_length=100)]


class AfterSaleLineRead(msgspec.Struct):
    """Units of one SKU an after-sale covers; ``restocked`` of them went back to stock when received."""

    sku: str
    qty: int
    restocked: int = 0


class AfterSaleRead(msgspec.Struct, kw_only=True):
    """An after-sale as the consumer and staff see it.

    ``refund_amount`` is what its units return (their lines' paid amounts after discounts, in the refunds' exact
    integer steps); it is fixed when the refund is made (``refund_no``).
    """

    id: int
    order_no: str
    kind: str
    status: str
    reason: str
    lines: list[AfterSaleLineRead]
    refund_amount: int
    refund_no: str | None = None
    location: str | None = None
    created_at: datetime
    updated_at: datetime


class AfterSalePage(msgspec.Struct, kw_only=True):
    """A page of after-sales, newest first."""

    items: list[AfterSaleRead]
    next_cursor: str | None
