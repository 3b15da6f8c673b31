"""Kiosk credentials: enrolling a kiosk at a location (its token is shown once), revoking it, and knowing a kiosk
by its bearer token. A token decides the kiosk and so its location: a batch can never choose one.

Raises :class:`server.NotFound`.
"""

from __future__ import annotations

import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from server import NotFound, audit
from server.auth.tokens import KIOSK_TOKEN_PREFIX, hash_secret, new_secret
from server.db import kiosks, locations


@dataclass(frozen=True)
class KioskIdentity:
    """The kiosk a valid token belongs to, and so the only location it may write to."""

    kiosk_id: str
    location_id: int
    timezone: ZoneInfo
    archived: bool = False  # its location is archived: refused with 403 (server.lifecycle)


def authenticate_kiosk(conn: Connection, token: str) -> KioskIdentity | None:
    """The kiosk whose (unrevoked) token this is, or None for an unknown or revoked token."""
    return _identity(conn, hash_secret(token))


_IDENTITY = (
    select(kiosks.c.id, kiosks.c.location_id, locations.c.timezone, locations.c.archived_at)
    .join(locations, locations.c.id == kiosks.c.location_id)
    .where(kiosks.c.token_hash == bindparam("token_hash"), kiosks.c.revoked_at.is_(None))
)


def _identity(conn: Connection, token_hash: str) -> KioskIdentity | None:
    row = conn.execute(_IDENTITY, {"token_hash": token_hash}).first()
    if row is None:
        return None
    return KioskIdentity(
        kiosk_id=row.id, location_id=row.location_id, timezone=ZoneInfo(row.timezone),
        archived=row.archived_at is not None,
    )  # fmt: skip


class KioskAuthCache:
    """Kiosk tokens checked in the last ``seconds`` (0: none kept), so that a kiosk's requests of one round (its
    config, then its batch or heartbeat) cost one lookup; thread-safe, one per application and process.

    Only valid tokens are kept (an unknown token is looked up every time, so random tokens cannot fill the cache),
    at most ``size`` of them. A kiosk revoked by :func:`revoke_kiosk` in this process is forgotten at once (a request
    racing the revocation's commit may keep it at most ``seconds`` more); a change made elsewhere (another process,
    or archiving a location unless that calls :func:`forget_cached`) takes effect once its entry is ``seconds`` old.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic, size: int = 100_000) -> None:
        self.seconds = seconds
        self.clock = clock
        self.size = size
        self._known: dict[str, tuple[float, KioskIdentity]] = {}  # token hash -> (valid until, identity)
        self._lock = threading.Lock()
        _CACHES.add(self)

    def authenticate(self, engine: Engine, token: str) -> KioskIdentity | None:
        """:func:`authenticate_kiosk` through the cache."""
        token_hash = hash_secret(token)
        now = self.clock()
        known = self._known.get(token_hash)
        if known is not None and known[0] > now:
            return known[1]
        with engine.connect() as conn:
            identity = _identity(conn, token_hash)
        with self._lock:
            if identity is None or self.seconds <= 0:
                self._known.pop(token_hash, None)
            else:
                if len(self._known) >= self.size:
                    self._known.clear()
                self._known[token_hash] = (now + self.seconds, identity)
        return identity

    def forget(self, *, kiosk_id: str | None = None, location_id: int | None = None) -> None:
        """Drop the entries of a kiosk, or of every kiosk of a location (e.g. one just archived)."""
        with self._lock:
            for token_hash, (_, identity) in list(self._known.items()):
                if identity.kiosk_id == kiosk_id or identity.location_id == location_id:
                    del self._known[token_hash]


_CACHES: weakref.WeakSet[KioskAuthCache] = weakref.WeakSet()


def forget_cached(*, kiosk_id: str | None = None, location_id: int | None = None) -> None:
    """Make every KioskAuthCache of this process look a kiosk (or a location's kiosks) up again on its next
    request: call it when revoking a token or archiving a location."""
    for cache in list(_CACHES):
        cache.forget(kiosk_id=kiosk_id, location_id=location_id)


@dataclass(frozen=True)
class Enrolment:
    """A new kiosk and its token; the token is shown once and never stored in clear."""

    kiosk_id: str
    token: str


def enroll_kiosk(conn: Connection, *, location_id: int, name: str | None = None) -> Enrolment:
    """Create a kiosk at a location and return its id and (only copy of) its token.

    Raises NotFound when the location does not exist.
    """
    if conn.execute(select(locations.c.id).where(locations.c.id == location_id)).first() is None:
        raise NotFound(f"location {location_id} does not exist")
    kiosk_id = secrets.token_hex(8)
    token = new_secret(KIOSK_TOKEN_PREFIX)
    name = name or f"kiosk-{kiosk_id[:6]}"
    conn.execute(
        insert(kiosks).values(
            id=kiosk_id,
            location_id=location_id,
            name=name,
            token_hash=hash_secret(token),
            created_at=datetime.now(UTC),
        )
    )
    audit.record(conn, "kiosk.enroll", target=("kiosk", kiosk_id),
                 summary=f"kiosk {kiosk_id} {name!r} enrolled at {audit.location_label(conn, location_id)}",
                 after={"location_id": location_id, "name": name})  # fmt: skip
    return Enrolment(kiosk_id=kiosk_id, token=token)


def revoke_kiosk(conn: Connection, kiosk_id: str) -> None:
    """Revoke a kiosk's token; its stored taps stay. Raises NotFound for an unknown kiosk."""
    row = conn.execute(
        select(kiosks.c.name, kiosks.c.location_id, kiosks.c.revoked_at).where(kiosks.c.id == kiosk_id)
    ).first()
    if row is None:
        raise NotFound(f"kiosk {kiosk_id} does not exist")
    now = datetime.now(UTC)
    conn.execute(update(kiosks).where(kiosks.c.id == kiosk_id).values(revoked_at=now))
    forget_cached(kiosk_id=kiosk_id)
    audit.record(conn, "kiosk.revoke", target=("kiosk", kiosk_id),
                 summary=f"kiosk {kiosk_id} {row.name!r} at {audit.location_label(conn, row.location_id)} revoked",
                 before={"revoked_at": row.revoked_at}, after={"revoked_at": now})  # fmt: skip
