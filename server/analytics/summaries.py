"""Location summaries (the API's ``/summary``) and what every figure is built from: periods of local dates, the
counts of a location (from the rollups, or replayed from the stored presses for a what-if), scores, follow-up
reasons by side, and trends compared with the period before or a year earlier.

Figures are of one question of a location (its main one unless another is asked for, each on its own scale) and
of every channel, or of one (``kiosk`` or ``web``): :func:`asking` picks both, and the rollups are read by them.
Whole-day figures read the daily rollups, so the cost of a summary grows with the number of local days asked for,
not with the number of taps; only the what-if replay reads taps. The dashboard's view models are built on these in
:mod:`server.analytics.dashboard`. Raises :class:`server.NotFound` and :class:`server.InvalidInput`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Integer, Table, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from server import InvalidInput, NotFound
from server.analytics.grains import next_start
from server.db import daily_rollups, filtered_rollups, group_locations, groups, locations, rollups, taps
from server.locations import location_config, parse_config
from server.retention import kept_from
from server.schemas import (
    ComparedOut,
    EstimateOut,
    FiguresOut,
    LocationOut,
    LocationSummary,
    ReasonOut,
    ShareOut,
    TrendPointOut,
)
from shared import scores, texts
from shared.protocol import LocationConfig, Question, Scale
from shared.questions import all_questions, question_by_id

MAX_RANGE_DAYS = 3700
Channel = Literal["kiosk", "web"]  # server.db.CHANNELS


def list_locations(conn: Connection) -> list[LocationOut]:
    """Every location, by id."""
    rows = conn.execute(select(locations).order_by(locations.c.id)).all()
    return [LocationOut(id=r.id, name=r.name, timezone=r.timezone, scale=r.scale) for r in rows]


def location_summary(
    conn: Connection,
    location_id: int,
    start: date,
    end: date,
    question_id: str | None = None,
    *,
    channel: Channel | None = None,
    granularity: Granularity | None = None,
    compare: Compare = "previous",
    what_if: float | None = None,
    languages: Sequence[str] = (),
    taps_kept_days: int = 0,
) -> LocationSummary:
    """The summary of one location over local dates [start, end) for a question (default: the location's main
    one) on that question's scale, of one channel or all (None): figures, follow-up reasons by the side of the
    face tapped, the presses left out by why, and with ``granularity`` a trend compared with the period before or
    the same dates a year earlier; with ``what_if`` every figure replayed under that repeat-press interval
    (:func:`replay`, over the taps kept: ``taps_kept_days``, the server's ``retain_taps_days``).

    Raises NotFound for an unknown location, InvalidInput when end is not after start, the range is longer
    than MAX_RANGE_DAYS, or as :func:`trend` and :func:`replay`.
    """
    check_range(start, end)
    place = asking(find_location(conn, location_id), question_id, channel)
    period = Period(start, end)
    counts = load_counts(conn, place, period, what_if=what_if, taps_kept_days=taps_kept_days)
    points = None
    if granularity is not None:
        before = compared(period, compare, period)
        counts.merge(load_counts(conn, place, before, what_if=what_if, taps_kept_days=taps_kept_days))
        points = [_trend_out(point) for point in trend(counts, period, granularity, compare, place.scale)]
    result = Scores.of(counts.rows(period), place.scale)
    config = question_texts(location_config(conn, location_id), place.question_id)
    return LocationSummary(
        location_id=place.id, location_name=place.name, timezone=place.timezone, question_id=place.question_id,
        channel=place.channel, start=start, end=end, scale=place.scale, **_figures(result).model_dump(),
        reasons=[ReasonOut(id=r.reason_id, label=r.label, side=r.side, count=r.count, share=ShareOut.of(r.share))
                 for r in reason_counts(counts, period, config, languages)],
        filtered=counts.filtered_totals(period), what_if_repeat_seconds=what_if, granularity=granularity,
        compare=compare if granularity is not None else None, trend=points,
    )  # fmt: skip


def _figures(result: Scores) -> FiguresOut:
    return FiguresOut(
        responses=result.responses, counts=result.counts, happy_index=EstimateOut.of(result.happy_index),
        csat=ShareOut.of(result.csat), negative=ShareOut.of(result.negative), nps=EstimateOut.of(result.nps),
    )  # fmt: skip


def _trend_out(point: TrendPoint) -> TrendPointOut:
    return TrendPointOut(
        start=point.period.start, end=point.period.end, **_figures(point.now).model_dump(),
        compare=ComparedOut(start=point.before_period.start, end=point.before_period.end,
                            **_figures(point.before).model_dump()),
    )  # fmt: skip


def check_range(start: date, end: date) -> None:
    """Raises InvalidInput when end (exclusive) is not after start or the range is longer than MAX_RANGE_DAYS."""
    if end <= start:
        raise InvalidInput(f"end ({end}) must be after start ({start}); end is exclusive")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"date range is longer than {MAX_RANGE_DAYS} days")


# --- Periods: local dates a range names ---------------------------------------------------------------------

RANGES = {"today": 1, "7d": 7, "30d": 30, "365d": 365}
WEEKLY_AFTER_DAYS = 62  # longer trends are drawn per ISO week


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
        """The period of the same length just before this one.

        Raises InvalidInput when it would start before 0001-01-01, the first date there is.
        """
        if (self.start - date.min).days < self.days:
            raise InvalidInput(
                f"the range {self.start} – {self.last} has no period of the same length before it: "
                f"that would start before {date.min}"
            )
        return Period(self.start - timedelta(days=self.days), self.start)


def period_for(range_name: str, today: date, start: date | None = None, last: date | None = None) -> Period:
    """The period a date-range picker names: "today", "7d", "30d", "365d" (ending today) or "custom".

    ``start`` and ``last`` are the first and last local dates of a custom range (both inclusive).
    Raises InvalidInput for an unknown range name, a custom range without both dates, a last date before
    the start, a range longer than MAX_RANGE_DAYS, or one that cannot be represented: its end (the day after
    ``last``) after 9999-12-31 or the period before it (compared against) starting before 0001-01-01.
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
    if last == date.max:
        raise InvalidInput(f"the last date must be before {date.max}, got {last}")
    period = Period(start, last + timedelta(days=1))
    period.previous()  # raises InvalidInput when there is no period before it to compare with
    return period


def local_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date in a location's time zone."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class Scores:
    """Every score of one set of rollup rows (scale, score, count). Each figure is worked out the first time it is
    read (an overview reads only the headline of the period before)."""

    responses: int
    rows: tuple[tuple[int, int, int], ...]  # (scale, score, count), one per scale and score
    scale: int  # the scale the counts per score are laid out on

    @classmethod
    def of(cls, rows: list[tuple[int, int, int]], scale: int) -> Scores:
        """Raises ValueError for a score outside its scale (a corrupt rollup)."""
        totals: Counter[tuple[int, int]] = Counter()
        for row_scale, score, count in rows:
            totals[row_scale, score] += count
        merged = scores.checked((row_scale, score, count) for (row_scale, score), count in sorted(totals.items()))
        return cls(responses=sum(totals.values()), rows=merged, scale=scale)

    @cached_property
    def counts(self) -> dict[str, int]:
        return scores.counts_by_score(self.rows, self.scale)

    @cached_property
    def happy_index(self) -> scores.Estimate:
        return scores.happy_index(self.rows)

    @cached_property
    def csat(self) -> scores.Share:
        return scores.csat(self.rows)

    @cached_property
    def negative(self) -> scores.Share:
        return scores.negative(self.rows)

    @cached_property
    def nps(self) -> scores.Estimate:
        return scores.nps(self.rows)

    @property
    def headline(self) -> scores.Estimate:
        """The one number of a location: its Happy Index, or its NPS on a 0–10 question."""
        return self.nps if self.happy_index.n == 0 and self.nps.n else self.happy_index


@dataclass
class Place:
    """A location as figures are read of it: which question (``question_id``, on its ``scale``) and which channel
    (None: all). As listed, the main question on the location's scale; :func:`asking` picks another."""

    id: int
    name: str
    timezone: str
    scale: int
    group: str | None  # the names of the groups it is in directly, by name, comma-separated; None: in none
    question_id: str
    period: Period = field(default_factory=lambda: Period(date.min, date.min))
    channel: Channel | None = None
    config: LocationConfig = field(default_factory=LocationConfig, repr=False, compare=False)
    location_scale: int | None = None  # the location's own scale, kept by :func:`asking` (None: ``scale``)

    @property
    def own_scale(self) -> Scale:
        """The location's own scale (its main question's), whichever question the place is asking."""
        return cast(Scale, self.scale if self.location_scale is None else self.location_scale)

    @property
    def questions(self) -> list[Question]:
        """The location's questions, main first (:func:`shared.questions.all_questions`)."""
        return all_questions(self.config, self.own_scale)

    def asks(self, question_id: str) -> bool:
        """Whether ``question_id`` is one of the location's questions (the main one or another, in any mode)."""
        return question_by_id(self.config, self.own_scale, question_id) is not None


def asking(place: Place, question_id: str | None = None, channel: Channel | None = None) -> Place:
    """``place`` with its figures read of question ``question_id`` (None: the main one) on that question's own
    scale (an id the location does not have keeps the location's scale), of ``channel`` (None: every channel)."""
    own = place.own_scale
    question = question_by_id(place.config, own, question_id) if question_id is not None else None
    return replace(
        place, question_id=question_id if question_id is not None else place.config.question_id,
        scale=question.scale if question is not None else own, channel=channel, location_scale=own,
    )  # fmt: skip


def question_texts(config: LocationConfig, question_id: str) -> LocationConfig:
    """``config`` with the texts of question ``question_id`` (its wording and reason labels) over the location's,
    so that :func:`shared.texts.reason_label` finds an aspect question's own labels first; unchanged for the main
    question or an unknown id."""
    question = next((q for q in config.questions if q.id == question_id), None)
    if question is None or question_id == config.question_id:
        return config
    merged = {lang: dict(by_key) for lang, by_key in config.texts.items()}
    for lang, by_key in question.texts.items():
        merged.setdefault(lang, {}).update(by_key)
    return config.model_copy(update={"texts": merged})


def question_label(question: Question, config: LocationConfig, languages: Sequence[str] = ()) -> str:
    """A question's wording in the first of ``languages`` it has, else the location's default language, else
    English, else any; its id when it has no wording (as reason labels fall back, :mod:`shared.texts`)."""
    for lang in (*languages, config.default_language, "en", *question.texts):
        if text := question.texts.get(lang, {}).get("question"):
            return text
    return question.id


def visible_locations(conn: Connection, location_ids: frozenset[int] | None, *, archived: bool = True) -> list[Place]:
    """The locations (with group names, config and main question) a user may see, by group then name; None: all.
    Archived locations are left out unless ``archived`` is true."""
    query = select(locations.c.id, locations.c.name, locations.c.timezone, locations.c.scale, locations.c.config)
    if location_ids is not None:
        query = query.where(locations.c.id.in_(sorted(location_ids)))
    if not archived:
        query = query.where(locations.c.archived_at.is_(None))
    names: dict[int, list[str]] = {}
    membership = select(group_locations.c.location_id, groups.c.name).join(
        groups, groups.c.id == group_locations.c.group_id
    )
    if location_ids is not None:
        membership = membership.where(group_locations.c.location_id.in_(sorted(location_ids)))
    for location_id, name in conn.execute(membership.order_by(groups.c.name)):
        names.setdefault(location_id, []).append(name)
    out = []
    for r in conn.execute(query):
        config = parse_config(r.config)
        group = ", ".join(names[r.id]) if r.id in names else None
        out.append(Place(r.id, r.name, r.timezone, r.scale, group, config.question_id, config=config))
    return sorted(out, key=lambda place: (place.group is not None, place.group or "", place.name, place.id))


def find_location(conn: Connection, location_id: int) -> Place:
    """One location with its group name and question. Raises NotFound for an unknown location."""
    places = visible_locations(conn, frozenset({location_id}))
    if not places:
        raise NotFound(f"location {location_id} does not exist")
    return places[0]


Rows = list[tuple[int, int, int]]


# --- Where a location's counts come from: the rollups, or a replay of its stored presses (what-if) ----------

DailyKey = tuple[date, str, int, int, str]  # local date, kiosk, scale, score, follow-up ('' none)
HourKey = tuple[date, int, int, int]  # local date, local hour, scale, score
FilteredKey = tuple[date, str, str]  # local date, kiosk, why (shared.scores.FILTERED)

WHAT_IF_MAX_DAYS = 92  # a what-if replays raw taps: at most this many local days per period
WHAT_IF_MAX_SECONDS = 600.0  # the longest repeat-press interval a location may set
ONE_DAY = timedelta(days=1)


@dataclass
class Counts:
    """A location's counts over some local dates, by day: what its rollups hold, or what a replay of its stored
    presses under another repeat-press interval gives. Keys carry the date, so counts of overlapping spans merge
    by assignment, never adding a day twice."""

    daily: Counter[DailyKey] = field(default_factory=Counter)
    hourly: Counter[HourKey] = field(default_factory=Counter)
    filtered: Counter[FilteredKey] = field(default_factory=Counter)
    _days: dict[date, Counter[tuple[int, int]]] | None = field(default=None, repr=False, compare=False)

    def merge(self, other: Counts) -> Counts:
        """These counts and ``other``'s: a key in both is the same day's count, so it is taken, not added."""
        dict.update(self.daily, other.daily)
        dict.update(self.hourly, other.hourly)
        dict.update(self.filtered, other.filtered)
        self._days = None
        return self

    def rows(self, span: Period, kiosk_id: str | None = None) -> Rows:
        """(scale, score, count) of the counted presses on dates in ``span`` (of one kiosk, or all)."""
        totals: Counter[tuple[int, int]] = Counter()
        if kiosk_id is None:  # a trend asks this once per bucket: read the days of the span, not every key
            days = self._per_day()
            if span.days < len(days):
                for day in dates(span):
                    totals.update(days.get(day, ()))
            else:
                for day, counts in days.items():
                    if span.start <= day < span.end:
                        totals.update(counts)
        else:
            for (day, kiosk, scale, score, _), count in self.daily.items():
                if span.start <= day < span.end and kiosk == kiosk_id:
                    totals[scale, score] += count
        return [(scale, score, count) for (scale, score), count in sorted(totals.items())]

    def _per_day(self) -> dict[date, Counter[tuple[int, int]]]:
        """(scale, score) counts per date, made once (until the next merge)."""
        if self._days is None:
            self._days = {}
            for (day, _, scale, score, _), count in self.daily.items():
                self._days.setdefault(day, Counter())[scale, score] += count
        return self._days

    def filtered_totals(self, span: Period, kiosk_id: str | None = None) -> dict[str, int]:
        """Presses left out of the figures on dates in ``span``, by why: every reason present, 0 when none."""
        out = dict.fromkeys(scores.FILTERED, 0)
        for (day, kiosk, why), count in self.filtered.items():
            if span.start <= day < span.end and kiosk_id in (None, kiosk):
                out[why] = out.get(why, 0) + count
        return out


def dates(span: Period) -> Iterator[date]:
    """Every date of ``span``, in order."""
    day = span.start
    while day < span.end:
        yield day
        day += ONE_DAY


def load_counts(
    conn: Connection,
    place: Place,
    span: Period,
    *,
    what_if: float | None = None,
    hourly: bool = False,
    taps_kept_days: int = 0,
) -> Counts:
    """A location's counts over ``span`` (its question, its channel or all): from the rollups, or with ``what_if``
    (seconds) a replay of its stored presses under that repeat-press interval. ``hourly`` also reads the
    hour-of-day counts. Rows of every channel add up into the same keys (a web tap's kiosk is '').

    Raises InvalidInput as :func:`replay` (``taps_kept_days`` is passed on to it).
    """
    if what_if is not None:
        return replay(conn, place, span, what_if, taps_kept_days=taps_kept_days)
    counts = Counts()
    d = daily_rollups.c
    daily = select(d.local_date, d.kiosk_id, d.scale, d.score, d.followup, d.count).where(
        *_slice(daily_rollups, place, span)
    )
    for day, kiosk_id, scale, score, followup, count in conn.execute(daily):
        counts.daily[day, kiosk_id, scale, score, followup] += int(count)
    f = filtered_rollups.c
    left_out = select(f.local_date, f.kiosk_id, f.why, f.count).where(*_slice(filtered_rollups, place, span))
    for day, kiosk_id, why, count in conn.execute(left_out):
        counts.filtered[day, kiosk_id, why] += int(count)
    if hourly:
        r = rollups.c
        hours = select(r.local_date, r.local_hour, r.scale, r.score, r.count).where(*_slice(rollups, place, span))
        for day, hour, scale, score, count in conn.execute(hours):
            counts.hourly[day, hour, scale, score] += int(count)
    return counts


HeatKey = tuple[int, int, int, int]  # local weekday (0 = Monday), local hour, scale, score


class _weekday(FunctionElement[int]):
    """The ISO weekday of a date column less one (0 = Monday … 6 = Sunday), as :meth:`date.weekday` gives it."""

    type = Integer()
    inherit_cache = True


@compiles(_weekday, "sqlite")
def _weekday_sqlite(element: _weekday, compiler: Any, **kw: Any) -> str:
    return f"((CAST(strftime('%w', {compiler.process(element.clauses, **kw)}) AS INTEGER) + 6) % 7)"


@compiles(_weekday, "postgresql")
def _weekday_postgresql(element: _weekday, compiler: Any, **kw: Any) -> str:
    return f"(CAST(EXTRACT(ISODOW FROM {compiler.process(element.clauses, **kw)}) AS INTEGER) - 1)"


def load_heat(conn: Connection, place: Place, span: Period) -> Counter[HeatKey]:
    """A location's counts over ``span`` per local weekday and hour (its question, its channel or all), added up in
    the database from the hourly rollups: at most 7 × 24 rows per score, however long the span."""
    r = rollups.c
    keys = [_weekday(r.local_date), r.local_hour, r.scale, r.score]
    query = select(*keys, func.sum(r.count)).where(*_slice(rollups, place, span)).group_by(*keys)
    return Counter({(row[0], row[1], row[2], row[3]): int(row[4]) for row in conn.execute(query)})


def heat_of(counts: Counts, span: Period) -> Counter[HeatKey]:
    """The weekday-and-hour counts of hour-of-day ``counts`` on dates in ``span`` (a what-if replay's)."""
    out: Counter[HeatKey] = Counter()
    for (day, hour, scale, score), count in counts.hourly.items():
        if span.start <= day < span.end:
            out[day.weekday(), hour, scale, score] += count
    return out


def _slice(table: Table, place: Place, span: Period) -> list[ColumnElement[bool]]:
    """The conditions that pick a rollup table's rows of the place's question and channel over ``span``."""
    c = table.c
    where = [c.location_id == place.id, c.question_id == place.question_id, c.local_date >= span.start,
             c.local_date < span.end]  # fmt: skip
    return [*where, c.channel == place.channel] if place.channel is not None else where


def replay(conn: Connection, place: Place, span: Period, interval: float, *, taps_kept_days: int = 0) -> Counts:
    """The counts of ``span`` had the location's kiosks used another repeat-press ``interval`` (seconds).

    Replays :func:`shared.scores.is_repeat` over the stored presses of each kiosk and question in effective
    (corrected) time order, the day before the span included so that its first press knows the one before it.
    A press that becomes counted keeps no reason (a repeat was never asked why). Web taps (of the place's channel,
    as every tap read here) keep what the server decided when they arrived: a phone's repeat window is not the
    kiosks' interval. This is the one summary that reads raw taps, so it covers only the local dates whose taps
    are kept (``taps_kept_days``, 0: all; :mod:`server.retention`). Raises InvalidInput for a span longer than
    WHAT_IF_MAX_DAYS, an interval outside 0..WHAT_IF_MAX_SECONDS, or a span (with its lead-in day) reaching
    before the first local date whose taps are kept.
    """
    if not 0 <= interval <= WHAT_IF_MAX_SECONDS:
        raise InvalidInput(f"what_if_repeat_seconds must be 0..{WHAT_IF_MAX_SECONDS:g}, got {interval:g}")
    if span.days > WHAT_IF_MAX_DAYS:
        raise InvalidInput(
            f"what_if_repeat_seconds replays the stored presses of at most {WHAT_IF_MAX_DAYS} days; "
            f"this range has {span.days}"
        )
    lead_in = span.start - timedelta(days=1) if span.start > date.min else span.start
    _check_kept(place, span, lead_in, taps_kept_days)
    t = taps.c
    query = (
        select(t.kiosk_id, t.effective_at, t.local_date, t.local_hour, t.scale, t.score, t.followup, t.flags,
               t.channel)
        .where(t.location_id == place.id, t.question_id == place.question_id, t.local_date >= lead_in,
               t.local_date < span.end, *([t.channel == place.channel] if place.channel is not None else []))
        .order_by(t.kiosk_id, t.effective_at, t.seq)
    )  # fmt: skip
    counts = Counts()
    previous: tuple[str, datetime] | None = None
    for kiosk_id, at, day, hour, scale, score, followup, flags, channel in conn.execute(query):
        stored = flags.split(",")  # the stored repeat flag is replaced by the replay's; other reasons stay
        if channel == "kiosk":
            since = (at - previous[1]).total_seconds() if previous and previous[0] == kiosk_id else None
            previous = (kiosk_id, at)
            why = next((why for why in scores.FILTERED if why != "repeat" and why in stored), None)
            if why is None and scores.is_repeat(since, interval):
                why = "repeat"
        else:  # a web tap, as the server decided when it arrived; its kiosk is '' as in the rollups
            kiosk_id = ""
            why = next((why for why in scores.FILTERED if why in stored), None)
        if day < span.start:
            continue
        if why is not None:
            counts.filtered[day, kiosk_id, why] += 1
            continue
        asked = "repeat" not in stored  # a stored repeat was never asked why
        counts.daily[day, kiosk_id, scale, score, (followup or "") if asked else ""] += 1
        counts.hourly[day, hour, scale, score] += 1
    return counts


def _check_kept(place: Place, span: Period, lead_in: date, taps_kept_days: int) -> None:
    """Raises InvalidInput, naming the parameter, when a replay of ``span`` would read deleted taps."""
    kept = kept_from(place.timezone, taps_kept_days, datetime.now(UTC))
    if kept is not None and lead_in < kept:
        raise InvalidInput(
            f"what_if_repeat_seconds: raw taps are kept {taps_kept_days} days (retention), so a replay covers "
            f"local dates from {kept + ONE_DAY} on (it reads the day before its range too); this one, with the "
            f"period it is compared with, starts on {span.start}. The stored figures cover every date"
        )


# --- Trends and comparisons -------------------------------------------------------------------------------

Granularity = Literal["day", "week", "month"]
Compare = Literal["previous", "year"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")
COMPARES: tuple[Compare, ...] = ("previous", "year")


def buckets(period: Period, granularity: str) -> list[Period]:
    """The period cut into local days, ISO weeks (Monday first) or calendar months, the first and last cut to
    the period. Raises InvalidInput for an unknown granularity."""
    if granularity not in GRANULARITIES:
        raise InvalidInput(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    out, day = [], period.start
    while day < period.end:
        following = next_start(day, granularity)
        end = period.end if following is None else min(period.end, following)
        out.append(Period(day, end))
        day = end
    return out


def compared(span: Period, compare: str, whole: Period) -> Period:
    """The dates ``span`` (a part of ``whole``) is compared with: the same stretch of the period of ``whole``'s
    length just before it ("previous"), or the same calendar dates a year earlier ("year"; 29 February has none).

    Raises InvalidInput for an unknown comparison or one before the first representable date.
    """
    try:
        if compare == "previous":
            shift = timedelta(days=whole.days)
            return Period(span.start - shift, span.end - shift)
        if compare == "year":
            return Period(_year_before(span.start, first=True), _year_before(span.end - timedelta(days=1)) + ONE_DAY)
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"there is no {compare} period to compare {whole.start} – {whole.last} with") from exc
    raise InvalidInput(f"compare must be one of {', '.join(COMPARES)}, got {compare!r}")


def _year_before(day: date, *, first: bool = False) -> date:
    """The same calendar date a year earlier; 29 February becomes 1 March as a first date, 28 February as a
    last one, so that it has no counterpart. Raises ValueError in year 1."""
    if (day.month, day.day) == (2, 29):
        return date(day.year - 1, 3, 1) if first else date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


@dataclass(frozen=True)
class TrendPoint:
    """One day, week or month of a trend, and the stretch it is compared with."""

    period: Period
    now: Scores
    before_period: Period
    before: Scores

    @property
    def start(self) -> date:
        return self.period.start


def trend(counts: Counts, period: Period, granularity: str, compare: str, scale: int) -> list[TrendPoint]:
    """The period's figures per bucket, each beside its compared stretch. Raises InvalidInput as :func:`buckets`
    and :func:`compared`."""
    points = []
    for bucket in buckets(period, granularity):
        before = compared(bucket, compare, period)
        points.append(TrendPoint(bucket, Scores.of(counts.rows(bucket), scale), before,
                                 Scores.of(counts.rows(before), scale)))  # fmt: skip
    return points


def default_granularity(period: Period) -> Granularity:
    """Days up to WEEKLY_AFTER_DAYS, weeks beyond."""
    return "week" if period.days > WEEKLY_AFTER_DAYS else "day"


@dataclass(frozen=True)
class ReasonCount:
    """How often a follow-up reason was picked after a face of one side, as a share of all picks on that side."""

    reason_id: str
    label: str
    side: scores.Side  # the side of the face tapped (shared.scores.side)
    share: scores.Share

    @property
    def count(self) -> int:
        return self.share.k


def reason_counts(
    counts: Counts, period: Period, config: LocationConfig, languages: Sequence[str] = ()
) -> list[ReasonCount]:
    """Each (reason, side) picked in the period with its share of all picks on that side, negative side first,
    most picked first. The side is the tapped face's, never the configured lists (which change); the label is the
    first of ``languages`` the location has, else its default language, else any (:mod:`shared.texts`)."""
    picked: Counter[tuple[str, scores.Side]] = Counter()
    for (day, _, scale, score, reason), count in counts.daily.items():
        if reason and period.start <= day < period.end:
            picked[reason, scores.side(scale, score)] += count
    totals: Counter[str] = Counter()
    for (_, side), count in picked.items():
        totals[side] += count
    language = next((lang for lang in languages if lang in config.texts), None)
    out = [
        ReasonCount(reason, texts.reason_label(config, reason, language), side, scores.share(count, totals[side]))
        for (reason, side), count in picked.items()
    ]
    return sorted(out, key=lambda r: (scores.SIDES.index(r.side), -r.share.k, r.reason_id))
