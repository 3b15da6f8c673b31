"""server.analytics.grains: the days, ISO weeks and months the score rollups keep, and how a range of dates is read
as the fewest of them."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from server.analytics.grains import cover, next_start, start_of, whole

DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 30))


@given(DATES)
def test_a_week_starts_on_the_iso_monday_and_a_month_on_its_first(day):
    year, week, _ = day.isocalendar()
    assert start_of(day, "week") == date.fromisocalendar(year, week, 1)
    assert start_of(day, "month") == date(day.year, day.month, 1)
    assert start_of(day, "day") == day


@given(DATES, st.integers(min_value=1, max_value=800))
@example(date(9999, 12, 1), 31)  # a range reaching past the last date stops at it
def test_a_cover_is_the_range_exactly_in_whole_spans_largest_inside(first, length):
    end = first + timedelta(days=min(length, (date(9999, 12, 31) - first).days))  # the range stops at the last date
    spans = cover(first, end)

    days = []
    for grain, start, stop in spans:
        unit = start
        while unit < stop:  # every unit of the span is whole and inside the range
            following = next_start(unit, grain)
            assert following is not None and whole(unit, following, grain) and following <= stop
            days.extend(unit + timedelta(days=i) for i in range((following - unit).days))
            unit = following
    assert days == [first + timedelta(days=i) for i in range((end - first).days)]
    # Weeks are used wherever one fits outside the months: days only at the edges of the months and of the weeks.
    assert sum(1 for grain, _, _ in spans if grain == "day") <= 4


def test_a_year_is_eleven_months_a_few_weeks_and_the_edge_days():
    spans = cover(date(2025, 11, 27), date(2026, 11, 27))

    assert spans == [
        ("day", date(2025, 11, 27), date(2025, 12, 1)),
        ("month", date(2025, 12, 1), date(2026, 11, 1)),
        ("day", date(2026, 11, 1), date(2026, 11, 2)),
        ("week", date(2026, 11, 2), date(2026, 11, 23)),
        ("day", date(2026, 11, 23), date(2026, 11, 27)),
    ]


def test_the_last_date_there_is_has_no_next_span():
    assert next_start(date(9999, 12, 31), "day") is None
    assert next_start(date(9999, 12, 27), "week") is None
    assert next_start(date(9999, 12, 1), "month") is None
    assert cover(date(9999, 12, 1), date(9999, 12, 31)) == [
        ("day", date(9999, 12, 1), date(9999, 12, 6)),
        ("week", date(9999, 12, 6), date(9999, 12, 27)),
        ("day", date(9999, 12, 27), date(9999, 12, 31)),
    ]
