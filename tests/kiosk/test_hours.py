"""Opening hours in the location's own time zone (kiosk.hours)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.hours import is_open
from tests.support.kiosk_config import make_config

WEEKDAYS = {"mon": [("08:00", "12:00"), ("13:00", "17:30")], "fri": [("22:00", "02:00")], "sat": [("10:00", "24:00")]}


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        ("2026-11-23T06:59:00", False),  # Monday 07:59 Berlin (UTC+1)
        ("2026-11-23T07:00:00", True),  # Monday 08:00
        ("2026-11-23T11:30:00", False),  # Monday 12:30, lunch
        ("2026-11-23T16:29:00", True),  # Monday 17:29
        ("2026-11-23T16:30:00", False),  # Monday 17:30: the end is exclusive
        ("2026-11-24T09:00:00", False),  # Tuesday: not listed, closed all day
        ("2026-11-27T21:30:00", True),  # Friday 22:30, a span past midnight
        ("2026-11-28T00:59:00", True),  # Saturday 01:59, still Friday's span
        ("2026-11-28T01:00:00", False),  # Saturday 02:00
        ("2026-11-28T22:59:00", True),  # Saturday 23:59, open until 24:00
        ("2026-11-29T00:30:00", False),  # Sunday 01:30
    ],
)
def test_opening_hours_are_the_locations_local_ones(utc: str, expected: bool) -> None:
    config = make_config(opening_hours=WEEKDAYS)
    assert is_open(config, "Europe/Berlin", datetime.fromisoformat(utc).replace(tzinfo=UTC)) is expected


def test_no_opening_hours_means_always_open() -> None:
    assert is_open(make_config(), "Europe/Berlin", datetime(2026, 11, 24, 3, tzinfo=UTC))


def test_dst_change_uses_the_local_clock() -> None:
    config = make_config(opening_hours={"sun": [("08:00", "09:00")]})
    # 2026-03-29: Berlin goes from UTC+1 to UTC+2 at 02:00 local; 08:30 local is 06:30 UTC
    assert is_open(config, "Europe/Berlin", datetime(2026, 3, 29, 6, 30, tzinfo=UTC))
    assert not is_open(config, "Europe/Berlin", datetime(2026, 3, 29, 7, 30, tzinfo=UTC))


def test_unknown_zone_reads_hours_as_utc() -> None:
    config = make_config(opening_hours={"mon": [("08:00", "09:00")]})
    assert is_open(config, "Mars/Olympus", datetime(2026, 11, 23, 8, 30, tzinfo=UTC))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        is_open(make_config(opening_hours={}), "UTC", datetime(2026, 11, 23, 8, 30))
