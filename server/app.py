"""``create_app(settings)``: builds the FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import Busy, Forbidden, InvalidInput, NotFound, PairingRefused, RateLimited, __version__, accounts
from server.db import make_engine, upgrade
from server.deps import LoginRequired, optional_session
from server.limits import BodyLimitMiddleware
from server.metrics import Metrics, MetricsMiddleware
from server.metrics import router as metrics_router
from server.pages import STATIC_DIR, auth, fleet, location, overview, render
from server.pages import admin as admin_pages
from server.ratelimit import RateLimiter
from server.routes import export, health, kiosk, kiosks, locations, pairing, taps
from server.settings import Settings
from shared.protocol import MAX_TAPS_PER_BATCH

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A ready application on the database the settings name (migrated to head unless told not to)."""
    settings = settings or Settings()
    engine = make_engine(settings.resolved_database_url)
    if settings.auto_migrate:
        upgrade(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    # No /docs or /redoc: FastAPI serves their scripts from a CDN, which closed networks (and our CSP) do not allow.
    app = FastAPI(title="Smilepost", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.kiosk_limiter = (
        RateLimiter(settings.kiosk_rate_limit, settings.kiosk_rate_window_seconds)
        if settings.kiosk_rate_limit
        else None
    )
    app.state.login_limiter = RateLimiter(settings.login_rate_limit, 300.0) if settings.login_rate_limit else None
    app.state.password_checks = accounts.PasswordChecks(settings.login_concurrency)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: counts 413s too
    app.include_router(metrics_router)
    for module in (taps, kiosk, kiosks, locations, export, pairing, health):
        app.include_router(module.router)
    for page in (auth, overview, location, fleet, admin_pages):
        app.include_router(page.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_error_handlers(app)
    return app


def create_worker_app() -> FastAPI:
    """App factory for ``smilepost server --workers N``: each worker process builds its app from the
    environment's settings, without migrating (the command upgraded the database once before starting them)."""
    return create_app(Settings(auto_migrate=False))


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``('body', 'taps', 3, 'score')`` -> ``taps.3.score``."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts)


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


def _wants_page(request: Request) -> bool:
    """Whether an error should be a dashboard page (HTML) rather than the API's JSON."""
    path = request.url.path
    return not (path.startswith("/api/") or path in {"/healthz", "/metrics"})


def _error_page(request: Request, status_code: int, heading: str, message: str) -> Response:
    session = optional_session(request, request.app.state.engine)
    return render(request, "error.html", session, status_code=status_code, heading=heading, message=message)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _wants_page(request):
            return _error_page(request, 403, "Not yours to see", str(exc))
        return JSONResponse({"message": str(exc)}, status_code=403)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e["type"] == "too_long" and tuple(e["loc"]) == ("body", "taps") for e in errors):
            return JSONResponse(
                {"message": f"taps: more than {MAX_TAPS_PER_BATCH} taps in one batch; split it"},
                status_code=413,
            )
        message = "; ".join(f"{field_path(e['loc'])}: {e['msg']}" for e in errors[:5])
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors[:50]]
        return JSONResponse({"message": message, "detail": detail}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_page(request) and exc.status_code == 404:
            return _error_page(request, 404, "Not found", "There is no such page.")
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        if _wants_page(request):
            return _error_page(request, 404, "Not found", str(exc))
        return JSONResponse({"message": str(exc)}, status_code=404)

    @app.exception_handler(InvalidInput)
    async def invalid_input(_request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=422)

    @app.exception_handler(PairingRefused)
    async def pairing_refused(_request: Request, exc: PairingRefused) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=403)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        return _try_again_later(request, exc, 429, "Slow down")

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Response:
        return _try_again_later(request, exc, 503, "Busy")


def _try_again_later(request: Request, exc: RateLimited | Busy, status_code: int, heading: str) -> Response:
    """A 429 or 503 with ``Retry-After``: the error page for a page, JSON for the API."""
    headers = {"Retry-After": str(exc.retry_after)}
    if _wants_page(request):
        response = _error_page(request, status_code, heading, str(exc))
        response.headers.update(headers)
        return response
    return JSONResponse({"message": str(exc)}, status_code=status_code, headers=headers)
