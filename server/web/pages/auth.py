"""Sign in and out: ``/login`` (form, with a double-submit CSRF cookie before there is a session) and ``/logout``."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server import Forbidden, RateLimited
from server.api.deps import SESSION_COOKIE, CsrfForm, EngineDep, SettingsDep
from server.auth import accounts
from server.auth.ratelimit import RateLimiter
from server.web.i18n import N_
from server.web.render import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
LOGIN_CSRF_COOKIE = "smilepost_login_csrf"
LOGIN_WINDOW_SECONDS = 300.0


def _safe_next(next_url: str | None) -> str:
    """Only a path on this server (never another site) may be the page after sign-in."""
    if not next_url:
        return "/"
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        return "/"
    return next_url


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, next: str | None = None) -> Response:
    """The sign-in form."""
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", None, login_csrf=token, next_url=_safe_next(next), error=None)
    _set_cookie(response, LOGIN_CSRF_COOKIE, token, settings.cookie_secure, max_age=3600)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials and start a session; a wrong email or password gets the same answer.

    Raises Forbidden without the form's CSRF cookie, RateLimited after too many attempts from one address or
    on one account (:func:`server.auth.accounts.sign_in`), Busy when too many passwords are being checked at once.
    """
    if not accounts.csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        raise Forbidden("the sign-in form expired; reload the page and try again")
    limiter: RateLimiter | None = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    if limiter is not None and (retry_after := limiter.hit(client)) is not None:
        raise RateLimited(retry_after, "sign-in attempts")
    session = accounts.sign_in(
        engine, email, password,
        checks=request.app.state.password_checks, lifetime=timedelta(hours=settings.session_hours),
    )  # fmt: skip
    if session is None:
        return render(
            request, "login.html", None, status_code=401, login_csrf=csrf_token, next_url=_safe_next(next),
            error=N_("Wrong email or password."), email=email,
        )  # fmt: skip
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(
        response, SESSION_COOKIE, session.token, settings.cookie_secure, max_age=int(settings.session_hours * 3600)
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, engine: EngineDep, _session: CsrfForm) -> Response:
    """End the session everywhere and go back to the sign-in page."""
    with engine.begin() as conn:
        accounts.end_session(conn, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _set_cookie(response: Response, name: str, value: str, secure: bool, *, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/")
