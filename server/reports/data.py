"""What a report says, read from the rollups through :mod:`server.analytics`: the scope (a location, or a group
pooling the taps of its locations), headline figures with their 95 % intervals now and in the period before, the
target, a trend, the top follow-up reasons by side, the latest comments and, for a group, its locations ranked as
the overview ranks them. No score maths here: counts are summed and handed to :class:`Scores`.

Raises :class:`server.NotFound` (unknown location or group) and :class:`server.InvalidInput` (a group without
locations, an unknown period kind).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from server import InvalidInput, NotFound
from server.alerts.targets import target_for
from server.analytics import dashboard
from server.analytics.summaries import (
    Counts,
    Period,
    Place,
    ReasonCount,
    Scores,
    find_location,
    load_counts,
    reason_counts,
    trend,
    visible_locations,
)
from server.db import groups, taps, targets
from server.groups import subtree_location_ids
from server.locations import location_config, profanity_masked
from server.privacy.profanity import mask
from server.reports.periods import Kind, check_kind, previous
from shared import scores

COMMENTS_SHOWN = 8
REASONS_PER_SIDE = 5


@dataclass(frozen=True)
class Scope:
    """What a report is about: one location, or a group and its locations (by id). ``timezone`` is the location's,
    or the group's first location's: the zone of the report's local dates."""

    name: str
    timezone: str
    places: tuple[Place, ...]
    location_id: int | None = None
    group_id: int | None = None

    @property
    def is_group(self) -> bool:
        return self.group_id is not None

    @property
    def scale(self) -> int:
        return self.places[0].scale

    @property
    def location_ids(self) -> frozenset[int]:
        return frozenset(place.id for place in self.places)


def location_scope(conn: Connection, location_id: int) -> Scope:
    """The scope of one location. Raises NotFound for an unknown location."""
    place = find_location(conn, location_id)
    return Scope(place.name, place.timezone, (place,), location_id=place.id)


def group_scope(conn: Connection, group_id: int) -> Scope:
    """The scope of a group: the locations of its subtree (:mod:`server.groups`) by id, the zone of the first.
    Raises NotFound for an unknown group, InvalidInput for a group without locations."""
    name = conn.execute(select(groups.c.name).where(groups.c.id == group_id)).scalar()
    if name is None:
        raise NotFound(f"group {group_id} does not exist")
    ids = subtree_location_ids(conn, group_id)
    if not ids:
        raise InvalidInput(f"group {group_id} has no locations to report on")
    places = sorted(visible_locations(conn, frozenset(ids)), key=lambda place: place.id)
    return Scope(name, places[0].timezone, tuple(places), group_id=group_id)


def scope_of(conn: Connection, *, location_id: int | None = None, group_id: int | None = None) -> Scope:
    """The scope of exactly one of a location and a group. Raises InvalidInput for neither or both, and as
    :func:`location_scope` and :func:`group_scope`."""
    if (location_id is None) == (group_id is None):
        raise InvalidInput("a report is about one location (--location) or one group (--group)")
    return location_scope(conn, location_id) if location_id is not None else group_scope(conn, group_id or 0)


@dataclass(frozen=True)
class TrendBar:
    """One day (or, in a day report, one local hour) of the trend: the headline and its interval."""

    label: str
    estimate: scores.Estimate


@dataclass(frozen=True)
class Comment:
    at: datetime  # local time of the tap
    score: int
    scale: int
    text: str
    location: str


@dataclass(frozen=True)
class Ranked:
    """A location of a group over the report's period: its rank by shrunk index (None for NPS locations)."""

    location_id: int
    name: str
    now: Scores
    before: Scores
    rank: int | None
    ranking: float | None


@dataclass(frozen=True)
class Report:
    """Everything one report shows, for ``period`` and ``before`` (the period of the same kind before it)."""

    kind: Kind
    scope: Scope
    period: Period
    before_period: Period
    now: Scores
    before: Scores
    target: float | None
    trend: list[TrendBar]
    reasons: list[ReasonCount]
    comments: list[Comment]
    ranking: list[Ranked]

    @property
    def nps(self) -> bool:
        """True when the headline is an NPS (a 0–10 question, no face taps), not a Happy Index."""
        return self.now.happy_index.n == 0 and (self.now.nps.n > 0 or self.scope.scale == scores.NPS_SCALE)

    @property
    def change(self) -> float | None:
        """Headline now minus before; None when either has no responses."""
        now, before = self.now.headline.value, self.before.headline.value
        return None if now is None or before is None else now - before


def build_report(conn: Connection, scope: Scope, kind: str, period: Period, *, languages: Sequence[str] = ()) -> Report:
    """The report of ``scope`` over ``period`` (local dates of the scope's zone), compared with the period of the
    same kind before it. A group's figures pool the counts of its locations.

    Raises InvalidInput for an unknown kind.
    """
    kind = check_kind(kind)
    before = previous(kind, period)
    both = Period(before.start, period.end)
    per_place = {place.id: load_counts(conn, place, both, hourly=kind == "day") for place in scope.places}
    pooled = pool(per_place.values())
    return Report(
        kind=kind, scope=scope, period=period, before_period=before,
        now=Scores.of(pooled.rows(period), scope.scale), before=Scores.of(pooled.rows(before), scope.scale),
        target=_target(conn, scope), trend=_trend(pooled, kind, period, scope.scale),
        reasons=_top_reasons(reason_counts(pooled, period, location_config(conn, scope.places[0].id), languages)),
        comments=_comments(conn, scope, period),
        ranking=_ranking(conn, scope, period, before, per_place) if scope.is_group else [],
    )  # fmt: skip


def pool(counts: Iterable[Counts]) -> Counts:
    """The counts of several locations added together (their kiosks differ, so daily keys never collide; hourly
    keys do and are summed)."""
    pooled = Counts()
    for one in counts:
        pooled.daily.update(one.daily)
        pooled.hourly.update(one.hourly)
        pooled.filtered.update(one.filtered)
    return pooled


def _target(conn: Connection, scope: Scope) -> float | None:
    """The location's target (its own, else its group's), or for a group the group's own."""
    if scope.location_id is not None:
        return target_for(conn, scope.location_id)
    value: float | None = conn.execute(select(targets.c.value).where(targets.c.group_id == scope.group_id)).scalar()
    return value


def _trend(counts: Counts, kind: str, period: Period, scale: int) -> list[TrendBar]:
    """Per local day over a week or month; per local hour over a day (from the hourly rollups)."""
    if kind == "day":
        hours: dict[int, list[tuple[int, int, int]]] = {}
        for (day, hour, row_scale, score), count in counts.hourly.items():
            if period.start <= day < period.end:
                hours.setdefault(hour, []).append((row_scale, score, count))
        return [TrendBar(f"{hour:02d}", Scores.of(hours.get(hour, []), scale).headline) for hour in range(24)]
    label = "{0:%a} {0.day}" if kind == "week" else "{0.day}"
    return [
        TrendBar(label.format(point.start), point.now.headline)
        for point in trend(counts, period, "day", "previous", scale)
    ]


def _top_reasons(reasons: list[ReasonCount]) -> list[ReasonCount]:
    """The REASONS_PER_SIDE most picked of each side, negative side first (reasons come sorted so)."""
    shown: Counter[str] = Counter()
    out = []
    for reason in reasons:
        if shown[reason.side] < REASONS_PER_SIDE:
            shown[reason.side] += 1
            out.append(reason)
    return out


def _comments(conn: Connection, scope: Scope, period: Period) -> list[Comment]:
    """The latest comments of the period in the scope's locations, newest first, in each location's local time;
    swear words masked for the locations that ask for it; none an admin hid (reports are mailed and forwarded)."""
    t = taps.c
    query = (
        select(t.effective_at, t.score, t.scale, t.comment, t.location_id)
        .where(t.location_id.in_(sorted(scope.location_ids)), t.comment.is_not(None), t.comment_hidden.is_(False),
               t.local_date >= period.start, t.local_date < period.end)
        .order_by(t.effective_at.desc())
        .limit(COMMENTS_SHOWN)
    )  # fmt: skip
    places = {place.id: place for place in scope.places}
    masked = profanity_masked(conn, scope.location_ids)
    return [
        Comment(at.astimezone(ZoneInfo(places[where].timezone)), score, scale,
                mask(text) if where in masked else text, places[where].name)
        for at, score, scale, text, where in conn.execute(query)
    ]  # fmt: skip


def _ranking(
    conn: Connection, scope: Scope, period: Period, before: Period, per_place: dict[int, Counts]
) -> list[Ranked]:
    """The group's locations over the period, ranked by the overview's shrunk index (:func:`dashboard.overview`),
    best first, unranked (NPS) locations last; each with its figures of the period before."""
    rows = dashboard.overview(conn, scope.location_ids, "custom", period.start, period.last)
    ranked = [
        Ranked(row.location_id, row.name, row.now, Scores.of(per_place[row.location_id].rows(before), row.scale),
               row.rank, row.ranking)
        for row in rows
    ]  # fmt: skip
    return sorted(ranked, key=lambda r: (r.rank is None, r.rank or 0, r.name))
