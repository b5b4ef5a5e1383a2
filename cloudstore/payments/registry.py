"""Which payment providers this process offers, built from settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cloudstore.payments.gateways.local import LocalPaymentProvider

if TYPE_CHECKING:
    from cloudstore.lib.settings import Settings
    from cloudstore.payments.gateways.base import PaymentProvider

__all__ = ("build_providers", "current_providers", "install_providers")


def build_providers(settings: Settings) -> dict[str, PaymentProvider]:
    """The local provider outside production; WeChat Pay when its credentials are configured."""
    providers: dict[str, PaymentProvider] = {}
    if settings.local_providers_enabled:
        providers["local"] = LocalPaymentProvider(settings.local_pay_secret.encode())
    wechat = settings.wechat
    if wechat.pay_configured:
        from cloudstore.payments.gateways.wechat import WeChatPayConfig, WeChatPayProvider

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


_CURRENT: dict[str, PaymentProvider] = {}


def install_providers(providers: dict[str, PaymentProvider]) -> None:
    """Make ``providers`` the process's providers (background jobs look them up here)."""
    _CURRENT.clear()
    _CURRENT.update(providers)


def current_providers() -> dict[str, PaymentProvider]:
    """The providers installed at start-up."""
    return _CURRENT
