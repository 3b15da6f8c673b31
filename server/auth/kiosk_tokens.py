"""Kiosk credentials: enrolling a kiosk at a location (its token is shown once), revoking it, and knowing a kiosk
by its bearer token. A token decides the kiosk and so its location: a batch can never choose one.

Raises :class:`server.NotFound`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

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
    row = conn.execute(
        select(kiosks.c.id, kiosks.c.location_id, locations.c.timezone, locations.c.archived_at)
        .join(locations, locations.c.id == kiosks.c.location_id)
        .where(kiosks.c.token_hash == hash_secret(token), kiosks.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return KioskIdentity(
        kiosk_id=row.id, location_id=row.location_id, timezone=ZoneInfo(row.timezone),
        archived=row.archived_at is not None,
    )  # fmt: skip


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
    audit.record(conn, "kiosk.revoke", target=("kiosk", kiosk_id),
                 summary=f"kiosk {kiosk_id} {row.name!r} at {audit.location_label(conn, row.location_id)} revoked",
                 before={"revoked_at": row.revoked_at}, after={"revoked_at": now})  # fmt: skip
