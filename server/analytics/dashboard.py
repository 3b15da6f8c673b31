"""The dashboard's view models: the overview of many locations (ranked, with a trend line) and one location in
depth (KPIs, trend, heatmap, reasons, per-kiosk split, comments), built on :mod:`server.analytics.summaries`; and
the open alerts per location that mark them (:func:`open_alerts`). Both show one question (each location's main
one by default) and every channel or one (kiosks or web touchpoints); the pickers list the questions to choose
from (:func:`question_choices`, :func:`overview_questions`).

Raises :class:`server.NotFound` and :class:`server.InvalidInput`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Connection, Date, Select, Subquery, Table, cast, func, literal, select, union_all

from server.alerts.targets import target_for, targets_for
from server.analytics.grains import Grain, cover, whole
from server.analytics.summaries import (
    Channel,
    Compare,
    Counts,
    Granularity,
    HeatKey,
    Period,
    Place,
    ReasonCount,
    Rows,
    Scores,
    TrendPoint,
    asking,
    buckets,
    compared,
    default_granularity,
    find_location,
    heat_of,
    load_counts,
    load_heat,
    local_today,
    period_for,
    question_label,
    question_texts,
    reason_counts,
    trend,
    visible_locations,
)
from server.db import alerts, kiosks, score_rollups, score_sums, taps, targets, touchpoints
from server.groups import groups_of_locations, list_groups
from server.locations import profanity_masked
from server.privacy.profanity import mask
from shared import scores

COMMENTS_SHOWN = 20
_SUMS = ("taps", "score_total", "promoters", "detractors")  # score_sums' columns, as in shared.scores.Sums
WEB_LINE = "Web (phones)"  # the per-kiosk split's line of every web touchpoint's taps (their kiosk is '')


@dataclass(frozen=True)
class QuestionChoice:
    """A question as a picker lists it: its id and its wording in the viewer's language (else its id)."""

    id: str
    label: str


def question_choices(place: Place, languages: Sequence[str] = ()) -> list[QuestionChoice]:
    """The location's questions, main first, each labelled in the first of ``languages`` it has
    (:func:`summaries.question_label`)."""
    return [QuestionChoice(q.id, question_label(q, place.config, languages)) for q in place.questions]


def overview_questions(
    conn: Connection, location_ids: frozenset[int] | None, languages: Sequence[str] = ()
) -> list[QuestionChoice]:
    """The questions the overview's picker offers besides each location's main one: every other question of the
    visible locations, by id (in the order first met), labelled as the first location asking it words it."""
    choices: dict[str, QuestionChoice] = {}
    for place in visible_locations(conn, location_ids):
        for choice in question_choices(place, languages)[1:]:
            choices.setdefault(choice.id, choice)
    return list(choices.values())


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
    target: float | None = None  # the location's service target (its own, else its group's)
    asked: bool = True  # False: the question picked is not one of this location's (so it has no figures)
    question_id: str = "main"  # the question its figures are of

    @property
    def to_target(self) -> float | None:
        """Points the headline still lacks to reach the target (0 when reached); None without either."""
        return _to_target(self.now.headline.value, self.target)

    @property
    def change(self) -> float | None:
        """Headline now minus before; None when either has no responses."""
        now, before = self.now.headline.value, self.before.headline.value
        return None if now is None or before is None else now - before


def overview(
    conn: Connection,
    location_ids: frozenset[int] | None,
    range_name: str = "7d",
    start: date | None = None,
    last: date | None = None,
    *,
    question_id: str | None = None,
    channel: Channel | None = None,
    now: datetime | None = None,
    archived: bool = False,
    trends: bool = True,
) -> list[OverviewRow]:
    """Every visible location's scores over the picked range (in its own local dates) and the one before,
    ranked by index shrunk toward the overall index (docs/architecture.md, "Score maths"), with a trend line unless
    ``trends`` is false (then :func:`with_trends` adds it to the rows shown). Reads ``score_rollups``: per distinct
    period, one grouped query for the period and one for the period before, each over the whole months and weeks
    in it and the days at its edges (:func:`server.analytics.grains.cover`).

    The figures are of question ``question_id`` on its scale at each location that has it (a location without it
    has none, marked not ``asked``), else of each location's main question; of ``channel``, else of every one.

    Archived locations are left out unless ``archived`` is true.

    Raises InvalidInput as :func:`period_for`.
    """
    visible = visible_locations(conn, location_ids, archived=archived)
    places = [asking(place, question_id, channel) for place in visible]
    for place in places:
        place.period = period_for(range_name, local_today(place.timezone, now), start, last)
    if not places:
        return []
    by_period: dict[Period, list[Place]] = {}
    for place in places:  # places in zones on the same local date share one period: one pair of queries each
        by_period.setdefault(place.period, []).append(place)
    figures: dict[int, tuple[Scores, Scores]] = {}
    asked = {place.id for place in places if question_id is None or place.asks(question_id)}
    for period, members in by_period.items():
        reading = [place for place in members if place.id in asked]
        now_rows = _pooled(conn, reading, period, channel)
        before = _pooled(conn, reading, period.previous(), channel)
        for place in members:
            figures[place.id] = (Scores.of(now_rows.get(place.id, []), place.scale),
                                 Scores.of(before.get(place.id, []), place.scale))  # fmt: skip
    goals = targets_for(conn, [place.id for place in places])
    ranking, rank = _ranks({place.id: figures[place.id][0] for place in places})  # ties keep the places' order
    ranked = [
        OverviewRow(
            location_id=place.id, name=place.name, timezone=place.timezone, scale=place.scale, group=place.group,
            period=place.period, now=figures[place.id][0], before=figures[place.id][1], trend=[],
            ranking=ranking.get(place.id), rank=rank.get(place.id), target=goals.get(place.id),
            asked=place.id in asked, question_id=place.question_id,
        )
        for place in places
    ]  # fmt: skip
    return with_trends(conn, ranked, channel) if trends else ranked


def with_trends(conn: Connection, rows: Sequence[OverviewRow], channel: Channel | None = None) -> list[OverviewRow]:
    """``rows`` with their trend lines: the headline per day (per ISO week beyond WEEKLY_AFTER_DAYS) of each row's
    period, None where nobody answered; one grouped query per distinct period, summed in the database
    (:class:`shared.scores.Sums`), so a year of 200 locations is about 10,000 small rows."""
    by_period: dict[Period, list[OverviewRow]] = {}
    for row in rows:
        if row.asked:
            by_period.setdefault(row.period, []).append(row)
    lines: dict[int, list[float | None]] = {}
    for period, members in by_period.items():
        granularity = default_granularity(period)
        spans = buckets(period, granularity)
        sums = _bucket_sums(conn, members, spans, granularity, channel)
        for row in members:
            location_id = row.location_id
            lines[location_id] = [scores.headline_value(sums.get((location_id, span.start), ())) for span in spans]
    return [replace(row, trend=lines.get(row.location_id, [])) for row in rows]


@dataclass(frozen=True)
class GroupRow:
    """One group on the overview: the figures of the visible locations of its subtree pooled (every tap counts once,
    each on its own location's local dates), now and before, and the group's own target."""

    group_id: int
    name: str
    depth: int  # 0 for a top-level group
    locations: int  # visible locations pooled
    now: Scores
    before: Scores
    target: float | None = None

    @property
    def change(self) -> float | None:
        """Headline now minus before; None when either has no responses."""
        now, before = self.now.headline.value, self.before.headline.value
        return None if now is None or before is None else now - before

    @property
    def to_target(self) -> float | None:
        return _to_target(self.now.headline.value, self.target)


def group_overview(conn: Connection, rows: list[OverviewRow]) -> list[GroupRow]:
    """The overview rolled up by group: one row per group with at least one of ``rows``' locations in its subtree,
    pooling the counts those rows were computed from (so a group's responses are the sum of its locations'), as a
    tree (each group followed by its children, by name)."""
    by_location = {row.location_id: row for row in rows if row.asked}
    members: dict[int, set[int]] = {}
    for location_id, group_ids in groups_of_locations(conn).items():
        if location_id in by_location:
            for group_id in group_ids:
                members.setdefault(group_id, set()).add(location_id)
    listed = list_groups(conn)
    by_id = {group.id: group for group in listed}
    goals = dict(conn.execute(select(targets.c.group_id, targets.c.value).where(targets.c.group_id.is_not(None))).all())
    out: list[GroupRow] = []

    def walk(group_id: int, depth: int) -> None:
        ids = members.get(group_id)
        if not ids:
            return
        pooled = [by_location[i] for i in sorted(ids)]
        scale = 5 if any(row.scale != scores.NPS_SCALE for row in pooled) else scores.NPS_SCALE
        now = Scores.of([r for row in pooled for r in row.now.rows], scale)
        before = Scores.of([r for row in pooled for r in row.before.rows], scale)
        target = goals.get(group_id)
        out.append(GroupRow(group_id, by_id[group_id].name, depth, len(ids), now, before,
                            None if target is None else float(target)))  # fmt: skip
        for child in sorted((by_id[i] for i in by_id[group_id].child_ids), key=lambda group: group.name):
            walk(child.id, depth + 1)

    for group in listed:
        if group.parent_id is None:
            walk(group.id, 0)
    return out


def _to_target(value: float | None, target: float | None) -> float | None:
    return None if value is None or target is None else max(0.0, target - value)


def open_alerts(conn: Connection, location_ids: frozenset[int] | None) -> dict[int, int]:
    """How many open (not yet acknowledged) alerts each visible location has; locations without any are left out.
    ``location_ids`` None: every location. One grouped count on ``ix_alerts_location_state``."""
    query = select(alerts.c.location_id, func.count()).where(alerts.c.state == "open").group_by(alerts.c.location_id)
    if location_ids is not None:
        query = query.where(alerts.c.location_id.in_(sorted(location_ids)))
    return {int(location_id): int(n) for location_id, n in conn.execute(query)}


def _reading(
    table: Table, places: Sequence[Place | OverviewRow], channel: Channel | None, grain: Grain, first: date, end: date,
    *columns: Any,
) -> Select[Any]:  # fmt: skip
    """Rows of ``table`` (``score_rollups`` or ``score_sums``: location, question, then ``columns``) of the places'
    questions, of ``channel`` or every one, of grain ``grain`` whose first date is in [first, end)."""
    s = table.c
    ids = sorted({place.id if isinstance(place, Place) else place.location_id for place in places})
    questions = sorted({place.question_id for place in places})
    return select(s.location_id, s.question_id, *columns).where(
        s.location_id.in_(ids), s.question_id.in_(questions), s.grain == grain, s.local_date >= first,
        s.local_date < end, *([s.channel == channel] if channel is not None else []),
    )  # fmt: skip


def _pooled(conn: Connection, places: list[Place], period: Period, channel: Channel | None) -> dict[int, Rows]:
    """location -> (scale, score, count) rows of its question over ``period``, of ``channel`` or every one: the
    period's whole months and weeks and its edge days, added up in the database."""
    if not places:
        return {}
    s = score_rollups.c
    parts = [_reading(score_rollups, places, channel, grain, first, end, s.scale, s.score, s.count)
             for grain, first, end in cover(period.start, period.end)]  # fmt: skip
    both = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    keys = [both.c.location_id, both.c.question_id, both.c.scale, both.c.score]
    questions = {place.id: place.question_id for place in places}
    out: dict[int, Rows] = {}
    query = select(*keys, func.sum(both.c.count)).group_by(*keys)
    for row in conn.execute(query):
        location_id, question_id, scale, score, count = row[0], row[1], row[2], row[3], row[4]
        if question_id == questions[location_id]:
            out.setdefault(location_id, []).append((scale, score, int(count)))
    return out


def _bucket_sums(
    conn: Connection, rows: list[OverviewRow], spans: list[Period], granularity: Granularity, channel: Channel | None
) -> dict[tuple[int, date], list[scores.Sums]]:
    """(location, first date of a span) -> :class:`scores.Sums` per scale of its question, from ``score_sums``.
    Whole weeks (or days) are read as such, in key order so the database groups them as it reads; a week cut by the
    period's edge is read from its days."""
    s = score_sums.c
    summed = (s.scale, *(s[name] for name in _SUMS))
    whole_spans = [span for span in spans if whole(span.start, span.end, granularity)]
    cut = [span for span in spans if not whole(span.start, span.end, granularity)]
    queries = []
    if whole_spans:
        first, end = whole_spans[0].start, whole_spans[-1].end
        queries.append(_reading(score_sums, rows, channel, granularity, first, end, s.local_date.label("span"), *summed)
                       .subquery())  # fmt: skip
    if cut:
        edges = [_reading(score_sums, rows, channel, "day", span.start, span.end,
                          literal(span.start, Date).label("span"), *summed) for span in cut]  # fmt: skip
        queries.append((edges[0] if len(edges) == 1 else union_all(*edges)).subquery())
    questions = {row.location_id: row.question_id for row in rows}
    out: dict[tuple[int, date], list[scores.Sums]] = {}
    for query in queries:
        for location_id, question_id, span, *values in conn.execute(_sums_by_span(query)):
            if question_id == questions[location_id]:
                mine = out.get((location_id, span))
                if mine is None:
                    out[location_id, span] = [scores.Sums(*values)]
                else:
                    mine.append(scores.Sums(*values))
    return out


def _sums_by_span(rows: Subquery) -> Select[Any]:
    """(location, question, span, scale, taps, sum of scores, promoters, detractors) of some ``score_sums`` rows,
    every channel's added up."""
    c = rows.c
    keys = [c.location_id, c.question_id, c.span, c.scale]  # PostgreSQL sums BIGINT as NUMERIC: cast back to int
    return select(*keys, *(cast(func.sum(c[name]), BigInteger) for name in _SUMS)).group_by(*keys)


def _ranks(now: dict[int, Scores]) -> tuple[dict[int, float], dict[int, int]]:
    """Each face-scale location's shrunk ranking score and its rank (1 = best), by location id."""
    faces = {location_id: figures for location_id, figures in now.items() if figures.happy_index.n}
    overall = scores.happy_index([r for figures in faces.values() for r in figures.rows]).value
    ranking = {}
    if overall is not None:
        for location_id, figures in faces.items():
            ranking[location_id] = scores.ranking_score(figures.happy_index.value, figures.happy_index.n, overall)
    order = sorted(ranking, key=lambda location_id: -ranking[location_id])
    return ranking, {location_id: i + 1 for i, location_id in enumerate(order)}


@dataclass(frozen=True)
class HeatCell:
    """One local weekday (0 = Monday) and hour of the period: responses and headline score."""

    weekday: int
    hour: int
    responses: int
    value: float | None

    @property
    def small(self) -> bool:
        return 0 < self.responses < scores.SMALL_SAMPLE


@dataclass(frozen=True)
class KioskScores:
    """One line of the per-kiosk split: a kiosk, or every web touchpoint together (``kiosk_id`` '')."""

    kiosk_id: str
    name: str
    scores: Scores
    filtered: int  # presses of this kiosk left out of the figures

    @property
    def channel(self) -> Channel:
        return "kiosk" if self.kiosk_id else "web"


@dataclass(frozen=True)
class Comment:
    at: datetime  # local time of the tap
    score: int
    scale: int
    text: str
    kiosk: str  # the kiosk's name, or the web touchpoint's
    hidden: bool = False  # hidden from managers by an admin (only admins are shown it)


@dataclass(frozen=True)
class LocationDetail:
    """Everything the location page shows, for one period and the one it is compared with, of one question (on
    its ``scale``) and one channel or all."""

    id: int
    name: str
    timezone: str
    scale: int
    group: str | None
    period: Period
    compare: Compare
    compared: Period
    now: Scores
    before: Scores
    granularity: Granularity
    trend: list[TrendPoint]
    heatmap: list[list[HeatCell]]  # 7 weekdays x 24 hours
    reasons: list[ReasonCount]
    kiosks: list[KioskScores]
    comments: list[Comment]
    filtered: dict[str, int]
    repeat_seconds: float  # the location's repeat-press interval now
    web_repeat_minutes: float  # how often one phone may answer a web touchpoint (counted), now
    what_if: float | None  # figures replayed with this interval instead of the stored flags
    target: float | None = None  # the service target (its own, else its group's)
    question_id: str = "main"
    questions: tuple[QuestionChoice, ...] = ()  # the location's questions, main first (the picker's)
    channel: Channel | None = None  # None: every channel

    @property
    def question(self) -> QuestionChoice:
        """The question shown (its id alone when the location no longer has it)."""
        return next(
            (q for q in self.questions if q.id == self.question_id), QuestionChoice(self.question_id, self.question_id)
        )

    @property
    def to_target(self) -> float | None:
        """Points the headline still lacks to reach the target (0 when reached); None without either."""
        return _to_target(self.now.headline.value, self.target)

    @property
    def weekly(self) -> bool:
        return self.granularity == "week"


def location_detail(
    conn: Connection,
    location_id: int,
    range_name: str = "30d",
    start: date | None = None,
    last: date | None = None,
    *,
    granularity: Granularity | None = None,
    compare: Compare = "previous",
    what_if: float | None = None,
    question_id: str | None = None,
    channel: Channel | None = None,
    languages: Sequence[str] = (),
    now: datetime | None = None,
    taps_kept_days: int = 0,
    show_hidden_comments: bool = False,
) -> LocationDetail:
    """One location in depth over the picked range (local dates), compared with the period before or the same
    dates a year earlier; trend per day, week or month (default: :func:`default_granularity`); with ``what_if``
    every figure replayed under that repeat-press interval (over the taps retention keeps: ``taps_kept_days``).
    Figures of question ``question_id`` (default: the main one) on its own scale, of ``channel`` (default: every
    channel; comments too). Reason labels in the first of ``languages`` the location has
    (:func:`shared.texts.reason_label`). Comments an admin hid are left out unless ``show_hidden_comments`` (for
    admins: they are marked ``hidden``).

    Raises NotFound for an unknown location and InvalidInput as :func:`period_for`, :func:`trend` and
    :func:`replay`.
    """
    place = asking(find_location(conn, location_id), question_id, channel)
    config = question_texts(place.config, place.question_id)
    period = period_for(range_name, local_today(place.timezone, now), start, last)
    granularity = granularity or default_granularity(period)
    before = compared(period, compare, period)
    replayed = what_if is not None  # a replay has the hour of each tap; else the database adds up the heatmap
    counts = load_counts(conn, place, period, what_if=what_if, hourly=replayed, taps_kept_days=taps_kept_days)
    heat = heat_of(counts, period) if replayed else load_heat(conn, place, period)
    counts.merge(load_counts(conn, place, before, what_if=what_if, taps_kept_days=taps_kept_days))
    return LocationDetail(
        id=place.id, name=place.name, timezone=place.timezone, scale=place.scale, group=place.group, period=period,
        compare=compare, compared=before, now=Scores.of(counts.rows(period), place.scale),
        before=Scores.of(counts.rows(before), place.scale), granularity=granularity,
        trend=trend(counts, period, granularity, compare, place.scale),
        heatmap=_heatmap(heat, place.scale), reasons=reason_counts(counts, period, config, languages),
        kiosks=_kiosk_split(conn, counts, period, place.scale),
        comments=_comments(conn, place, period, show_hidden_comments), filtered=counts.filtered_totals(period),
        repeat_seconds=config.repeat_press_seconds, web_repeat_minutes=config.web_repeat_minutes, what_if=what_if,
        target=target_for(conn, place.id),
        question_id=place.question_id, questions=tuple(question_choices(place, languages)), channel=channel,
    )  # fmt: skip


def _heatmap(heat: Counter[HeatKey], scale: int) -> list[list[HeatCell]]:
    """Headline score per local weekday and hour, from the period's weekday-and-hour counts."""
    cells: dict[tuple[int, int], Rows] = {}
    for (weekday, hour, row_scale, score), count in heat.items():
        cells.setdefault((weekday, hour), []).append((row_scale, score, count))
    grid = []
    for weekday in range(7):
        row = []
        for hour in range(24):
            result = Scores.of(cells.get((weekday, hour), []), scale)
            row.append(HeatCell(weekday, hour, result.responses, result.headline.value))
        grid.append(row)
    return grid


def _kiosk_split(conn: Connection, counts: Counts, period: Period, scale: int) -> list[KioskScores]:
    """One line per kiosk with taps in the period, by name, then one :data:`WEB_LINE` for the web touchpoints'
    taps together (kiosk '' in the rollups), if any."""
    ids = {kiosk for (day, kiosk, *_), _n in counts.daily.items() if period.start <= day < period.end}
    ids |= {kiosk for (day, kiosk, _), n in counts.filtered.items() if n and period.start <= day < period.end}
    names = dict(conn.execute(select(kiosks.c.id, kiosks.c.name).where(kiosks.c.id.in_(sorted(ids - {""})))).all())
    names[""] = WEB_LINE
    return [
        KioskScores(
            kiosk_id,
            names.get(kiosk_id, kiosk_id),
            Scores.of(counts.rows(period, kiosk_id), scale),
            sum(counts.filtered_totals(period, kiosk_id).values()),
        )  # fmt: skip
        for kiosk_id in sorted(ids, key=lambda kiosk_id: (kiosk_id == "", names.get(kiosk_id, kiosk_id)))
    ]


# Taps with the name of the kiosk or web touchpoint that took them (shared with server.comments).
COMMENTED_TAPS = taps.outerjoin(kiosks, kiosks.c.id == taps.c.kiosk_id).outerjoin(
    touchpoints, touchpoints.c.id == taps.c.touchpoint_id
)
COMMENT_SOURCE = func.coalesce(kiosks.c.name, touchpoints.c.name, WEB_LINE).label("source")


def _comments(conn: Connection, place: Place, period: Period, show_hidden: bool = False) -> list[Comment]:
    """The latest comments of the period (of the place's channel, else every one), newest first, each with its
    kiosk's or web touchpoint's name (reads the partial comments index, not all taps); swear words masked when
    the location asks for it. Those an admin hid only with ``show_hidden`` (marked)."""
    t = taps.c
    query = (
        select(t.effective_at, t.score, t.scale, t.comment, COMMENT_SOURCE, t.comment_hidden)
        .select_from(COMMENTED_TAPS)
        .where(t.location_id == place.id, t.comment.is_not(None),
               t.local_date >= period.start, t.local_date < period.end,
               *([t.channel == place.channel] if place.channel is not None else []),
               *([] if show_hidden else [t.comment_hidden.is_(False)]))
        .order_by(t.effective_at.desc())
        .limit(COMMENTS_SHOWN)
    )  # fmt: skip
    zone = ZoneInfo(place.timezone)
    shown = mask if profanity_masked(conn, [place.id]) else str
    return [
        Comment(at.astimezone(zone), score, scale, shown(text), name, bool(hidden))
        for at, score, scale, text, name, hidden in conn.execute(query)
    ]
