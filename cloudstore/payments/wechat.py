"""Old import path of :mod:`cloudstore.payments.gateways.wechat`, kept so existing imports keep working."""

from __future__ import annotations

from cloudstore.payments.gateways.wechat.client import (
    CHINA_TZ,
    WeChatPayConfig,
    WeChatPayProvider,
    format_time_expire,
)
from cloudstore.payments.gateways.wechat.notifications import (
    decode_notification,
    decrypt_resource,
    encrypt_resource,
)
from cloudstore.payments.gateways.wechat.signing import (
    AUTHORIZATION_SCHEMA,
    SIGNATURE_WINDOW,
    build_authorization,
    build_pay_params,
    load_platform_public_key,
    load_private_key,
    new_nonce,
    parse_authorization,
    pay_sign_message,
    request_message,
    response_message,
    rsa_sign,
    rsa_verify,
    verify_wechatpay_signature,
)

__all__ = (
    "AUTHORIZATION_SCHEMA",
    "CHINA_TZ",
    "SIGNATURE_WINDOW",
    "WeChatPayConfig",
    "WeChatPayProvider",
    "build_authorization",
    "build_pay_params",
    "decode_notification",
    "decrypt_resource",
    "encrypt_resource",
    "format_time_expire",
    "load_platform_public_key",
    "load_private_key",
    "new_nonce",
    "parse_authorization",
    "pay_sign_message",
    "request_message",
    "response_message",
    "rsa_sign",
    "rsa_verify",
    "verify_wechatpay_signature",
)
