"""Pricing routes: HQ's delivery policy, promotions and coupons; stores' own coupons; consumers' coupons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_consumer, require_staff
from cloudstore.http.deps import DbSession, Limit, Shop, provide_shop_tenant
from cloudstore.http.problems import problems
from cloudstore.lib.errors import Forbidden
from cloudstore.lib.paging import check_limit
from cloudstore.pricing.schemas import (
    CouponCreate,
    CouponPage,
    CouponRead,
    DeliveryPolicyDoc,
    MyCoupon,
    MyCouponPage,
    PromotionCreate,
    PromotionPage,
    PromotionRead,
)
from cloudstore.pricing.service import CouponService, DeliveryPolicyService, PromotionService

if TYPE_CHECKING:
    from cloudstore.auth.tokens import Principal

__all__ = (
    "DeliveryPolicyController",
    "HqCouponController",
    "PromotionController",
    "ShopCouponController",
    "StoreCouponController",
)


def _store_id(principal: Principal) -> int:
    if principal.store_id is None:
        raise Forbidden("this token is not bound to a store")
    return principal.store_id


class DeliveryPolicyController(Controller):
    """HQ sets what delivery costs."""

    path = "/v1/hq/policies"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/delivery", responses=problems(401, 403), summary="The delivery policy")
    async def get_delivery(self, principal: Caller, db: DbSession) -> DeliveryPolicyDoc:
        """The delivery policy in force; a tenant that never set one charges nothing."""
        return await DeliveryPolicyService(db).get(principal.tenant_id)

    @put("/delivery", responses=problems(401, 403, 422), summary="Replace the delivery policy")
    async def put_delivery(
        self, data: JSONBody[DeliveryPolicyDoc], principal: Caller, db: DbSession
    ) -> DeliveryPolicyDoc:
        """Fee rules by GB/T 2260 prefix (longest wins), default rule, free-over threshold, the store's own fee,
        regions not served, and ``per_order`` (one fee whatever the split) or ``per_shipment``.
        """
        return await DeliveryPolicyService(db).set(principal.tenant_id, data, datetime.now(UTC))


class PromotionController(Controller):
    """HQ's automatic promotions."""

    path = "/v1/hq/promotions"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @post("/", responses=problems(401, 403, 409, 422), summary="Create a promotion")
    async def create(self, data: JSONBody[PromotionCreate], principal: Caller, db: DbSession) -> PromotionRead:
        """满减 (``amount_off`` over ``min_goods``) or ``percent_off`` with a cap, scoped and time-boxed.

        Applied automatically; the best single promotion applies to an order. A taken code is a 409.
        """
        return await PromotionService(db).create(principal.tenant_id, data)

    @get("/", responses=problems(401, 403, 422), summary="List promotions")
    async def list_promotions(
        self, principal: Caller, db: DbSession, limit: Limit = None, cursor: FromQuery[str | None] = None
    ) -> PromotionPage:
        """Promotions in creation order."""
        return await PromotionService(db).list(principal.tenant_id, cursor=cursor, limit=check_limit(limit))


class HqCouponController(Controller):
    """HQ's coupons, usable at every store."""

    path = "/v1/hq/coupons"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @post("/", responses=problems(401, 403, 409, 422), summary="Issue a coupon")
    async def create(self, data: JSONBody[CouponCreate], principal: Caller, db: DbSession) -> CouponRead:
        """A coupon usable at every store; ``claimed`` and ``used`` start at 0. A taken code is a 409."""
        return await CouponService(db).create(principal.tenant_id, data)

    @get("/", responses=problems(401, 403, 422), summary="List coupons")
    async def list_coupons(
        self, principal: Caller, db: DbSession, limit: Limit = None, cursor: FromQuery[str | None] = None
    ) -> CouponPage:
        """Every coupon of the tenant (stores' own included, with ``store``), with ``claimed`` and ``used``."""
        return await CouponService(db).list(principal.tenant_id, cursor=cursor, limit=check_limit(limit))


class StoreCouponController(Controller):
    """A store's own coupons, usable only at that store."""

    path = "/v1/store/coupons"
    tags = ["store"]
    dependencies = {"principal": Provide(require_staff("store"))}

    @post("/", responses=problems(401, 403, 409, 422), summary="Issue a store coupon")
    async def create(self, data: JSONBody[CouponCreate], principal: Caller, db: DbSession) -> CouponRead:
        """A coupon usable only at the caller's store, to bring its bound consumers back."""
        return await CouponService(db).create(principal.tenant_id, data, store_id=_store_id(principal))

    @get("/", responses=problems(401, 403, 422), summary="List the store's coupons")
    async def list_coupons(
        self, principal: Caller, db: DbSession, limit: Limit = None, cursor: FromQuery[str | None] = None
    ) -> CouponPage:
        """The store's own coupons with ``claimed`` and ``used``."""
        return await CouponService(db).list(
            principal.tenant_id, store_id=_store_id(principal), cursor=cursor, limit=check_limit(limit)
        )


class ShopCouponController(Controller):
    """Consumers claim coupons and see the ones they hold."""

    path = "/v1/shop/{tenant:str}"
    tags = ["shop"]
    dependencies = {"shop": Provide(provide_shop_tenant), "consumer": Provide(require_consumer)}

    @post("/coupons/{code:str}/claim", responses=problems(401, 404, 409), summary="Claim a coupon")
    async def claim(self, code: FromPath[str], shop: Shop, consumer: Caller, db: DbSession) -> MyCoupon:
        """Claim one: 409 ``coupon_exhausted`` when none is left, ``coupon_limit_reached`` when the consumer
        holds as many as one may, ``invalid_state`` once it has expired. Never more claimed than ``total``.
        """
        return await CouponService(db).claim(shop.id, consumer.subject_id, code, datetime.now(UTC))

    @get("/me/coupons", responses=problems(401, 404, 422), summary="The consumer's coupons")
    async def mine(
        self, shop: Shop, consumer: Caller, db: DbSession, limit: Limit = None, cursor: FromQuery[str | None] = None
    ) -> MyCouponPage:
        """The consumer's coupons, newest first: ``available``, ``locked`` by an unpaid order, ``used``, ``expired``."""
        return await CouponService(db).mine(
            shop.id, consumer.subject_id, datetime.now(UTC), cursor=cursor, limit=check_limit(limit)
        )
