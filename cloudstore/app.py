"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy.ext.asyncio import AsyncSession

from cloudstore import __version__, wiring
from cloudstore.auth.identity import IdentityProvider, InvalidLoginCode, LocalIdentityProvider, WeChatIdentityProvider
from cloudstore.auth.passwords import PasswordHashing
from cloudstore.auth.tokens import Principal, TokenCodec
from cloudstore.http.deps import ShopTenant, provide_db
from cloudstore.http.nesting import refuse_deep_json
from cloudstore.http.problems import PROBLEM_MEDIA_TYPE, Problem, exception_handlers, problems
from cloudstore.integrations.keys import resolve_api_key
from cloudstore.lib.db import Database, resolve_database_url
from cloudstore.lib.events import EventBus, attach
from cloudstore.lib.jobs import Worker
from cloudstore.lib.logs import RequestIdMiddleware, configure_logging
from cloudstore.lib.settings import Settings, load_settings
from cloudstore.web.templating import page_templates

if TYPE_CHECKING:
    from litestar.types import ControllerRouterHandler

__all__ = ("SIGNATURE_NAMESPACE", "create_app")

# Types that route modules import only for type checking; Litestar resolves handler signatures with these.
SIGNATURE_NAMESPACE: dict[str, Any] = {
    "AsyncSession": AsyncSession,
    "State": State,
    "Principal": Principal,
    "ShopTenant": ShopTenant,
    "Request": Request,
}


class Health(msgspec.Struct):
    """The service and its database are up."""

    status: str
    version: str


@get("/healthz", tags=["platform"], responses=problems(503), summary="Liveness and database check")
async def healthz(state: State) -> Response[Any]:
    """200 when the database answers, else 503."""
    if await state.db.ping():
        return Response(Health(status="ok", version=__version__), status_code=200)
    problem = Problem(
        type="https://cloudstore.dev/problems/service_unavailable",
        title="Service unavailable",
        status=503,
        detail="the database does not answer",
        code="service_unavailable",
    )
    return Response(msgspec.json.encode(problem), status_code=503, media_type=PROBLEM_MEDIA_TYPE)


class _RejectingIdentity:
    """Used when WeChat login is not configured: every code is refused."""

    async def resolve(self, code: str) -> Any:
        raise InvalidLoginCode("WeChat login is not configured on this server")


def _route_handlers() -> list[ControllerRouterHandler]:
    return [healthz, *wiring.CONTROLLERS]


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> Litestar:
    """Build the Litestar application.

    Args:
        settings: configuration; read from the environment when omitted.
        database_url: an async URL to use instead of resolving one from ``settings`` (tests).
    """
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    state = State(
        {
            "settings": settings,
            "tokens": TokenCodec(settings.secret_key, timedelta(seconds=settings.token_ttl_s)),
            "passwords": PasswordHashing(fast=settings.env == "test"),
            "tenant_ids": {},
        }
    )
    local_identity = LocalIdentityProvider()
    wechat_identity: IdentityProvider = (
        WeChatIdentityProvider(
            settings.wechat.appid or "",
            settings.wechat.app_secret or "",
            base_url=settings.wechat.login_base_url,
        )
        if settings.wechat.login_configured
        else _RejectingIdentity()
    )

    def identity_for(code: str) -> IdentityProvider:
        if settings.local_providers_enabled and code.startswith("local:"):
            return local_identity
        return wechat_identity

    state["identity_for"] = identity_for
    state["api_keys"] = resolve_api_key

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        url = database_url or await resolve_database_url(settings)
        db = Database(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_s,
            prepared_statements=settings.db_prepared_statements,
        )
        attach(db.sessions, EventBus(wiring.SUBSCRIBERS, wiring.STATEMENT_PARTS))
        app.state.db = db
        app.state.payment_providers = wiring.payment_providers(settings)
        app.state.webhook_sender = wiring.webhook_sender(settings)
        worker = Worker(db.sessions, wiring.job_handlers(app.state.payment_providers, app.state.webhook_sender))
        app.state.worker = worker
        task = asyncio.create_task(worker.run_forever()) if settings.run_worker else None
        try:
            yield
        finally:
            worker.stop()
            if task is not None:
                await task
            for closable in (*app.state.payment_providers.values(), wechat_identity, app.state.webhook_sender):
                aclose = getattr(closable, "aclose", None)
                if aclose is not None:
                    await aclose()
            await db.dispose()

    return Litestar(
        route_handlers=_route_handlers(),
        dependencies={"db": Provide(provide_db)},
        signature_namespace=SIGNATURE_NAMESPACE,
        exception_handlers=cast("Any", exception_handlers),
        middleware=[DefineMiddleware(RequestIdMiddleware, access_log=settings.access_log)],
        before_request=refuse_deep_json,
        lifespan=[lifespan],
        template_config=page_templates(),
        logging_config=None,  # configure_logging above owns the handlers; Litestar's would replace them
        state=state,
        request_max_body_size=1024 * 1024,
        compression_config=CompressionConfig(backend="gzip", minimum_size=4096),
        openapi_config=OpenAPIConfig(
            title="cloudstore",
            version=__version__,
            description="BC-integrated social cloud stores: catalog, dual-shelf storefronts, routing, "
            "orders, payments, KOC attribution and the commission ledger.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger"), JsonRenderPlugin()],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"bearer": []}],
        ),
        debug=False,
        type_encoders=None,
        response_headers=None,
    )


def tune_gc() -> None:
    """Fit the garbage collector to a long-running server process (called once, before it serves).

    What start-up made (modules, routes, the app) is moved out of the collector's sight (``gc.freeze``), so
    the full collections a request-driven heap triggers do not walk it again and again, and young collections
    run every 10,000 net allocations instead of 700: a request allocates a few thousand objects, nearly all
    freed by reference counting when it ends.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def app_from_env() -> Litestar:
    """Entry point for ASGI servers: ``uvicorn --factory cloudstore.app:app_from_env``."""
    app = create_app()
    tune_gc()
    return app
