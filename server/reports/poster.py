"""The results poster of a location: the last 7 complete local days' faces and the friendly line printed under
them, to hang beside the kiosk. Raises :class:`server.NotFound` for an unknown location.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from server.analytics.summaries import Period, Scores, find_location, load_counts, local_today
from shared import scores

POSTER_DAYS = 7


@dataclass(frozen=True)
class Poster:
    """What the poster shows: the location, its last POSTER_DAYS complete days and their figures."""

    location_id: int
    name: str
    scale: int
    period: Period
    now: Scores

    @property
    def nps(self) -> bool:
        return self.scale == scores.NPS_SCALE

    @property
    def happy_share(self) -> float | None:
        """Percent of answers on the happy faces (CSAT), None without answers."""
        return self.now.csat.value

    @property
    def line(self) -> str:
        """One friendly sentence about the week."""
        if self.now.responses == 0:
            return "Tell us how we are doing: every tap helps us get better."
        if self.nps:
            return "Thank you for telling us how likely you are to recommend us."
        happy = round((self.happy_share or 0) / 10)
        if happy >= 9:
            return f"{happy} out of 10 of you left with a smile. You made our week!"
        if happy >= 6:
            return f"{happy} out of 10 of you left with a smile, and we are working on the rest."
        return "You told us we can do better, and we are on it."


def poster_data(conn: Connection, location_id: int, *, now: datetime | None = None) -> Poster:
    """The poster of a location as of ``now``: the POSTER_DAYS complete local days before today.

    Raises NotFound for an unknown location.
    """
    place = find_location(conn, location_id)
    today = local_today(place.timezone, now or datetime.now(UTC))
    period = Period(today - timedelta(days=POSTER_DAYS), today)
    counts = load_counts(conn, place, period)
    return Poster(place.id, place.name, place.scale, period, Scores.of(counts.rows(period), place.scale))
