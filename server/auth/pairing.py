"""Pairing a fresh kiosk with a one-time code instead of copying its token by hand.

An operator creates a code for a location (:func:`create_pair_code`): 8 random digits, valid 15 minutes,
single use, stored only as a SHA-256 hash. The kiosk sends it once (:func:`redeem_pair_code`) and
receives its own token, made by :func:`server.auth.kiosk_tokens.enroll_kiosk` in the same transaction that marks the
code used, so two kiosks can never redeem one code.

Guessing is rate-limited in the database (the server is stateless, instances share it): every refused
attempt is a row in ``pair_failures``; a client with :data:`MAX_FAILURES_PER_CLIENT` failures in the last
:data:`FAILURE_WINDOW`, or everyone once :data:`MAX_FAILURES_OVERALL` failures happened in it, is refused
before the code is even looked at. The overall cap keeps a sweep of the 10^8 codes from many addresses
slow (200 guesses per 15 min); its price is that such an attack also stops honest pairing for a while.

The hash keeps codes out of backups and logs, but 8 digits are few enough to brute-force from a stolen
hash; what protects a code is its short life and single use.

Raises :class:`server.NotFound`, :class:`server.PairingRefused` and :class:`server.RateLimited`.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select, update

from server import NotFound, PairingRefused, RateLimited, audit
from server.auth.kiosk_tokens import Enrolment, enroll_kiosk
from server.auth.tokens import hash_secret
from server.db import kiosks, locations, pair_codes, pair_failures

log = logging.getLogger(__name__)

CODE_DIGITS = 8
CODE_TTL = timedelta(minutes=15)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_CLIENT = 10
MAX_FAILURES_OVERALL = 200
KEEP_CODES_FOR = timedelta(days=1)  # expired codes older than this are deleted when a new one is made
MAX_CLIENT_CHARS = 64


@dataclass(frozen=True)
class PairCode:
    """A new pairing code (shown once; only its hash is stored) and when it stops working."""

    code: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def create_pair_code(
    conn: Connection,
    *,
    location_id: int,
    kiosk_name: str | None = None,
    ttl: timedelta = CODE_TTL,
    predecessor_id: str | None = None,
) -> PairCode:
    """Create a single-use code that enrols one kiosk at ``location_id`` until ``ttl`` has passed.

    ``kiosk_name`` names the kiosk it enrols (else the name the kiosk asks for, else a default). ``predecessor_id``
    is the kiosk a moved device was (:func:`server.lifecycle.move_kiosk`): the new kiosk takes over its
    completeness counts, and the old one names it as its successor.
    Raises NotFound for an unknown location.
    """
    if conn.execute(select(locations.c.id).where(locations.c.id == location_id)).first() is None:
        raise NotFound(f"location {location_id} does not exist")
    now = _now()
    conn.execute(delete(pair_codes).where(pair_codes.c.expires_at < now - KEEP_CODES_FOR))
    code = _unused_code(conn)
    conn.execute(
        insert(pair_codes).values(
            code_hash=hash_secret(code), location_id=location_id, kiosk_name=kiosk_name or None,
            created_at=now, expires_at=now + ttl, predecessor_id=predecessor_id,
        )
    )  # fmt: skip
    log.info("pairing code created for location %s, valid until %s", location_id, now + ttl)
    named = f" (kiosk {kiosk_name!r})" if kiosk_name else ""
    audit.record(conn, "location.pair_code", target=("location", location_id),
                 summary=f"pairing code created for {audit.location_label(conn, location_id)}{named}, valid until "
                         f"{now + ttl:%Y-%m-%d %H:%M} UTC",
                 after={"kiosk_name": kiosk_name or None, "expires_at": now + ttl})  # fmt: skip
    return PairCode(code=code, expires_at=now + ttl)


def _unused_code(conn: Connection) -> str:
    """Random digits whose hash is not stored yet (a clash is rare: only the last day's codes are kept)."""
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        taken = conn.execute(select(pair_codes.c.id).where(pair_codes.c.code_hash == hash_secret(code))).first()
        if taken is None:
            return code


def redeem_pair_code(engine: Engine, *, code: str, client: str, kiosk_name: str | None = None) -> Enrolment:
    """Enrol a kiosk with ``code`` and return its id and token; the code cannot be used again.

    ``client`` identifies the caller for rate limiting (its IP address). Raises RateLimited (before the
    code is checked) when the client or everyone failed too often lately, PairingRefused for a wrong,
    expired or used code (recording the failure).
    """
    client = client[:MAX_CLIENT_CHARS]
    now = _now()
    with engine.begin() as conn:
        # A write first: on SQLite it takes the write lock at once, so attempts are counted one at a time.
        conn.execute(delete(pair_failures).where(pair_failures.c.failed_at <= now - FAILURE_WINDOW))
        check_rate_limit(conn, client=client, now=now)
        enrolment = _claim(conn, code=code, kiosk_name=kiosk_name, now=now)
        if enrolment is None:
            conn.execute(insert(pair_failures).values(client=client, failed_at=now))
    if enrolment is None:
        log.warning("pairing refused for client %s", client)
        raise PairingRefused()
    log.info("kiosk %s paired from %s", enrolment.kiosk_id, client)
    return enrolment


def check_rate_limit(conn: Connection, *, client: str, now: datetime) -> None:
    """Raise RateLimited if ``client``, or all clients together, failed too often in the window before ``now``."""
    recent = pair_failures.c.failed_at > now - FAILURE_WINDOW
    for where, limit in ((recent & (pair_failures.c.client == client), MAX_FAILURES_PER_CLIENT),
                         (recent, MAX_FAILURES_OVERALL)):  # fmt: skip
        # The limit-th most recent failure: once it leaves the window, one more attempt is allowed.
        blocking = conn.execute(
            select(pair_failures.c.failed_at).where(where)
            .order_by(pair_failures.c.failed_at.desc()).offset(limit - 1).limit(1)
        ).scalar()  # fmt: skip
        if blocking is not None:
            wait = (blocking + FAILURE_WINDOW - now).total_seconds()
            raise RateLimited(max(1, math.ceil(wait)))


def _claim(conn: Connection, *, code: str, kiosk_name: str | None, now: datetime) -> Enrolment | None:
    """Mark the code used and enrol its kiosk; None when the code is unknown, expired or used."""
    code_hash = hash_secret(code)
    claimed = conn.execute(
        update(pair_codes)
        .where(pair_codes.c.code_hash == code_hash, pair_codes.c.used_at.is_(None), pair_codes.c.expires_at > now)
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        return None
    row = conn.execute(
        select(pair_codes.c.location_id, pair_codes.c.kiosk_name, pair_codes.c.predecessor_id)
        .where(pair_codes.c.code_hash == code_hash)
    ).one()  # fmt: skip
    enrolment = enroll_kiosk(conn, location_id=row.location_id, name=row.kiosk_name or kiosk_name)
    conn.execute(update(pair_codes).where(pair_codes.c.code_hash == code_hash).values(kiosk_id=enrolment.kiosk_id))
    if row.predecessor_id is not None:
        _take_over(conn, row.predecessor_id, enrolment.kiosk_id)
    return enrolment


# What a moved device's new kiosk takes over: its sequence numbers go on, so its completeness counts must too.
_CARRIED = ("max_seq", "received", "reported_seq", "quarantined")


def _take_over(conn: Connection, old_id: str, new_id: str) -> None:
    """Give the new kiosk of a moved device the old one's completeness counts, and name it the old one's successor."""
    old = conn.execute(select(*(kiosks.c[name] for name in _CARRIED)).where(kiosks.c.id == old_id)).first()
    if old is not None:
        conn.execute(update(kiosks).where(kiosks.c.id == new_id).values(**old._asdict()))
        conn.execute(update(kiosks).where(kiosks.c.id == old_id).values(successor_id=new_id))
