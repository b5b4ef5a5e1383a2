"""The ``[pricing]`` section of tenant files: the delivery policy, promotions and coupons, matched by code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import text

from cloudstore.lib.errors import ValidationFailed
from cloudstore.pricing.schemas import CouponCreate, CouponFileEntry, PricingSection, PromotionCreate
from cloudstore.pricing.service.coupons import CouponService
from cloudstore.pricing.service.policy import DeliveryPolicyService
from cloudstore.pricing.service.promotions import PromotionService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cloudstore.lib.settings import Settings
    from cloudstore.tenancy.tenantfile import ApplyReport, TenantFile

__all__ = ("apply_pricing",)

_TERMS = ("name", "kind", "value", "min_goods", "max_discount", "categories", "products", "valid_from", "valid_until")
_COUPON_TERMS = (*_TERMS, "total", "per_consumer", "valid_days", "stackable", "store_id")


def _section(doc: TenantFile) -> PricingSection:
    try:
        return msgspec.convert(doc.pricing, PricingSection)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(f"tenant file: pricing: {exc}") from exc


def _same(current: Any, wanted: dict[str, Any], columns: tuple[str, ...]) -> bool:
    return all(
        (list(getattr(current, c)) if isinstance(getattr(current, c), list | tuple) else getattr(current, c))
        == wanted[c]
        for c in columns
    )


async def _apply_promotions(
    session: AsyncSession, tenant_id: int, section: PricingSection, report: ApplyReport
) -> None:
    service = PromotionService(session)
    for entry in section.promotions:
        wanted = {**msgspec.structs.asdict(entry), "t": tenant_id}
        current = (
            await session.execute(
                text(
                    "SELECT name, kind, value, min_goods, max_discount, categories, products, valid_from, valid_until, "
                    "active FROM promotions WHERE tenant_id = :t AND code = :code"
                ),
                wanted,
            )
        ).first()
        if current is None:
            create = msgspec.convert(
                {k: v for k, v in wanted.items() if k in PromotionCreate.__struct_fields__}, PromotionCreate
            )
            await service.create(tenant_id, create, active=entry.active)
            report.count("pricing", "created")
        elif _same(current, wanted, (*_TERMS, "active")):
            report.count("pricing", "unchanged")
        else:
            await session.execute(
                text(
                    "UPDATE promotions SET name = :name, kind = :kind, value = :value, min_goods = :min_goods, "
                    "max_discount = :max_discount, categories = :categories, products = :products, "
                    "valid_from = :valid_from, valid_until = :valid_until, active = :active "
                    "WHERE tenant_id = :t AND code = :code"
                ),
                wanted,
            )
            report.count("pricing", "updated")


async def _store_id(session: AsyncSession, tenant_id: int, entry: CouponFileEntry) -> int | None:
    if entry.store is None:
        return None
    found = (
        await session.execute(
            text("SELECT id FROM stores WHERE tenant_id = :t AND code = :c"), {"t": tenant_id, "c": entry.store}
        )
    ).scalar_one_or_none()
    if found is None:
        raise ValidationFailed(f"tenant file: pricing coupon {entry.code}: store {entry.store!r} does not exist")
    return int(found)


async def _apply_coupons(session: AsyncSession, tenant_id: int, section: PricingSection, report: ApplyReport) -> None:
    service = CouponService(session)
    for entry in section.coupons:
        store_id = await _store_id(session, tenant_id, entry)
        wanted = {**msgspec.structs.asdict(entry), "t": tenant_id, "store_id": store_id}
        if entry.kind == "free_delivery":
            wanted["value"] = 0
        current = (
            await session.execute(
                text(f"SELECT {', '.join(_COUPON_TERMS)} FROM coupons WHERE tenant_id = :t AND code = :code"),  # noqa: S608 - fixed names
                wanted,
            )
        ).first()
        if current is None:
            create = msgspec.convert(
                {k: v for k, v in wanted.items() if k in CouponCreate.__struct_fields__}, CouponCreate
            )
            await service.create(tenant_id, create, store_id=store_id)
            report.count("pricing", "created")
        elif _same(current, wanted, _COUPON_TERMS):
            report.count("pricing", "unchanged")
        else:
            sets = ", ".join(f"{c} = :{c}" for c in _COUPON_TERMS)
            await session.execute(
                text(f"UPDATE coupons SET {sets} WHERE tenant_id = :t AND code = :code"),  # noqa: S608 - fixed names
                wanted,
            )
            report.count("pricing", "updated")


async def apply_pricing(
    session: AsyncSession, tenant_id: int, doc: TenantFile, report: ApplyReport, settings: Settings
) -> None:
    """Set the delivery policy when it differs, and create or update the file's promotions and coupons."""
    del settings
    section = _section(doc)
    if section.delivery is not None:
        policies = DeliveryPolicyService(session)
        current = await policies.get(tenant_id)
        if msgspec.to_builtins(current) == msgspec.to_builtins(section.delivery):
            report.count("pricing", "unchanged")
        else:
            await policies.set(tenant_id, section.delivery, datetime.now(UTC))
            report.count("pricing", "updated")
    await _apply_promotions(session, tenant_id, section, report)
    await _apply_coupons(session, tenant_id, section, report)
