"""``/admin/users`` (issue #14): dashboard users with their role, grants, created and state, and the forms to disable,
enable, set the password of and delete one (admins only; each post carries the session's CSRF token and redirects
back with a one-shot message). The library is :mod:`server.auth.user_admin`, as for ``smilepost user …``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, Engine

from server import InvalidInput
from server.api.deps import SESSION_COOKIE, AdminForm, AdminPageSession, EngineDep
from server.auth import user_admin
from server.auth.accounts import MIN_PASSWORD_LENGTH, Session
from server.auth.user_admin import UserInfo
from server.web.flash import set_flash
from server.web.i18n import N_, gettext_format
from server.web.render import render
from shared.protocol import INT32_MAX

router = APIRouter(prefix="/admin/users", tags=["dashboard"], include_in_schema=False)
PAGE = "/admin/users"
ChangeFn = Callable[[Connection], UserInfo]
UserId = Annotated[int, Path(ge=1, le=INT32_MAX, description="user id")]


@router.get("", response_class=HTMLResponse)
def users_page(request: Request, engine: EngineDep, session: AdminPageSession) -> Response:
    """Every user (disabled ones too) with the forms to change them."""
    return _users_view(request, engine, session)


def _users_view(request: Request, engine: Engine, session: Session, error: str | None = None) -> Response:
    """The page; ``error`` is what a refused post says (never taken from the URL)."""
    with engine.connect() as conn:
        listed = user_admin.list_users(conn)
    return render(request, "admin_users.html", session, users=listed, error=error, min_password=MIN_PASSWORD_LENGTH,
                  status_code=422 if error else 200)  # fmt: skip


def _change(request: Request, engine: Engine, session: Session, done: str, change: ChangeFn) -> Response:
    """Run one change in a transaction and go back to the page with ``done`` (formatted with the user) as its
    message; a refused change (InvalidInput) re-shows the page with why. NotFound is the 404 page."""
    try:
        with engine.begin() as conn:
            user = change(conn)
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), gettext_format(done, email=user.email))
    except InvalidInput as exc:
        return _users_view(request, engine, session, error=str(exc))
    return RedirectResponse(PAGE, status_code=303)


@router.post("/{user_id}/disable")
def disable(request: Request, user_id: UserId, engine: EngineDep, session: AdminForm) -> Response:
    """Stop a user signing in and end their sessions (refused for the last active admin)."""
    return _change(request, engine, session, N_("{email} disabled and signed out everywhere."),
                   lambda conn: user_admin.disable_user(conn, user_id))  # fmt: skip


@router.post("/{user_id}/enable")
def enable(request: Request, user_id: UserId, engine: EngineDep, session: AdminForm) -> Response:
    """Let a disabled user sign in again."""
    return _change(request, engine, session, N_("{email} enabled; they can sign in again."),
                   lambda conn: user_admin.enable_user(conn, user_id))  # fmt: skip


@router.post("/{user_id}/password")
def set_password(
    request: Request,
    user_id: UserId,
    engine: EngineDep,
    session: AdminForm,
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Set a user's password and end their sessions (the admin's own current one stays); a short password is
    refused with a message that never shows it."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return _change(request, engine, session, N_("New password set for {email}; their other sessions ended."),
                   lambda conn: user_admin.set_password(conn, user_id, password, keep_token=token))  # fmt: skip


@router.post("/{user_id}/delete")
def delete(request: Request, user_id: UserId, engine: EngineDep, session: AdminForm) -> Response:
    """Delete a user with their sessions, grants and subscriptions (refused for the last active admin)."""
    return _change(request, engine, session, N_("{email} deleted."),
                   lambda conn: user_admin.delete_user(conn, user_id))  # fmt: skip
