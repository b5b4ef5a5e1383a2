"""HQ's catalog: products (SPU) and SKUs with list prices and the band stores may price in.

A product goes draft → published (on every storefront) → archived. A published product always keeps at least
one active SKU. When HQ narrows a SKU's band, store prices outside it are moved to its nearest edge, so a
store's price is inside HQ's band at all times.
"""

from __future__ import annotations

from cloudstore.catalog.service.products import Outcome, ProductService, SkuTaken, band, like_pattern
from cloudstore.catalog.service.tenantfile import apply_products
from cloudstore.catalog.service.upsert import upsert_products

__all__ = ("Outcome", "ProductService", "SkuTaken", "apply_products", "band", "like_pattern", "upsert_products")
