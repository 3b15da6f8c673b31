"""Location summaries, computed from the rollups only (never by scanning taps).

Whole-day figures read the daily rollups, so the cost of a summary grows with the number of local days
asked for, not with the number of taps. Raises :class:`server.NotFound` and :class:`server.InvalidInput`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from server import InvalidInput, NotFound
from server.admin import location_config
from server.db import daily_rollups, groups, kiosks, locations, rollups, taps
from server.schemas import EstimateOut, LocationOut, LocationSummary, ShareOut
from shared import scores
from shared.protocol import LocationConfig

MAX_RANGE_DAYS = 3700


def list_locations(conn: Connection) -> list[LocationOut]:
    """Every location, by id."""
    rows = conn.execute(select(locations).order_by(locations.c.id)).all()
    return [LocationOut(id=r.id, name=r.name, timezone=r.timezone, scale=r.scale) for r in rows]


def rollup_rows(
    conn: Connection, location_id: int, start: date, end: date, question_id: str = "main"
) -> list[tuple[int, int, int]]:
    """(scale, score, count) totals of a location's daily rollups over local dates [start, end)."""
    query = (
        select(daily_rollups.c.scale, daily_rollups.c.score, func.sum(daily_rollups.c.count))
        .where(
            daily_rollups.c.location_id == location_id,
            daily_rollups.c.question_id == question_id,
            daily_rollups.c.local_date >= start,
            daily_rollups.c.local_date < end,
        )
        .group_by(daily_rollups.c.scale, daily_rollups.c.score)
    )
    return [(int(scale), int(score), int(count)) for scale, score, count in conn.execute(query)]


def location_summary(
    conn: Connection, location_id: int, start: date, end: date, question_id: str = "main"
) -> LocationSummary:
    """The summary of one location over local dates [start, end).

    Raises NotFound for an unknown location and InvalidInput when end is not after start or the
    range is longer than MAX_RANGE_DAYS.
    """
    check_range(start, end)
    location = find_location(conn, location_id)
    result = Scores.of(rollup_rows(conn, location_id, start, end, question_id), location.scale)
    return LocationSummary(
        location_id=location.id,
        location_name=location.name,
        timezone=location.timezone,
        question_id=question_id,
        start=start,
        end=end,
        scale=location.scale,
        responses=result.responses,
        counts=result.counts,
        happy_index=EstimateOut.of(result.happy_index),
        csat=ShareOut.of(result.csat),
        negative=ShareOut.of(result.negative),
        nps=EstimateOut.of(result.nps),
    )


def check_range(start: date, end: date) -> None:
    """Raises InvalidInput when end (exclusive) is not after start or the range is longer than MAX_RANGE_DAYS."""
    if end <= start:
        raise InvalidInput(f"end ({end}) must be after start ({start}); end is exclusive")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"date range is longer than {MAX_RANGE_DAYS} days")


# --- Dashboard: periods, the overview of many locations, one location in depth ----------------------------

RANGES = {"today": 1, "7d": 7, "30d": 30, "365d": 365}
WEEKLY_AFTER_DAYS = 62  # longer trends are drawn per ISO week
COMMENTS_SHOWN = 20


@dataclass(frozen=True)
class Period:
    """Local dates [start, end) of one location."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last(self) -> date:
        """The last date in the period (inclusive), as people say it."""
        return self.end - timedelta(days=1)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start)


def period_for(range_name: str, today: date, start: date | None = None, last: date | None = None) -> Period:
    """The period a date-range picker names: "today", "7d", "30d", "365d" (ending today) or "custom".

    ``start`` and ``last`` are the first and last local dates of a custom range (both inclusive).
    Raises InvalidInput for an unknown range name, a custom range without both dates, a last date before
    the start or a range longer than MAX_RANGE_DAYS.
    """
    if range_name in RANGES:
        end = today + timedelta(days=1)
        return Period(end - timedelta(days=RANGES[range_name]), end)
    if range_name != "custom":
        raise InvalidInput(f"range must be one of {', '.join([*RANGES, 'custom'])}, got {range_name!r}")
    if start is None or last is None:
        raise InvalidInput("a custom range needs both a start and a last date (YYYY-MM-DD)")
    if last < start:
        raise InvalidInput(f"the last date ({last}) is before the start ({start})")
    if (last - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"date range is longer than {MAX_RANGE_DAYS} days")
    return Period(start, last + timedelta(days=1))


def local_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date in a location's time zone."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class Scores:
    """Every score of one set of rollup rows (scale, score, count)."""

    responses: int
    counts: dict[str, int]
    happy_index: scores.Estimate
    csat: scores.Share
    negative: scores.Share
    nps: scores.Estimate
    rows: tuple[tuple[int, int, int], ...]  # (scale, score, count), one per scale and score

    @classmethod
    def of(cls, rows: list[tuple[int, int, int]], scale: int) -> Scores:
        """Raises ValueError for a score outside its scale (a corrupt rollup)."""
        totals: Counter[tuple[int, int]] = Counter()
        for row_scale, score, count in rows:
            totals[row_scale, score] += count
        merged = [(row_scale, score, count) for (row_scale, score), count in sorted(totals.items())]
        return cls(
            rows=tuple(merged),
            responses=sum(totals.values()),
            counts=scores.counts_by_score(merged, scale),
            happy_index=scores.happy_index(merged),
            csat=scores.csat(merged),
            negative=scores.negative(merged),
            nps=scores.nps(merged),
        )

    @property
    def headline(self) -> scores.Estimate:
        """The one number of a location: its Happy Index, or its NPS on a 0–10 question."""
        return self.nps if self.happy_index.n == 0 and self.nps.n else self.happy_index


@dataclass(frozen=True)
class OverviewRow:
    """One location on the overview: scores now and before, a daily trend and its shrunk ranking score."""

    location_id: int
    name: str
    timezone: str
    scale: int
    group: str | None
    period: Period
    now: Scores
    before: Scores
    trend: list[float | None]  # headline per day (or week) of the period; None where nobody answered
    ranking: float | None = None  # None for NPS locations: a different scale is not ranked with faces
    rank: int | None = None

    @property
    def change(self) -> float | None:
        """Headline now minus before; None when either has no responses."""
        now, before = self.now.headline.value, self.before.headline.value
        return None if now is None or before is None else now - before


@dataclass
class _Location:
    id: int
    name: str
    timezone: str
    scale: int
    group: str | None
    question_id: str
    period: Period = field(default_factory=lambda: Period(date.min, date.min))


def visible_locations(conn: Connection, location_ids: frozenset[int] | None) -> list[_Location]:
    """The locations (with group name and question) a user may see, by group then name; None: all."""
    query = (
        select(locations.c.id, locations.c.name, locations.c.timezone, locations.c.scale, locations.c.config,
               groups.c.name.label("group"))
        .select_from(locations.outerjoin(groups, groups.c.id == locations.c.group_id))
        .order_by(groups.c.name, locations.c.name, locations.c.id)
    )  # fmt: skip
    if location_ids is not None:
        query = query.where(locations.c.id.in_(sorted(location_ids)))
    return [_Location(r.id, r.name, r.timezone, r.scale, r.group, _question_of(r.config)) for r in conn.execute(query)]


def find_location(conn: Connection, location_id: int) -> _Location:
    """One location with its group name and question. Raises NotFound for an unknown location."""
    places = visible_locations(conn, frozenset({location_id}))
    if not places:
        raise NotFound(f"location {location_id} does not exist")
    return places[0]


def _question_of(config_json: str | None) -> str:
    return LocationConfig.model_validate_json(config_json).question_id if config_json else "main"


def overview(
    conn: Connection,
    location_ids: frozenset[int] | None,
    range_name: str = "7d",
    start: date | None = None,
    last: date | None = None,
    *,
    now: datetime | None = None,
) -> list[OverviewRow]:
    """Every visible location's scores over the picked range (in its own local dates) and the one before,
    ranked by index shrunk toward the overall index (DESIGN.md). Reads the daily rollups: per distinct period,
    one query by date (the trend) and one total for the period before.

    Raises InvalidInput as :func:`period_for`.
    """
    places = visible_locations(conn, location_ids)
    for place in places:
        place.period = period_for(range_name, local_today(place.timezone, now), start, last)
    if not places:
        return []
    by_period: dict[Period, list[_Location]] = {}
    for place in places:  # places in zones on the same local date share one period: one pair of queries each
        by_period.setdefault(place.period, []).append(place)
    rows: dict[int, OverviewRow] = {}
    for period, members in by_period.items():
        days = _rows_by(conn, members, period, by_date=True)
        before = _rows_by(conn, members, period.previous(), by_date=False)
        for place in members:
            rows[place.id] = _overview_row(place, days.get(place.id, {}), before.get(place.id, {}).get(None, []))
    return _ranked([rows[place.id] for place in places])


Rows = list[tuple[int, int, int]]


def _rows_by(
    conn: Connection, places: list[_Location], period: Period, *, by_date: bool
) -> dict[int, dict[date | None, Rows]]:
    """location -> local date (or None for the whole period) -> (scale, score, count) rows of its question."""
    d = daily_rollups.c
    keys = [d.location_id, d.question_id, *([d.local_date] if by_date else []), d.scale, d.score]
    query = (
        select(*keys, func.sum(d.count))
        .where(d.location_id.in_([place.id for place in places]),
               d.local_date >= period.start, d.local_date < period.end)
        .group_by(*keys)
    )  # fmt: skip
    questions = {place.id: place.question_id for place in places}
    out: dict[int, dict[date | None, Rows]] = {}
    for row in conn.execute(query):
        location_id, question_id, day = row[0], row[1], row[2] if by_date else None
        if question_id == questions[location_id]:
            out.setdefault(location_id, {}).setdefault(day, []).append((row[-3], row[-2], int(row[-1])))
    return out


def _overview_row(place: _Location, days: dict[date | None, Rows], before: Rows) -> OverviewRow:
    dated = {day: rows for day, rows in days.items() if day is not None}
    trend = [_headline(rows) for _, rows in _buckets(place.period, dated)]
    return OverviewRow(
        location_id=place.id, name=place.name, timezone=place.timezone, scale=place.scale, group=place.group,
        period=place.period, now=Scores.of([row for rows in dated.values() for row in rows], place.scale),
        before=Scores.of(before, place.scale), trend=trend,
    )  # fmt: skip


def _headline(rows: Rows) -> float | None:
    """:attr:`Scores.headline` of some rows without computing the rest of :class:`Scores` (for trend points)."""
    index = scores.happy_index(rows)
    return scores.nps(rows).value if index.n == 0 else index.value


def _ranked(rows: list[OverviewRow]) -> list[OverviewRow]:
    """Rows with their shrunk ranking score and rank (1 = best) among face-scale locations."""
    faces = [row for row in rows if row.now.happy_index.n]
    overall = scores.happy_index([r for row in faces for r in row.now.rows]).value
    ranked = {}
    if overall is not None:
        for row in faces:
            ranked[row.location_id] = scores.ranking_score(row.now.happy_index.value, row.now.happy_index.n, overall)
    order = sorted(ranked, key=lambda location_id: -ranked[location_id])
    position = {location_id: i + 1 for i, location_id in enumerate(order)}
    return [replace(row, ranking=ranked.get(row.location_id), rank=position.get(row.location_id)) for row in rows]


def _buckets(
    period: Period, days: dict[date, list[tuple[int, int, int]]]
) -> list[tuple[date, list[tuple[int, int, int]]]]:
    """The period's rows per day, or per ISO week (Monday first) when it is longer than WEEKLY_AFTER_DAYS."""
    weekly = period.days > WEEKLY_AFTER_DAYS
    buckets: dict[date, list[tuple[int, int, int]]] = {}
    day = period.start
    while day < period.end:
        key = day - timedelta(days=day.weekday()) if weekly else day
        buckets.setdefault(max(key, period.start), []).extend(days.get(day, []))
        day += timedelta(days=1)
    return list(buckets.items())


@dataclass(frozen=True)
class TrendPoint:
    """One day (or week) of a trend and the same position in the previous period."""

    start: date
    now: scores.Estimate
    before: scores.Estimate


@dataclass(frozen=True)
class HeatCell:
    """One local weekday (0 = Monday) and hour of the period: responses and headline score."""

    weekday: int
    hour: int
    responses: int
    value: float | None


@dataclass(frozen=True)
class ReasonCount:
    """How often a follow-up reason was picked, as a share of the reasons picked on its side."""

    reason_id: str
    label: str
    side: str  # "negative" | "positive" | "other" (a reason no longer configured)
    share: scores.Share


@dataclass(frozen=True)
class KioskScores:
    kiosk_id: str
    name: str
    scores: Scores


@dataclass(frozen=True)
class Comment:
    at: datetime  # local time of the tap
    score: int
    scale: int
    text: str
    kiosk: str


@dataclass(frozen=True)
class LocationDetail:
    """Everything the location page shows, for one period and the one before."""

    id: int
    name: str
    timezone: str
    scale: int
    group: str | None
    period: Period
    now: Scores
    before: Scores
    weekly: bool
    trend: list[TrendPoint]
    heatmap: list[list[HeatCell]]  # 7 weekdays x 24 hours
    reasons: list[ReasonCount]
    kiosks: list[KioskScores]
    comments: list[Comment]


DailyKey = tuple[date, str, int, int, str]  # local date, kiosk, scale, score, follow-up ('' none)


def location_detail(
    conn: Connection,
    location_id: int,
    range_name: str = "30d",
    start: date | None = None,
    last: date | None = None,
    *,
    now: datetime | None = None,
) -> LocationDetail:
    """One location in depth over the picked range (local dates) and the one before.

    Raises NotFound for an unknown location and InvalidInput as :func:`period_for`.
    """
    place = find_location(conn, location_id)
    config = location_config(conn, location_id)
    period = period_for(range_name, local_today(place.timezone, now), start, last)
    previous = period.previous()
    daily = _location_daily(conn, place, previous.start, period.end)
    now_rows = [(k[2], k[3], n) for k, n in daily.items() if k[0] >= period.start]
    before_rows = [(k[2], k[3], n) for k, n in daily.items() if k[0] < period.start]
    return LocationDetail(
        id=place.id, name=place.name, timezone=place.timezone, scale=place.scale, group=place.group, period=period,
        now=Scores.of(now_rows, place.scale), before=Scores.of(before_rows, place.scale),
        weekly=period.days > WEEKLY_AFTER_DAYS, trend=_trend(period, daily, place.scale),
        heatmap=_heatmap(conn, place, period), reasons=_reasons(daily, period, config),
        kiosks=_kiosk_split(conn, daily, period, place.scale), comments=_comments(conn, place, period),
    )  # fmt: skip


def _location_daily(conn: Connection, place: _Location, first: date, end: date) -> Counter[DailyKey]:
    d = daily_rollups.c
    query = select(d.local_date, d.kiosk_id, d.scale, d.score, d.followup, d.count).where(
        d.location_id == place.id, d.question_id == place.question_id, d.local_date >= first, d.local_date < end
    )
    out: Counter[DailyKey] = Counter()
    for day, kiosk_id, scale, score, followup, count in conn.execute(query):
        out[day, kiosk_id, scale, score, followup] += int(count)
    return out


def _trend(period: Period, daily: Counter[DailyKey], scale: int) -> list[TrendPoint]:
    by_day: dict[date, list[tuple[int, int, int]]] = {}
    for (day, _, row_scale, score, _), count in daily.items():
        by_day.setdefault(day, []).append((row_scale, score, count))
    now = _buckets(period, by_day)
    before = _buckets(period.previous(), by_day)
    return [
        TrendPoint(start, Scores.of(rows, scale).headline, Scores.of(old, scale).headline)
        for (start, rows), (_, old) in zip(now, before, strict=False)
    ]


def _heatmap(conn: Connection, place: _Location, period: Period) -> list[list[HeatCell]]:
    """Headline score per local weekday and hour over the period, from the hourly rollups."""
    r = rollups.c
    query = (
        select(r.local_date, r.local_hour, r.scale, r.score, func.sum(r.count))
        .where(r.location_id == place.id, r.question_id == place.question_id,
               r.local_date >= period.start, r.local_date < period.end)
        .group_by(r.local_date, r.local_hour, r.scale, r.score)
    )  # fmt: skip
    cells: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for day, hour, scale, score, count in conn.execute(query):
        cells.setdefault((day.weekday(), hour), []).append((scale, score, int(count)))
    grid = []
    for weekday in range(7):
        row = []
        for hour in range(24):
            result = Scores.of(cells.get((weekday, hour), []), place.scale)
            row.append(HeatCell(weekday, hour, result.responses, result.headline.value))
        grid.append(row)
    return grid


def _reasons(daily: Counter[DailyKey], period: Period, config: LocationConfig) -> list[ReasonCount]:
    """Each follow-up reason picked in the period, most picked first within its side."""
    picked: Counter[str] = Counter()
    for (day, _, _, _, reason), count in daily.items():
        if reason and day >= period.start:
            picked[reason] += count
    followup = config.followup
    sides = {r: "negative" for r in (followup.negative_reasons if followup else [])}
    sides.update({r: "positive" for r in (followup.positive_reasons if followup else [])})
    texts = config.texts.get(config.default_language, {})
    totals: Counter[str] = Counter()
    for reason, count in picked.items():
        totals[sides.get(reason, "other")] += count
    out = [
        ReasonCount(reason, texts.get(f"reason.{reason}", reason), side, scores.share(count, totals[side]))
        for reason, count in picked.items()
        for side in [sides.get(reason, "other")]
    ]
    order = {"negative": 0, "positive": 1, "other": 2}
    return sorted(out, key=lambda r: (order[r.side], -r.share.k, r.reason_id))


def _kiosk_split(conn: Connection, daily: Counter[DailyKey], period: Period, scale: int) -> list[KioskScores]:
    per_kiosk: dict[str, list[tuple[int, int, int]]] = {}
    for (day, kiosk_id, row_scale, score, _), count in daily.items():
        if day >= period.start:
            per_kiosk.setdefault(kiosk_id, []).append((row_scale, score, count))
    names = dict(conn.execute(select(kiosks.c.id, kiosks.c.name).where(kiosks.c.id.in_(sorted(per_kiosk)))).all())
    return [
        KioskScores(kiosk_id, names.get(kiosk_id, kiosk_id), Scores.of(rows, scale))
        for kiosk_id, rows in sorted(per_kiosk.items(), key=lambda item: names.get(item[0], item[0]))
    ]


def _comments(conn: Connection, place: _Location, period: Period) -> list[Comment]:
    """The latest comments of the period, newest first (reads the partial comments index, not all taps)."""
    t = taps.c
    query = (
        select(t.effective_at, t.score, t.scale, t.comment, kiosks.c.name)
        .join(kiosks, kiosks.c.id == t.kiosk_id)
        .where(t.location_id == place.id, t.comment.is_not(None),
               t.local_date >= period.start, t.local_date < period.end)
        .order_by(t.effective_at.desc())
        .limit(COMMENTS_SHOWN)
    )  # fmt: skip
    zone = ZoneInfo(place.timezone)
    return [
        Comment(at.astimezone(zone), score, scale, text, name) for at, score, scale, text, name in conn.execute(query)
    ]
