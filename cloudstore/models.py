"""Every table, imported in dependency order so the metadata is complete (Alembic, schema tests)."""

from __future__ import annotations

from cloudstore.aftersales.models import AfterSale, AfterSaleLine
from cloudstore.analytics.models import (
    AnalyticsPolicyRow,
    CloudShelfLine,
    ConsumerMilestones,
    KocDaily,
    OrderFacts,
    SegmentCounts,
    StoreDaily,
    StoreTotals,
    TenantDaily,
)
from cloudstore.auth.models import Consumer, Staff
from cloudstore.catalog.models import Product, Sku
from cloudstore.codes.models import Code, CodeBatch, CodePolicyRow, CodeScan, CodeShipment
from cloudstore.integrations.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from cloudstore.inventory.models import StockLevel, StockMovement
from cloudstore.lib.idempotency import IdempotencyRecord
from cloudstore.lib.jobs import Job
from cloudstore.lib.tables import metadata
from cloudstore.orders.models import Fulfilment, FulfilmentLine, Order, OrderLine
from cloudstore.payments.models import Payment, PaymentEvent, Refund
from cloudstore.pricing.models import ConsumerCoupon, Coupon, DeliveryPolicyRow, Promotion
from cloudstore.referrals.models import Binding, CommissionTerms, Koc, LedgerEntry, Settlement, Touch
from cloudstore.stores.models import Distributor, Location, Store, StorefrontItem, StoreSkuPrice
from cloudstore.tenancy.models import Tenant, TenantPolicy

__all__ = (
    "PLATFORM_TABLES",
    "AfterSale",
    "AfterSaleLine",
    "AnalyticsPolicyRow",
    "ApiKey",
    "Binding",
    "CloudShelfLine",
    "Code",
    "CodeBatch",
    "CodePolicyRow",
    "CodeScan",
    "CodeShipment",
    "CommissionTerms",
    "Consumer",
    "ConsumerCoupon",
    "ConsumerMilestones",
    "Coupon",
    "DeliveryPolicyRow",
    "Distributor",
    "Fulfilment",
    "FulfilmentLine",
    "IdempotencyRecord",
    "Job",
    "Koc",
    "KocDaily",
    "LedgerEntry",
    "Location",
    "Order",
    "OrderFacts",
    "OrderLine",
    "Payment",
    "PaymentEvent",
    "Product",
    "Promotion",
    "Refund",
    "SegmentCounts",
    "Settlement",
    "Sku",
    "Staff",
    "StockLevel",
    "StockMovement",
    "Store",
    "StoreDaily",
    "StoreSkuPrice",
    "StoreTotals",
    "StorefrontItem",
    "Tenant",
    "TenantDaily",
    "TenantPolicy",
    "Touch",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
)

# Tables that belong to the platform rather than to one tenant: no tenant_id, no row-level security.
PLATFORM_TABLES = frozenset({"tenants", "alembic_version"})
