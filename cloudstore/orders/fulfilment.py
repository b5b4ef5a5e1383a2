"""Fulfilments: moving them forward (shipping takes the goods out of stock), completing the order when all are
done, and cancelling or shrinking the unshipped ones when an order is closed or refunded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from cloudstore.inventory.reservations import consume_fulfilment
from cloudstore.lib.errors import InvalidState, NotFound, ValidationFailed
from cloudstore.orders.events import FulfilmentMoved, OrderCompleted, publish
from cloudstore.orders.reading import OrderService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.auth.tokens import Principal
    from cloudstore.orders.schemas import FulfilmentRead, Shipment

__all__ = (
    "FulfilmentService",
    "HeldUnits",
    "cancel_unshipped",
    "lock_unshipped_units",
    "shrink_unshipped",
    "unshipped_units",
)


class FulfilmentService:
    """Moving fulfilments forward: ship, ready, deliver, pickup."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fulfil(
        self,
        tenant_id: int,
        fulfilment_id: int,
        action: str,
        principal: Principal,
        shipment: Shipment | None = None,
    ) -> FulfilmentRead:
        """Move one fulfilment forward; stores act on their own, distributors on their warehouses, HQ on all.

        ``shipment`` (carrier and tracking number) goes with ``ship`` only. The change is published as a
        :class:`FulfilmentMoved` event in this transaction.
        """
        if shipment is not None and action != "ship":
            raise ValidationFailed("a carrier and tracking number go with ship only")
        f = (
            await self.session.execute(
                text(
                    """
                    SELECT f.id, f.order_id, f.kind, f.status, f.location_id, l.code AS location, l.kind AS lkind,
                           l.distributor_id, o.status AS order_status, o.order_no, s.id AS store_id
                    FROM fulfilments f
                    JOIN orders o ON o.tenant_id = f.tenant_id AND o.id = f.order_id
                    JOIN locations l ON l.tenant_id = f.tenant_id AND l.id = f.location_id
                    LEFT JOIN stores s ON s.tenant_id = l.tenant_id AND s.location_id = l.id
                    WHERE f.tenant_id = :t AND f.id = :f
                    FOR NO KEY UPDATE OF f, o
                    """
                ),
                {"t": tenant_id, "f": fulfilment_id},
            )
        ).first()
        if f is None or not _may_act(principal, f):
            raise NotFound("fulfilment", str(fulfilment_id))
        new_status = _next_status(f.kind, f.status, action)
        if f.order_status != "paid":
            raise InvalidState(f"order {f.order_no} is {f.order_status}; only paid orders are fulfilled")
        if action in ("ship", "pickup"):
            await consume_fulfilment(
                self.session,
                tenant_id,
                f.id,
                f.location_id,
                reason="ship" if f.kind == "delivery" else "pickup",
                reference=f.order_no,
                actor=principal.actor,
            )
        await self.session.execute(
            text(
                "UPDATE fulfilments SET status = :s, updated_at = now(), "
                "shipped_at = CASE WHEN :s IN ('shipped', 'ready_for_pickup') THEN :at ELSE shipped_at END, "
                "completed_at = CASE WHEN :s IN ('delivered', 'picked_up') THEN :at ELSE completed_at END, "
                "carrier = COALESCE(:carrier, carrier), tracking_no = COALESCE(:tracking, tracking_no) "
                "WHERE tenant_id = :t AND id = :f"
            ),
            # the time is a parameter: Citus refuses now() inside a CASE
            {
                "s": new_status,
                "t": tenant_id,
                "f": f.id,
                "at": (at := datetime.now(UTC)),
                "carrier": shipment.carrier if shipment else None,
                "tracking": shipment.tracking_no if shipment else None,
            },
        )
        if new_status in ("delivered", "picked_up"):
            await self._complete_if_done(tenant_id, f.order_id)
        _lines, fulfilments = await OrderService(self.session).lines_and_fulfilments(tenant_id, f.order_id)
        moved = next(x for x in fulfilments if x.id == f.id)
        await publish(
            self.session,
            FulfilmentMoved(
                tenant_id=tenant_id,
                fulfilment_id=f.id,
                order_no=f.order_no,
                location=f.location,
                status=new_status,
                carrier=moved.carrier,
                tracking_no=moved.tracking_no,
                at=at,
            ),
        )
        return moved

    async def _complete_if_done(self, tenant_id: int, order_id: int) -> None:
        done = (
            await self.session.execute(
                text(
                    """
                    UPDATE orders o SET status = 'completed', completed_at = now(), updated_at = now()
                    WHERE o.tenant_id = :t AND o.id = :o AND o.status = 'paid'
                      AND NOT EXISTS (SELECT 1 FROM fulfilments f WHERE f.tenant_id = o.tenant_id AND f.order_id = o.id
                                      AND f.status NOT IN ('delivered', 'picked_up', 'cancelled'))
                    RETURNING completed_at
                    """
                ),
                {"t": tenant_id, "o": order_id},
            )
        ).first()
        if done is not None:
            await publish(
                self.session,
                OrderCompleted(tenant_id=tenant_id, order_id=order_id, completed_at=done.completed_at),
            )


_TRANSITIONS = {
    ("delivery", "pending", "ship"): "shipped",
    ("delivery", "shipped", "deliver"): "delivered",
    ("pickup", "pending", "ready"): "ready_for_pickup",
    ("pickup", "ready_for_pickup", "pickup"): "picked_up",
}


def _next_status(kind: str, status: str, action: str) -> str:
    new = _TRANSITIONS.get((kind, status, action))
    if new is None:
        raise InvalidState(f"cannot {action} a {kind} fulfilment that is {status}")
    return new


def _may_act(principal: Principal, f: Any) -> bool:
    if principal.role == "hq":
        return principal.location is None or f.location == principal.location  # a location-bound API key
    if principal.role == "store":
        return f.store_id is not None and f.store_id == principal.store_id
    if principal.role == "distributor":
        return f.lkind != "store" and f.distributor_id is not None and f.distributor_id == principal.distributor_id
    return False


@dataclass(frozen=True)
class HeldUnits:
    """Units of one SKU an unshipped fulfilment holds at its location."""

    fulfilment_id: int
    location_id: int
    sku_id: int
    qty: int


async def cancel_unshipped(session: AsyncSession, tenant_id: int, order_id: int) -> None:
    """Cancel the order's fulfilments that have not left (their stock is released by the caller first)."""
    await session.execute(
        text(
            "UPDATE fulfilments SET status = 'cancelled', updated_at = now() "
            "WHERE tenant_id = :t AND order_id = :o AND status IN ('pending', 'ready_for_pickup')"
        ),
        {"t": tenant_id, "o": order_id},
    )


async def lock_unshipped_units(
    session: AsyncSession, tenant_id: int, order_id: int, sku_ids: list[int]
) -> list[HeldUnits]:
    """The unshipped fulfilment lines of these SKUs, locked, by location then SKU."""
    rows = (
        await session.execute(
            text(
                "SELECT f.id, f.location_id, fl.sku_id, fl.qty FROM fulfilments f JOIN fulfilment_lines fl "
                "ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id "
                "WHERE f.tenant_id = :t AND f.order_id = :o AND f.status IN ('pending', 'ready_for_pickup') "
                "AND fl.sku_id = ANY(CAST(:skus AS bigint[])) ORDER BY f.location_id, fl.sku_id "
                "FOR NO KEY UPDATE OF fl"
            ),
            {"t": tenant_id, "o": order_id, "skus": sku_ids},
        )
    ).all()
    return [HeldUnits(fulfilment_id=r.id, location_id=r.location_id, sku_id=r.sku_id, qty=r.qty) for r in rows]


async def shrink_unshipped(session: AsyncSession, tenant_id: int, held: HeldUnits, qty: int) -> None:
    """Take ``qty`` units out of a fulfilment line: all of it, the line goes; part of it, the line shrinks."""
    await session.execute(
        text(
            "WITH gone AS (DELETE FROM fulfilment_lines WHERE tenant_id = :t AND fulfilment_id = :f "
            "AND sku_id = :k AND qty = :n RETURNING 1) "
            "UPDATE fulfilment_lines SET qty = qty - :n WHERE tenant_id = :t AND fulfilment_id = :f "
            "AND sku_id = :k AND qty > :n"
        ),
        {"t": tenant_id, "f": held.fulfilment_id, "l": held.location_id, "k": held.sku_id, "n": qty},
    )


async def unshipped_units(session: AsyncSession, tenant_id: int, order_id: int) -> dict[int, int]:
    """Units of each SKU the order's fulfilments still hold (not shipped or picked up), by SKU id."""
    rows = (
        await session.execute(
            text(
                "SELECT fl.sku_id, sum(fl.qty) AS qty FROM fulfilments f JOIN fulfilment_lines fl "
                "ON fl.tenant_id = f.tenant_id AND fl.fulfilment_id = f.id "
                "WHERE f.tenant_id = :t AND f.order_id = :o AND f.status IN ('pending', 'ready_for_pickup') "
                "GROUP BY fl.sku_id"
            ),
            {"t": tenant_id, "o": order_id},
        )
    ).all()
    return {int(r.sku_id): int(r.qty) for r in rows}
