"""Platform routes (tenants) and HQ policy routes."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from cloudstore.http.deps import Caller, DbSession, bearer_token, require_staff
from cloudstore.http.problems import problems
from cloudstore.lib.errors import Unauthorized
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


__all__ = ("PlatformController", "PolicyController")


async def require_operator(request: Request[Any, Any, Any], state: State) -> None:
    """The platform operator's token, compared in constant time; no token configured means no access."""
    expected: str | None = state.settings.operator_token
    token = bearer_token(request)
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("an operator token is required")


class PlatformController(Controller):
    """The platform operator creates tenants."""

    path = "/v1/platform"
    tags = ["platform"]  # noqa: RUF012
    dependencies = {"operator": Provide(require_operator)}  # noqa: RUF012

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
        return await TenantService(db).create(
            slug=data.slug, name=data.name, admin_username=data.admin.username, admin_password_hash=password_hash
        )


class PolicyController(Controller):
    """HQ sets the tenant's routing, attribution, commission and order policies."""

    path = "/v1/hq/policies"
    tags = ["hq"]  # noqa: RUF012
    dependencies = {"principal": Provide(require_staff("hq"))}  # noqa: RUF012

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
