"""Report types."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ("StoreSales", "StoreSalesReport")


class StoreSales(msgspec.Struct):
    """One store's online sales in the period, credited to it whoever shipped them."""

    store: str
    distributor: str | None
    orders: int
    net_sales: int  # what consumers paid for goods, less refunds (fen)
    in_store_sales: int  # goods this store shipped or handed over itself
    cloud_shelf_sales: int  # goods a warehouse shipped for this store's orders
    commission: int  # the store's commission booked on these orders, net of reversals


class StoreSalesReport(msgspec.Struct):
    """Sales per credited store for ``[since, until)``, largest first."""

    since: datetime
    until: datetime
    items: list[StoreSales]
    total_net_sales: int
