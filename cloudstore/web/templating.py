"""Jinja2 through Litestar's template support, with the few display filters the pages share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ("STATIC_DIR", "TEMPLATE_DIR", "page_templates", "yuan")

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

SHELF_NAMES = {"in_store": "门店现货", "cloud": "云仓发货", "sold_out": "已售罄"}
ORDER_STATUS_NAMES = {
    "pending_payment": "待支付",
    "paid": "已支付",
    "completed": "已完成",
    "cancelled": "已取消",
    "expired": "已过期",
    "refunded": "已退款",
}
FULFILMENT_NAMES = {
    "pending": "待发货",
    "shipped": "已发货",
    "ready_for_pickup": "待自提",
    "delivered": "已送达",
    "picked_up": "已自提",
}
MODE_NAMES = {"pickup": "到店自提", "delivery": "配送到家"}
AFTER_SALE_KIND_NAMES = {"refund_only": "仅退款", "return": "退货退款"}
AFTER_SALE_STATUS_NAMES = {
    "requested": "待审核",
    "approved": "已同意",
    "received": "已收到退货",
    "refunded": "已退款",
    "rejected": "已拒绝",
    "cancelled": "已撤销",
}
# What an after-sale's amount is: refunded, still expected, or only what was asked for (rejected, withdrawn).
AFTER_SALE_AMOUNT_NAMES = {"refunded": "退款", "rejected": "申请", "cancelled": "申请"}
COUPON_STATUS_NAMES = {"available": "可使用", "locked": "已占用", "used": "已使用", "expired": "已过期"}
COUPON_REASON_NAMES = {
    "locked": "被未支付的订单占用",
    "used": "已使用",
    "expired": "已过期",
    "not_yet_valid": "尚未生效",
    "other_store": "仅限其他门店",
    "no_eligible_items": "没有适用的商品",
    "below_min_goods": "未达到使用门槛",
    "no_discount": "没有优惠",
    "no_delivery_fee": "没有配送费可免",
    "promotion_better": "当前活动更优惠",
}


def yuan(fen: int) -> str:
    """Fen as the price a shopper reads: ``1290`` → ``¥12.90``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole}.{cents:02d}"


def _local_time(value: datetime | None) -> str:
    # China has one time zone and no daylight saving: UTC+8 throughout.
    if value is None:
        return ""
    from datetime import timedelta, timezone

    return value.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")


def page_templates() -> TemplateConfig[JinjaTemplateEngine]:
    """The template configuration the app uses for every page."""

    def configure(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.filters["yuan"] = yuan
        env.filters["shelf_name"] = lambda shelf: SHELF_NAMES.get(shelf, shelf)
        env.filters["status_name"] = lambda status: ORDER_STATUS_NAMES.get(status, status)
        env.filters["fulfilment_name"] = lambda status: FULFILMENT_NAMES.get(status, status)
        env.filters["mode_name"] = lambda mode: MODE_NAMES.get(mode, mode)
        env.filters["after_sale_kind"] = lambda kind: AFTER_SALE_KIND_NAMES.get(kind, kind)
        env.filters["after_sale_status"] = lambda status: AFTER_SALE_STATUS_NAMES.get(status, status)
        env.filters["after_sale_amount"] = lambda status: AFTER_SALE_AMOUNT_NAMES.get(status, "预计退款")
        env.filters["local_time"] = _local_time
        env.filters["coupon_status"] = lambda status: COUPON_STATUS_NAMES.get(status, status)
        env.filters["coupon_reason"] = lambda reason: COUPON_REASON_NAMES.get(reason, reason or "")
        # Basis points as a shopper reads them: 1500 (15% off) is 八五折.
        env.filters["percent_off"] = lambda bp: f"{(10000 - bp) / 1000:g} 折"
        env.trim_blocks = True
        env.lstrip_blocks = True

    return TemplateConfig(directory=TEMPLATE_DIR, engine=JinjaTemplateEngine, engine_callback=configure)
