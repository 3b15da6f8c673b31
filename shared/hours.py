"""Opening hours: whether a local wall-clock time falls inside a location's open spans. Pure; stdlib only.

``opening_hours`` (see :class:`shared.protocol.LocationConfig`) maps a local weekday (``"mon"`` … ``"sun"``) to
open spans ``("HH:MM", "HH:MM")``; None means always open and a missing day means closed all day. A span whose end
is not after its start runs past midnight (``("22:00", "02:00")`` is open 22:00-24:00 and 00:00-02:00 of the next
day); ``"24:00"`` is the end of the day. The kiosk (``kiosk.hours``) asks this of its own clock; the server's
``silence`` alerts (``server.alerts``) ask it of the moments of a window.

Raises nothing of its own; a malformed span raises ValueError (the protocol model has already refused those).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # in datetime.weekday() order

# Keyed by weekday name; Any because a mapping's key type is invariant (the protocol keys by a Literal).
OpeningHours = Mapping[Any, Sequence[tuple[str, str]]]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def open_at(opening_hours: OpeningHours | None, local: datetime) -> bool:
    """Whether ``local`` (a wall-clock time in the location's zone, aware or naive) is inside ``opening_hours``."""
    if opening_hours is None:
        return True
    minute = local.hour * 60 + local.minute
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
    for start, end in opening_hours.get(today, []):
        s, e = _minutes(start), _minutes(end)
        if (s < e and s <= minute < e) or (s >= e and minute >= s):
            return True
    return any(_minutes(start) >= _minutes(end) > minute for start, end in opening_hours.get(yesterday, []))
