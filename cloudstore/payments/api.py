"""Provider notification routes (no token: the provider's signature is the credential)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post

from cloudstore.http.deps import DbSession
from cloudstore.http.problems import problems
from cloudstore.lib.errors import DomainError, InvalidSignature, NotFound, ValidationFailed
from cloudstore.orders.schemas import NotificationAck
from cloudstore.payments.gateways import base as p
from cloudstore.payments.service import PaymentService, scoped_notification

__all__ = ("PaymentNotificationController",)

_log = logging.getLogger(__name__)


async def _handle(request: Request[Any, Any, Any], db: Any, name: str) -> NotificationAck:
    providers = request.app.state.payment_providers
    if name not in providers:
        raise NotFound("payment provider", name)
    body = await request.body()
    try:
        tenant_id, note = await scoped_notification(db, providers[name], dict(request.headers), body, datetime.now(UTC))
    except p.InvalidSignature as exc:
        raise InvalidSignature(str(exc) or "the notification signature does not verify") from exc
    except p.InvalidNotification as exc:
        raise ValidationFailed(str(exc) or "the notification is not usable") from exc
    raw: dict[str, Any] = msgspec.json.decode(body) if body.startswith(b"{") else {}
    try:
        outcome = await PaymentService(db, tenant_id, providers).apply_notification(name, note, raw)
    except p.InvalidNotification as exc:
        _refused(name, note.payment_id, "validation_failed")
        raise ValidationFailed(str(exc) or "the notification is not usable") from exc
    except DomainError as exc:
        # Authentic but not applicable (unknown payment, another order, wrong amount): the transaction rolls
        # back, so nothing changes; the provider gets a 4xx it will not retry as a fault of ours.
        _refused(name, note.payment_id, exc.code)
        raise
    _log.info("payment notification", extra={"provider": name, "payment": note.payment_id, "outcome": outcome})
    return NotificationAck(code="SUCCESS", message=outcome)


def _refused(provider: str, payment_id: str, code: str) -> None:
    _log.warning("payment notification refused", extra={"provider": provider, "payment": payment_id, "code": code})


class PaymentNotificationController(Controller):
    """Asynchronous payment and refund notifications."""

    path = "/v1/payments"
    tags = ["payments"]  # noqa: RUF012

    @post(
        "/local/notify",
        status_code=200,
        responses=problems(401, 404, 409, 422),
        summary="Local provider notification (HMAC-signed)",
        security=[],
    )
    async def local_notify(self, request: Request[Any, Any, Any], db: DbSession) -> NotificationAck:
        """Body signed with ``X-Local-Signature``; a repeat is acknowledged and changes nothing."""
        return await _handle(request, db, "local")

    @post(
        "/wechat/notify",
        status_code=200,
        responses=problems(401, 404, 409, 422),
        summary="WeChat Pay v3 notification",
        security=[],
    )
    async def wechat_notify(self, request: Request[Any, Any, Any], db: DbSession) -> Response[NotificationAck]:
        """Verifies the Wechatpay-* signature headers, decrypts ``resource``, then applies it once."""
        return Response(await _handle(request, db, "wechat"), status_code=200)
