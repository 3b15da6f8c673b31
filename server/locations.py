"""Locations and what their kiosks show: create them, their time zone (IANA names only), scale and config
(texts, follow-up reasons, timings, opening hours, the admin PIN hash), as operators set them from the CLI,
the API and the admin pages, and as kiosks are served it.

Raises :class:`server.InvalidInput` and :class:`server.NotFound`.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import Connection, insert, select, update

from server import InvalidInput, NotFound, audit
from server.db import kiosks, locations
from shared.pins import hash_pin, needs_update
from shared.protocol import SCALES, KioskConfig, LocationConfig

# Shown instead of a stored admin PIN hash; sent back in a config it means "keep the stored one".
PIN_HASH_SET = "set"
# What shared.pins.hash_pin makes (scrypt), and its old PBKDF2 form, still accepted so old configs round-trip.
_PIN_HASH_FORM = re.compile(
    r"^(scrypt\$\d{1,6}\$\d{1,2}\$\d{1,2}|pbkdf2_sha256\$\d{4,7})\$[0-9a-f]{16,128}\$[0-9a-f]{64}$"
)


# Names zoneinfo lists that mean whatever the host says (its own zone, a build default, leap-second clocks).
_HOST_ZONES = ("localtime", "posixrules", "Factory")
_HOST_ZONE_FOLDERS = ("posix/", "right/")


@functools.cache
def _zone_names() -> dict[str, str]:
    """The time zones a location may have, by their lower-case name: every IANA name (and alias, e.g. UTC,
    Asia/Calcutta) :func:`zoneinfo.available_timezones` lists, without the host-dependent ones."""
    return {
        name.lower(): name
        for name in sorted(available_timezones())
        if name not in _HOST_ZONES and not name.startswith(_HOST_ZONE_FOLDERS)
    }


def check_timezone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA time zone name (exactly as the tz database spells it).

    Raises InvalidInput for any other name (a folder such as 'Europe', a path, 'localtime'...), suggesting the
    closest names when there are any.
    """
    zones = _zone_names()
    if zones.get(name.lower()) == name:
        return ZoneInfo(name)
    close = _close_zones(name, zones)
    if not close:
        raise InvalidInput(f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Oslo'")
    listed = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
    raise InvalidInput(f"unknown time zone {name!r}: did you mean {listed}?")


def _close_zones(name: str, zones: dict[str, str]) -> list[str]:
    """Up to 3 zone names most like ``name`` ignoring case, only those about as close as the best: a typo
    ('Europe/Olso') gets its one zone, a folder ('Europe') a few of its zones."""
    key = name.lower()
    matches = difflib.get_close_matches(key, zones, n=3)
    ratios = [difflib.SequenceMatcher(None, key, match).ratio() for match in matches]
    return [zones[match] for match, ratio in zip(matches, ratios, strict=True) if ratio >= ratios[0] - 0.05]


def add_location(conn: Connection, *, name: str, timezone: str, scale: int = 5) -> int:
    """Create a location and return its id.

    Raises InvalidInput for an empty name, an unknown time zone or a scale outside 3, 4, 5, 11.
    """
    if not name.strip():
        raise InvalidInput("location name must not be empty")
    check_timezone(timezone)
    _check_scale(scale)
    row = conn.execute(insert(locations).values(name=name.strip(), timezone=timezone, scale=scale, created_at=_now()))
    location_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, "location.add", target=("location", location_id),
                 summary=f"location {location_id} {name.strip()!r} added ({timezone}, scale {scale})",
                 after={"name": name.strip(), "timezone": timezone, "scale": scale})  # fmt: skip
    return location_id


def set_location_scale(conn: Connection, location_id: int, scale: int) -> None:
    """Change how many faces (or 0-10) a location's kiosks show; stored taps keep their own scale.

    Raises InvalidInput for a scale outside 3, 4, 5, 11 and NotFound for an unknown location.
    """
    _check_scale(scale)
    old = conn.execute(select(locations.c.scale).where(locations.c.id == location_id)).scalar()
    if old is None:
        raise NotFound(f"location {location_id} does not exist")
    conn.execute(update(locations).where(locations.c.id == location_id).values(scale=scale))
    if old != scale:
        audit.record(conn, "location.scale", target=("location", location_id),
                     summary=f"{audit.location_label(conn, location_id)}: scale {old} -> {scale}",
                     before={"scale": old}, after={"scale": scale})  # fmt: skip


def _check_scale(scale: int) -> None:
    if scale not in SCALES:
        raise InvalidInput(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale}")


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
    anything else must be a :func:`shared.pins.hash_pin` hash (or its old PBKDF2 form) with parameters a kiosk
    accepts. ``pin`` (6-12 digits) is stored only hashed.
    Raises NotFound for an unknown location, InvalidInput for a bad PIN or PIN hash.
    """
    stored = _stored_config(conn, location_id)
    new = config if config is not None else stored
    pin_hash = stored.admin_pin_hash if new.admin_pin_hash == PIN_HASH_SET else new.admin_pin_hash
    sent = new.admin_pin_hash not in (PIN_HASH_SET, None)  # a kept hash was checked when it was stored
    if sent and pin_hash is not None and not (_PIN_HASH_FORM.match(pin_hash) and _kiosk_accepts(pin_hash)):
        raise InvalidInput('admin_pin_hash: expected "set", null or a hash made by shared.pins.hash_pin')
    if pin is not None:
        try:
            pin_hash = hash_pin(pin)
        except ValueError as exc:
            raise InvalidInput(f"pin: {exc}") from exc
    new = new.model_copy(update={"admin_pin_hash": pin_hash})
    conn.execute(update(locations).where(locations.c.id == location_id).values(config=new.model_dump_json()))
    _record_config(conn, location_id, stored, new, pin_set=pin is not None)
    return _masked(new)


def _record_config(
    conn: Connection, location_id: int, stored: LocationConfig, new: LocationConfig, *, pin_set: bool
) -> None:
    """Note a config change in the audit trail: the settings that changed, the PIN only as "pin set" / cleared."""
    old_values, new_values = stored.model_dump(mode="json"), new.model_dump(mode="json")
    del old_values["admin_pin_hash"], new_values["admin_pin_hash"]
    before, after = audit.changes(old_values, new_values)
    said = [", ".join(sorted(after))] if after else []
    if pin_set or stored.admin_pin_hash != new.admin_pin_hash:
        pin_before = audit.SECRET if stored.admin_pin_hash else None
        pin_after = audit.SECRET if new.admin_pin_hash else None
        before["admin_pin"], after["admin_pin"] = pin_before, pin_after
        said.append("pin set" if new.admin_pin_hash else "pin cleared")
    if not after:
        return
    action = "location.pin" if said == ["pin set"] or said == ["pin cleared"] else "location.configure"
    audit.record(conn, action, target=("location", location_id),
                 summary=f"{audit.location_label(conn, location_id)}: {'; '.join(said)}", before=before,
                 after=after)  # fmt: skip


def pin_needs_update(conn: Connection, location_id: int) -> bool:
    """Whether the location's admin PIN should be set anew: its hash is in the old PBKDF2 form (the PIN may be
    4-5 digits) or weaker than :func:`shared.pins.hash_pin` makes now. False when no PIN is set.

    Raises NotFound for an unknown location.
    """
    pin_hash = _stored_config(conn, location_id).admin_pin_hash
    if pin_hash is None:
        return False
    try:
        return needs_update(pin_hash)
    except ValueError:  # stored before kiosks bounded the parameters: they refuse it, so a new PIN is needed
        return True


def _kiosk_accepts(pin_hash: str) -> bool:
    """Whether a kiosk's :func:`shared.pins.verify_pin` accepts the hash (form and bounded parameters)."""
    try:
        needs_update(pin_hash)
    except ValueError:
        return False
    return True


def _stored_config(conn: Connection, location_id: int) -> LocationConfig:
    """The stored config with its real PIN hash (defaults when none is stored). Raises NotFound."""
    row = conn.execute(select(locations.c.config).where(locations.c.id == location_id)).first()
    if row is None:
        raise NotFound(f"location {location_id} does not exist")
    return parse_config(row.config)


@functools.lru_cache(maxsize=4096)
def parse_config(stored: str | None) -> LocationConfig:
    """A location's config as stored (JSON; None or empty: the defaults), parsed once per distinct text: configs are
    frozen, and a 200-location overview reads every one of them on each load.

    Raises pydantic.ValidationError for a stored text that is not a config (a corrupt row).
    """
    return LocationConfig.model_validate_json(stored) if stored else LocationConfig()


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
    stored = parse_config(row.config)
    return KioskConfig(
        **dict(stored), kiosk_id=row.id, location_id=row.location_id, location_name=row.name,
        timezone=row.timezone, scale=row.scale,
    )  # fmt: skip


def set_profanity_mask(conn: Connection, location_id: int, on: bool) -> bool:
    """Whether the location's comments are shown with swear words masked (:mod:`server.privacy.profanity`);
    stored comments and exports stay as typed. Returns whether the setting changed.

    Raises NotFound for an unknown location.
    """
    row = conn.execute(select(locations.c.mask_profanity).where(locations.c.id == location_id)).first()
    if row is None:
        raise NotFound(f"location {location_id} does not exist")
    if bool(row.mask_profanity) == on:
        return False
    conn.execute(update(locations).where(locations.c.id == location_id).values(mask_profanity=on))
    audit.record(conn, "location.profanity_mask", target=("location", location_id),
                 summary=f"{audit.location_label(conn, location_id)}: profanity mask {'on' if on else 'off'}",
                 before={"mask_profanity": not on}, after={"mask_profanity": on})  # fmt: skip
    return True


def profanity_masked(conn: Connection, location_ids: Iterable[int]) -> frozenset[int]:
    """Those of ``location_ids`` whose comments are shown masked (unknown ids are not)."""
    ids = sorted(set(location_ids))
    if not ids:
        return frozenset()
    query = select(locations.c.id).where(locations.c.id.in_(ids), locations.c.mask_profanity.is_(True))
    return frozenset(conn.execute(query).scalars())
