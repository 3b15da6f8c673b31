"""Spans of local dates the score rollups are kept in: days, ISO weeks (Monday first) and calendar months.

``score_rollups`` holds every counted tap three times, once in its day, once in its week and once in its month,
each row keyed by the span's first date, so a long range is read as a few months and weeks and the days at its
edges (:func:`cover`) instead of one row per day. Pure date arithmetic; no I/O.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
ONE_DAY = timedelta(days=1)


def start_of(day: date, grain: Grain) -> date:
    """The first date of the day, ISO week or month ``day`` is in (0001-01-01 is a Monday, so it always exists)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def next_start(day: date, grain: str) -> date | None:
    """The first date of the day, week or month after the one ``day`` is in; None past the last date."""
    try:
        if grain == "day":
            return day + ONE_DAY
        if grain == "week":
            return day + timedelta(days=7 - day.weekday())
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    except (OverflowError, ValueError):
        return None


def whole(start: date, end: date, grain: Grain) -> bool:
    """True when the dates [start, end) are exactly one day, week or month."""
    return start_of(start, grain) == start and next_start(start, grain) == end


def cover(start: date, end: date, grains: tuple[Grain, ...] = ("month", "week")) -> list[tuple[Grain, date, date]]:
    """The dates [start, end) as the fewest spans of the stored grains, largest first: (grain, first date, end) for
    every run of whole months, whole weeks of what is left, and days at the edges. A span of grain ``g`` stands for
    the rows of grain ``g`` whose first date is in [first date, end)."""
    if start >= end:
        return []
    if not grains:
        return [("day", start, end)]
    grain, finer = grains[0], grains[1:]
    first = start if start_of(start, grain) == start else next_start(start, grain)
    last = start_of(end, grain)  # every unit starting from ``first`` and before this one ends by ``end``
    if first is None or first >= last:
        return cover(start, end, finer)
    return [*cover(start, first, finer), (grain, first, last), *cover(last, end, finer)]
