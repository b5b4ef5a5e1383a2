"""Tenancy API types and the policy documents each tenant keeps."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = (
    "AdminAccount",
    "AttributionPolicyDoc",
    "CommissionPolicyDoc",
    "CommissionRatesDoc",
    "OrderPolicyDoc",
    "RoutingPolicyDoc",
    "TenantCreate",
    "TenantRead",
)

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="lower-case letters, digits, -")]
Username = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=3000)]


class AdminAccount(msgspec.Struct, forbid_unknown_fields=True):
    """The first HQ account of a new tenant."""

    username: Username
    password: Password


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /v1/platform/tenants``."""

    slug: Slug
    name: Name
    admin: AdminAccount


class TenantRead(msgspec.Struct):
    """A tenant as the platform sees it."""

    slug: str
    name: str


class RoutingPolicyDoc(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    """``PUT /v1/hq/policies/routing``: how orders pick the locations that fulfil them."""

    tier_order: list[Literal["store", "regional", "central"]] = msgspec.field(
        default_factory=lambda: ["store", "regional", "central"]
    )
    max_shipments: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    allow_line_split: bool = False
    default_radius_km: Annotated[float, msgspec.Meta(ge=0, le=500)] = 5.0
    ship_to_store: bool = False


class AttributionPolicyDoc(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /v1/hq/policies/attribution``: how consumers are bound to stores and KOCs."""

    model: Literal["first_touch", "last_touch"] = "first_touch"
    protection_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 15
    binding_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = 30
    self_referral: bool = False


class CommissionRatesDoc(msgspec.Struct, forbid_unknown_fields=True):
    """Commission rates in basis points (1 bp = 0.01%)."""

    store_bp: BasisPoints = 0
    distributor_bp: BasisPoints = 0
    koc_bp: BasisPoints = 0


class CommissionPolicyDoc(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /v1/hq/policies/commission``: default rates, optional overrides, and the freeze after completion."""

    store_bp: BasisPoints = 0
    distributor_bp: BasisPoints = 0
    koc_bp: BasisPoints = 0
    frozen_days: Annotated[int, msgspec.Meta(ge=0, le=365)] = 7
    by_category: dict[str, CommissionRatesDoc] = msgspec.field(default_factory=dict)
    by_product: dict[str, CommissionRatesDoc] = msgspec.field(default_factory=dict)


class OrderPolicyDoc(msgspec.Struct, forbid_unknown_fields=True):
    """Order settings: how long an unpaid order holds its stock, whether sold-out items are listed."""

    payment_ttl_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 15
    hide_sold_out: bool = False
