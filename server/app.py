"""``create_app(settings)``: builds the FastAPI application."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import __version__
from server.api import errors
from server.api.bodylimit import BodyLimitMiddleware
from server.api.metrics import Metrics, MetricsMiddleware
from server.api.metrics import router as metrics_router
from server.api.requests import RequestIdMiddleware
from server.api.routes import alerts, export, health, kiosk, kiosks, locations, pairing, taps, touchpoints
from server.api.routes import audit as audit_routes
from server.api.routes import comments as comment_routes
from server.auth import accounts
from server.auth.kiosk_tokens import KioskAuthCache
from server.auth.ratelimit import RateLimiter
from server.db import make_engine, upgrade
from server.scheduler import Background
from server.settings import Settings
from server.web import i18n
from server.web.pages import (
    account,
    admin_alerts,
    admin_audit,
    admin_touchpoints,
    admin_users,
    auth,
    fleet,
    location,
    overview,
    touchpoint,
)
from server.web.pages import admin as admin_pages
from server.web.pages import alerts as alert_pages
from server.web.pages import comments as comment_pages
from server.web.pages import reports as report_pages
from server.web.pages import subscriptions as subscription_pages
from server.web.render import STATIC_DIR

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A ready application on the database the settings name (migrated to head unless told not to)."""
    settings = settings or Settings()
    engine = make_engine(settings.resolved_database_url)
    if settings.auto_migrate:
        upgrade(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background = Background(engine, settings) if settings.background else None
        app.state.background = background
        if background is not None:
            background.start()
        yield
        if background is not None:
            background.stop()
        engine.dispose()

    # No /docs or /redoc: FastAPI serves their scripts from a CDN, which closed networks (and our CSP) do not allow.
    app = SmilepostApp(title="Smilepost", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.kiosk_limiter = (
        RateLimiter(settings.kiosk_rate_limit, settings.kiosk_rate_window_seconds)
        if settings.kiosk_rate_limit
        else None
    )
    app.state.web_limiter = RateLimiter(settings.web_rate_limit, 60.0) if settings.web_rate_limit else None
    app.state.login_limiter = RateLimiter(settings.login_rate_limit, 300.0) if settings.login_rate_limit else None
    app.state.password_checks = accounts.PasswordChecks(settings.login_concurrency)
    app.state.kiosk_auth_cache = KioskAuthCache(settings.kiosk_auth_cache_seconds)
    app.state.heartbeat_writer = kiosk.HeartbeatWriter(engine)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: counts 413s too
    app.include_router(metrics_router)
    for module in (
        taps, touchpoints, alerts, kiosk, kiosks, locations, export, pairing, health, audit_routes, comment_routes,
    ):  # fmt: skip
        app.include_router(module.router)
    # Every page request notes its dashboard language (server.web.i18n) before its endpoint runs; the API, kiosk
    # syncs above all, has no words to translate and skips the work.
    page_language = [Depends(i18n.locale_dependency)]
    for page in (
        auth,
        overview,
        location,
        fleet,
        alert_pages,
        report_pages,
        subscription_pages,
        admin_pages,
        admin_alerts,
        admin_touchpoints,
        admin_users,
        admin_audit,
        account,
        comment_pages,
        touchpoint,
    ):
        app.include_router(page.router, dependencies=page_language)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)
    return app


class SmilepostApp(FastAPI):
    """FastAPI with :class:`~server.api.requests.RequestIdMiddleware` around everything, Starlette's error middleware
    included (``add_middleware`` would put it inside), so even an unhandled error's 500 has a request id."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestIdMiddleware(super().build_middleware_stack())


def create_worker_app() -> FastAPI:
    """App factory for ``smilepost server --workers N``: each worker process builds its app from the
    environment's settings, without migrating (the command upgraded the database once before starting them).
    uvicorn has set up the worker's logging from the parent's config; Python warnings are logged through it too."""
    logging.captureWarnings(True)
    app = create_app(Settings(auto_migrate=False))
    freeze_startup_objects()
    return app


# The collector's thresholds in a server process: a young collection every 7,000 new objects instead of 700.
# A page such as the overview keeps tens of thousands of objects alive while it is built; at 700 they were
# rescanned by about 40 young and 3 middle collections a request and a full one every third request (6.5 ms a
# request, pauses up to 11 ms: the page's p95). At 7,000: 3.5 ms a request, pauses up to 3 ms, no full collection
# in 30 pages. Cyclic garbage is still collected, in fewer, larger passes.
GC_THRESHOLDS = (7_000, 10, 10)


def freeze_startup_objects() -> None:
    """Collect once, then keep every object alive after start-up (modules, the app, its routes: about 150,000) out of
    the garbage collector's later passes (:func:`gc.freeze`): each tap batch creates enough objects to set off full
    collections, which otherwise rescan them all, about a quarter of the server's CPU per tap. Then collect young
    objects less often (GC_THRESHOLDS). Call it once a process has built its app; a test process building many
    apps must not."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# Pages load only this server's scripts and styles (Chart.js is vendored); no framing, no MIME sniffing.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]  # fmt: skip
# Pages and API answers carry data (comments, who may see what): no copy is kept, so Back after signing out shows
# nothing. Only /static/ files (CSS, scripts) may be cached.
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` to every HTTP answer, and ``Cache-Control: no-store`` to every one outside
    ``/static/`` that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        cacheable = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *SECURITY_HEADERS]
                if not cacheable and all(name.lower() != NO_STORE[0] for name, _ in headers):
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
