"""Opening hours: is the location open at a given moment, in its own time zone? Pure; no Kivy, no I/O.

``opening_hours`` (see :class:`shared.protocol.LocationConfig`) maps a local weekday to open spans
``("HH:MM", "HH:MM")``; None means always open and a missing day means closed all day. A span whose end is
not after its start runs past midnight (``("22:00", "02:00")`` is open 22:00-24:00 and 00:00-02:00 of the next
day); ``"24:00"`` is the end of the day.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, tzinfo
from typing import get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.protocol import LocationConfig, Weekday

log = logging.getLogger(__name__)

WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)  # mon .. sun, in datetime.weekday() order


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


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
    hours = config.opening_hours
    if hours is None:
        return True
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = moment.astimezone(zone(timezone))
    minute = local.hour * 60 + local.minute
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
    for start, end in hours.get(today, []):
        s, e = _minutes(start), _minutes(end)
        if (s < e and s <= minute < e) or (s >= e and minute >= s):
            return True
    return any(_minutes(start) >= _minutes(end) > minute for start, end in hours.get(yesterday, []))
