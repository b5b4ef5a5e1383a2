"""Catalog API types: products (SPU), their SKUs and price bands, categories."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from cloudstore.auth.schemas import Code

__all__ = (
    "CategoryList",
    "CategoryRead",
    "Price",
    "ProductCreate",
    "ProductFileEntry",
    "ProductPage",
    "ProductRead",
    "ProductStatus",
    "ProductUpdate",
    "SkuCreate",
    "SkuRead",
    "SkuUpdate",
)

Price = Annotated[int, msgspec.Meta(gt=0, le=100_000_000, description="fen (1/100 CNY)")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Category = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Description = Annotated[str, msgspec.Meta(max_length=5000)]
ImageUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$", max_length=2000)]
Images = Annotated[list[ImageUrl], msgspec.Meta(max_length=20)]
Spec = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
ProductStatus = Literal["draft", "published", "archived"]


class SkuCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A SKU with its list price; the band a store may price it in defaults to exactly the list price.

    ``min_price <= price <= max_price`` (422 otherwise).
    """

    code: Code
    spec: Spec
    price: Price
    min_price: Price | None = None
    max_price: Price | None = None


class SkuUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /v1/hq/products/{code}/skus/{sku}``: only the fields given change."""

    spec: Spec | UnsetType = UNSET
    price: Price | UnsetType = UNSET
    min_price: Price | UnsetType = UNSET
    max_price: Price | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    sort: Annotated[int, msgspec.Meta(ge=0, le=10_000)] | UnsetType = UNSET


class SkuRead(msgspec.Struct):
    """A SKU as HQ sees it."""

    code: str
    spec: str
    price: int
    min_price: int
    max_price: int
    active: bool
    sort: int


class ProductCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/products``: a draft product with at least one SKU.

    SKU codes are unique within the request (422 otherwise); a taken product or SKU code is 409.
    """

    code: Code
    title: Title
    category: Category
    skus: Annotated[list[SkuCreate], msgspec.Meta(min_length=1, max_length=50)]
    description: Description = ""
    images: Images = msgspec.field(default_factory=list)


class ProductFileEntry(ProductCreate, forbid_unknown_fields=True):
    """A product in a tenant file: as created through the API, plus the status it should have (published)."""

    status: ProductStatus = "published"


class ProductUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /v1/hq/products/{code}``: only the fields given change."""

    title: Title | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    images: Images | UnsetType = UNSET


class ProductRead(msgspec.Struct):
    """A product with all its SKUs (active or not)."""

    code: str
    title: str
    category: str
    description: str
    images: list[str]
    status: str
    published_at: datetime | None
    skus: list[SkuRead]


class ProductPage(msgspec.Struct):
    """A page of products."""

    items: list[ProductRead]
    next_cursor: str | None


class CategoryRead(msgspec.Struct):
    """A category and how many of its products are published and how many exist (archived excluded)."""

    name: str
    published: int
    products: int


class CategoryList(msgspec.Struct):
    """Every category in use."""

    items: list[CategoryRead]
