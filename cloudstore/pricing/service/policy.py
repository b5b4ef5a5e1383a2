"""The tenant's delivery policy: one document, replaced whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import text

from cloudstore.pricing.schemas import DeliveryPolicyDoc
from cloudstore.pricing.service.terms import DEFAULT_DELIVERY, json_value

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("DeliveryPolicyService",)


class DeliveryPolicyService:
    """The tenant's delivery policy."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: int) -> DeliveryPolicyDoc:
        """The policy in force (the free default when none was set)."""
        raw = (
            await self.session.execute(
                text("SELECT policy FROM delivery_policies WHERE tenant_id = :t"), {"t": tenant_id}
            )
        ).scalar_one_or_none()
        return msgspec.convert(json_value(raw), DeliveryPolicyDoc) if raw is not None else DEFAULT_DELIVERY

    async def set(self, tenant_id: int, doc: DeliveryPolicyDoc, now: datetime) -> DeliveryPolicyDoc:
        """Replace the policy."""
        await self.session.execute(
            text(
                "INSERT INTO delivery_policies (tenant_id, policy, updated_at) VALUES (:t, CAST(:p AS jsonb), :now) "
                "ON CONFLICT (tenant_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at"
            ),
            {"t": tenant_id, "p": msgspec.json.encode(doc).decode(), "now": now},
        )
        return doc
