"""Signing in staff and consumers, and managing staff accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.auth.identity import IdentityError, IdentityUnavailable
from cloudstore.auth.schemas import (
    ConsumerRead,
    ConsumerToken,
    StaffCreate,
    StaffPage,
    StaffRead,
    StaffUpdate,
    TokenResponse,
)
from cloudstore.auth.tokens import Principal
from cloudstore.lib.db import set_tenant
from cloudstore.lib.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized, ValidationFailed
from cloudstore.lib.paging import cut_page, page_start

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.auth.identity import IdentityProvider
    from cloudstore.auth.passwords import PasswordHashing
    from cloudstore.auth.tokens import TokenCodec

__all__ = ("AuthService", "OwnAccount")


class OwnAccount(Forbidden):
    """Staff may not enable, disable or re-role their own account: that is another HQ account's call."""

    code = "own_account"


_STAFF_READ = text(
    """
    SELECT s.username, s.role, s.active, st.code AS store_code, d.code AS distributor_code
    FROM staff s
    LEFT JOIN stores st ON st.tenant_id = s.tenant_id AND st.id = s.store_id
    LEFT JOIN distributors d ON d.tenant_id = s.tenant_id AND d.id = s.distributor_id
    WHERE s.tenant_id = :t AND ((:all AND s.username > :after) OR (NOT :all AND s.username = :u))
    ORDER BY s.username
    LIMIT :n
    """
)


def _staff(row: Any) -> StaffRead:
    return StaffRead(
        username=row.username,
        role=row.role,
        store_code=row.store_code,
        distributor_code=row.distributor_code,
        active=row.active,
    )


_STAFF_BY_USERNAME = text(
    """
    SELECT s.id, s.password_hash, s.role, s.store_id, s.distributor_id, s.active, s.credentials_epoch
    FROM staff s WHERE s.tenant_id = :t AND s.username = :u
    """
)


class AuthService:
    """Credentials in, tokens out."""

    def __init__(self, session: AsyncSession, tokens: TokenCodec, passwords: PasswordHashing) -> None:
        self.session = session
        self.tokens = tokens
        self.passwords = passwords

    async def staff_token(self, tenant: str, username: str, password: str) -> TokenResponse:
        """Exchange a staff username and password for a token; every failure looks the same."""
        tenant_id = (
            await self.session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant})
        ).scalar_one_or_none()
        row = None
        if tenant_id is not None:
            await set_tenant(self.session, tenant_id)
            row = (await self.session.execute(_STAFF_BY_USERNAME, {"t": tenant_id, "u": username})).first()
        ok = await self.passwords.verify(row.password_hash if row is not None else None, password)
        if not ok or row is None or tenant_id is None or not row.active:
            raise Unauthorized("invalid tenant, username or password")
        principal = Principal(
            tenant_id=tenant_id,
            tenant=tenant,
            subject_id=row.id,
            role=row.role,
            store_id=row.store_id,
            distributor_id=row.distributor_id,
            epoch=row.credentials_epoch,
        )
        token, expires = self.tokens.issue(principal, datetime.now(UTC))
        return TokenResponse(access_token=token, token_type="bearer", role=row.role, expires_at=expires)

    async def create_staff(self, tenant_id: int, data: StaffCreate) -> StaffRead:
        """Add a staff account; a store account must name a store of this tenant, a distributor one its distributor."""
        store_id, distributor_id = await self._binding(tenant_id, data.role, data.store_code, data.distributor_code)
        password_hash = await self.passwords.hash(data.password)
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    text(
                        "INSERT INTO staff (tenant_id, username, password_hash, role, store_id, distributor_id) "
                        "VALUES (:t, :u, :h, :r, :s, :d)"
                    ),
                    {
                        "t": tenant_id,
                        "u": data.username,
                        "h": password_hash,
                        "r": data.role,
                        "s": store_id,
                        "d": distributor_id,
                    },
                )
        except IntegrityError as exc:
            raise Conflict(f"username {data.username!r} is taken") from exc
        return StaffRead(
            username=data.username,
            role=data.role,
            store_code=data.store_code,
            distributor_code=data.distributor_code,
            active=True,
        )

    async def get_staff(self, tenant_id: int, username: str) -> StaffRead:
        """One staff account by username."""
        row = (
            await self.session.execute(_STAFF_READ.bindparams(t=tenant_id, u=username, after="", n=1, all=False))
        ).first()
        if row is None:
            raise NotFound("staff", username)
        return _staff(row)

    async def list_staff(self, tenant_id: int, *, cursor: str | None, limit: int) -> StaffPage:
        """Staff accounts by username, a page at a time."""
        after = page_start(cursor, str, first=("",))[0]
        rows = (
            await self.session.execute(_STAFF_READ.bindparams(t=tenant_id, u="", after=after, n=limit + 1, all=True))
        ).all()
        page, next_cursor = cut_page(rows, limit, key=lambda r: (r.username,))
        return StaffPage(items=[_staff(r) for r in page], next_cursor=next_cursor)

    async def update_staff(self, caller: Principal, username: str, data: StaffUpdate) -> StaffRead:
        """Enable or disable an account, set its password or change its role.

        Disabling it, or a new password or role, bumps its credentials epoch: every token it holds stops
        working at its next request. Nobody changes their own ``active`` flag or role.
        """
        tenant_id = caller.tenant_id
        if data.active is None and data.password is None and data.role is None:
            if data.store_code is not None or data.distributor_code is not None:
                raise ValidationFailed("store_code and distributor_code go with a new role")
            raise ValidationFailed("nothing to change: give active, password or role")
        row = (
            await self.session.execute(
                text("SELECT id, role, active FROM staff WHERE tenant_id = :t AND username = :u FOR UPDATE"),
                {"t": tenant_id, "u": username},
            )
        ).first()
        if row is None:
            raise NotFound("staff", username)
        if row.id == caller.subject_id and (data.active is not None or data.role is not None):
            raise OwnAccount("you cannot change your own account's active flag or role")
        changes: dict[str, Any] = {}
        revoke = False
        if data.active is not None and data.active != row.active:
            changes["active"] = data.active
            revoke = revoke or not data.active
        if data.role is not None:
            store_id, distributor_id = await self._binding(tenant_id, data.role, data.store_code, data.distributor_code)
            changes.update(role=data.role, store_id=store_id, distributor_id=distributor_id)
            revoke = True
        elif data.store_code is not None or data.distributor_code is not None:
            raise ValidationFailed("store_code and distributor_code go with a new role")
        if data.password is not None:
            changes["password_hash"] = await self.passwords.hash(data.password)
            revoke = True
        if changes:
            # Column names come from the fixed keys above, never from the request.
            assignments = ", ".join(f"{column} = :{column}" for column in changes)
            bump = ", credentials_epoch = credentials_epoch + 1" if revoke else ""
            await self.session.execute(
                text(f"UPDATE staff SET {assignments}{bump} WHERE tenant_id = :t AND id = :i"),  # noqa: S608
                {**changes, "t": tenant_id, "i": row.id},
            )
        return await self.get_staff(tenant_id, username)

    async def _binding(
        self, tenant_id: int, role: str, store_code: str | None, distributor_code: str | None
    ) -> tuple[int | None, int | None]:
        """The store and distributor ids a ``role`` account is bound to, checked against the codes given."""
        if role == "store":
            if store_code is None or distributor_code is not None:
                raise ValidationFailed("a store account needs store_code (and no distributor_code)")
            return await self._id_of("stores", store_code, tenant_id), None
        if role == "distributor":
            if distributor_code is None or store_code is not None:
                raise ValidationFailed("a distributor account needs distributor_code (and no store_code)")
            return None, await self._id_of("distributors", distributor_code, tenant_id)
        if store_code is not None or distributor_code is not None:
            raise ValidationFailed("an hq account takes neither store_code nor distributor_code")
        return None, None

    async def get_consumer(self, tenant_id: int, consumer_id: int) -> ConsumerRead:
        """One consumer of this tenant."""
        row = (
            await self.session.execute(
                text("SELECT id, openid, created_at, last_login_at FROM consumers WHERE tenant_id = :t AND id = :i"),
                {"t": tenant_id, "i": consumer_id},
            )
        ).first()
        if row is None:
            raise NotFound("consumer", str(consumer_id))
        return ConsumerRead(
            consumer_id=row.id, openid=row.openid, created_at=row.created_at, last_login_at=row.last_login_at
        )

    async def _id_of(self, table: str, code: str, tenant_id: int) -> int:
        found = (
            await self.session.execute(
                text(f"SELECT id FROM {table} WHERE tenant_id = :t AND code = :c"),  # noqa: S608 - fixed names
                {"t": tenant_id, "c": code},
            )
        ).scalar_one_or_none()
        if found is None:
            kind = "store" if table == "stores" else "distributor"
            raise ValidationFailed(f"{kind} {code!r} does not exist")
        return int(found)

    async def consumer_token(
        self, *, tenant_id: int, tenant: str, code: str, provider: IdentityProvider
    ) -> ConsumerToken:
        """Resolve a mini-program login code to a consumer (created on first login) and issue a token."""
        try:
            identity = await provider.resolve(code)
        except IdentityUnavailable as exc:
            raise ServiceUnavailable("the login service is unavailable; try again") from exc
        except IdentityError as exc:
            raise Unauthorized(f"login code rejected: {exc}") from exc
        consumer_id = (
            await self.session.execute(
                text(
                    """
                    INSERT INTO consumers (tenant_id, openid, unionid) VALUES (:t, :o, :u)
                    ON CONFLICT (tenant_id, openid)
                    DO UPDATE SET last_login_at = :now, unionid = COALESCE(EXCLUDED.unionid, consumers.unionid)
                    RETURNING id
                    """
                ),
                # The time is a parameter: Citus refuses now() in DO UPDATE SET on a distributed table.
                {"t": tenant_id, "o": identity.openid, "u": identity.unionid, "now": datetime.now(UTC)},
            )
        ).scalar_one()
        principal = Principal(tenant_id=tenant_id, tenant=tenant, subject_id=consumer_id, role="consumer")
        token, expires = self.tokens.issue(principal, datetime.now(UTC))
        return ConsumerToken(access_token=token, consumer_id=consumer_id, expires_at=expires)
