"""API keys: read keys (every location, summaries, exports, the fleet) and admin keys (may also set configs and make
pairing codes), shown once and stored only as SHA-256 hashes; a revoked key is refused like an unknown one.

A key's ``last_used_at`` is written when it authenticates a request, at most once per :data:`LAST_USED_EVERY` per
key (a read on every request, a write at most once a minute), so ``smilepost apikey list`` shows which keys are in
use without a write per request.

Raises :class:`server.InvalidInput` and :class:`server.NotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, insert, or_, select, update

from server import InvalidInput, NotFound, audit
from server.auth.tokens import API_KEY_PREFIX, hash_secret, new_secret
from server.db import api_keys

API_KEY_SCOPES = ("read", "admin")  # an admin key may also read
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is at most this stale


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as ``apikey list`` shows it: never the key or its hash."""

    id: int
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def create_api_key(conn: Connection, *, name: str, scope: str = "read") -> str:
    """Create an API key of ``scope`` ("read" or "admin") and return it (the only copy).

    Raises InvalidInput for an empty name or an unknown scope.
    """
    if not name.strip():
        raise InvalidInput("API key name must not be empty")
    if scope not in API_KEY_SCOPES:
        raise InvalidInput(f"API key scope must be one of {', '.join(API_KEY_SCOPES)}, got {scope!r}")
    key = new_secret(API_KEY_PREFIX)
    now = datetime.now(UTC)
    row = conn.execute(
        insert(api_keys).values(name=name.strip(), key_hash=hash_secret(key), created_at=now, scope=scope)
    )
    key_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, "apikey.create", target=("apikey", key_id),
                 summary=f"API key {key_id} {name.strip()!r} created ({scope})",
                 after={"name": name.strip(), "scope": scope})  # fmt: skip
    return key


def key_scope(conn: Connection, key: str) -> str | None:
    """The scope ("read" or "admin") of an unrevoked API key, or None for an unknown or revoked one; see
    :func:`key_use`."""
    used = key_use(conn, key)
    return None if used is None else used.scope


@dataclass(frozen=True)
class KeyUse:
    """An unrevoked API key that authenticated a request: its id, name and scope."""

    id: int
    name: str
    scope: str


def key_use(conn: Connection, key: str) -> KeyUse | None:
    """The unrevoked API key this is (id, name, scope), or None for an unknown or revoked one.

    Notes the use in ``last_used_at`` when the stored time is older than LAST_USED_EVERY (``conn`` must then be
    committed, e.g. from ``engine.begin()``); of two requests racing to note it, one writes.
    """
    query = select(api_keys.c.id, api_keys.c.name, api_keys.c.scope, api_keys.c.last_used_at).where(
        api_keys.c.key_hash == hash_secret(key), api_keys.c.revoked_at.is_(None)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or row.last_used_at <= now - LAST_USED_EVERY:
        stale = or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at <= now - LAST_USED_EVERY)
        conn.execute(update(api_keys).where(api_keys.c.id == row.id, stale).values(last_used_at=now))
    return KeyUse(row.id, row.name, str(row.scope))


def list_api_keys(conn: Connection) -> list[ApiKeyInfo]:
    """Every API key, revoked ones too, oldest first."""
    k = api_keys.c
    query = select(k.id, k.name, k.scope, k.created_at, k.last_used_at, k.revoked_at).order_by(k.id)
    return [ApiKeyInfo(**row._asdict()) for row in conn.execute(query)]


def revoke_api_key(conn: Connection, key_id: int) -> ApiKeyInfo:
    """Revoke a key: from now on it gets the same 401 as an unknown one. Revoking a revoked key changes nothing.

    Raises NotFound for an unknown id.
    """
    revoked = conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    ).rowcount
    found = [key for key in list_api_keys(conn) if key.id == key_id]
    if not found:
        raise NotFound(f"API key {key_id} does not exist")
    if revoked:
        audit.record(conn, "apikey.revoke", target=("apikey", key_id),
                     summary=f"API key {key_id} {found[0].name!r} ({found[0].scope}) revoked",
                     before={"revoked_at": None}, after={"revoked_at": found[0].revoked_at})  # fmt: skip
    return found[0]
