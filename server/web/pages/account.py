"""``/account`` (issue #14): any signed-in user changes their own password and picks the dashboard's language
(:mod:`server.web.i18n`). The current password is required and is checked under the same guards as signing in (the
per-address limit, the per-account throttle, the bound on password checks), so the form cannot be used to guess it
faster; a wrong one counts as a failed sign-in. The new password is typed twice. The user's other sessions end; this
one stays. The library is :mod:`server.auth.user_admin`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server import InvalidInput, RateLimited
from server.api.deps import SESSION_COOKIE, CsrfForm, EngineDep, PageSession
from server.auth import user_admin
from server.auth.accounts import MIN_PASSWORD_LENGTH, Session
from server.auth.ratelimit import RateLimiter
from server.web import i18n
from server.web.flash import set_flash
from server.web.i18n import N_
from server.web.render import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
PAGE = "/account"
WRONG_CURRENT = N_("Your current password is not right; nothing changed.")
NOT_THE_SAME = N_("The new password and its repetition differ; nothing changed.")
CHANGED = N_("Password changed. Your other sessions have ended; this one stays signed in.")
LANGUAGE_SAVED = N_("Language saved.")


@router.get(PAGE, response_class=HTMLResponse)
def account_page(request: Request, session: PageSession) -> Response:
    """The signed-in user's e-mail, role and the form to change their password."""
    return _account_view(request, session)


def _account_view(request: Request, session: Session, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "account.html", session, error=error, min_password=MIN_PASSWORD_LENGTH,
                  languages=i18n.LANGUAGES, status_code=status_code)  # fmt: skip


@router.post(PAGE + "/language")
def set_language(
    request: Request, engine: EngineDep, session: CsrfForm, language: Annotated[str, Form(max_length=16)] = ""
) -> Response:
    """Save the dashboard language of the signed-in user (empty: from the browser's ``Accept-Language``); one the
    dashboard does not speak re-shows the page with why (422)."""
    assert session.access.user_id is not None  # a page session is a user's
    try:
        with engine.begin() as conn:
            user_admin.set_language(conn, session.access.user_id, language or None, spoken=i18n.LANGUAGES)
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), LANGUAGE_SAVED)
    except InvalidInput as exc:
        return _account_view(request, session, str(exc), 422)
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/password")
def change_password(
    request: Request,
    engine: EngineDep,
    session: CsrfForm,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
    repeat: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Change the signed-in user's password; a wrong current password (401), a new one too short or typed
    differently twice (422) re-shows the form with why, never a password.

    Raises RateLimited after too many attempts from one address or on the account, Busy when too many passwords are
    being checked at once.
    """
    if new != repeat:
        return _account_view(request, session, NOT_THE_SAME, 422)
    limiter: RateLimiter | None = request.app.state.login_limiter
    client = request.client.host if request.client else "unknown"
    if limiter is not None and (retry_after := limiter.hit(client)) is not None:
        raise RateLimited(retry_after, "sign-in attempts")
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        changed = user_admin.change_own_password(
            engine, session.access, current, new, checks=request.app.state.password_checks, keep_token=token
        )
    except InvalidInput as exc:
        return _account_view(request, session, str(exc), 422)
    if not changed:
        return _account_view(request, session, WRONG_CURRENT, 401)
    with engine.begin() as conn:
        set_flash(conn, token, CHANGED)
    return RedirectResponse(PAGE, status_code=303)
