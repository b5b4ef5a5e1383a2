"""The one list of what the app and the worker are made of.

Every controller, job handler, event subscriber, tenant-file section and payment provider is named here and
imported plainly, so a missing or misspelt piece is an ImportError at start-up rather than a route, job or
subscriber that silently is not there. Nothing registers itself by being imported; :mod:`cloudstore.app`
and :mod:`cloudstore.cli` hand these lists to Litestar, the :class:`~cloudstore.lib.jobs.Worker`, the
:class:`~cloudstore.lib.events.EventBus` and the tenant-file applier.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from cloudstore.aftersales.events import AfterSaleRefunded, AfterSaleRequested
from cloudstore.analytics.api import (
    AnalyticsPolicyController,
    DistributorAnalyticsController,
    DistributorReportController,
    HqAnalyticsController,
    HqReportController,
    StoreAnalyticsController,
)
from cloudstore.analytics.maintain import RECOMPUTE_JOB, on_consumer_bound, on_touch
from cloudstore.analytics.maintain import on_order_paid as analytics_order_paid
from cloudstore.analytics.maintain import on_order_refunded as analytics_order_refunded
from cloudstore.analytics.rfm import recompute_job
from cloudstore.auth.api import (
    ConsumerAdminController,
    ConsumerAuthController,
    PlatformController,
    PolicyController,
    StaffController,
    TokenController,
)
from cloudstore.auth.tenantfile import apply_admin, apply_staff
from cloudstore.catalog.api import HqCategoryController, HqProductController
from cloudstore.catalog.tenantfile import apply_products
from cloudstore.checkout.after_sales_api import (
    HqAfterSaleController,
    ShopAfterSaleController,
    StoreAfterSaleController,
)
from cloudstore.checkout.api import (
    HqCheckoutController,
    PaymentNotificationController,
    ShopCheckoutController,
    ShopQuoteController,
    ShopScanController,
)
from cloudstore.checkout.cancel import expire_order
from cloudstore.codes.api import CodePolicyController, HqCodeBatchController, HqCodeController, HqCodeShipmentController
from cloudstore.codes.events import CodeDiverted
from cloudstore.codes.service import GENERATE_JOB, generate
from cloudstore.codes.tenantfile import apply_codes
from cloudstore.integrations.api import HqApiKeyController, HqWebhookController
from cloudstore.integrations.delivery import DELIVER_JOB, WebhookSender, deliver
from cloudstore.integrations.subscribers import on_after_sale_refunded as webhook_after_sale_refunded
from cloudstore.integrations.subscribers import on_after_sale_requested as webhook_after_sale_requested
from cloudstore.integrations.subscribers import on_code_diverted as webhook_code_diverted
from cloudstore.integrations.subscribers import on_commission_available as webhook_commission_available
from cloudstore.integrations.subscribers import on_fulfilment_moved as webhook_fulfilment_moved
from cloudstore.integrations.subscribers import on_order_closed as webhook_order_closed
from cloudstore.integrations.subscribers import on_order_paid as webhook_order_paid
from cloudstore.integrations.subscribers import on_order_placed as webhook_order_placed
from cloudstore.integrations.subscribers import on_order_refunded as webhook_order_refunded
from cloudstore.integrations.subscribers import on_settlement_created as webhook_settlement_created
from cloudstore.inventory.api import DistributorStockController, HqStockController
from cloudstore.inventory.tenantfile import apply_stock
from cloudstore.orders.api import (
    DistributorFulfilmentController,
    HqFulfilmentController,
    HqOrderController,
    ShopOrderController,
    StoreOrderController,
)
from cloudstore.orders.events import (
    FulfilmentMoved,
    OrderClosed,
    OrderCompleted,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
)
from cloudstore.payments.gateways.local import LocalPaymentProvider
from cloudstore.payments.gateways.wechat import WeChatPayConfig, WeChatPayProvider
from cloudstore.payments.service import refund_orphan_payment
from cloudstore.pricing.api import (
    DeliveryPolicyController,
    HqCouponController,
    PromotionController,
    ShopCouponController,
    StoreCouponController,
)
from cloudstore.pricing.tenantfile import apply_pricing
from cloudstore.referrals.api import (
    DistributorEarningsController,
    KocController,
    LedgerController,
    ShopReferralController,
    StoreEarningsController,
)
from cloudstore.referrals.booking import RELEASE_JOB
from cloudstore.referrals.events import CommissionAvailable, ConsumerBound, SettlementCreated, TouchRecorded
from cloudstore.referrals.service.subscribers import (
    on_order_completed,
    on_order_paid,
    on_order_refunded,
    release_commission,
)
from cloudstore.referrals.tenantfile import apply_kocs
from cloudstore.stores.api import (
    DistributorStoreController,
    HqDistributorController,
    HqLocationController,
    HqStoreController,
    ShopStorefrontController,
    StorefrontController,
)
from cloudstore.stores.tenantfile import apply_distributors, apply_locations, apply_stores
from cloudstore.tenancy.tenantfile import SectionApplier, apply_policies
from cloudstore.web.code_pages import CodePages
from cloudstore.web.console.after_sales_pages import AfterSalePages
from cloudstore.web.console.analytics_pages import AnalyticsPages
from cloudstore.web.console.network_pages import NetworkPages
from cloudstore.web.console.shell import ConsoleShell
from cloudstore.web.console.store_pages import StorePages
from cloudstore.web.order_pages import OrderPages
from cloudstore.web.pages import StorefrontPages, static_assets

if TYPE_CHECKING:
    from litestar.types import ControllerRouterHandler

    from cloudstore.lib.events import PartsSubscriber, Subscriber
    from cloudstore.lib.jobs import JobHandler
    from cloudstore.lib.settings import Settings
    from cloudstore.payments.gateways.base import PaymentProvider

__all__ = (
    "CONTROLLERS",
    "STATEMENT_PARTS",
    "SUBSCRIBERS",
    "TENANT_FILE_SECTIONS",
    "job_handlers",
    "payment_providers",
    "webhook_sender",
)

#: Every controller of the HTTP API, in the order the OpenAPI document lists them.
CONTROLLERS: tuple[ControllerRouterHandler, ...] = (
    PlatformController,
    PolicyController,
    ConsumerAdminController,
    ConsumerAuthController,
    StaffController,
    TokenController,
    DistributorStoreController,
    HqDistributorController,
    HqLocationController,
    HqStoreController,
    ShopStorefrontController,
    StorefrontController,
    HqCategoryController,
    HqProductController,
    DistributorStockController,
    HqStockController,
    DistributorFulfilmentController,
    HqFulfilmentController,
    HqOrderController,
    ShopOrderController,
    StoreOrderController,
    ShopCheckoutController,
    ShopQuoteController,
    HqCheckoutController,
    PaymentNotificationController,
    ShopAfterSaleController,
    HqAfterSaleController,
    StoreAfterSaleController,
    DistributorEarningsController,
    KocController,
    LedgerController,
    ShopReferralController,
    StoreEarningsController,
    DeliveryPolicyController,
    HqCouponController,
    PromotionController,
    ShopCouponController,
    StoreCouponController,
    DistributorReportController,
    HqReportController,
    HqAnalyticsController,
    DistributorAnalyticsController,
    StoreAnalyticsController,
    AnalyticsPolicyController,
    HqWebhookController,
    HqApiKeyController,
    HqCodeBatchController,
    HqCodeShipmentController,
    HqCodeController,
    CodePolicyController,
    ShopScanController,
    # The H5 storefront's pages and their static assets (HTML, left out of the OpenAPI document).
    StorefrontPages,
    OrderPages,
    CodePages,
    static_assets,
    # The staff console's pages (HTML): sign-in and each role's home, the network's and a store's pages,
    # after-sales.
    ConsoleShell,
    NetworkPages,
    AnalyticsPages,
    StorePages,
    AfterSalePages,
)

#: Who reacts to each event, in the order they run (in the emitter's transaction). Analytics runs after
#: attribution and commission, whose results it counts.
SUBSCRIBERS: Mapping[type, tuple[Subscriber, ...]] = {
    OrderPaid: (on_order_paid, analytics_order_paid, webhook_order_paid),
    OrderCompleted: (on_order_completed,),
    OrderRefunded: (on_order_refunded, analytics_order_refunded, webhook_order_refunded),
    TouchRecorded: (on_touch,),
    ConsumerBound: (on_consumer_bound,),
    OrderClosed: (webhook_order_closed,),
    FulfilmentMoved: (webhook_fulfilment_moved,),
    AfterSaleRequested: (webhook_after_sale_requested,),
    AfterSaleRefunded: (webhook_after_sale_refunded,),
    CommissionAvailable: (webhook_commission_available,),
    SettlementCreated: (webhook_settlement_created,),
    CodeDiverted: (webhook_code_diverted,),
}

#: Who reacts to each event with statement parts that ride in the emitter's own write (its hot path).
STATEMENT_PARTS: Mapping[type, tuple[PartsSubscriber, ...]] = {
    OrderPlaced: (webhook_order_placed,),
}

#: The tenant file's sections after the tenant itself, in dependency order (each names what came before it).
TENANT_FILE_SECTIONS: tuple[SectionApplier, ...] = (
    apply_admin,
    apply_policies,
    apply_distributors,
    apply_locations,
    apply_stores,
    apply_products,
    apply_stock,
    apply_kocs,
    apply_pricing,
    apply_staff,
    apply_codes,
)


def job_handlers(providers: Mapping[str, PaymentProvider], webhooks: WebhookSender) -> dict[str, JobHandler]:
    """Every kind of background job and its handler; refunds go through ``providers``, deliveries ``webhooks``."""
    return {
        "orders.expire": expire_order,
        "payments.refund": partial(refund_orphan_payment, providers=providers),
        RELEASE_JOB: release_commission,
        DELIVER_JOB: partial(deliver, sender=webhooks),
        GENERATE_JOB: generate,
        RECOMPUTE_JOB: recompute_job,
    }


def webhook_sender(settings: Settings) -> WebhookSender:
    """Outside ``prod`` an endpoint may be on a private or loopback address (a local receiver)."""
    return WebhookSender(allow_private=settings.env != "prod")


def payment_providers(settings: Settings) -> dict[str, PaymentProvider]:
    """The local provider outside production; WeChat Pay when its credentials are configured."""
    providers: dict[str, PaymentProvider] = {}
    if settings.local_providers_enabled:
        providers["local"] = LocalPaymentProvider(settings.local_pay_secret.encode())
    wechat = settings.wechat
    if wechat.pay_configured:
        providers["wechat"] = WeChatPayProvider(
            WeChatPayConfig(
                mchid=wechat.mchid or "",
                appid=wechat.appid or "",
                merchant_serial_no=wechat.merchant_serial_no or "",
                merchant_private_key_pem=Path(wechat.merchant_private_key_path or "").read_text(),
                apiv3_key=wechat.apiv3_key or "",
                platform_public_key_pem=Path(wechat.platform_public_key_path or "").read_text(),
                platform_serial=wechat.platform_serial or "",
                notify_url=wechat.notify_url or "",
                base_url=wechat.pay_base_url,
            )
        )
    return providers
