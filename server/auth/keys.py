"""API keys: read keys (every location, summaries, exports, the fleet) and admin keys (may also set configs and make
pairing codes), shown once and stored only as SHA-256 hashes; a revoked key is refused like an unknown one.

Raises :class:`server.InvalidInput`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from server import InvalidInput
from server.auth.tokens import API_KEY_PREFIX, hash_secret, new_secret
from server.db import api_keys

API_KEY_SCOPES = ("read", "admin")  # an admin key may also read


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
    conn.execute(insert(api_keys).values(name=name.strip(), key_hash=hash_secret(key), created_at=now, scope=scope))
    return key


def key_scope(conn: Connection, key: str) -> str | None:
    """The scope ("read" or "admin") of an unrevoked API key, or None for an unknown or revoked one."""
    query = select(api_keys.c.scope).where(api_keys.c.key_hash == hash_secret(key), api_keys.c.revoked_at.is_(None))
    scope = conn.execute(query).scalar()
    return None if scope is None else str(scope)
