"""Inventory API types: stock levels per location and SKU, and the movement ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloudstore.auth.schemas import Code

__all__ = ("MovementPage", "MovementRead", "StockPage", "StockRead", "StockSet", "StockSetItem", "StockSetResult")

Quantity = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]


class StockSetItem(msgspec.Struct, forbid_unknown_fields=True):
    """The on-hand quantity of one SKU at one location."""

    location: Code
    sku: Code
    on_hand: Quantity


class StockSet(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /v1/hq/stock``: set on-hand quantities; reservations are kept."""

    items: Annotated[list[StockSetItem], msgspec.Meta(min_length=1, max_length=1000)]


class StockRead(msgspec.Struct):
    """Stock of one SKU at one location; ``available`` = ``on_hand`` - ``reserved``."""

    location: str
    sku: str
    on_hand: int
    reserved: int
    available: int


class StockSetResult(msgspec.Struct):
    """The levels after ``PUT /v1/hq/stock``, in the order given."""

    items: list[StockRead]


class StockPage(msgspec.Struct):
    """A page of stock levels, by location then SKU."""

    items: list[StockRead]
    next_cursor: str | None


class MovementRead(msgspec.Struct):
    """One change of on-hand stock: how much, to what, why, by whom."""

    location: str
    sku: str
    delta: int
    on_hand_after: int
    reason: str
    reference: str | None
    actor: str
    created_at: datetime


class MovementPage(msgspec.Struct):
    """A page of the movement ledger, newest first."""

    items: list[MovementRead]
    next_cursor: str | None
