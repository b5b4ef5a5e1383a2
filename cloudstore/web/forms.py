"""The checkout form: the order body it describes, and placing that order once however often it is posted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from cloudstore.checkout.place import place_order
from cloudstore.lib.errors import ValidationFailed
from cloudstore.lib.idempotency import Replayed, Reply
from cloudstore.orders.schemas import DeliveryIn, LineIn, OrderCreate, OrderCreated
from cloudstore.web.requests import visit_koc
from cloudstore.web.visit import VISIT_COOKIE, decode_visit

if TYPE_CHECKING:
    from litestar import Request
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.auth.tokens import Principal
    from cloudstore.web.visit import CartItem

__all__ = ("order_from_form", "place_once")


def order_from_form(items: list[CartItem], form: Any, store: str, request: Request[Any, Any, Any]) -> OrderCreate:
    """The order body the checkout form describes: the cart, the delivery choice and the chosen coupon."""
    if not items:
        raise ValidationFailed("购物车是空的")
    coupon = (form.get("coupon") or "").strip()
    if coupon and not coupon.isdigit():
        raise ValidationFailed("优惠券有误")
    return OrderCreate(
        lines=[LineIn(sku=i.sku, qty=i.qty) for i in items],
        delivery=delivery_from_form(form),
        store=store,
        koc=visit_koc(decode_visit(request.cookies.get(VISIT_COOKIE)), store),
        coupon=int(coupon) if coupon else None,
    )


def delivery_from_form(form: Any) -> DeliveryIn:
    """The checkout form's delivery choice, validated as the JSON route validates it."""
    mode = form.get("mode")
    raw: dict[str, Any] = {"mode": mode}
    if mode == "delivery":
        for field in ("region", "address", "contact", "phone"):
            value = (form.get(field) or "").strip()
            if value:
                raw[field] = value
        for field in ("lat", "lng"):
            value = (form.get(field) or "").strip()
            if value:
                try:
                    raw[field] = float(value)
                except ValueError:
                    raise ValidationFailed("坐标必须是数字") from None
    try:
        return msgspec.convert(raw, DeliveryIn)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(f"配送信息不完整或有误：{exc}") from exc


async def place_once(
    db: AsyncSession, tenant_id: int, consumer: Principal, order: OrderCreate, form_key: str | None
) -> OrderCreated:
    """Place ``order`` under the checkout form's key, so a form posted twice places it once."""
    if not form_key:
        raise ValidationFailed("结算表单已失效，请重新打开结算页")
    body = msgspec.json.encode(order)
    reply = Reply.unclaimed(
        tenant_id=tenant_id, scope=f"{consumer.actor}:web-orders", key=form_key, body=body, status_code=201
    )
    try:
        return await place_order(db, tenant_id, consumer.subject_id, order, reply=reply)
    except Replayed as replayed:
        again: OrderCreated = msgspec.json.decode(replayed.response.body, type=OrderCreated)
        return again
