"""Dashboard accounts: users, their grants, location groups, sessions and what each user may see.

Passwords are hashed with argon2id (argon2-cffi's defaults); session tokens are 256-bit random values
stored only as SHA-256 hashes (nothing to brute-force, one indexed lookup per request), each with its own
CSRF token that every form of the session posts back. Sessions live in the database, so any server
instance can serve any request and logging out ends the session everywhere.

Signing in (:func:`sign_in`) is guarded twice, besides the per-address limit the route applies:

- **Per process, memory**: an argon2id check takes 64 MiB, so at most ``limit`` run at once
  (:class:`PasswordChecks`, ``SMILEPOST_LOGIN_CONCURRENCY``, default 2). Another sign-in waits up to
  :data:`PASSWORD_CHECK_WAIT_SECONDS` for a turn, then gets :class:`server.Busy` (503) and nothing is counted.
- **Per account, in the database** (table ``login_throttle``, keyed by the SHA-256 of the normalised email, so
  every instance sees it): the first :data:`FREE_FAILURES` failures are free; after ``n`` failures
  (n >= FREE_FAILURES) the next attempt must come at least ``min(2 ** (n - FREE_FAILURES), 60)`` seconds after
  the last one (1 s, 2 s, 4 s ... 60 s). An attempt inside that delay gets :class:`server.RateLimited` (429,
  ``Retry-After``) before its password is checked: it costs no argon2 and does not move the delay, and even
  the right password is refused. An attempt that may go ahead is counted as a failure *before* its password
  is checked (a compare-and-set on the row, so concurrent attempts on several instances cannot slip past the
  delay together); a successful sign-in deletes the row. A failure older than :data:`FAILURE_MEMORY`
  (15 min) is forgotten: the count starts again. Unknown emails are throttled exactly alike, so the answer
  never tells whether an account exists. There is no lockout: the delay never exceeds 60 s, so someone
  guessing once a minute holds an account at one try a minute (for its owner too), never longer. A refused
  attempt is refused before it waits for a password-check turn.

Raises :class:`server.InvalidInput`, :class:`server.NotFound`, :class:`server.Forbidden`,
:class:`server.RateLimited` and :class:`server.Busy`.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from server import Busy, Forbidden, InvalidInput, NotFound, RateLimited, audit
from server.auth.tokens import hash_secret
from server.db import groups, locations, login_throttle, sessions, user_groups, user_locations, users
from server.groups import locations_under

ROLES = ("admin", "manager")
MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()

FREE_FAILURES = 5  # failed sign-ins per account before any delay
MAX_DELAY_SECONDS = 60  # the delay doubles from 1 s up to this
FAILURE_MEMORY = timedelta(minutes=15)  # a failure older than this is forgotten (the count starts again)
PASSWORD_CHECK_WAIT_SECONDS = 2.0  # how long a sign-in waits for a turn to check its password before 503
_CLAIM_TRIES = 5  # compare-and-set rounds before an attempt that keeps losing races is told to come back


def _now() -> datetime:
    return datetime.now(UTC)


@cache
def _dummy_hash() -> str:
    """Verified when the email is unknown, so a sign-in takes as long whether or not the account exists
    (made on first use: hashing costs a quarter of a second, which every command would pay at import)."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Access:
    """What one signed-in user (or API key) may see and do.

    ``location_ids`` is None for "every location" (admins and API keys); else the locations granted
    directly or through a group.
    """

    user_id: int | None
    email: str
    role: str
    location_ids: frozenset[int] | None
    language: str | None = None  # the dashboard language the user chose (None: from the browser)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_see(self, location_id: int) -> bool:
        return self.location_ids is None or location_id in self.location_ids

    def check(self, location_id: int) -> None:
        """Raises Forbidden when the user may not see the location."""
        if not self.may_see(location_id):
            raise Forbidden(f"you have no access to location {location_id}")


@dataclass(frozen=True)
class Session:
    """A signed-in session: the cookie's token (only on creation), its CSRF token and whose it is."""

    token: str
    csrf_token: str
    access: Access


def normalise_email(email: str) -> str:
    """The stored form of an address (trimmed, lower-cased). Raises InvalidInput when it is not one."""
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an email address (expected name@example.com)")
    return email


def add_user(
    conn: Connection,
    *,
    email: str,
    password: str,
    role: str,
    location_ids: Iterable[int] = (),
    group_ids: Iterable[int] = (),
) -> int:
    """Create a user with an argon2id password hash and the given grants; returns the user's id.

    Raises InvalidInput for a malformed or taken email, an unknown role, a password shorter than
    MIN_PASSWORD_LENGTH or a manager with no location or group; NotFound for an unknown location or group.
    """
    email = normalise_email(email)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    location_ids, group_ids = sorted(set(location_ids)), sorted(set(group_ids))
    if role == "manager" and not (location_ids or group_ids):
        raise InvalidInput("a manager needs at least one --location or --group")
    _check_exist(conn, locations, location_ids, "location")
    _check_exist(conn, groups, group_ids, "group")
    try:
        with conn.begin_nested():
            row = conn.execute(
                insert(users).values(
                    email=email, password_hash=_hasher.hash(password), role=role, created_at=datetime.now(UTC)
                )
            )
    except IntegrityError as exc:
        raise InvalidInput(f"a user {email} already exists") from exc
    user_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    if location_ids:
        conn.execute(insert(user_locations), [{"user_id": user_id, "location_id": i} for i in location_ids])
    if group_ids:
        conn.execute(insert(user_groups), [{"user_id": user_id, "group_id": i} for i in group_ids])
    audit.record(conn, "user.add", target=("user", user_id), summary=f"user {user_id} {email} added ({role})",
                 after={"email": email, "role": role, "location_ids": location_ids, "group_ids": group_ids,
                        "password": "set"})  # fmt: skip
    return user_id


def hash_password(password: str) -> str:
    """The argon2id hash of a new password. Raises InvalidInput for one shorter than MIN_PASSWORD_LENGTH."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _check_exist(conn: Connection, table: object, ids: list[int], what: str) -> None:
    if not ids:
        return
    found = {r[0] for r in conn.execute(select(table.c.id).where(table.c.id.in_(ids)))}  # type: ignore[attr-defined]
    if missing := [i for i in ids if i not in found]:
        raise NotFound(f"{what} {missing[0]} does not exist")


def user_id_of(conn: Connection, email: str) -> int:
    """The id of the user with this e-mail address. Raises InvalidInput for a malformed address, NotFound for no
    such user."""
    address = normalise_email(email)
    user_id = conn.execute(select(users.c.id).where(users.c.email == address)).scalar()
    if user_id is None:
        raise NotFound(f"no user {address}; add one with `smilepost user add`")
    return int(user_id)


def access_of(conn: Connection, user_id: int) -> Access:
    """What a user may see. Raises NotFound for an unknown or disabled user."""
    user = conn.execute(
        select(users.c.id, users.c.email, users.c.role, users.c.language).where(
            users.c.id == user_id, users.c.disabled_at.is_(None)
        )
    ).first()
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if user.role == "admin":
        return Access(user_id=user.id, email=user.email, role="admin", location_ids=None, language=user.language)
    granted_groups = select(user_groups.c.group_id).where(user_groups.c.user_id == user_id)
    direct = select(user_locations.c.location_id).where(user_locations.c.user_id == user_id)
    ids = frozenset(conn.execute(direct.union(locations_under(granted_groups))).scalars())
    return Access(user_id=user.id, email=user.email, role=user.role, location_ids=ids, language=user.language)


def authenticate(conn: Connection, email: str, password: str) -> int | None:
    """The id of the enabled user with this email and password, else None (same time either way)."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = ""
    row = conn.execute(
        select(users.c.id, users.c.password_hash).where(users.c.email == email, users.c.disabled_at.is_(None))
    ).first()
    try:
        _hasher.verify(row.password_hash if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        conn.execute(update(users).where(users.c.id == row.id).values(password_hash=_hasher.hash(password)))
    return int(row.id)


def start_session(conn: Connection, user_id: int, *, lifetime: timedelta) -> Session:
    """A new session for a user; its token is returned once and stored only as a hash.

    Raises NotFound for an unknown or disabled user.
    """
    access = access_of(conn, user_id)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(
        insert(sessions).values(
            token_hash=hash_secret(token), user_id=user_id, csrf_token=csrf, created_at=now, expires_at=now + lifetime
        )
    )
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))  # housekeeping, cheap with few sessions
    return Session(token=token, csrf_token=csrf, access=access)


def session_of(conn: Connection, token: str) -> Session | None:
    """The live session a cookie token belongs to, or None (unknown, expired, or its user disabled)."""
    row = conn.execute(
        select(sessions.c.user_id, sessions.c.csrf_token).where(
            sessions.c.token_hash == hash_secret(token), sessions.c.expires_at > datetime.now(UTC)
        )
    ).first()
    if row is None:
        return None
    try:
        return Session(token="", csrf_token=row.csrf_token, access=access_of(conn, row.user_id))
    except NotFound:
        return None


def end_session(conn: Connection, token: str) -> None:
    """Log a session out (a no-op for an unknown token)."""
    conn.execute(delete(sessions).where(sessions.c.token_hash == hash_secret(token)))


def csrf_matches(expected: str, sent: str | None) -> bool:
    """Whether a posted CSRF token is the session's (compared in constant time)."""
    return bool(sent) and hmac.compare_digest(expected.encode(), (sent or "").encode())


# --- signing in: at most a few password checks at once, and a growing delay per account ----------------------


class PasswordChecks:
    """At most ``limit`` password checks at once in this process (each argon2id check takes 64 MiB); thread-safe.

    Raises ValueError for a limit below 1.
    """

    def __init__(self, limit: int, *, wait_seconds: float = PASSWORD_CHECK_WAIT_SECONDS) -> None:
        if limit < 1:
            raise ValueError(f"need at least one password check at a time, got {limit}")
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._turns = threading.BoundedSemaphore(limit)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold one of the ``limit`` turns while the block runs. Raises Busy when none came free within
        ``wait_seconds``."""
        if not self._turns.acquire(timeout=self.wait_seconds):
            raise Busy(max(1, math.ceil(self.wait_seconds)), "sign-ins")
        try:
            yield
        finally:
            self._turns.release()


def sign_in(
    engine: Engine, email: str, password: str, *, checks: PasswordChecks, lifetime: timedelta
) -> Session | None:
    """Check the credentials and start a session; None for a wrong email or password (counted against the account).

    Raises RateLimited (before the password is checked) while the account must wait after earlier failures,
    Busy when no password check came free in time (nothing is counted then).
    """
    with engine.connect() as conn:
        check_throttle(conn, email)  # refuse a throttled account without waiting for a turn
    with checks.turn():
        with engine.begin() as conn:
            count_attempt(conn, email)
        with engine.begin() as conn:
            user_id = authenticate(conn, email, password)
            if user_id is None:
                return None
            clear_failures(conn, email)
            return start_session(conn, user_id, lifetime=lifetime)


def throttle_key(email: str) -> str:
    """The ``login_throttle`` key of an email (SHA-256 of its normalised form; of the trimmed, lower-cased text
    when it is not an address, which can never sign in but is throttled all the same)."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = email.strip().lower()
    return hash_secret(email)


def throttle_delay(failures: int) -> int:
    """Seconds an attempt must wait after the last of ``failures`` recent failures: 0 for the first
    FREE_FAILURES, then 1, 2, 4 ... up to MAX_DELAY_SECONDS."""
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_DELAY_SECONDS, 1 << min(failures - FREE_FAILURES, 16))


def check_throttle(conn: Connection, email: str) -> None:
    """Raise RateLimited if an attempt to sign in as ``email`` must wait now; counts nothing."""
    key = throttle_key(email)
    row = conn.execute(select(login_throttle).where(login_throttle.c.account == key)).first()
    _refuse_inside_delay(row, _now())


def count_attempt(conn: Connection, email: str) -> None:
    """Count an attempt on ``email``'s account as a failure, until :func:`clear_failures` says it succeeded.

    Raises RateLimited, counting nothing, while the account must wait. Safe with any number of instances: the
    count moves by compare-and-set, so of two attempts racing for one allowed try, one gets RateLimited.
    """
    key, now = throttle_key(email), _now()
    # A write first: it forgets a stale count and, on SQLite, takes the write lock at once.
    conn.execute(
        delete(login_throttle).where(
            login_throttle.c.account == key, login_throttle.c.last_failed_at <= now - FAILURE_MEMORY
        )
    )
    for _ in range(_CLAIM_TRIES):
        row = conn.execute(select(login_throttle).where(login_throttle.c.account == key)).first()
        _refuse_inside_delay(row, now)
        if row is None:
            first = _insert_if_absent(conn).values(account=key, failures=1, last_failed_at=now)
            if conn.execute(first).first() is not None:
                return
            continue
        counted = conn.execute(
            update(login_throttle)
            .where(
                login_throttle.c.account == key,
                login_throttle.c.failures == row.failures,
                login_throttle.c.last_failed_at == row.last_failed_at,
            )
            .values(failures=row.failures + 1, last_failed_at=now)
        )
        if counted.rowcount == 1:
            return
    raise RateLimited(1, "sign-in attempts for this account at once")


def clear_failures(conn: Connection, email: str) -> None:
    """Forget ``email``'s failures after a successful sign-in, and every count older than FAILURE_MEMORY."""
    conn.execute(delete(login_throttle).where(login_throttle.c.account == throttle_key(email)))
    conn.execute(delete(login_throttle).where(login_throttle.c.last_failed_at <= _now() - FAILURE_MEMORY))


def _refuse_inside_delay(row: Any, now: datetime) -> None:
    """Raise RateLimited when ``row`` (a login_throttle row or None) makes an attempt at ``now`` wait."""
    if row is None or row.last_failed_at <= now - FAILURE_MEMORY:
        return
    wait = (row.last_failed_at + timedelta(seconds=throttle_delay(row.failures)) - now).total_seconds()
    if wait > 0:
        raise RateLimited(max(1, math.ceil(wait)), "failed sign-ins for this account")


def _insert_if_absent(conn: Connection) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING account`` into login_throttle: no row back when another
    attempt was first (psycopg reports no rowcount for it)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert_ = dialect.insert(login_throttle).on_conflict_do_nothing(index_elements=[login_throttle.c.account])
    return insert_.returning(login_throttle.c.account)
