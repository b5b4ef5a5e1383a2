"""Auth routes: staff tokens, staff accounts, consumer login; and the guarded tenancy routes.

Creating a tenant also creates its first HQ account (the staff table is auth's), and the policy routes are
HQ's, so both are served here, above tenancy, which imports nothing of auth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from cloudstore.auth.guards import Caller, require_operator, require_staff
from cloudstore.auth.schemas import (
    ConsumerLogin,
    ConsumerRead,
    ConsumerToken,
    StaffCreate,
    StaffPage,
    StaffRead,
    StaffUpdate,
    TokenRequest,
    TokenResponse,
)
from cloudstore.auth.service import AuthService
from cloudstore.auth.tenants import create_tenant
from cloudstore.http.deps import DbSession, Limit, Shop, provide_shop_tenant
from cloudstore.http.problems import problems
from cloudstore.lib.paging import check_limit
from cloudstore.tenancy.schemas import (
    AttributionPolicyDoc,
    CommissionPolicyDoc,
    OrderPolicyDoc,
    RoutingPolicyDoc,
    TenantCreate,
    TenantRead,
)
from cloudstore.tenancy.service import TenantService, load_policies

if TYPE_CHECKING:
    from litestar.datastructures import State


__all__ = (
    "ConsumerAdminController",
    "ConsumerAuthController",
    "PlatformController",
    "PolicyController",
    "StaffController",
    "TokenController",
)


def _service(state: State, db: DbSession) -> AuthService:
    return AuthService(db, state.tokens, state.passwords)


class TokenController(Controller):
    """Staff sign-in."""

    path = "/v1/auth"
    tags = ["auth"]

    @post("/token", status_code=200, responses=problems(401, 422), summary="Exchange staff credentials for a token")
    async def token(self, data: JSONBody[TokenRequest], state: State, db: DbSession) -> TokenResponse:
        """Sign in as HQ, distributor or store staff of one tenant."""
        return await _service(state, db).staff_token(data.tenant, data.username, data.password)


class StaffController(Controller):
    """HQ manages staff accounts."""

    path = "/v1/hq/staff"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/", responses=problems(401, 403, 422), summary="List staff accounts")
    async def list_staff(
        self,
        principal: Caller,
        db: DbSession,
        state: State,
        limit: Limit = None,
        cursor: FromQuery[str | None] = None,
    ) -> StaffPage:
        """Staff accounts, by username."""
        return await _service(state, db).list_staff(principal.tenant_id, cursor=cursor, limit=check_limit(limit))

    @get("/{username:str}", responses=problems(401, 403, 404), summary="Read a staff account")
    async def read_staff(self, username: FromPath[str], principal: Caller, db: DbSession, state: State) -> StaffRead:
        """One staff account."""
        return await _service(state, db).get_staff(principal.tenant_id, username)

    @patch(
        "/{username:str}",
        responses=problems(401, 403, 404, 422),
        summary="Enable or disable a staff account, set its password or change its role",
    )
    async def update_staff(
        self, username: FromPath[str], data: JSONBody[StaffUpdate], principal: Caller, db: DbSession, state: State
    ) -> StaffRead:
        """Disabling an account, or a new password or role, ends every token it holds; not on your own account."""
        return await _service(state, db).update_staff(principal, username, data)

    @post("/", responses=problems(401, 403, 409, 422), summary="Create a staff account")
    async def create(
        self,
        data: JSONBody[StaffCreate],
        principal: Caller,
        state: State,
        db: DbSession,
    ) -> StaffRead:
        """Create an HQ, distributor or store account in the caller's tenant."""
        return await _service(state, db).create_staff(principal.tenant_id, data)


class ConsumerAdminController(Controller):
    """HQ looks up consumers."""

    path = "/v1/hq/consumers"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/{consumer_id:int}", responses=problems(401, 403, 404), summary="Read a consumer")
    async def read(self, consumer_id: FromPath[int], principal: Caller, db: DbSession, state: State) -> ConsumerRead:
        """One consumer of this brand."""
        return await _service(state, db).get_consumer(principal.tenant_id, consumer_id)


class ConsumerAuthController(Controller):
    """Consumer sign-in from the mini-program."""

    path = "/v1/shop/{tenant:str}/auth"
    tags = ["shop"]
    dependencies = {"shop": Provide(provide_shop_tenant)}

    @post("/login", status_code=200, responses=problems(401, 404, 422, 503), summary="Mini-program login")
    async def login(
        self,
        data: JSONBody[ConsumerLogin],
        shop: Shop,
        state: State,
        db: DbSession,
    ) -> ConsumerToken:
        """Exchange a ``wx.login`` code (or ``local:<openid>`` outside production) for a consumer token."""
        provider: Any = state.identity_for(data.code)
        return await _service(state, db).consumer_token(
            tenant_id=shop.id, tenant=shop.slug, code=data.code, provider=provider
        )


class PlatformController(Controller):
    """The platform operator creates tenants."""

    path = "/v1/platform"
    tags = ["platform"]
    dependencies = {"operator": Provide(require_operator)}

    @post("/tenants", responses=problems(401, 409, 422), summary="Create a tenant (brand)")
    async def create_tenant(
        self,
        data: JSONBody[TenantCreate],
        operator: NamedDependency[None],
        state: State,
        db: DbSession,
    ) -> TenantRead:
        """Create a brand with default policies and its first HQ account."""
        del operator
        password_hash = await state.passwords.hash(data.admin.password)
        return await create_tenant(
            db, slug=data.slug, name=data.name, admin_username=data.admin.username, admin_password_hash=password_hash
        )


class PolicyController(Controller):
    """HQ sets the tenant's routing, attribution, commission and order policies."""

    path = "/v1/hq/policies"
    tags = ["hq"]
    dependencies = {"principal": Provide(require_staff("hq"))}

    @get("/routing", responses=problems(401, 403))
    async def get_routing(self, principal: Caller, db: DbSession) -> RoutingPolicyDoc:
        """The routing policy in force."""
        return (await load_policies(db, principal.tenant_id)).routing

    @put("/routing", responses=problems(401, 403, 422))
    async def put_routing(self, data: JSONBody[RoutingPolicyDoc], principal: Caller, db: DbSession) -> RoutingPolicyDoc:
        """Replace the routing policy: tier order, maximum shipments, line splitting, default radius."""
        await TenantService(db).set_policy(principal.tenant_id, "routing", data)
        return data

    @get("/attribution", responses=problems(401, 403))
    async def get_attribution(self, principal: Caller, db: DbSession) -> AttributionPolicyDoc:
        """The attribution policy in force."""
        return (await load_policies(db, principal.tenant_id)).attribution

    @put("/attribution", responses=problems(401, 403, 422))
    async def put_attribution(
        self,
        data: JSONBody[AttributionPolicyDoc],
        principal: Caller,
        db: DbSession,
    ) -> AttributionPolicyDoc:
        """Replace the attribution policy: model, protection days, binding validity, self-referral."""
        await TenantService(db).set_policy(principal.tenant_id, "attribution", data)
        return data

    @get("/commission", responses=problems(401, 403))
    async def get_commission(self, principal: Caller, db: DbSession) -> CommissionPolicyDoc:
        """The commission policy in force."""
        return (await load_policies(db, principal.tenant_id)).commission

    @put("/commission", responses=problems(401, 403, 422))
    async def put_commission(
        self,
        data: JSONBody[CommissionPolicyDoc],
        principal: Caller,
        db: DbSession,
    ) -> CommissionPolicyDoc:
        """Replace the commission policy (basis points; every total at most 3000)."""
        await TenantService(db).set_policy(principal.tenant_id, "commission", data)
        return data

    @get("/orders", responses=problems(401, 403))
    async def get_orders(self, principal: Caller, db: DbSession) -> OrderPolicyDoc:
        """The order policy in force."""
        return (await load_policies(db, principal.tenant_id)).orders

    @put("/orders", responses=problems(401, 403, 422))
    async def put_orders(self, data: JSONBody[OrderPolicyDoc], principal: Caller, db: DbSession) -> OrderPolicyDoc:
        """Replace the order policy: payment time limit, whether sold-out items are hidden."""
        await TenantService(db).set_policy(principal.tenant_id, "orders", data)
        return data
