"""Creating tenants and reading/writing their policies (the tenants and tenant_policies tables)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cloudstore.lib.db import set_tenant
from cloudstore.lib.errors import Conflict, ValidationFailed
from cloudstore.tenancy.schemas import (
    AttributionPolicyDoc,
    CommissionPolicyDoc,
    CommissionRatesDoc,
    OrderPolicyDoc,
    RoutingPolicyDoc,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("PolicyKind", "TenantService", "load_policies", "policies_from_row")

PolicyKind = str
_DOCS: dict[str, type[msgspec.Struct]] = {
    "routing": RoutingPolicyDoc,
    "attribution": AttributionPolicyDoc,
    "commission": CommissionPolicyDoc,
    "orders": OrderPolicyDoc,
}
T = TypeVar("T", bound=msgspec.Struct)


class Policies(msgspec.Struct, frozen=True):
    """All of one tenant's policies, defaults filled in."""

    routing: RoutingPolicyDoc
    attribution: AttributionPolicyDoc
    commission: CommissionPolicyDoc
    orders: OrderPolicyDoc


def _doc(kind: type[T], raw: dict[str, Any] | None) -> T:
    return msgspec.convert(raw or {}, kind)


def _maybe_json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


async def load_policies(session: AsyncSession, tenant_id: int) -> Policies:
    """The tenant's policies (one query)."""
    row = (
        await session.execute(
            text("SELECT routing, attribution, commission, orders FROM tenant_policies WHERE tenant_id = :t"),
            {"t": tenant_id},
        )
    ).first()
    return policies_from_row(row)


def policies_from_row(row: Any) -> Policies:
    """Policies from a ``(routing, attribution, commission, orders)`` row (JSON documents or text), or defaults."""
    routing, attribution, commission, orders = (
        (_maybe_json(v) for v in row) if row is not None else (None, None, None, None)
    )
    return Policies(
        routing=_doc(RoutingPolicyDoc, routing),
        attribution=_doc(AttributionPolicyDoc, attribution),
        commission=_doc(CommissionPolicyDoc, commission),
        orders=_doc(OrderPolicyDoc, orders),
    )


def check_commission(doc: CommissionPolicyDoc) -> None:
    """Rates add up to at most 30% (the WeChat Pay profit-sharing ceiling), everywhere."""
    everywhere: list[tuple[str, CommissionPolicyDoc | CommissionRatesDoc]] = [
        ("default", doc),
        *doc.by_category.items(),
        *doc.by_product.items(),
    ]
    for where, rates in everywhere:
        total = rates.store_bp + rates.distributor_bp + rates.koc_bp
        if total > 3000:
            raise ValidationFailed(f"commission rates for {where} add up to {total} bp; the most allowed is 3000")


def check_routing(doc: RoutingPolicyDoc) -> None:
    """Tier order names each tier at most once and at least one."""
    if not doc.tier_order or len(set(doc.tier_order)) != len(doc.tier_order):
        raise ValidationFailed("tier_order must list each of store, regional, central at most once")


class TenantService:
    """Tenants and their policies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, *, slug: str, name: str) -> int:
        """Create a tenant with default policies and scope the session to it; returns its id.

        Its first HQ account is auth's to create (``cloudstore.auth.tenants.create_tenant`` does both).

        Raises:
            Conflict: a tenant with this slug exists.
        """
        try:
            async with self.session.begin_nested():
                tenant_id = (
                    await self.session.execute(
                        text("INSERT INTO tenants (slug, name) VALUES (:slug, :name) RETURNING id"),
                        {"slug": slug, "name": name},
                    )
                ).scalar_one()
        except IntegrityError as exc:
            raise Conflict(f"tenant {slug!r} already exists") from exc
        await set_tenant(self.session, tenant_id)
        await self.session.execute(text("INSERT INTO tenant_policies (tenant_id) VALUES (:t)"), {"t": tenant_id})
        return int(tenant_id)

    async def set_policy(self, tenant_id: int, kind: str, doc: msgspec.Struct) -> None:
        """Replace one policy document."""
        if kind not in _DOCS:
            raise ValueError(kind)
        if isinstance(doc, CommissionPolicyDoc):
            check_commission(doc)
        if isinstance(doc, RoutingPolicyDoc):
            check_routing(doc)
        if (
            isinstance(doc, AttributionPolicyDoc)
            and doc.binding_days is not None
            and doc.protection_days > doc.binding_days
        ):
            raise ValidationFailed(
                f"protection_days ({doc.protection_days}) cannot be longer than binding_days ({doc.binding_days})"
            )
        await self.session.execute(
            text(
                f"INSERT INTO tenant_policies (tenant_id, {kind}) VALUES (:t, CAST(:doc AS jsonb)) "  # noqa: S608
                f"ON CONFLICT (tenant_id) DO UPDATE SET {kind} = EXCLUDED.{kind}, updated_at = EXCLUDED.updated_at"
            ),
            {"t": tenant_id, "doc": msgspec.json.encode(doc).decode()},
        )
