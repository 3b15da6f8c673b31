"""``smilepost user list|disable|enable|passwd|delete`` and ``smilepost apikey list|revoke`` (issue #14): looking after
dashboard accounts and API keys, a thin layer over :mod:`server.auth.user_admin` and :mod:`server.auth.keys`. Every
command has ``--json``. Keys are never printed again after ``apikey create``: only their id, name, scope and dates.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from server.cli import (
    JsonOpt,
    _admin_connection,
    _emit,
    _emit_list,
    _password_from_stdin,
    apikey_app,
    server_side,
    user_app,
)

if TYPE_CHECKING:
    from server.auth.keys import ApiKeyInfo
    from server.auth.user_admin import UserInfo

EmailArg = Annotated[str, typer.Argument(help="The user's sign-in e-mail address.")]
KeyArg = Annotated[int, typer.Argument(metavar="ID", help="Id of the key, as `apikey list` prints it.")]


@user_app.command("list")
@server_side
def user_list(as_json: JsonOpt = False) -> None:
    """List dashboard users, disabled ones too: id, e-mail, role, grants, created, disabled."""
    from server.auth.user_admin import list_users

    with _admin_connection() as conn:
        listed = list_users(conn)
    rows = [_user_json(user) for user in listed]
    human = "\n".join(_user_line(user) for user in listed)
    _emit_list(as_json, rows, human, "no users; add one with `smilepost user add`")


@user_app.command("disable")
@server_side
def user_disable(email: EmailArg, as_json: JsonOpt = False) -> None:
    """Stop a user signing in and sign them out everywhere (refused for the last active admin)."""
    from server.auth import accounts, user_admin

    with _admin_connection() as conn:
        user = user_admin.disable_user(conn, accounts.user_id_of(conn, email))
    _emit(as_json, _user_json(user), f"user {user.id} {user.email} disabled; their sessions ended")


@user_app.command("enable")
@server_side
def user_enable(email: EmailArg, as_json: JsonOpt = False) -> None:
    """Let a disabled user sign in again, with their password."""
    from server.auth import accounts, user_admin

    with _admin_connection() as conn:
        user = user_admin.enable_user(conn, accounts.user_id_of(conn, email))
    _emit(as_json, _user_json(user), f"user {user.id} {user.email} enabled")


@user_app.command("passwd")
@server_side
def user_passwd(
    email: EmailArg,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input (first line).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set a user's password (at least 10 characters) and end their sessions."""
    from server.auth import accounts, user_admin

    password = _password_from_stdin(password_stdin)
    with _admin_connection() as conn:
        user = user_admin.set_password(conn, accounts.user_id_of(conn, email), password)
    _emit(as_json, _user_json(user), f"user {user.id} {user.email}: password set; their sessions ended")


@user_app.command("delete")
@server_side
def user_delete(email: EmailArg, as_json: JsonOpt = False) -> None:
    """Delete a user with their sessions, grants and subscriptions (refused for the last active admin)."""
    from server.auth import accounts, user_admin

    with _admin_connection() as conn:
        user = user_admin.delete_user(conn, accounts.user_id_of(conn, email))
    _emit(as_json, {"id": user.id, "email": user.email, "deleted": True}, f"user {user.id} {user.email} deleted")


@apikey_app.command("list")
@server_side
def apikey_list(as_json: JsonOpt = False) -> None:
    """List API keys, revoked ones too: id, name, scope, created, last used, revoked (never the keys)."""
    from server.auth.keys import list_api_keys

    with _admin_connection() as conn:
        rows = [_key_json(key) for key in list_api_keys(conn)]
    human = "\n".join(_key_line(row) for row in rows)
    _emit_list(as_json, rows, human, "no API keys; make one with `smilepost apikey create`")


@apikey_app.command("revoke")
@server_side
def apikey_revoke(key_id: KeyArg, as_json: JsonOpt = False) -> None:
    """Revoke an API key: from now on it gets the same 401 as an unknown key."""
    from server.auth.keys import revoke_api_key

    with _admin_connection() as conn:
        key = revoke_api_key(conn, key_id)
    _emit(as_json, _key_json(key), f"API key {key.id} {key.name!r} revoked")


def _user_json(user: UserInfo) -> dict[str, Any]:
    return {
        "id": user.id, "email": user.email, "role": user.role,
        "grants": {"locations": list(user.location_ids), "groups": list(user.group_ids)},
        "created": _iso(user.created_at), "disabled": _iso(user.disabled_at),
    }  # fmt: skip


def _user_line(user: UserInfo) -> str:
    state = f"disabled {_iso(user.disabled_at)}" if user.disabled_at else "active"
    return f"{user.id}: {user.email} ({user.role}; sees {user.grants}); created {_iso(user.created_at)}, {state}"


def _key_json(key: ApiKeyInfo) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "scope": key.scope, "created": _iso(key.created_at),
            "last_used": _iso(key.last_used_at), "revoked": _iso(key.revoked_at)}  # fmt: skip


def _key_line(row: dict[str, Any]) -> str:
    state = f"revoked {row['revoked']}" if row["revoked"] else "active"
    used = row["last_used"] or "never"
    return f"{row['id']}: {row['name']!r} ({row['scope']}); created {row['created']}, last used {used}, {state}"


def _iso(moment: datetime | None) -> str | None:
    """RFC 3339 UTC to the second with a Z (as the other commands print times); None stays None."""
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")
