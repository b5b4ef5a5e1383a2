"""Signing in staff and consumers, and managing staff accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.auth.identity import IdentityError, IdentityUnavailable
from cloudstore.auth.schemas import ConsumerToken, StaffCreate, StaffRead, TokenResponse
from cloudstore.auth.tokens import Principal
from cloudstore.db import set_tenant
from cloudstore.errors import Conflict, ServiceUnavailable, Unauthorized, ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.auth.identity import IdentityProvider
    from cloudstore.auth.passwords import PasswordHashing
    from cloudstore.auth.tokens import TokenCodec

__all__ = ("AuthService",)

_STAFF_BY_USERNAME = text(
    """
    SELECT s.id, s.password_hash, s.role, s.store_id, s.distributor_id, s.active
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
        )
        token, expires = self.tokens.issue(principal, datetime.now(UTC))
        return TokenResponse(access_token=token, token_type="bearer", role=row.role, expires_at=expires)

    async def create_staff(self, tenant_id: int, data: StaffCreate) -> StaffRead:
        """Add a staff account; a store account must name a store of this tenant, a distributor one its distributor."""
        store_id = distributor_id = None
        if data.role == "store":
            if data.store_code is None or data.distributor_code is not None:
                raise ValidationFailed("a store account needs store_code (and no distributor_code)")
            store_id = await self._id_of("stores", data.store_code, tenant_id)
        elif data.role == "distributor":
            if data.distributor_code is None or data.store_code is not None:
                raise ValidationFailed("a distributor account needs distributor_code (and no store_code)")
            distributor_id = await self._id_of("distributors", data.distributor_code, tenant_id)
        elif data.store_code is not None or data.distributor_code is not None:
            raise ValidationFailed("an hq account takes neither store_code nor distributor_code")
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
                    DO UPDATE SET last_login_at = now(), unionid = COALESCE(EXCLUDED.unionid, consumers.unionid)
                    RETURNING id
                    """
                ),
                {"t": tenant_id, "o": identity.openid, "u": identity.unionid},
            )
        ).scalar_one()
        principal = Principal(tenant_id=tenant_id, tenant=tenant, subject_id=consumer_id, role="consumer")
        token, expires = self.tokens.issue(principal, datetime.now(UTC))
        return ConsumerToken(access_token=token, consumer_id=consumer_id, expires_at=expires)
