"""Exports: a location's raw taps and its daily summaries over local dates, a page at a time, of one channel
(kiosks or web touchpoints) or all; the daily summaries of one question (default: the main one) on its scale.
Columns added later come last, so readers of the older columns by position keep working. Raw taps are those
retention kept (:mod:`server.retention`); the daily summaries come from the rollups and cover every date.

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
from server.analytics.summaries import Channel, Scores, asking, check_range, find_location
from server.db import daily_rollups, taps

MAX_PAGE = 10_000
TAP_COLUMNS = (
    "id", "location_id", "kiosk_id", "seq", "question_id", "scale", "score", "tapped_at", "effective_at",
    "local_date", "local_hour", "followup", "comment", "flags", "received_at",
    "channel", "touchpoint_id", "first_tap_id",  # issue #13: a web tap has no kiosk_id
)  # fmt: skip
SUMMARY_COLUMNS = (
    "location_id", "local_date", "responses", "happy_index", "happy_index_low", "happy_index_high",
    "csat", "negative", "nps",
)  # fmt: skip
# After the score_<n> columns (their number depends on the scale): which question and channel ("all": every one).
SUMMARY_LAST_COLUMNS = ("question_id", "channel")


def _check(start: date, end: date, limit: int, offset: int) -> None:
    check_range(start, end)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE}, got {limit}")
    if offset < 0:
        raise InvalidInput(f"offset must be >= 0, got {offset}")


def tap_page(
    conn: Connection,
    location_id: int,
    start: date,
    end: date,
    *,
    limit: int,
    offset: int,
    channel: Channel | None = None,
    question_id: str | None = None,
    hidden_comments: bool = False,
) -> list[dict[str, Any]]:
    """A location's taps with local dates in [start, end), by local date then id: of one channel or all (None), of
    one question or all (None). A comment an admin hid from managers is left blank (None) unless
    ``hidden_comments`` (admins' exports keep it).

    Raises InvalidInput for a bad range or page, NotFound for an unknown location.
    """
    _check(start, end, limit, offset)
    find_location(conn, location_id)
    t = taps.c
    where = [t.location_id == location_id, t.local_date >= start, t.local_date < end]
    where += [t.channel == channel] if channel is not None else []
    where += [t.question_id == question_id] if question_id is not None else []
    query = (
        select(*(t[name] for name in TAP_COLUMNS), t.comment_hidden)
        .where(*where)
        .order_by(t.local_date, t.effective_at, t.id)
        .limit(limit)
        .offset(offset)
    )
    return [
        {**{name: row._mapping[name] for name in TAP_COLUMNS}, "id": str(row.id),
         "first_tap_id": None if row.first_tap_id is None else str(row.first_tap_id),
         **({"comment": None} if row.comment_hidden and not hidden_comments else {})}
        for row in conn.execute(query)
    ]  # fmt: skip


def daily_summary_page(
    conn: Connection,
    location_id: int,
    start: date,
    end: date,
    *,
    limit: int,
    offset: int,
    channel: Channel | None = None,
    question_id: str | None = None,
) -> list[dict[str, Any]]:
    """One row of scores per local date in [start, end) of a location (dates without taps included), from the
    daily rollups: of question ``question_id`` (None: the main one) on its scale, of one channel or all (None).
    Raises InvalidInput for a bad range or page, NotFound for an unknown location."""
    _check(start, end, limit, offset)
    place = asking(find_location(conn, location_id), question_id, channel)
    days_left = (end - start).days - offset
    if days_left <= 0:  # past the end; also keeps the dates below from passing 9999-12-31
        return []
    first = start + timedelta(days=offset)
    last = first + timedelta(days=min(limit, days_left))
    d = daily_rollups.c
    query = select(d.local_date, d.scale, d.score, d.count).where(
        d.location_id == location_id, d.question_id == place.question_id, d.local_date >= first, d.local_date < last,
        *([d.channel == channel] if channel is not None else []),
    )  # fmt: skip
    by_day: dict[date, list[tuple[int, int, int]]] = {}
    for day, row_scale, score, count in conn.execute(query):
        by_day.setdefault(day, []).append((row_scale, score, int(count)))
    last_columns = {"question_id": place.question_id, "channel": channel or "all"}
    return [
        {**_summary_row(location_id, day, Scores.of(by_day.get(day, []), place.scale)), **last_columns}
        for day in _dates(first, last)
    ]


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
