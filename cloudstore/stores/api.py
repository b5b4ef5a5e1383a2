"""Store network routes: HQ's distributors, warehouses and stores; store staff's storefront; the public storefront."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, cast

from litestar import Controller, MediaType, Response, get, patch, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from cloudstore.auth.guards import Caller, require_staff
from cloudstore.http.deps import DbSession, Limit
from cloudstore.http.problems import problems
from cloudstore.lib.paging import check_limit
from cloudstore.stores.links import share_links
from cloudstore.stores.qr import qr_png, qr_svg
from cloudstore.stores.schemas import (
    DistributorCreate,
    DistributorPage,
    DistributorRead,
    DistributorUpdate,
    LocationCreate,
    LocationPage,
    LocationRead,
    LocationUpdate,
    ShopProductDetail,
    ShopProductPage,
    ShopStore,
    StoreCreate,
    StorefrontItemRead,
    StorefrontItemUpdate,
    StorefrontRead,
    StorePage,
    StoreRead,
    StoreUpdate,
)
from cloudstore.stores.service import DistributorService, LocationService, StoreService
from cloudstore.stores.storefront import StorefrontService

if TYPE_CHECKING:
    from litestar.datastructures import State

__all__ = (
    "DistributorStoreController",
    "HqDistributorController",
    "HqLocationController",
    "HqStoreController",
    "ShopStorefrontController",
    "StorefrontController",
)

StatusFilter = Literal["active", "archived"]


class HqDistributorController(Controller):
    """HQ manages distributors."""

    path = "/v1/hq/distributors"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @post("/", responses=problems(401, 403, 409, 422), summary="Create a distributor")
    async def create(self, data: JSONBody[DistributorCreate], principal: Caller, db: DbSession) -> DistributorRead:
        """Add a distributor with the regions it supplies (GB/T 2260 prefixes)."""
        return await DistributorService(db).create(principal.tenant_id, data)

    @get("/", responses=problems(401, 403, 422), summary="List distributors")
    async def list_distributors(
        self,
        principal: Caller,
        db: DbSession,
        status: FromQuery[StatusFilter | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> DistributorPage:
        """Distributors in creation order."""
        return await DistributorService(db).list_distributors(
            principal.tenant_id, status=status, cursor=cursor, limit=check_limit(limit)
        )

    @get("/{code:str}", responses=problems(401, 403, 404), summary="Read a distributor")
    async def read(self, code: FromPath[str], principal: Caller, db: DbSession) -> DistributorRead:
        """One distributor."""
        return await DistributorService(db).get(principal.tenant_id, code)

    @patch("/{code:str}", responses=problems(401, 403, 404, 422), summary="Update a distributor")
    async def update(
        self, code: FromPath[str], data: JSONBody[DistributorUpdate], principal: Caller, db: DbSession
    ) -> DistributorRead:
        """Change the name or regions."""
        return await DistributorService(db).update(principal.tenant_id, code, data)

    @post("/{code:str}/archive", status_code=200, responses=problems(401, 403, 404), summary="Archive a distributor")
    async def archive(self, code: FromPath[str], principal: Caller, db: DbSession) -> DistributorRead:
        """Archive a distributor (repeating it changes nothing)."""
        return await DistributorService(db).archive(principal.tenant_id, code)


class HqLocationController(Controller):
    """HQ manages stock locations: regional and central warehouses."""

    path = "/v1/hq/locations"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @post("/", responses=problems(401, 403, 409, 422), summary="Create a warehouse")
    async def create(self, data: JSONBody[LocationCreate], principal: Caller, db: DbSession) -> LocationRead:
        """Add a regional warehouse (with the regions it serves) or a central one (serves everywhere)."""
        return await LocationService(db).create(principal.tenant_id, data)

    @get("/", responses=problems(401, 403, 422), summary="List locations")
    async def list_locations(
        self,
        principal: Caller,
        db: DbSession,
        kind: FromQuery[Literal["store", "regional", "central"] | None] = None,
        status: FromQuery[StatusFilter | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> LocationPage:
        """Every stock location (stores included) in creation order."""
        return await LocationService(db).list_locations(
            principal.tenant_id, kind=kind, status=status, cursor=cursor, limit=check_limit(limit)
        )

    @get("/{code:str}", responses=problems(401, 403, 404), summary="Read a location")
    async def read(self, code: FromPath[str], principal: Caller, db: DbSession) -> LocationRead:
        """One location."""
        return await LocationService(db).get(principal.tenant_id, code)

    @patch("/{code:str}", responses=problems(401, 403, 404, 409, 422), summary="Update a warehouse")
    async def update(
        self, code: FromPath[str], data: JSONBody[LocationUpdate], principal: Caller, db: DbSession
    ) -> LocationRead:
        """Change a warehouse; a store's location is changed through its store (409)."""
        return await LocationService(db).update(principal.tenant_id, code, data)

    @post("/{code:str}/archive", status_code=200, responses=problems(401, 403, 404, 409), summary="Archive a warehouse")
    async def archive(self, code: FromPath[str], principal: Caller, db: DbSession) -> LocationRead:
        """Archive a warehouse; its stock leaves every cloud shelf. A store's location is archived with its store."""
        return await LocationService(db).archive(principal.tenant_id, code)


class HqStoreController(Controller):
    """HQ manages stores."""

    path = "/v1/hq/stores"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @post("/", responses=problems(401, 403, 409, 422), summary="Create a store")
    async def create(self, data: JSONBody[StoreCreate], principal: Caller, state: State, db: DbSession) -> StoreRead:
        """Add a store and its stock location (same code); the answer carries its storefront URL."""
        return await StoreService(db, state.settings).create(principal.tenant_id, principal.tenant, data)

    @get("/", responses=problems(401, 403, 422), summary="List stores")
    async def list_stores(
        self,
        principal: Caller,
        state: State,
        db: DbSession,
        status: FromQuery[StatusFilter | None] = None,
        distributor: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> StorePage:
        """Stores in creation order; ``region`` is a GB/T 2260 prefix (``4403`` lists Shenzhen's)."""
        return await StoreService(db, state.settings).list_stores(
            principal.tenant_id,
            principal.tenant,
            status=status,
            distributor=distributor,
            region=region,
            cursor=cursor,
            limit=check_limit(limit),
        )

    @get("/{code:str}", responses=problems(401, 403, 404), summary="Read a store")
    async def read(self, code: FromPath[str], principal: Caller, state: State, db: DbSession) -> StoreRead:
        """One store."""
        return await StoreService(db, state.settings).get(principal.tenant_id, principal.tenant, code)

    @patch("/{code:str}", responses=problems(401, 403, 404, 422), summary="Update a store")
    async def update(
        self, code: FromPath[str], data: JSONBody[StoreUpdate], principal: Caller, state: State, db: DbSession
    ) -> StoreRead:
        """Change a store; its stock location follows."""
        return await StoreService(db, state.settings).update(principal.tenant_id, principal.tenant, code, data)

    @post("/{code:str}/archive", status_code=200, responses=problems(401, 403, 404), summary="Archive a store")
    async def archive(self, code: FromPath[str], principal: Caller, state: State, db: DbSession) -> StoreRead:
        """Archive a store and its location: the storefront closes, its stock no longer ships."""
        return await StoreService(db, state.settings).archive(principal.tenant_id, principal.tenant, code)


class StorefrontController(Controller):
    """Store staff curate their storefront and get its links and QR codes."""

    path = "/v1/store"
    tags = ["store"]
    dependencies = {"principal": Provide(require_staff("store"))}

    @get("/storefront", responses=problems(401, 403, 404), summary="The store's storefront settings and links")
    async def storefront(self, principal: Caller, state: State, db: DbSession) -> StorefrontRead:
        """Links (H5 and mini-program), the QR code route and the products the store curates."""
        return await StorefrontService(db, state.settings).storefront(
            principal.tenant_id, principal.tenant, principal.store_id
        )

    @put(
        "/storefront/items/{product_code:str}",
        responses=problems(401, 403, 404, 422),
        summary="Hide, pin or price a product",
    )
    async def curate(
        self,
        product_code: FromPath[str],
        data: JSONBody[StorefrontItemUpdate],
        principal: Caller,
        state: State,
        db: DbSession,
    ) -> StorefrontItemRead:
        """Curate one published product; a price outside HQ's band is a 422 whose ``band`` gives the limits."""
        return await StorefrontService(db, state.settings).curate(
            principal.tenant_id, principal.store_id, product_code, data
        )

    @get(
        "/qr",
        responses=problems(401, 403, 404, 422),
        media_type="image/png",
        summary="The storefront's share QR code",
        response_description="PNG, or SVG (image/svg+xml) with format=svg",
    )
    async def qr(
        self,
        principal: Caller,
        state: State,
        db: DbSession,
        koc: FromQuery[str | None] = None,
        fmt: Annotated[Literal["png", "svg"], QueryParameter(name="format")] = "png",
        target: FromQuery[Literal["h5", "miniprogram"]] = "h5",
    ) -> Response[bytes]:
        """A QR code of the H5 URL (default) or mini-program path, carrying ``koc`` (one of this store's KOCs)."""
        store = await StorefrontService(db, state.settings).share_code(principal.tenant_id, principal.store_id, koc)
        links = share_links(state.settings, principal.tenant, store, koc)
        payload = links.h5_url if target == "h5" else links.miniprogram_path
        if fmt == "svg":
            return Response(
                qr_svg(payload), media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"}
            )
        return Response(qr_png(payload), media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


class ShopStorefrontController(Controller):
    """Consumers browse a store's cloud storefront without signing in.

    These are the busiest routes, and they only read: each runs on one Core connection in a read-only
    transaction (``Database.read``) rather than the per-request ORM session the other routes use.
    """

    path = "/v1/shop/{tenant:str}/stores"
    tags = ["shop"]
    security = [{}]

    @get("/{store:str}", responses=problems(404), summary="A store and its storefront's categories")
    async def store(self, tenant: FromPath[str], store: FromPath[str], state: State) -> ShopStore:
        """The store's name, address and the categories its storefront shows."""
        async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
            return await StorefrontService(conn, state.settings).shop_store(tenant_id, store)

    @get("/{store:str}/products", responses=problems(404, 422), summary="Browse a storefront")
    async def products(
        self,
        tenant: FromPath[str],
        store: FromPath[str],
        state: State,
        category: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> Response[ShopProductPage]:
        """The published catalog on this store's shelves: pinned first; ``q`` searches titles."""
        async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
            page = await StorefrontService(conn, state.settings).browse_json(
                tenant_id, store, category=category, q=q, cursor=cursor, limit=check_limit(limit)
            )
        # The body is already JSON of the declared type (built by the service); the annotation documents it.
        return cast("Response[ShopProductPage]", Response(page, media_type=MediaType.JSON))

    @get("/{store:str}/products/{code:str}", responses=problems(404), summary="A product on a storefront")
    async def product(
        self, tenant: FromPath[str], store: FromPath[str], code: FromPath[str], state: State
    ) -> ShopProductDetail:
        """One product with its SKUs' prices and shelves in this store."""
        async with state.db.read(tenant, state.tenant_ids) as (conn, tenant_id):
            return await StorefrontService(conn, state.settings).product(tenant_id, store, code)


class DistributorStoreController(Controller):
    """A distributor reads its own stores."""

    path = "/v1/distributor/stores"
    tags = ["distributor"]
    dependencies = {"principal": Provide(require_staff("distributor"))}

    @get("/", responses=problems(401, 403, 422), summary="The distributor's stores")
    async def list_stores(
        self,
        principal: Caller,
        state: State,
        db: DbSession,
        cursor: FromQuery[str | None] = None,
        limit: Limit = None,
    ) -> StorePage:
        """The stores this distributor supplies, in creation order."""
        return await StoreService(db, state.settings).list_stores(
            principal.tenant_id,
            principal.tenant,
            distributor_id=principal.distributor_id if principal.distributor_id is not None else -1,
            cursor=cursor,
            limit=check_limit(limit),
        )
