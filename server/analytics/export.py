"""Exports: a location's raw taps and its daily summaries over local dates, a page at a time.

Pages are ``limit`` rows (at most MAX_PAGE) from ``offset`` in a stable order, so a client reads
everything by asking until a page comes back short; an offset past the end is an empty page. Rows are plain
dicts so they render as JSON or CSV alike. Raises :class:`server.InvalidInput` and :class:`server.NotFound`.

CSV is RFC 4180 (CRLF between records, so a CR or LF inside a value is always quoted) with text cells
neutralised against formula injection as OWASP advises: a text starting with ``= + - @``, tab or CR gets a
leading ``'``. Numbers are written as they are (an NPS of -20 stays a number), dates and times as ISO 8601.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from server import InvalidInput
from server.analytics.summaries import Scores, check_range, find_location
from server.db import daily_rollups, taps

MAX_PAGE = 10_000
TAP_COLUMNS = (
    "id", "location_id", "kiosk_id", "seq", "question_id", "scale", "score", "tapped_at", "effective_at",
    "local_date", "local_hour", "followup", "comment", "flags", "received_at",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "location_id", "local_date", "responses", "happy_index", "happy_index_low", "happy_index_high",
    "csat", "negative", "nps",
)  # fmt: skip


def _check(start: date, end: date, limit: int, offset: int) -> None:
    check_range(start, end)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE}, got {limit}")
    if offset < 0:
        raise InvalidInput(f"offset must be >= 0, got {offset}")


def tap_page(
    conn: Connection, location_id: int, start: date, end: date, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """A location's taps with local dates in [start, end), by local date then id.

    Raises InvalidInput for a bad range or page, NotFound for an unknown location.
    """
    _check(start, end, limit, offset)
    find_location(conn, location_id)
    t = taps.c
    query = (
        select(*(t[name] for name in TAP_COLUMNS))
        .where(t.location_id == location_id, t.local_date >= start, t.local_date < end)
        .order_by(t.local_date, t.effective_at, t.id)
        .limit(limit)
        .offset(offset)
    )
    return [{**row._mapping, "id": str(row.id)} for row in conn.execute(query)]


def daily_summary_page(
    conn: Connection, location_id: int, start: date, end: date, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """One row of scores per local date in [start, end) of a location (dates without taps included), from the
    daily rollups. Raises InvalidInput for a bad range or page, NotFound for an unknown location."""
    _check(start, end, limit, offset)
    place = find_location(conn, location_id)
    days_left = (end - start).days - offset
    if days_left <= 0:  # past the end; also keeps the dates below from passing 9999-12-31
        return []
    first = start + timedelta(days=offset)
    last = first + timedelta(days=min(limit, days_left))
    d = daily_rollups.c
    query = select(d.local_date, d.scale, d.score, d.count).where(
        d.location_id == location_id, d.question_id == place.question_id, d.local_date >= first, d.local_date < last
    )
    by_day: dict[date, list[tuple[int, int, int]]] = {}
    for day, row_scale, score, count in conn.execute(query):
        by_day.setdefault(day, []).append((row_scale, score, int(count)))
    return [_summary_row(location_id, day, Scores.of(by_day.get(day, []), place.scale)) for day in _dates(first, last)]


def _dates(first: date, end: date) -> Iterable[date]:
    day = first
    while day < end:
        yield day
        day += timedelta(days=1)


def _summary_row(location_id: int, day: date, result: Scores) -> dict[str, Any]:
    index = result.happy_index
    return {
        "location_id": location_id, "local_date": day, "responses": result.responses,
        "happy_index": index.value, "happy_index_low": index.low, "happy_index_high": index.high,
        "csat": result.csat.value, "negative": result.negative.value, "nps": result.nps.value,
        **{f"score_{score}": count for score, count in result.counts.items()},
    }  # fmt: skip


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet may run a cell starting so (OWASP)


def _cell(value: Any) -> Any:
    """A CSV cell: empty for None, ISO 8601 for dates and times (as in the JSON), numbers as they are, and text
    starting with one of FORMULA_STARTS behind a ``'`` so that spreadsheets show it instead of running it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return value.isoformat() if isinstance(value, date) else value


def to_csv(rows: list[dict[str, Any]], columns: Iterable[str]) -> str:
    """Rows as RFC 4180 CSV text with a header line (the given columns, then any others the rows have)."""
    header = list(columns)
    for row in rows[:1]:
        header += [key for key in row if key not in header]
    out = io.StringIO()
    # CRLF ends a record: the csv module quotes a field holding any character of the line terminator, and
    # with "\n" alone a CR in a comment would be written bare and split the record in two.
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()
