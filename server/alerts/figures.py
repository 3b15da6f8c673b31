"""What the evaluator reads: a location's taps in windows of effective (clock-corrected) time, counted in SQL.

Windows are ``[start, end)`` over ``taps.effective_at`` and use the index ``ix_taps_location_effective``; the
baseline's history is read by local date and hour (``ix_taps_location_date``). Figures count only counted presses
(none of the flags in :data:`shared.scores.FILTERED`, i.e. not ``repeat``); silence looks at any press.

Raises nothing of its own: database errors propagate.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Connection, String, and_, bindparam, func, literal, or_, select

from server.db import kiosks, taps
from shared.scores import FILTERED

Rows = list[tuple[int, int, int]]  # (scale, score, count), as shared.scores takes them


def counted() -> ColumnElement[bool]:
    """A tap that counts: its comma-separated ``flags`` name none of :data:`shared.scores.FILTERED`."""
    wrapped = literal(",", String) + taps.c.flags + literal(",", String)
    return and_(*(wrapped.not_like(f"%,{why},%") for why in FILTERED))


def _in_window() -> ColumnElement[bool]:
    """The taps of location ``:location_id`` with effective time in ``[:start, :end)`` (bound per execution)."""
    return and_(
        taps.c.location_id == bindparam("location_id"),
        taps.c.effective_at >= bindparam("start", type_=taps.c.effective_at.type),
        taps.c.effective_at < bindparam("end", type_=taps.c.effective_at.type),
    )


# Built once: an evaluation runs these thousands of times, and building the expression cost more than running it.
_WINDOW_ROWS = (
    select(taps.c.scale, taps.c.score, func.count()).where(_in_window(), counted()).group_by(taps.c.scale, taps.c.score)
)
_COUNTED_IN = select(func.count()).select_from(taps).where(_in_window(), counted())
_PRESSES = (
    select(taps.c.effective_at, taps.c.scale, taps.c.score).where(_in_window(), counted()).order_by(taps.c.effective_at)
)


@dataclass(frozen=True)
class Presses:
    """Counted presses oldest first: their effective ``times`` and, at the same positions, their (scale, score)."""

    times: list[datetime]
    faces: list[tuple[int, int]]


def counted_presses(conn: Connection, location_id: int, start: datetime, end: datetime) -> Presses:
    """The location's counted presses with effective time in ``[start, end)``, oldest first."""
    window = {"location_id": location_id, "start": start, "end": end}
    rows = conn.execute(_PRESSES, window).all()
    return Presses([at for at, _, _ in rows], [(int(scale), int(score)) for _, scale, score in rows])


def rows_between(presses: Presses, start: datetime, end: datetime) -> Rows:
    """(scale, score, count) of the presses with effective time in ``[start, end)``."""
    first, last = bisect_left(presses.times, start), bisect_left(presses.times, end)
    return [(scale, score, n) for (scale, score), n in sorted(Counter(presses.faces[first:last]).items())]


def window_rows(conn: Connection, location_id: int, start: datetime, end: datetime) -> Rows:
    """(scale, score, count) of the location's counted presses with effective time in ``[start, end)``."""
    window = {"location_id": location_id, "start": start, "end": end}
    return [(int(scale), int(score), int(n)) for scale, score, n in conn.execute(_WINDOW_ROWS, window)]


def counted_in(conn: Connection, location_id: int, start: datetime, end: datetime) -> int:
    """How many counted presses the location has with effective time in ``[start, end)``."""
    window = {"location_id": location_id, "start": start, "end": end}
    return int(conn.execute(_COUNTED_IN, window).scalar_one())


def last_press(conn: Connection, location_id: int, before: datetime) -> datetime | None:
    """The effective time of the location's latest press (counted or not) before ``before``, or None."""
    query = select(func.max(taps.c.effective_at)).where(taps.c.location_id == location_id, taps.c.effective_at < before)
    latest: datetime | None = conn.execute(query).scalar()
    return latest


def hour_rows(conn: Connection, location_id: int, hours: dict[date, set[int]]) -> Rows:
    """(scale, score, count) of the location's counted presses in the given local hours ({local date: hours})."""
    if not hours:
        return []
    when = or_(*(and_(taps.c.local_date == day, taps.c.local_hour.in_(sorted(h))) for day, h in sorted(hours.items())))
    query = (
        select(taps.c.scale, taps.c.score, func.count())
        .where(taps.c.location_id == location_id, when, counted())
        .group_by(taps.c.scale, taps.c.score)
    )
    return [(int(scale), int(score), int(n)) for scale, score, n in conn.execute(query)]


@dataclass(frozen=True)
class Contact:
    """When a kiosk was made and last heard from (a batch or a heartbeat; None: never)."""

    kiosk_id: str
    created_at: datetime
    last_seen_at: datetime | None

    @property
    def heard(self) -> datetime:
        """The last contact; a kiosk never heard from counts from its creation."""
        return self.last_seen_at or self.created_at


def active_kiosks(conn: Connection, location_id: int) -> list[Contact]:
    """The location's kiosks that are not revoked, by id."""
    query = (
        select(kiosks.c.id, kiosks.c.created_at, kiosks.c.last_seen_at)
        .where(kiosks.c.location_id == location_id, kiosks.c.revoked_at.is_(None))
        .order_by(kiosks.c.id)
    )
    return [Contact(row.id, row.created_at, row.last_seen_at) for row in conn.execute(query)]
