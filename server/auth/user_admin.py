"""Looking after dashboard accounts (issue #14): list users, disable and enable them, set or change a password,
delete them. The CLI (``smilepost user list|disable|enable|passwd|delete``), ``/admin/users`` and ``/account`` call
these and nothing else.

- Disabling a user deletes their session rows, so they are signed out everywhere at once (a page asked for with an
  old cookie sends them to the sign-in page); :func:`server.auth.accounts.authenticate` refuses them until enabled.
- Setting a password ends the user's sessions, all of them from the CLI or an admin, all but the current one when
  the user changes their own (:func:`change_own_password`, which checks the current password under the same
  per-account throttle and bound on password checks as signing in).
- Deleting a user deletes their sessions, grants and subscriptions with them (``ON DELETE CASCADE``); the alert rules
  and acknowledgements they made keep their e-mail address as text.
- The last active (enabled) admin can be neither disabled nor deleted, so there is always someone who can sign in and
  manage the rest (also when two admins are removed at once: :func:`_refuse_last_admin` locks the admins' rows).

Raises :class:`server.NotFound`, :class:`server.InvalidInput`, :class:`server.RateLimited` and :class:`server.Busy`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, Engine, delete, select, update

from server import InvalidInput, NotFound, audit
from server.auth import accounts
from server.auth.tokens import hash_secret
from server.db import sessions, user_groups, user_locations, users


@dataclass(frozen=True)
class UserInfo:
    """One dashboard user as an admin sees them (never the password hash)."""

    id: int
    email: str
    role: str
    location_ids: tuple[int, ...]  # granted directly (managers)
    group_ids: tuple[int, ...]  # granted through a group (managers)
    created_at: datetime
    disabled_at: datetime | None

    @property
    def grants(self) -> str:
        """What the user sees, in words: "every location", or "locations 1, 2; group 3"."""
        if self.role == "admin":
            return "every location"
        parts = [f"{what}{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}" for what, ids in
                 (("location", self.location_ids), ("group", self.group_ids)) if ids]  # fmt: skip
        return "; ".join(parts) or "nothing"


def list_users(conn: Connection) -> list[UserInfo]:
    """Every user, disabled ones too, by e-mail address."""
    granted_locations = _grants(conn, user_locations.c.user_id, user_locations.c.location_id)
    granted_groups = _grants(conn, user_groups.c.user_id, user_groups.c.group_id)
    query = select(users.c.id, users.c.email, users.c.role, users.c.created_at, users.c.disabled_at)
    return [
        UserInfo(id=r.id, email=r.email, role=r.role, location_ids=tuple(granted_locations.get(r.id, ())),
                 group_ids=tuple(granted_groups.get(r.id, ())), created_at=r.created_at, disabled_at=r.disabled_at)
        for r in conn.execute(query.order_by(users.c.email))
    ]  # fmt: skip


def _grants(conn: Connection, user_column: Column[int], granted_column: Column[int]) -> dict[int, list[int]]:
    """user id -> the ids granted in one grant table, in order."""
    out: dict[int, list[int]] = {}
    for user_id, granted in conn.execute(select(user_column, granted_column).order_by(user_column, granted_column)):
        out.setdefault(user_id, []).append(granted)
    return out


def get_user(conn: Connection, user_id: int) -> UserInfo:
    """One user. Raises NotFound for an unknown id."""
    found = [user for user in list_users(conn) if user.id == user_id]
    if not found:
        raise NotFound(f"user {user_id} does not exist")
    return found[0]


def disable_user(conn: Connection, user_id: int) -> UserInfo:
    """Stop a user signing in and end their sessions everywhere; a disabled user stays disabled.

    Raises NotFound for an unknown user, InvalidInput for the last active admin.
    """
    user = get_user(conn, user_id)
    _refuse_last_admin(conn, user, "disable")
    if user.disabled_at is None:
        now = datetime.now(UTC)
        conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=now))
        audit.record(conn, "user.disable", target=("user", user_id),
                     summary=f"user {user_id} {user.email} disabled and signed out",
                     before={"disabled_at": None}, after={"disabled_at": now})  # fmt: skip
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
    return get_user(conn, user_id)


def enable_user(conn: Connection, user_id: int) -> UserInfo:
    """Let a disabled user sign in again (with their old password). Raises NotFound for an unknown user."""
    user = get_user(conn, user_id)
    conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=None))
    if user.disabled_at is not None:
        audit.record(conn, "user.enable", target=("user", user_id), summary=f"user {user_id} {user.email} enabled",
                     before={"disabled_at": user.disabled_at}, after={"disabled_at": None})  # fmt: skip
    return get_user(conn, user_id)


def delete_user(conn: Connection, user_id: int) -> UserInfo:
    """Delete a user with their sessions, grants and subscriptions; returns who it was.

    Raises NotFound for an unknown user, InvalidInput for the last active admin.
    """
    user = get_user(conn, user_id)
    _refuse_last_admin(conn, user, "delete")
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id))  # the cascade would too; explicit is clearer
    conn.execute(delete(users).where(users.c.id == user_id))
    audit.record(conn, "user.delete", target=("user", user_id), summary=f"user {user_id} {user.email} deleted",
                 before={"role": user.role, "location_ids": user.location_ids,
                         "group_ids": user.group_ids})  # fmt: skip
    return user


def set_password(conn: Connection, user_id: int, password: str, *, keep_token: str | None = None) -> UserInfo:
    """Give a user a new password and end their sessions, but for the one whose cookie token is ``keep_token``.

    Raises NotFound for an unknown user, InvalidInput for a password shorter than MIN_PASSWORD_LENGTH.
    """
    user = get_user(conn, user_id)
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=accounts.hash_password(password)))
    ended = delete(sessions).where(sessions.c.user_id == user_id)
    if keep_token:
        ended = ended.where(sessions.c.token_hash != hash_secret(keep_token))
    conn.execute(ended)
    audit.record(conn, "user.password", target=("user", user_id),
                 summary=f"new password set for user {user_id} {user.email}; their other sessions ended",
                 before={"password": "set"}, after={"password": "changed"})  # fmt: skip
    return get_user(conn, user_id)


def change_own_password(
    engine: Engine, access: accounts.Access, current: str, new: str, *, checks: accounts.PasswordChecks, keep_token: str
) -> bool:
    """A signed-in user's new password, when ``current`` is their password; False (and counted against the account
    like a failed sign-in) when it is not. Their other sessions end; the one of ``keep_token`` stays.

    Raises InvalidInput for a new password shorter than MIN_PASSWORD_LENGTH (nothing counted), RateLimited while the
    account must wait after failures, Busy when no password check came free in time, NotFound for a user gone.
    """
    if access.user_id is None:
        raise NotFound("only a dashboard user has a password")
    if len(new) < accounts.MIN_PASSWORD_LENGTH:  # refused before anything is counted or hashed
        raise InvalidInput(f"password must be at least {accounts.MIN_PASSWORD_LENGTH} characters")
    with engine.connect() as conn:
        accounts.check_throttle(conn, access.email)
    with checks.turn():
        with engine.begin() as conn:
            accounts.count_attempt(conn, access.email)
        with engine.begin() as conn:
            if accounts.authenticate(conn, access.email, current) != access.user_id:
                return False
            accounts.clear_failures(conn, access.email)
            set_password(conn, access.user_id, new, keep_token=keep_token)
    return True


def _refuse_last_admin(conn: Connection, user: UserInfo, action: str) -> None:
    """Raise InvalidInput when ``user`` is the only enabled admin (nobody could manage the rest without them).

    The enabled admins' rows are locked in id order (PostgreSQL; SQLite has one writer at a time), so of two
    sessions removing the last two admins at once, the second sees the first's change and is refused.
    """
    enabled_admins = select(users.c.id).where(users.c.role == "admin", users.c.disabled_at.is_(None))
    active = conn.execute(enabled_admins.order_by(users.c.id).with_for_update()).scalars().all()
    if list(active) == [user.id]:
        raise InvalidInput(f"cannot {action} {user.email}: it is the last active admin; add or enable another first")


def set_language(conn: Connection, user_id: int, language: str | None, *, spoken: Collection[str]) -> None:
    """A user's dashboard language: one of ``spoken``, or None for "from the browser" (``Accept-Language``).
    Raises InvalidInput for another language, NotFound for an unknown user."""
    if language is not None and language not in spoken:
        raise InvalidInput(f"the dashboard does not speak {language!r}; choose one of {', '.join(spoken)}")
    if conn.execute(update(users).where(users.c.id == user_id).values(language=language)).rowcount == 0:
        raise NotFound(f"user {user_id} does not exist")
