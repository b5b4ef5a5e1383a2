"""Idempotency keys, stored in PostgreSQL.

A request that carries ``Idempotency-Key`` runs at most once per (tenant, caller, route, key):

- the first request takes a transaction-scoped advisory lock on the key, runs, and stores its response
  (status and exact body bytes) in the same transaction as its effects, so both commit or neither does;
- a request with the same key while the first is running finds the lock taken: 409 ``idempotency_conflict``;
- afterwards the same key with the same body replays the stored response byte for byte, and with another
  body is refused with 422 ``idempotency_conflict``.

Responses are kept for ``RETENTION`` (at least 24 hours); the worker prunes older ones hourly. Failed requests (4xx
from the domain, 5xx) roll back and store nothing, so the client may retry them with the same key.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Column, DateTime, Index, LargeBinary, SmallInteger, Text, text
from sqlmodel import Field

from cloudstore.lib.db import Part, execute, fetch
from cloudstore.lib.errors import IdempotencyConflict, IdempotencyKeyMissing, ValidationFailed
from cloudstore.lib.tables import TenantTable, now_column, utcnow

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "CLAIM_COLUMNS",
    "RETENTION",
    "IdempotencyRecord",
    "Replayed",
    "Reply",
    "StoredResponse",
    "begin_idempotent",
    "finish_idempotent",
)

RETENTION = timedelta(hours=48)  # the worker_prune policy (migration 0005) matches this
MAX_KEY_LENGTH = 255


class IdempotencyRecord(TenantTable, table=True):
    """The stored outcome of one idempotent request."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created_at"),)

    scope: str = Field(sa_type=Text, primary_key=True)
    key: str = Field(sa_type=Text, primary_key=True)
    request_hash: str = Field(sa_type=Text)
    status_code: int = Field(sa_type=SmallInteger)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    )
    updated_at: datetime | None = now_column()


class StoredResponse(msgspec.Struct, frozen=True):
    """A response to replay."""

    status_code: int
    body: bytes


class IdempotencyTicket(msgspec.Struct, frozen=True):
    """Proof that this request holds the key; pass it to :func:`finish_idempotent`."""

    tenant_id: int
    scope: str
    key: str
    request_hash: str


def validate_key(key: str | None) -> str:
    """The header value, checked: 1–255 visible ASCII characters."""
    if key is None:
        raise IdempotencyKeyMissing("this request needs an Idempotency-Key header")
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationFailed("Idempotency-Key must be 1-255 printable ASCII characters")
    return key


#: The claim as the last columns of a one-row read, with its ``FROM``: a journey whose first statement is such a
#: read (``SELECT <its columns>,`` followed by this) claims the key in the same round trip (:class:`Reply`).
#: Its parameters are :meth:`Reply.claim_params`; its columns start with ``claim_``.
CLAIM_COLUMNS = """
      pg_try_advisory_xact_lock(hashtextextended(:claim_lock, :claim_tenant)) AS claim_locked,
      claim.request_hash AS claim_hash, claim.status_code AS claim_status, claim.body AS claim_body
    FROM (SELECT 1) AS claim_one
    LEFT JOIN idempotency_keys AS claim
      ON claim.tenant_id = :claim_tenant AND claim.scope = :claim_scope AND claim.key = :claim_key
     AND claim.created_at > now() - CAST(:claim_retention AS interval)
    """
_LOOKUP = text("SELECT" + CLAIM_COLUMNS)


def _claim_params(tenant_id: int, scope: str, key: str) -> dict[str, object]:
    return {
        "claim_lock": f"{scope}\x1f{key}",
        "claim_tenant": tenant_id,
        "claim_scope": scope,
        "claim_key": key,
        "claim_retention": RETENTION,
    }


def _settle(row: Mapping[str, Any], ticket: IdempotencyTicket) -> IdempotencyTicket | StoredResponse:
    if not row["claim_locked"]:
        raise IdempotencyConflict("a request with this Idempotency-Key is still being processed", status=409)
    if row["claim_hash"] is not None:
        if row["claim_hash"] != ticket.request_hash:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request body", status=422)
        return StoredResponse(status_code=row["claim_status"], body=bytes(row["claim_body"]))
    return ticket


async def begin_idempotent(
    session: AsyncSession, *, tenant_id: int, scope: str, key: str | None, body: bytes
) -> IdempotencyTicket | StoredResponse:
    """Claim ``key`` for this request, or return the stored response to replay.

    Must run inside the request's transaction (after the tenant is set): the lock lasts until it ends.
    """
    key = validate_key(key)
    ticket = IdempotencyTicket(tenant_id, scope, key, hashlib.sha256(body).hexdigest())
    (row,) = await fetch(session, _LOOKUP, _claim_params(tenant_id, scope, key))
    return _settle(row, ticket)


# No now() after ON CONFLICT: Citus refuses non-immutable expressions there. EXCLUDED carries the defaults
# (transaction time, evaluated on the coordinator) and the cutoff is a parameter.
_STORE_SQL = """
    INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, status_code, body)
    VALUES (:{p}tenant_id, :{p}scope, :{p}key, :{p}request_hash, :{p}status_code, :{p}body)
    ON CONFLICT (tenant_id, scope, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
           body = EXCLUDED.body, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at
     WHERE idempotency_keys.created_at <= :{p}expired_before
    """
_STORE = text(_STORE_SQL.format(p=""))
_REPLY_SQL = _STORE_SQL.format(p="reply_")


def _store_params(ticket: IdempotencyTicket, status_code: int, body: bytes, prefix: str = "") -> dict[str, object]:
    return {
        f"{prefix}tenant_id": ticket.tenant_id,
        f"{prefix}scope": ticket.scope,
        f"{prefix}key": ticket.key,
        f"{prefix}request_hash": ticket.request_hash,
        f"{prefix}status_code": status_code,
        f"{prefix}body": body,
        f"{prefix}expired_before": utcnow() - RETENTION,
    }


def _check_stored(count: int) -> None:
    # Another request with the same key committed first (possible only in the instant between its commit and
    # this request's look-up): raising rolls this one back, so nothing is done twice.
    if count != 1:
        raise IdempotencyConflict("a request with this Idempotency-Key has just completed; retry to see it", status=409)


async def finish_idempotent(session: AsyncSession, ticket: IdempotencyTicket, *, status_code: int, body: bytes) -> None:
    """Store the response in the caller's transaction (it commits with the request's effects).

    If another request with the same key committed first, this raises, so the caller's transaction rolls back.
    """
    _check_stored(await execute(session, _STORE, _store_params(ticket, status_code, body)))


class Replayed(Exception):
    """Raised by :meth:`Reply.settle` when the key already has a response: the journey stops, and the stored
    response is sent again."""

    def __init__(self, response: StoredResponse) -> None:
        super().__init__("replayed")
        self.response = response


class Reply:
    """A request under an idempotency key, as a journey that claims the key and stores the response in its
    own statements sees it.

    :meth:`unclaimed` has not claimed the key yet: the journey's first read carries :data:`CLAIM_COLUMNS` and its
    :meth:`claim_params`, and hands the row to :meth:`settle` (or, without such a read, calls :meth:`claim`),
    which raises :class:`Replayed` for a key already answered and ``IdempotencyConflict`` for a key in use. A
    journey that writes once at its end asks :meth:`part` for the stored response as the last part of that
    statement (:func:`cloudstore.lib.db.write_together`) and hands the statement's count to :meth:`stored`;
    claiming and storing then cost no round trip of their own. For a journey that does neither,
    :func:`begin_idempotent` and :func:`finish_idempotent` run around it, as before.
    """

    __slots__ = ("_claimed", "body", "status_code", "ticket")

    def __init__(self, ticket: IdempotencyTicket, status_code: int, *, claimed: bool = True) -> None:
        self.ticket = ticket
        self.status_code = status_code
        self._claimed = claimed
        self.body: bytes | None = None  #: set by :meth:`part`: the bytes stored, which the client is sent

    @classmethod
    def unclaimed(cls, *, tenant_id: int, scope: str, key: str | None, body: bytes, status_code: int) -> Reply:
        """A request whose key the journey claims itself (the key checked now: 400 without one)."""
        ticket = IdempotencyTicket(tenant_id, scope, validate_key(key), hashlib.sha256(body).hexdigest())
        return cls(ticket, status_code, claimed=False)

    @property
    def claimed(self) -> bool:
        """Whether the key is held (and was not answered before)."""
        return self._claimed

    def claim_params(self) -> dict[str, object]:
        """The parameters of :data:`CLAIM_COLUMNS`."""
        t = self.ticket
        return _claim_params(t.tenant_id, t.scope, t.key)

    def settle(self, row: Mapping[str, Any]) -> None:
        """The claim read with :data:`CLAIM_COLUMNS`: the key is now held, or this raises."""
        outcome = _settle(row, self.ticket)
        if isinstance(outcome, StoredResponse):
            raise Replayed(outcome)
        self._claimed = True

    async def claim(self, session: AsyncSession) -> None:
        """Claim the key in a statement of its own (when the journey reads nothing first); raises as :meth:`settle`."""
        if not self._claimed:
            (row,) = await fetch(session, _LOOKUP, self.claim_params())
            self.settle(row)

    async def claim_again(self, session: AsyncSession) -> None:
        """Claim the key anew after the transaction rolled back to a savepoint taken before the claim (which
        released it); raises as :meth:`settle`."""
        self._claimed = False
        await self.claim(session)

    def part(self, result: msgspec.Struct) -> Part:
        """The stored response (``result`` encoded) as the last part of the journey's statement."""
        if not self._claimed:
            raise RuntimeError("the response of an unclaimed key cannot be stored")
        self.body = msgspec.json.encode(result)
        return Part("reply", _REPLY_SQL, _store_params(self.ticket, self.status_code, self.body, "reply_"))

    @staticmethod
    def stored(count: int) -> None:
        """Check the count of the statement whose last part was :meth:`part`: raises if it stored nothing."""
        _check_stored(count)
