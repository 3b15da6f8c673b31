"""``/account`` (issue #14): any signed-in user changes their own password. The current password is required and is
checked under the same guards as signing in (the per-address limit, the per-account throttle, the bound on password
checks), so the form cannot be used to guess it faster; a wrong one counts as a failed sign-in. The new password is
typed twice. The user's other sessions end; this one stays. The library is :mod:`server.auth.user_admin`.
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
from server.web.flash import set_flash
from server.web.render import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
PAGE = "/account"
WRONG_CURRENT = "Your current password is not right; nothing changed."
NOT_THE_SAME = "The new password and its repetition differ; nothing changed."
CHANGED = "Password changed. Your other sessions have ended; this one stays signed in."


@router.get(PAGE, response_class=HTMLResponse)
def account_page(request: Request, session: PageSession) -> Response:
    """The signed-in user's e-mail, role and the form to change their password."""
    return _account_view(request, session)


def _account_view(request: Request, session: Session, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "account.html", session, error=error, min_password=MIN_PASSWORD_LENGTH,
                  status_code=status_code)  # fmt: skip


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
