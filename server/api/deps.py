"""FastAPI dependencies: settings, engine, the bearer credentials (kiosk token, API key) and dashboard sessions.

A dashboard page needs a session cookie (:data:`PageSession`; without one the browser is sent to the sign-in
page); the read API takes either an API key or a session (:data:`Viewer`), so a manager's browser can export
what the manager may see and nothing else. Every form post carries the session's CSRF token (:func:`csrf_form`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from server import Forbidden, RateLimited, audit
from server.api.requests import note_kiosk
from server.auth import accounts, keys
from server.auth.accounts import Access, Session
from server.auth.kiosk_tokens import KioskAuthCache, KioskIdentity
from server.auth.ratelimit import RateLimiter
from server.lifecycle import ARCHIVED
from server.settings import Settings
from shared.protocol import INT32_MAX

# One body for every credential failure, so a caller cannot tell unknown from revoked.
UNAUTHORIZED = "invalid or revoked credentials"
SESSION_COOKIE = "smilepost_session"
CSRF_FIELD = "csrf_token"
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
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_kiosk_bearer)]
) -> KioskIdentity:
    """The kiosk named by the bearer token, counted against its rate limit (:mod:`server.auth.ratelimit`).

    A token once checked is trusted for ``kiosk_auth_cache_seconds`` by this process
    (:class:`server.auth.kiosk_tokens.KioskAuthCache`); the engine comes from the app's state, not a dependency of
    its own (each sync dependency of a request is a hop to the thread pool, and this one runs on every sync).

    Raises HTTPException 401 for a missing, unknown or revoked token, Forbidden (403, saying why) for a kiosk of an
    archived location, RateLimited (429) for a kiosk over its limit.
    """
    if credentials is None:
        raise _unauthorized()
    cache: KioskAuthCache = request.app.state.kiosk_auth_cache
    kiosk = cache.authenticate(request.app.state.engine, credentials.credentials)
    if kiosk is None:
        raise _unauthorized()
    note_kiosk(kiosk.kiosk_id)  # for the request's log lines
    if kiosk.archived:
        raise Forbidden(ARCHIVED.format(id=kiosk.location_id))
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
    with engine.begin() as conn:  # notes the key's use at most once a minute (server.auth.keys)
        used = keys.key_use(conn, credentials.credentials)
    if used is None:
        raise _unauthorized()
    audit.act_as(audit.Actor("apikey", str(used.id), f"API key {used.id} {used.name}"))
    return used.scope


def require_admin_key(scope: Annotated[str, Depends(require_api_key)]) -> None:
    """Check the bearer API key may change things. Raises HTTPException 401 as :func:`require_api_key`,
    403 for a read-only key."""
    if scope != "admin":
        raise HTTPException(status_code=403, detail=READ_ONLY)


CurrentKiosk = Annotated[KioskIdentity, Depends(current_kiosk)]
ApiKey = Depends(require_api_key)
AdminKey = Depends(require_admin_key)


class LoginRequired(Exception):
    """A dashboard page was asked for without a live session; the app answers with a redirect to sign in."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in first")
        self.next_url = next_url


def optional_session(request: Request, engine: EngineDep) -> Session | None:
    """The live session of the request's cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with engine.connect() as conn:  # reads only
        return accounts.session_of(conn, token)


def page_session(request: Request, session: Annotated[Session | None, Depends(optional_session)]) -> Session:
    """The signed-in session of a dashboard page. Raises LoginRequired (a redirect) without one."""
    if session is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    _note_user(session.access)
    return session


def _note_user(access: Access) -> None:
    """Note the signed-in user as who acts in this request (:mod:`server.audit`)."""
    if access.user_id is not None:
        audit.act_as(audit.Actor("user", str(access.user_id), access.email))


def admin_page_session(session: Annotated[Session, Depends(page_session)]) -> Session:
    """A page session of an admin. Raises LoginRequired without a session, Forbidden for a manager."""
    if not session.access.is_admin:
        raise Forbidden("only admins may change locations, kiosks and groups")
    return session


async def csrf_form(request: Request, session: Annotated[Session, Depends(page_session)]) -> Session:
    """The session of a form post whose ``csrf_token`` field is the session's. Raises Forbidden otherwise."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not accounts.csrf_matches(session.csrf_token, sent if isinstance(sent, str) else None):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page and try again")
    return session


def admin_form(session: Annotated[Session, Depends(csrf_form)]) -> Session:
    """An admin's form post with a valid CSRF token. Raises Forbidden for a manager or a bad token."""
    return admin_page_session(session)


def viewer(
    engine: EngineDep,
    session: Annotated[Session | None, Depends(optional_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_api_bearer)],
) -> Access:
    """Who is reading the API: an API key (sees every location) or a dashboard session (sees its own).

    Raises HTTPException 401 when there is neither (or the key is unknown or revoked).
    """
    if credentials is not None:
        scope = require_api_key(engine, credentials)
        return Access(user_id=None, email="API key", role="admin" if scope == "admin" else "api", location_ids=None)
    if session is None:
        raise _unauthorized()
    _note_user(session.access)
    return session.access


def viewer_languages(request: Request) -> list[str]:
    """The languages of the request's ``Accept-Language``, most wanted first ("nb-NO" also as "nb"); q=0 left out."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(request.headers.get("accept-language", "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        try:
            q = float(params.strip().removeprefix("q=")) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if tag and tag != "*" and q > 0:
            ranked.append((-q, i, tag))
    languages: list[str] = []
    for _, _, tag in sorted(ranked):
        for code in (tag, tag.split("-")[0].lower()):
            if code not in languages:
                languages.append(code)
    return languages


PageSession = Annotated[Session, Depends(page_session)]
OptionalSession = Annotated[Session | None, Depends(optional_session)]
AdminPageSession = Annotated[Session, Depends(admin_page_session)]
CsrfForm = Annotated[Session, Depends(csrf_form)]
AdminForm = Annotated[Session, Depends(admin_form)]
Viewer = Annotated[Access, Depends(viewer)]
Languages = Annotated[list[str], Depends(viewer_languages)]
