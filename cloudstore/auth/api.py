"""Auth routes: staff tokens, staff accounts, consumer login."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

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
from cloudstore.http.deps import Caller, DbSession, Limit, Shop, provide_shop_tenant, require_staff
from cloudstore.http.problems import problems
from cloudstore.lib.paging import check_limit, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from litestar.datastructures import State


__all__ = ("ConsumerAdminController", "ConsumerAuthController", "StaffController", "TokenController")


def _service(state: State, db: DbSession) -> AuthService:
    return AuthService(db, state.tokens, state.passwords)


class TokenController(Controller):
    """Staff sign-in."""

    path = "/v1/auth"
    tags = ["auth"]  # noqa: RUF012

    @post("/token", status_code=200, responses=problems(401, 422), summary="Exchange staff credentials for a token")
    async def token(self, data: JSONBody[TokenRequest], state: State, db: DbSession) -> TokenResponse:
        """Sign in as HQ, distributor or store staff of one tenant."""
        return await _service(state, db).staff_token(data.tenant, data.username, data.password)


class StaffController(Controller):
    """HQ manages staff accounts."""

    path = "/v1/hq/staff"
    tags = ["hq"]  # noqa: RUF012
    dependencies = {"principal": Provide(require_staff("hq"))}  # noqa: RUF012

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
        after = decode_cursor(cursor, str)
        items, last = await _service(state, db).list_staff(
            principal.tenant_id, after=after[0] if after else None, limit=check_limit(limit)
        )
        return StaffPage(items=items, next_cursor=encode_cursor(last) if last else None)

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
    tags = ["hq"]  # noqa: RUF012
    dependencies = {"principal": Provide(require_staff("hq"))}  # noqa: RUF012

    @get("/{consumer_id:int}", responses=problems(401, 403, 404), summary="Read a consumer")
    async def read(self, consumer_id: FromPath[int], principal: Caller, db: DbSession, state: State) -> ConsumerRead:
        """One consumer of this brand."""
        return await _service(state, db).get_consumer(principal.tenant_id, consumer_id)


class ConsumerAuthController(Controller):
    """Consumer sign-in from the mini-program."""

    path = "/v1/shop/{tenant:str}/auth"
    tags = ["shop"]  # noqa: RUF012
    dependencies = {"shop": Provide(provide_shop_tenant)}  # noqa: RUF012

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
