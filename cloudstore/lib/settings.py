"""Settings read once from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

import msgspec

__all__ = ("Settings", "SettingsError", "WeChatSettings", "load_settings")

Environment = Literal["dev", "test", "prod"]


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot run with; the message names it."""


class WeChatSettings(msgspec.Struct, frozen=True, kw_only=True):
    """WeChat mini-program and WeChat Pay credentials; all optional until WeChat is used."""

    appid: str | None = None
    app_secret: str | None = None
    mchid: str | None = None
    merchant_serial_no: str | None = None
    merchant_private_key_path: str | None = None
    apiv3_key: str | None = None
    platform_public_key_path: str | None = None
    platform_serial: str | None = None
    notify_url: str | None = None
    pay_base_url: str = "https://api.mch.weixin.qq.com"
    login_base_url: str = "https://api.weixin.qq.com"

    @property
    def login_configured(self) -> bool:
        """Whether mini-program login (code2session) can be used."""
        return bool(self.appid and self.app_secret)

    @property
    def pay_configured(self) -> bool:
        """Whether WeChat Pay can be used."""
        return all(
            (
                self.appid,
                self.mchid,
                self.merchant_serial_no,
                self.merchant_private_key_path,
                self.apiv3_key,
                self.platform_public_key_path,
                self.platform_serial,
                self.notify_url,
            )
        )


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Process-wide configuration.

    Every field comes from an environment variable documented in README.md.
    """

    database_url: str | None = None
    data_dir: Path = Path(".cloudstore")
    port: int = 8000
    env: Environment = "dev"
    secret_key: str = ""
    operator_token: str | None = None
    local_pay_secret: str = "dev-local-pay-secret"
    public_base_url: str = "http://localhost:8000"
    miniprogram_path: str = "pages/store/index"
    token_ttl_s: int = 12 * 3600
    db_pool_size: int = 20
    db_max_overflow: int = 0
    run_worker: bool = True
    log_level: str = "INFO"
    access_log: bool = True
    db_pool_timeout_s: float = 30.0
    db_prepared_statements: bool | None = None
    wechat: WeChatSettings = msgspec.field(default_factory=WeChatSettings)

    @property
    def local_providers_enabled(self) -> bool:
        """The local identity and payment providers exist only outside production."""
        return self.env != "prod"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _number(name: str, default: str, kind: type[int] | type[float]) -> Any:
    raw = _env(name, default) or default
    try:
        return kind(raw)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise SettingsError(f"{name} must be {noun}, not {raw!r}") from None


def load_settings() -> Settings:
    """Build :class:`Settings` from the environment.

    In ``prod`` the signing key, operator token and local payment secret must be set; elsewhere a random
    per-process key is used when none is given, which is fine for a single development process.
    """
    env = _env("CLOUDSTORE_ENV", "dev")
    if env not in ("dev", "test", "prod"):
        raise SettingsError(f"CLOUDSTORE_ENV must be dev, test or prod, not {env!r}")
    secret_key = _env("CLOUDSTORE_SECRET_KEY")
    if secret_key is None:
        if env == "prod":
            raise SettingsError("CLOUDSTORE_SECRET_KEY is required in prod")
        secret_key = secrets.token_urlsafe(32)
    if len(secret_key) < 32:
        raise SettingsError("CLOUDSTORE_SECRET_KEY must be at least 32 characters")
    wechat = WeChatSettings(
        appid=_env("WECHAT_APPID"),
        app_secret=_env("WECHAT_APP_SECRET"),
        mchid=_env("WECHAT_PAY_MCHID"),
        merchant_serial_no=_env("WECHAT_PAY_SERIAL_NO"),
        merchant_private_key_path=_env("WECHAT_PAY_PRIVATE_KEY_PATH"),
        apiv3_key=_env("WECHAT_PAY_APIV3_KEY"),
        platform_public_key_path=_env("WECHAT_PAY_PLATFORM_PUBLIC_KEY_PATH"),
        platform_serial=_env("WECHAT_PAY_PLATFORM_SERIAL"),
        notify_url=_env("WECHAT_PAY_NOTIFY_URL"),
        pay_base_url=_env("WECHAT_PAY_BASE_URL", "https://api.mch.weixin.qq.com") or "",
        login_base_url=_env("WECHAT_LOGIN_BASE_URL", "https://api.weixin.qq.com") or "",
    )
    return Settings(
        database_url=_env("DATABASE_URL"),
        data_dir=Path(_env("CLOUDSTORE_DATA_DIR", ".cloudstore") or ".cloudstore"),
        port=_number("PORT", "8000", int),
        env=env,  # type: ignore[arg-type]
        secret_key=secret_key,
        operator_token=_env("CLOUDSTORE_OPERATOR_TOKEN"),
        local_pay_secret=_env("CLOUDSTORE_LOCAL_PAY_SECRET", "dev-local-pay-secret") or "",
        public_base_url=(_env("CLOUDSTORE_PUBLIC_URL", "http://localhost:8000") or "").rstrip("/"),
        miniprogram_path=_env("CLOUDSTORE_MINIPROGRAM_PATH", "pages/store/index") or "",
        token_ttl_s=_number("CLOUDSTORE_TOKEN_TTL", str(12 * 3600), int),
        db_pool_size=_number("CLOUDSTORE_DB_POOL_SIZE", "20", int),
        db_max_overflow=_number("CLOUDSTORE_DB_MAX_OVERFLOW", "0", int),
        run_worker=(_env("CLOUDSTORE_RUN_WORKER", "1") or "1") not in ("0", "false", "no"),
        log_level=_env("CLOUDSTORE_LOG_LEVEL", "INFO") or "INFO",
        access_log=(_env("CLOUDSTORE_ACCESS_LOG", "1") or "1") not in ("0", "false", "no"),
        db_pool_timeout_s=_number("CLOUDSTORE_DB_POOL_TIMEOUT", "30", float),
        db_prepared_statements=(_env("CLOUDSTORE_DB_PREPARED_STATEMENTS", "1") or "1").lower()
        not in ("0", "false", "no"),
        wechat=wechat,
    )
