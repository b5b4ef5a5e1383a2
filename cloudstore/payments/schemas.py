"""Payment, refund and provider-notification API types."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from cloudstore.orders.schemas import FulfilmentLineRead, LineIn

__all__ = ("NotificationAck", "PayRequest", "PaymentRead", "RefundCreate", "RefundRead")


class PayRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST .../orders/{order_no}/pay``."""

    provider: Literal["local", "wechat"]


class PaymentRead(msgspec.Struct):
    """What the mini-program needs to pay (``params`` go to ``wx.requestPayment``)."""

    payment_id: str
    provider: str
    params: dict[str, str]


class RefundCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/hq/orders/{order_no}/refunds``: some lines, or ``{"all": true}``.

    Exactly one of ``lines`` and ``"all": true``; a line cannot refund more than is left of it (422 otherwise).
    """

    lines: Annotated[list[LineIn], msgspec.Meta(min_length=1, max_length=50)] | None = None
    all: bool = False


class RefundRead(msgspec.Struct):
    """A refund as recorded."""

    refund_no: str
    order_no: str
    amount: int
    status: str
    lines: list[FulfilmentLineRead]


class NotificationAck(msgspec.Struct):
    """The answer to a provider notification."""

    code: str
    message: str
