"""Running a route handler under an ``Idempotency-Key`` (see :mod:`cloudstore.lib.idempotency`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import MediaType, Response
from litestar.params import HeaderParameter

from cloudstore.lib.idempotency import (
    MAX_KEY_LENGTH,
    Replayed,
    Reply,
    StoredResponse,
    begin_idempotent,
    finish_idempotent,
)

if TYPE_CHECKING:
    from litestar import Request
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("IDEMPOTENCY_HEADER", "IdempotencyKey", "OptionalIdempotencyKey", "idempotent")

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _key_header(*, required: bool) -> Any:
    """The header's parameter: 1-255 printable ASCII characters."""
    extra: dict[str, Any] = {"schema_extra": {"type": "string", "oneOf": None}} if required else {}
    return HeaderParameter(
        name=IDEMPOTENCY_HEADER,
        required=required,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=r"^[\x20-\x7e]+$",
        description=("" if required else "Optional. ")
        + "1-255 printable ASCII characters; a repeat with the same body replays the first response.",
        **extra,
    )


# Declared required in the OpenAPI document, but typed optional so that a missing key still reaches
# validate_key and answers 400 ``idempotency_key_required`` rather than a generic 422.
IdempotencyKey = Annotated[str | None, _key_header(required=True)]
# For a route that gained the header after clients were built against it: without one it runs as before.
OptionalIdempotencyKey = Annotated[str | None, _key_header(required=False)]


def _replay(stored: StoredResponse) -> Response[Any]:
    return Response(
        content=stored.body,
        status_code=stored.status_code,
        media_type=MediaType.JSON,
        headers={"Idempotent-Replayed": "true"},
    )


async def idempotent(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    *,
    tenant_id: int,
    scope: str,
    status_code: int,
    key: str | None,
    run: Callable[[Reply], Awaitable[msgspec.Struct]],
    journey_claims: bool = False,
) -> Response[Any]:
    """Run ``run`` at most once for this key; replay its stored response for repeats.

    ``scope`` names the caller and the operation (e.g. ``consumer:7:orders``) so one caller's key never
    matches another's. ``run`` is handed the :class:`~cloudstore.lib.idempotency.Reply`. With
    ``journey_claims``, the journey claims the key in its first read (and may raise ``Replayed``); else the key
    is claimed before it runs. A journey that stores the response in its own last statement sends what it
    stored; for any other the response is stored after it.
    """
    body = await request.body()
    if journey_claims:
        reply = Reply.unclaimed(tenant_id=tenant_id, scope=scope, key=key, body=body, status_code=status_code)
        try:
            result = await run(reply)
        except Replayed as replayed:
            return _replay(replayed.response)
        if not reply.claimed:  # pragma: no cover - a journey that forgot its claim
            raise RuntimeError("the journey did not claim its idempotency key")
    else:
        claim = await begin_idempotent(db, tenant_id=tenant_id, scope=scope, key=key, body=body)
        if isinstance(claim, StoredResponse):
            return _replay(claim)
        reply = Reply(claim, status_code)
        result = await run(reply)
    encoded = reply.body
    if encoded is None:
        encoded = msgspec.json.encode(result)
        await finish_idempotent(db, reply.ticket, status_code=status_code, body=encoded)
    return Response(content=encoded, status_code=status_code, media_type=MediaType.JSON)
