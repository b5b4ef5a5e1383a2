"""Store network API types: distributors, locations, stores, storefront curation and the public storefront."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from cloudstore.auth.schemas import Code

__all__ = (
    "Address",
    "Code",
    "DistributorCreate",
    "DistributorPage",
    "DistributorRead",
    "DistributorUpdate",
    "Latitude",
    "LocationCreate",
    "LocationPage",
    "LocationRead",
    "LocationUpdate",
    "Longitude",
    "Name",
    "RegionCode",
    "RegionPrefix",
    "Shelf",
    "ShopProduct",
    "ShopProductDetail",
    "ShopProductPage",
    "ShopSku",
    "ShopStore",
    "StoreCreate",
    "StorePage",
    "StoreRead",
    "StoreUpdate",
    "StorefrontItemRead",
    "StorefrontItemUpdate",
    "StorefrontRead",
)

RegionPrefix = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{2}([0-9]{2}){0,2}$",
        description="GB/T 2260 administrative code or prefix: 2 (province), 4 (city) or 6 (county) digits",
        examples=["44", "4403", "440305"],
    ),
]
RegionCode = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="GB/T 2260 county code", examples=["440305"])
]
Regions = Annotated[list[RegionPrefix], msgspec.Meta(max_length=500)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Address = Annotated[str, msgspec.Meta(max_length=500)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
RadiusKm = Annotated[float, msgspec.Meta(ge=0, le=500)]
Price = Annotated[int, msgspec.Meta(gt=0, le=100_000_000, description="fen")]
Status = Literal["active", "archived"]
Shelf = Literal["in_store", "cloud", "sold_out"]


# --- distributors -----------------------------------------------------------------------------------------------


class DistributorCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/distributors``."""

    code: Code
    name: Name
    regions: Regions = msgspec.field(default_factory=list)


class DistributorUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /v1/hq/distributors/{code}``: only the fields given change."""

    name: Name | UnsetType = UNSET
    regions: Regions | UnsetType = UNSET


class DistributorRead(msgspec.Struct):
    """A distributor (B)."""

    code: str
    name: str
    regions: list[str]
    status: str


class DistributorPage(msgspec.Struct):
    """A page of distributors."""

    items: list[DistributorRead]
    next_cursor: str | None


# --- locations --------------------------------------------------------------------------------------------------


class LocationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/locations``: a regional warehouse (serves ``regions``) or the central one (serves all).

    Kind ``regional`` needs at least one region; ``central`` takes none; ``distributor_code`` must exist (422
    otherwise).
    """

    code: Code
    name: Name
    kind: Literal["regional", "central"]
    lat: Latitude
    lng: Longitude
    regions: Regions = msgspec.field(default_factory=list)
    distributor_code: Code | None = None


class LocationUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /v1/hq/locations/{code}`` (warehouses only; a store's location changes with the store)."""

    name: Name | UnsetType = UNSET
    lat: Latitude | UnsetType = UNSET
    lng: Longitude | UnsetType = UNSET
    regions: Regions | UnsetType = UNSET
    distributor_code: Code | UnsetType | None = UNSET


class LocationRead(msgspec.Struct):
    """A stock location."""

    code: str
    name: str
    kind: str
    regions: list[str]
    lat: float
    lng: float
    distributor_code: str | None
    status: str


class LocationPage(msgspec.Struct):
    """A page of locations."""

    items: list[LocationRead]
    next_cursor: str | None


# --- stores -----------------------------------------------------------------------------------------------------


class StoreCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/stores``: the store and its stock location (same code) are created together.

    ``distributor_code`` must name an existing distributor (422 otherwise); a taken ``code`` is 409.
    """

    code: Code
    name: Name
    distributor_code: Code
    region: RegionCode
    lat: Latitude
    lng: Longitude
    address: Address = ""
    delivery_radius_km: RadiusKm | None = None
    pickup: bool = True


class StoreUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /v1/hq/stores/{code}``; ``delivery_radius_km: null`` falls back to the tenant's default."""

    name: Name | UnsetType = UNSET
    distributor_code: Code | UnsetType = UNSET
    region: RegionCode | UnsetType = UNSET
    lat: Latitude | UnsetType = UNSET
    lng: Longitude | UnsetType = UNSET
    address: Address | UnsetType = UNSET
    delivery_radius_km: RadiusKm | UnsetType | None = UNSET
    pickup: bool | UnsetType = UNSET


class StoreRead(msgspec.Struct):
    """A store (b) with its storefront link."""

    code: str
    name: str
    distributor_code: str | None
    region: str
    lat: float
    lng: float
    address: str
    delivery_radius_km: float | None
    pickup: bool
    status: str
    storefront_url: str


class StorePage(msgspec.Struct):
    """A page of stores."""

    items: list[StoreRead]
    next_cursor: str | None


# --- storefront curation (store staff) --------------------------------------------------------------------------


class StorefrontItemUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /v1/store/storefront/items/{product_code}``.

    ``price`` maps SKU codes to the store's own price in fen (inside HQ's band); ``null`` drops the store's
    price so the list price applies again. Fields left out keep their current value.
    """

    hidden: bool | UnsetType = UNSET
    pinned: bool | UnsetType = UNSET
    price: Annotated[dict[Code, Price | None], msgspec.Meta(max_length=50)] | UnsetType = UNSET


class StorefrontItemRead(msgspec.Struct):
    """How a store curates one product: hidden, pinned, and its own SKU prices."""

    product_code: str
    hidden: bool
    pinned: bool
    price: dict[str, int]


class StorefrontRead(msgspec.Struct):
    """``GET /v1/store/storefront``: the store's links, its QR code route and its curated products."""

    store: str
    name: str
    storefront_url: str
    miniprogram_path: str
    qr_url: str
    items: list[StorefrontItemRead]


# --- public storefront (consumers) ------------------------------------------------------------------------------


class ShopSku(msgspec.Struct):
    """A SKU as a consumer sees it in one store: the price to pay and the shelf it is on."""

    code: str
    spec: str
    price: int
    shelf: Shelf


class ShopProduct(msgspec.Struct):
    """A product on a store's storefront."""

    code: str
    title: str
    category: str
    pinned: bool
    image: str | None
    skus: list[ShopSku]


class ShopProductDetail(msgspec.Struct):
    """One product on a store's storefront, with its description and every image."""

    code: str
    title: str
    category: str
    pinned: bool
    image: str | None
    skus: list[ShopSku]
    description: str
    images: list[str]


class ShopProductPage(msgspec.Struct):
    """A page of a store's storefront: pinned products first."""

    items: list[ShopProduct]
    next_cursor: str | None


class ShopStore(msgspec.Struct):
    """A store as consumers see it, with the categories its storefront shows."""

    code: str
    name: str
    address: str
    region: str
    lat: float
    lng: float
    pickup: bool
    categories: list[str]
