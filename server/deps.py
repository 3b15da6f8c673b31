"""FastAPI dependencies: settings, engine and the two kinds of bearer credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, select

from server import RateLimited
from server.admin import hash_secret
from server.db import api_keys
from server.ingest import KioskIdentity, authenticate_kiosk
from server.ratelimit import RateLimiter
from server.settings import Settings
from shared.protocol import INT32_MAX

# One body for every credential failure, so a caller cannot tell unknown from revoked.
UNAUTHORIZED = "invalid or revoked credentials"
READ_ONLY = "this API key may only read"

_kiosk_bearer = HTTPBearer(auto_error=False, scheme_name="KioskToken", description="kiosk token (spk_...)")
_api_bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey", description="read API key (spa_...)")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


# Ids in paths are bounded like their column, so a huge number is a 422, not a database overflow.
LocationId = Annotated[int, Path(ge=1, le=INT32_MAX, description="location id")]

SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]


def _unauthorized() -> HTTPException:
    return HTTPException(status_code=401, detail=UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


def current_kiosk(
    request: Request,
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_kiosk_bearer)],
) -> KioskIdentity:
    """The kiosk named by the bearer token, counted against its rate limit (:mod:`server.ratelimit`).

    Raises HTTPException 401 for a missing, unknown or revoked token, RateLimited (429) for a kiosk over
    its limit.
    """
    if credentials is None:
        raise _unauthorized()
    with engine.connect() as conn:
        kiosk = authenticate_kiosk(conn, credentials.credentials)
    if kiosk is None:
        raise _unauthorized()
    limiter: RateLimiter | None = request.app.state.kiosk_limiter
    if limiter is not None and (retry_after := limiter.hit(kiosk.kiosk_id)) is not None:
        raise RateLimited(retry_after, "requests from this kiosk")
    return kiosk


def require_api_key(
    engine: EngineDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_api_bearer)]
) -> str:
    """The bearer API key's scope ("read" or "admin"). Raises HTTPException 401 for a missing, unknown or
    revoked key."""
    if credentials is None:
        raise _unauthorized()
    query = select(api_keys.c.scope).where(
        api_keys.c.key_hash == hash_secret(credentials.credentials), api_keys.c.revoked_at.is_(None)
    )
    with engine.connect() as conn:
        scope = conn.execute(query).scalar()
    if scope is None:
        raise _unauthorized()
    return str(scope)


def require_admin_key(scope: Annotated[str, Depends(require_api_key)]) -> None:
    """Check the bearer API key may change things. Raises HTTPException 401 as :func:`require_api_key`,
    403 for a read-only key."""
    if scope != "admin":
        raise HTTPException(status_code=403, detail=READ_ONLY)


CurrentKiosk = Annotated[KioskIdentity, Depends(current_kiosk)]
ApiKey = Depends(require_api_key)
AdminKey = Depends(require_admin_key)
