"""Opening hours: is the location open at a given moment, in its own time zone? Pure; no Kivy, no I/O.

The spans and their rules (a missing day is closed, a span may run past midnight, ``"24:00"`` ends the day) live in
:mod:`shared.hours`, which the server's ``silence`` alerts use too; this module reads them on the kiosk's clock in the
location's zone.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.hours import open_at
from shared.protocol import LocationConfig

log = logging.getLogger(__name__)


def zone(name: str) -> tzinfo:
    """The IANA zone ``name``; UTC (with a warning) if this machine does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: opening hours are read as UTC", name)
        return UTC


def is_open(config: LocationConfig, timezone: str, now: datetime | None = None) -> bool:
    """Whether ``config``'s opening hours include ``now`` (default: the current time) in ``timezone``.

    Raises ValueError if ``now`` is naive.
    """
    if config.opening_hours is None:
        return True
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return open_at(config.opening_hours, moment.astimezone(zone(timezone)))
