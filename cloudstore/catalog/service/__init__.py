"""HQ's catalog: products (SPU) and SKUs with list prices and the band stores may price in.

A product goes draft → published (on every storefront) → archived. A published product always keeps at least
one active SKU. When HQ narrows a SKU's band, store prices outside it are moved to its nearest edge, so a
store's price is inside HQ's band at all times.

- :mod:`~cloudstore.catalog.service.products`: :class:`ProductService`, the product and SKU routes' service;
- :mod:`~cloudstore.catalog.service.upsert`: products created or updated in bulk, matched by code.

The tenant file's products are applied through :func:`upsert_products` by :mod:`cloudstore.catalog.tenantfile`;
importing this package also registers that section.
"""

from __future__ import annotations

from cloudstore.catalog.service.products import Outcome, ProductService, SkuTaken, band, like_pattern
from cloudstore.catalog.service.upsert import upsert_products

__all__ = ("Outcome", "ProductService", "SkuTaken", "band", "like_pattern", "upsert_products")
