"""Operator actions: locations, kiosk enrolment and API keys (called by the CLI, later the admin pages).

Secrets are 256-bit random tokens shown once and stored only as SHA-256 hashes: with that much
entropy a fast hash is safe (nothing to brute-force), and it lets a request be authenticated by
one indexed lookup. Raises :class:`server.InvalidInput` and :class:`server.NotFound`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, insert, select, update

from server import InvalidInput, NotFound
from server.db import api_keys, kiosks, locations
from shared.pins import hash_pin
from shared.protocol import SCALES, KioskConfig, LocationConfig

KIOSK_TOKEN_PREFIX = "spk_"
API_KEY_PREFIX = "spa_"
API_KEY_SCOPES = ("read", "admin")  # an admin key may also read
# Shown instead of a stored admin PIN hash; sent back in a config it means "keep the stored one".
PIN_HASH_SET = "set"
_PIN_HASH_FORM = re.compile(r"^pbkdf2_sha256\$(\d{4,7})\$[0-9a-f]{16,128}\$[0-9a-f]{64}$")


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a token or API key, the only form stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    """A fresh 256-bit URL-safe secret with a recognisable prefix."""
    return prefix + secrets.token_urlsafe(32)


def check_timezone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name.

    Raises InvalidInput naming the expected form when the zone does not exist.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Oslo'") from exc


def add_location(conn: Connection, *, name: str, timezone: str, scale: int = 5) -> int:
    """Create a location and return its id.

    Raises InvalidInput for an empty name, an unknown time zone or a scale outside 3, 4, 5, 11.
    """
    if not name.strip():
        raise InvalidInput("location name must not be empty")
    check_timezone(timezone)
    _check_scale(scale)
    row = conn.execute(insert(locations).values(name=name.strip(), timezone=timezone, scale=scale, created_at=_now()))
    return int(row.inserted_primary_key[0])  # type: ignore[index]


def set_location_scale(conn: Connection, location_id: int, scale: int) -> None:
    """Change how many faces (or 0-10) a location's kiosks show; stored taps keep their own scale.

    Raises InvalidInput for a scale outside 3, 4, 5, 11 and NotFound for an unknown location.
    """
    _check_scale(scale)
    if conn.execute(update(locations).where(locations.c.id == location_id).values(scale=scale)).rowcount == 0:
        raise NotFound(f"location {location_id} does not exist")


def _check_scale(scale: int) -> None:
    if scale not in SCALES:
        raise InvalidInput(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale}")


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
    conn.execute(
        insert(kiosks).values(
            id=kiosk_id,
            location_id=location_id,
            name=name or f"kiosk-{kiosk_id[:6]}",
            token_hash=hash_secret(token),
            created_at=_now(),
        )
    )
    return Enrolment(kiosk_id=kiosk_id, token=token)


def revoke_kiosk(conn: Connection, kiosk_id: str) -> None:
    """Revoke a kiosk's token; its stored taps stay. Raises NotFound for an unknown kiosk."""
    result = conn.execute(update(kiosks).where(kiosks.c.id == kiosk_id).values(revoked_at=_now()))
    if result.rowcount == 0:
        raise NotFound(f"kiosk {kiosk_id} does not exist")


def create_api_key(conn: Connection, *, name: str, scope: str = "read") -> str:
    """Create an API key of ``scope`` ("read" or "admin") and return it (the only copy).

    Raises InvalidInput for an empty name or an unknown scope.
    """
    if not name.strip():
        raise InvalidInput("API key name must not be empty")
    if scope not in API_KEY_SCOPES:
        raise InvalidInput(f"API key scope must be one of {', '.join(API_KEY_SCOPES)}, got {scope!r}")
    key = new_secret(API_KEY_PREFIX)
    conn.execute(insert(api_keys).values(name=name.strip(), key_hash=hash_secret(key), created_at=_now(), scope=scope))
    return key


def location_config(conn: Connection, location_id: int) -> LocationConfig:
    """A location's config as operators see it: the admin PIN hash shown as "set" (or null).

    Raises NotFound for an unknown location.
    """
    return _masked(_stored_config(conn, location_id))


def configure_location(
    conn: Connection, location_id: int, *, config: LocationConfig | None = None, pin: str | None = None
) -> LocationConfig:
    """Replace a location's config and/or set its admin PIN; returns it as :func:`location_config` does.

    ``config`` None keeps the stored one; its ``admin_pin_hash`` "set" keeps the stored hash, None clears it,
    anything else must be a :func:`shared.pins.hash_pin` hash. ``pin`` (4-12 digits) is stored only hashed.
    Raises NotFound for an unknown location, InvalidInput for a bad PIN or PIN hash.
    """
    stored = _stored_config(conn, location_id)
    new = config if config is not None else stored
    pin_hash = stored.admin_pin_hash if new.admin_pin_hash == PIN_HASH_SET else new.admin_pin_hash
    if pin is not None:
        try:
            pin_hash = hash_pin(pin)
        except ValueError as exc:
            raise InvalidInput(f"pin: {exc}") from exc
    if pin_hash is not None and not _PIN_HASH_FORM.match(pin_hash):
        raise InvalidInput('admin_pin_hash: expected "set", null or a hash made by shared.pins.hash_pin')
    new = new.model_copy(update={"admin_pin_hash": pin_hash})
    conn.execute(update(locations).where(locations.c.id == location_id).values(config=new.model_dump_json()))
    return _masked(new)


def _stored_config(conn: Connection, location_id: int) -> LocationConfig:
    """The stored config with its real PIN hash (defaults when none is stored). Raises NotFound."""
    row = conn.execute(select(locations.c.config).where(locations.c.id == location_id)).first()
    if row is None:
        raise NotFound(f"location {location_id} does not exist")
    return LocationConfig.model_validate_json(row.config) if row.config else LocationConfig()


def _masked(config: LocationConfig) -> LocationConfig:
    return config.model_copy(update={"admin_pin_hash": PIN_HASH_SET if config.admin_pin_hash else None})


def _now() -> datetime:
    return datetime.now(UTC)


def kiosk_config(conn: Connection, kiosk_id: str) -> KioskConfig:
    """The configuration a kiosk is served: its location's stored config (or defaults, with the real PIN
    hash, which the kiosk checks offline) plus the location's name, zone and scale.

    Raises NotFound for an unknown kiosk.
    """
    row = conn.execute(
        select(kiosks.c.id, locations.c.id.label("location_id"), locations.c.name, locations.c.timezone,
               locations.c.scale, locations.c.config)
        .join(locations, locations.c.id == kiosks.c.location_id)
        .where(kiosks.c.id == kiosk_id)
    ).first()  # fmt: skip
    if row is None:
        raise NotFound(f"kiosk {kiosk_id} does not exist")
    stored = LocationConfig.model_validate_json(row.config) if row.config else LocationConfig()
    return KioskConfig(
        **dict(stored), kiosk_id=row.id, location_id=row.location_id, location_name=row.name,
        timezone=row.timezone, scale=row.scale,
    )  # fmt: skip
