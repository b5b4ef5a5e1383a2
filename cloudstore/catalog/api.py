"""Catalog routes: HQ manages products, SKUs and their price bands."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_staff
from cloudstore.catalog.schemas import (
    CategoryList,
    ProductCreate,
    ProductPage,
    ProductRead,
    ProductStatus,
    ProductUpdate,
    SkuCreate,
    SkuRead,
    SkuUpdate,
)
from cloudstore.catalog.service import ProductService
from cloudstore.http.deps import DbSession, Limit
from cloudstore.http.problems import problems
from cloudstore.lib.paging import check_limit

__all__ = ("HqCategoryController", "HqProductController")


class HqProductController(Controller):
    """HQ's products (SPU) and SKUs: draft → published → archived."""

    path = "/v1/hq/products"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @post("/", responses=problems(401, 403, 409, 422), summary="Create a product (draft)")
    async def create(self, data: JSONBody[ProductCreate], principal: Caller, db: DbSession) -> ProductRead:
        """Add a draft product with its SKUs; each SKU's band defaults to exactly its list price."""
        return await ProductService(db).create(principal.tenant_id, data)

    @get("/", responses=problems(401, 403, 422), summary="List products")
    async def list_products(
        self,
        principal: Caller,
        db: DbSession,
        status: FromQuery[ProductStatus | None] = None,
        category: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> ProductPage:
        """Products with their SKUs in creation order; ``q`` searches titles."""
        return await ProductService(db).list_products(
            principal.tenant_id, status=status, category=category, q=q, cursor=cursor, limit=check_limit(limit)
        )

    @get("/{code:str}", responses=problems(401, 403, 404), summary="Read a product")
    async def read(self, code: FromPath[str], principal: Caller, db: DbSession) -> ProductRead:
        """One product with all its SKUs."""
        return await ProductService(db).get(principal.tenant_id, code)

    @patch("/{code:str}", responses=problems(401, 403, 404, 422), summary="Update a product")
    async def update(
        self, code: FromPath[str], data: JSONBody[ProductUpdate], principal: Caller, db: DbSession
    ) -> ProductRead:
        """Change the title, category, description or images."""
        return await ProductService(db).update(principal.tenant_id, code, data)

    @post("/{code:str}/publish", status_code=200, responses=problems(401, 403, 404, 409), summary="Publish a product")
    async def publish(self, code: FromPath[str], principal: Caller, db: DbSession) -> ProductRead:
        """Show the product on every storefront (an archived product cannot come back: 409)."""
        return await ProductService(db).publish(principal.tenant_id, code)

    @post("/{code:str}/archive", status_code=200, responses=problems(401, 403, 404), summary="Archive a product")
    async def archive(self, code: FromPath[str], principal: Caller, db: DbSession) -> ProductRead:
        """Take the product off every storefront."""
        return await ProductService(db).archive(principal.tenant_id, code)

    @post("/{code:str}/skus", responses=problems(401, 403, 404, 409, 422), summary="Add a SKU")
    async def add_sku(
        self, code: FromPath[str], data: JSONBody[SkuCreate], principal: Caller, db: DbSession
    ) -> SkuRead:
        """Add a SKU at the end of the product's list."""
        return await ProductService(db).add_sku(principal.tenant_id, code, data)

    @patch("/{code:str}/skus/{sku:str}", responses=problems(401, 403, 404, 409, 422), summary="Update a SKU")
    async def update_sku(
        self, code: FromPath[str], sku: FromPath[str], data: JSONBody[SkuUpdate], principal: Caller, db: DbSession
    ) -> SkuRead:
        """Change a SKU's spec, price, band, order or whether it is sold; store prices follow a narrower band."""
        return await ProductService(db).update_sku(principal.tenant_id, code, sku, data)


class HqCategoryController(Controller):
    """The categories HQ's products use."""

    path = "/v1/hq/categories"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/", responses=problems(401, 403), summary="List categories")
    async def list_categories(self, principal: Caller, db: DbSession) -> CategoryList:
        """Every category with its product counts."""
        return await ProductService(db).categories(principal.tenant_id)
