"""Report periods: the last complete local day, ISO week (Monday first) or calendar month of a time zone as of a
UTC instant, the period of the same kind before it, and when a report of a period is due in a user's time zone.

Pure (no I/O). A period is a :class:`server.analytics.summaries.Period` of local dates ``[start, end)``, the same
dates every summary reads. Raises :class:`server.InvalidInput` for an unknown kind or an ``HH:MM`` that is not one.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from server import InvalidInput
from server.analytics.summaries import Period, local_today

Kind = Literal["day", "week", "month"]
KINDS: tuple[Kind, ...] = ("day", "week", "month")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def check_kind(kind: str) -> Kind:
    """``kind`` as a :data:`Kind`. Raises InvalidInput for anything but day, week or month."""
    for known in KINDS:
        if kind == known:
            return known
    raise InvalidInput(f"period must be one of {', '.join(KINDS)}, got {kind!r}")


def parse_hhmm(text: str) -> time:
    """``"08:00"`` as a time. Raises InvalidInput unless it is HH:MM on a 24-hour clock."""
    match = _HHMM.match(text.strip())
    if match is None:
        raise InvalidInput(f"--at: expected HH:MM on a 24-hour clock (08:00, 17:30), got {text!r}")
    return time(int(match[1]), int(match[2]))


def containing(kind: str, day: date) -> Period:
    """The day, ISO week or calendar month ``day`` is in. Raises InvalidInput for an unknown kind."""
    kind = check_kind(kind)
    if kind == "day":
        return Period(day, day + timedelta(days=1))
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=7))
    start = day.replace(day=1)
    return Period(start, (start + timedelta(days=32)).replace(day=1))


def previous(kind: str, period: Period) -> Period:
    """The period of the same kind just before ``period`` (for a month: the calendar month before).

    Raises InvalidInput for an unknown kind.
    """
    return containing(kind, period.start - timedelta(days=1))


def last_complete(kind: str, zone: str, now: datetime) -> Period:
    """The last complete local day, ISO week or calendar month in ``zone`` as of ``now`` (aware).

    Raises InvalidInput for an unknown kind.
    """
    return previous(kind, containing(kind, local_today(zone, now)))


def local_midnight(day: date, zone: str) -> datetime:
    """The UTC instant a local date begins in ``zone``."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def send_time(period: Period, zone: str, at: time, user_zone: str) -> datetime:
    """When the report of ``period`` (local dates of ``zone``) is due: the first moment at or after the period ends
    at which the user's clock in ``user_zone`` reads ``at``. For a user in the location's zone that is ``at`` on
    the day after the period's last day (Monday 08:00 for a week)."""
    ended = local_midnight(period.end, zone).astimezone(ZoneInfo(user_zone))
    moment = datetime.combine(ended.date(), at, tzinfo=ZoneInfo(user_zone))
    if moment < ended:
        moment = datetime.combine(ended.date() + timedelta(days=1), at, tzinfo=ZoneInfo(user_zone))
    return moment.astimezone(UTC)


def due_period(kind: str, zone: str, at: time, user_zone: str, *, since: datetime, now: datetime) -> Period | None:
    """The one period whose report should have gone out by ``now``: the latest period whose send time has passed,
    if that send time is not before ``since`` (when the subscription was made: no report of a period that was due
    before it existed). Only the latest: after a long outage one report is sent, not the backlog.

    Raises InvalidInput for an unknown kind.
    """
    period = last_complete(kind, zone, now)
    if send_time(period, zone, at, user_zone) > now:
        period = previous(kind, period)
    due = send_time(period, zone, at, user_zone)
    return period if since <= due <= now else None


def describe(kind: str, period: Period) -> str:
    """How people name a period: ``Monday 16 March 2026``, ``Week 11, 9–15 March 2026``, ``March 2026``."""
    if kind == "day":
        return f"{period.start:%A} {period.start.day} {period.start:%B %Y}"
    if kind == "month":
        return f"{period.start:%B %Y}"
    return f"Week {period.start.isocalendar().week}, {span(period)}"


def span(period: Period) -> str:
    """``9–15 March 2026``, ``28 February – 6 March 2026``, ``29 December 2025 – 4 January 2026``."""
    first, last = period.start, period.last
    if first == last:
        return f"{first.day} {first:%B %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%B %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%B} – {last.day} {last:%B %Y}"
    return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"
