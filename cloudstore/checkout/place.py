"""Placing an order: plan on unlocked stock, price it, lock and reserve the planned rows, then write the order.

Statements: the snapshot (with the pricing terms, the unlocked stock, the new rows' ids and, under an
idempotency key, the key's claim); a savepoint (unless the transaction's first round trip took it,
``lib.db.CHECKOUT_SAVEPOINT``: then the claim, made after it, is made again when the savepoint is rolled back
to); one statement that locks the planned stock rows in key order (``FOR NO KEY UPDATE``) and reserves them if
every one still has enough, and writes the order, its lines, its fulfilments and their lines, the expiry job,
what the ``OrderPlaced`` subscribers write (the webhook outbox) and the stored response, or fails whole if one
row is short (``inventory.reservations.reserve_part``); then the coupon locked (only when one is used). On
Citus the reservation is a statement of its own before the order's, which reserves none if one row is short.
A hot row is held for the order's statement and the commit. An order the snapshot already shows short (a
sold-out flash sale) is refused before anything is locked, and a price or coupon that does not hold is refused
before too. If another order took the stock since the snapshot, nothing was reserved or written, but the rows
that attempt locked stay locked, out of key order for what follows, until the savepoint is rolled back to;
then the rows are locked in key order and the order planned (and priced) again on them.

A cart found short is remembered in the process for :data:`SHORT_FOR` (half a second): the same cart (tenant,
store, lines, delivery) asked for again in that time is refused straight after its idempotency claim, without
reading anything, so the thousands of buyers of a sold-out flash sale are answered at the pace the server can
parse their requests. Stock released or added in that half second is seen by the next look after it.

The price comes from the pure pricing core on the same snapshot as the quote (:mod:`cloudstore.checkout.quote`),
so an unchanged cart costs what it was quoted. An ``expected_total`` that differs is refused before anything is
written; a coupon that cannot be used, or that another order locked first, is refused too.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.inventory import reservations
from cloudstore.lib.db import CHECKOUT_SAVEPOINT, began_with_savepoint, execute, on_one_server
from cloudstore.lib.errors import InsufficientStock
from cloudstore.lib.events import parts_of
from cloudstore.orders import placing
from cloudstore.orders.events import OrderPlaced
from cloudstore.pricing.service.terms import CouponNotUsable, PriceChanged, lock_coupon

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.db import Part
    from cloudstore.lib.idempotency import Reply
    from cloudstore.orders.schemas import OrderCreate, OrderCreated
    from cloudstore.pricing.model import PriceBreakdown

__all__ = ("place_order", "priced_for_placing")

_SAVEPOINT = text(f"SAVEPOINT {CHECKOUT_SAVEPOINT}")
_ROLLBACK_TO_SAVEPOINT = text(f"ROLLBACK TO SAVEPOINT {CHECKOUT_SAVEPOINT}")

#: Seconds a cart found short is answered as short without being planned again.
SHORT_FOR = 0.5
_short: dict[tuple[Any, ...], tuple[float, list[dict[str, Any]]]] = {}
_SHORT_KEPT = 10_000  # carts remembered at most (then forgotten all at once)


def _cart(tenant_id: int, consumer_id: int, data: OrderCreate) -> tuple[Any, ...]:
    """What decides whether the stock covers an order: the tenant, the store (else the consumer's binding),
    the lines and where they go."""
    store = data.store if data.store is not None else consumer_id
    return (tenant_id, store, msgspec.json.encode(data.lines), msgspec.json.encode(data.delivery))


def _known_short(cart: tuple[Any, ...]) -> InsufficientStock | None:
    """The refusal for a cart found short less than :data:`SHORT_FOR` ago, if it was."""
    known = _short.get(cart)
    if known is None:
        return None
    if known[0] > time.monotonic():
        return InsufficientStock(known[1])
    del _short[cart]
    return None


def _remember_short(cart: tuple[Any, ...], exc: InsufficientStock) -> None:
    if len(_short) >= _SHORT_KEPT:
        _short.clear()
    _short[cart] = (time.monotonic() + SHORT_FOR, exc.extra["short"])


def _takes(planned: placing.PlannedOrder) -> list[reservations.Take]:
    return [reservations.Take(loc, sku, qty) for loc, sku, qty in planned.takes()]


def priced_for_placing(basket: placing.Basket, planned: placing.PlannedOrder, now: datetime) -> PriceBreakdown:
    """The price of the planned order, refused when its coupon cannot be used or it is not what was expected."""
    priced = placing.price(basket, planned, now)
    data = basket.data
    if data.coupon is not None and priced.coupon is None:
        verdict = next((v for v in priced.coupons if v.id == data.coupon), None)
        reason = verdict.reason if verdict is not None else "not_available"
        raise CouponNotUsable(
            f"coupon {data.coupon} cannot be used on this order: {reason}",
            errors=[{"coupon": data.coupon, "reason": reason}],
        )
    if data.expected_total is not None and data.expected_total != priced.total:
        raise PriceChanged(
            f"the order now costs {priced.total}, not {data.expected_total}; nothing was placed",
            errors=[{"expected_total": data.expected_total, "total": priced.total}],
        )
    return priced


async def _record(
    session: AsyncSession,
    tenant_id: int,
    basket: placing.Basket,
    planned: placing.PlannedOrder,
    priced: PriceBreakdown,
    now: datetime,
    reply: Reply | None,
    *,
    reserving: bool = False,
) -> OrderCreated:
    def placed(created: OrderCreated) -> list[Part]:
        # The subscribers (the webhook outbox) write in the order's own statement, and the stored response last.
        event = OrderPlaced(
            tenant_id=tenant_id,
            order_no=created.order_no,
            total=created.total,
            expires_at=created.expires_at,
            placed_at=now,
        )
        return [*parts_of(session, event), *([reply.part(created)] if reply is not None else [])]

    first = [reservations.reserve_part(tenant_id, _takes(planned))] if reserving else []
    order_id, created, count = await placing.record(
        session, tenant_id, basket, planned, priced, now, first=first, also=placed
    )
    if reply is not None:
        reply.stored(count)
    if priced.coupon is not None:
        await lock_coupon(
            session,
            tenant_id,
            coupon_id=priced.coupon.id,
            consumer_id=basket.consumer_id,
            order_id=order_id,
            now=now,
        )
    return created


async def _reserve_and_record(
    session: AsyncSession,
    tenant_id: int,
    basket: placing.Basket,
    planned: placing.PlannedOrder,
    priced: PriceBreakdown,
    now: datetime,
    reply: Reply | None,
) -> OrderCreated | None:
    """Reserve the planned stock and record the order, or return None having reserved and written nothing when
    another order took some of that stock since the snapshot.

    On one server the reservation is the first part of the order's statement, which fails whole if a row is
    short; on Citus it is a statement of its own before the order's.
    """
    if await on_one_server(session):
        try:
            return await _record(session, tenant_id, basket, planned, priced, now, reply, reserving=True)
        except Exception as exc:
            if not reservations.taken(exc):
                raise
            return None
    if not await reservations.reserve_if_available(session, tenant_id, _takes(planned)):
        return None
    return await _record(session, tenant_id, basket, planned, priced, now, reply)


async def place_order(
    session: AsyncSession,
    tenant_id: int,
    consumer_id: int,
    data: OrderCreate,
    now: datetime | None = None,
    *,
    reply: Reply | None = None,
) -> OrderCreated:
    """Route and price the order, reserve all of its stock or none, and record it as waiting for payment.

    With ``reply`` (a request under an idempotency key), the key is claimed in the snapshot's statement (unless
    already claimed) and the response stored in the order's.
    """
    now = now or datetime.now(UTC)
    early = began_with_savepoint(session)  # taken before the snapshot, in the transaction's first round trip
    cart = _cart(tenant_id, consumer_id, data)
    short = _known_short(cart)
    if short is not None:
        if reply is not None:
            await reply.claim(session)  # a key answered before is replayed, even for a cart short now
        raise short
    basket = await placing.prepare(session, tenant_id, consumer_id, data, now, claim=reply)
    try:
        planned = placing.plan(basket, basket.stock)
    except InsufficientStock as exc:
        _remember_short(cart, exc)
        raise
    priced = priced_for_placing(basket, planned, now)
    if not early:
        await execute(session, _SAVEPOINT, {})
    created = await _reserve_and_record(session, tenant_id, basket, planned, priced, now, reply)
    if created is not None:
        return created
    # Lost a race for the stock: nothing was reserved or written, but the rows looked at stay locked (out of key
    # order for what follows) until the savepoint is rolled back to. Then plan again on locked, fresh rows.
    await execute(session, _ROLLBACK_TO_SAVEPOINT, {})
    if early and reply is not None:
        await reply.claim_again(session)  # the snapshot's claim came after the savepoint and went with it
    stock = await reservations.available(session, tenant_id, basket.location_ids, basket.sku_ids, lock=True)
    try:
        planned = placing.plan(basket, stock)
    except InsufficientStock as exc:
        _remember_short(cart, exc)
        raise
    priced = priced_for_placing(basket, planned, now)
    await reservations.reserve(session, tenant_id, _takes(planned), basket.sku_codes)
    return await _record(session, tenant_id, basket, planned, priced, now, reply)
