"""Domain errors. Each has a stable machine ``code``; the app factory maps them to problem+json once."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = (
    "Conflict",
    "DomainError",
    "Forbidden",
    "IdempotencyConflict",
    "IdempotencyKeyMissing",
    "InsufficientStock",
    "InvalidSignature",
    "InvalidState",
    "NotFound",
    "ServiceUnavailable",
    "Unauthorized",
    "ValidationFailed",
)


class DomainError(Exception):
    """Base for every error a client may cause; never a server fault."""

    code: ClassVar[str] = "error"
    status: int = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, status: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.extra = extra


class ValidationFailed(DomainError):
    """The request is well-formed but its content is not acceptable."""

    code = "validation_failed"
    status = 422
    title = "Validation failed"


class Unauthorized(DomainError):
    """No valid credentials."""

    code = "unauthorized"
    status = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    """Valid credentials without the right to do this."""

    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    """No such object in this tenant (another tenant's object is also not found)."""

    code = "not_found"
    status = 404
    title = "Not found"

    def __init__(self, what: str, key: str | None = None) -> None:
        super().__init__(f"{what} {key!r} not found" if key is not None else f"{what} not found")


class Conflict(DomainError):
    """The object already exists (a business key is taken)."""

    code = "conflict"
    status = 409
    title = "Conflict"


class InvalidState(DomainError):
    """The object is not in a state that allows this."""

    code = "invalid_state"
    status = 409
    title = "Invalid state"


class InsufficientStock(DomainError):
    """Not enough stock to cover some lines; ``short`` names each SKU and where it was looked for."""

    code = "insufficient_stock"
    status = 409
    title = "Insufficient stock"

    def __init__(self, short: list[dict[str, Any]]) -> None:
        skus = ", ".join(str(s["sku"]) for s in short)
        super().__init__(f"not enough stock for: {skus}", short=short)


class IdempotencyConflict(DomainError):
    """The Idempotency-Key is in use (409) or was used with another body (422)."""

    code = "idempotency_conflict"
    status = 409
    title = "Idempotency conflict"


class IdempotencyKeyMissing(DomainError):
    """A request that must be idempotent came without a key."""

    code = "idempotency_key_required"
    status = 400
    title = "Idempotency-Key required"


class InvalidSignature(DomainError):
    """A provider notification whose signature does not verify."""

    code = "invalid_signature"
    status = 401
    title = "Invalid signature"


class ServiceUnavailable(DomainError):
    """An upstream provider could not be reached; the client may retry."""

    code = "service_unavailable"
    status = 503
    title = "Service unavailable"
