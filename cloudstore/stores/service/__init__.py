"""HQ manages the store network: distributors, warehouses and stores (each store is also a stock location).

- :mod:`~cloudstore.stores.service.distributors`, :mod:`~cloudstore.stores.service.locations` and
  :mod:`~cloudstore.stores.service.stores`: one service each, sharing the SQL helpers of
  :mod:`~cloudstore.stores.service.sql`.

The tenant file's distributors, locations and stores are applied through these services by
:mod:`cloudstore.stores.tenantfile`.
"""

from __future__ import annotations

from cloudstore.stores.service.distributors import DistributorService
from cloudstore.stores.service.locations import LocationService
from cloudstore.stores.service.stores import StoreService

__all__ = (
    "DistributorService",
    "LocationService",
    "StoreService",
)
