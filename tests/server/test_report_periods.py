"""Report periods and send times (server.reports.periods): the last complete local day, ISO week and calendar month
in a location's zone, when a report is due in the user's zone, and which one period is due after an outage."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from server import InvalidInput
from server.analytics.summaries import Period
from server.reports.periods import describe, due_period, last_complete, parse_hhmm, previous, send_time, span

OSLO, NEW_YORK, TOKYO, KATHMANDU = "Europe/Oslo", "America/New_York", "Asia/Tokyo", "Asia/Kathmandu"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def period(first: str, end: str) -> Period:
    return Period(date.fromisoformat(first), date.fromisoformat(end))


@pytest.mark.parametrize(
    ("kind", "zone", "now", "expected"),
    [
        ("day", OSLO, utc(2026, 3, 16, 7, 30), period("2026-03-15", "2026-03-16")),
        ("week", OSLO, utc(2026, 3, 16, 7, 30), period("2026-03-09", "2026-03-16")),
        ("month", OSLO, utc(2026, 3, 16, 7, 30), period("2026-02-01", "2026-03-01")),
        ("week", OSLO, utc(2026, 3, 15, 23, 30), period("2026-03-09", "2026-03-16")),  # already Monday in Oslo
        ("week", NEW_YORK, utc(2026, 3, 15, 23, 30), period("2026-03-02", "2026-03-09")),  # still Sunday there
        ("month", OSLO, utc(2026, 1, 10), period("2025-12-01", "2026-01-01")),
        ("week", OSLO, utc(2026, 1, 1, 12), period("2025-12-22", "2025-12-29")),  # ISO weeks cross the year
        ("day", KATHMANDU, utc(2026, 3, 15, 18, 14), period("2026-03-14", "2026-03-15")),  # 23:59 at +05:45
        ("day", KATHMANDU, utc(2026, 3, 15, 18, 16), period("2026-03-15", "2026-03-16")),  # 00:01
    ],
)  # fmt: skip
def test_last_complete_period_in_the_locations_zone(kind, zone, now, expected):
    assert last_complete(kind, zone, now) == expected


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("month", period("2026-03-01", "2026-04-01"), period("2026-02-01", "2026-03-01")),  # a calendar month
        ("month", period("2024-03-01", "2024-04-01"), period("2024-02-01", "2024-03-01")),
        ("week", period("2026-03-09", "2026-03-16"), period("2026-03-02", "2026-03-09")),
        ("day", period("2026-03-01", "2026-03-02"), period("2026-02-28", "2026-03-01")),
    ],
)
def test_previous_period_is_of_the_same_kind(kind, given, expected):
    assert previous(kind, given) == expected


WEEK_11 = period("2026-03-09", "2026-03-16")


@pytest.mark.parametrize(
    ("zone", "at", "user_zone", "expected"),
    [
        (OSLO, time(8), OSLO, utc(2026, 3, 16, 7)),  # Monday 08:00 CET
        (OSLO, time(0), OSLO, utc(2026, 3, 15, 23)),  # the moment the week ends
        (OSLO, time(8), NEW_YORK, utc(2026, 3, 16, 12)),  # Oslo's week ends Sunday 19:00 in New York: Monday 08:00
        (NEW_YORK, time(8), TOKYO, utc(2026, 3, 16, 23)),  # it ends Monday 13:00 in Tokyo: Tuesday 08:00 there
    ],
)
def test_send_time_is_the_first_local_hour_after_the_period_ends(zone, at, user_zone, expected):
    assert send_time(WEEK_11, zone, at, user_zone) == expected


def test_send_time_follows_summer_time():
    week_13 = period("2026-03-23", "2026-03-30")  # summer time began on Sunday 29 March

    assert send_time(week_13, OSLO, time(8), OSLO) == utc(2026, 3, 30, 6)  # 08:00 CEST


SUBSCRIBED = utc(2026, 3, 13, 12)  # a Friday


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 3, 16, 6, 59), None),  # 07:59 in Oslo on Monday: not yet
        (utc(2026, 3, 16, 7, 0), WEEK_11),  # 08:00
        (utc(2026, 3, 18, 10), WEEK_11),  # Wednesday, after an outage: still this one
        (utc(2026, 4, 8, 10), period("2026-03-30", "2026-04-06")),  # weeks down: only the latest
    ],
)
def test_due_period_is_the_latest_whose_send_time_passed(now, expected):
    assert due_period("week", OSLO, time(8), OSLO, since=SUBSCRIBED, now=now) == expected


def test_no_report_of_a_period_due_before_the_subscription_existed():
    made_monday_noon = utc(2026, 3, 16, 11)

    assert due_period("week", OSLO, time(8), OSLO, since=made_monday_noon, now=utc(2026, 3, 16, 12)) is None
    assert due_period("week", OSLO, time(8), OSLO, since=made_monday_noon, now=utc(2026, 3, 23, 7)) == period(
        "2026-03-16", "2026-03-23"
    )


@pytest.mark.parametrize(("text", "expected"), [("08:00", time(8)), ("8:05", time(8, 5)), ("23:59", time(23, 59))])
def test_hhmm_parsed(text, expected):
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("text", ["24:00", "08:60", "0800", "8", "08:00:00", "", "noon"])
def test_bad_hhmm_refused(text):
    with pytest.raises(InvalidInput, match="HH:MM"):
        parse_hhmm(text)


def test_unknown_kind_refused():
    with pytest.raises(InvalidInput, match="day, week, month"):
        last_complete("year", OSLO, utc(2026, 3, 16))


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("day", period("2026-03-15", "2026-03-16"), "Sunday 15 March 2026"),
        ("week", WEEK_11, "Week 11, 9–15 March 2026"),
        ("week", period("2026-02-23", "2026-03-02"), "Week 9, 23 February – 1 March 2026"),
        ("week", period("2025-12-29", "2026-01-05"), "Week 1, 29 December 2025 – 4 January 2026"),
        ("month", period("2026-02-01", "2026-03-01"), "February 2026"),
    ],
)
def test_periods_named_as_people_say_them(kind, given, expected):
    assert describe(kind, given) == expected


def test_span_of_one_day():
    assert span(period("2026-03-15", "2026-03-16")) == "15 March 2026"
