"""``create_app(settings)``: builds the FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from server import InvalidInput, NotFound, PairingRefused, RateLimited, __version__
from server.db import make_engine, upgrade
from server.limits import BodyLimitMiddleware
from server.metrics import Metrics, MetricsMiddleware
from server.metrics import router as metrics_router
from server.ratelimit import RateLimiter
from server.routes import health, kiosk, kiosks, locations, pairing, taps
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

    app = FastAPI(title="Smilepost", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.kiosk_limiter = (
        RateLimiter(settings.kiosk_rate_limit, settings.kiosk_rate_window_seconds)
        if settings.kiosk_rate_limit
        else None
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: counts 413s too
    app.include_router(metrics_router)
    for module in (taps, kiosk, kiosks, locations, pairing, health):
        app.include_router(module.router)
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


def _add_error_handlers(app: FastAPI) -> None:
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
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=404)

    @app.exception_handler(InvalidInput)
    async def invalid_input(_request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=422)

    @app.exception_handler(PairingRefused)
    async def pairing_refused(_request: Request, exc: PairingRefused) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=403)

    @app.exception_handler(RateLimited)
    async def rate_limited(_request: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})
