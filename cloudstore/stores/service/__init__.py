"""HQ manages the store network: distributors, warehouses and stores (each store is also a stock location)."""

from __future__ import annotations

from cloudstore.stores.service.distributors import DistributorService
from cloudstore.stores.service.locations import LocationService
from cloudstore.stores.service.stores import StoreService
from cloudstore.stores.service.tenantfile import apply_distributors, apply_locations, apply_stores

__all__ = (
    "DistributorService",
    "LocationService",
    "StoreService",
    "apply_distributors",
    "apply_locations",
    "apply_stores",
)
