"""What the score rollups should hold, worked out independently of server.analytics.grains (the ISO calendar finds
each week's Monday), and what they do hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from server.db import score_rollups


def score_rollups_of(rows: Iterable[Mapping[str, Any]]) -> Counter[tuple[Any, ...]]:
    """``score_rollups``' key (location, question, grain, first date, scale, score, channel) of each counted tap row
    (``channel`` "kiosk" when the row has none), counted once in its day, its ISO week and its month."""
    out: Counter[tuple[Any, ...]] = Counter()
    for r in rows:
        day: date = r["local_date"]
        year, week, _ = day.isocalendar()
        monday = date.fromisocalendar(year, week, 1)
        channel = r.get("channel") or "kiosk"
        for grain, first in (("day", day), ("week", monday), ("month", day.replace(day=1))):
            out[r["location_id"], r["question_id"], grain, first, r["scale"], r["score"], channel] += 1
    return out


def stored_score_rollups(engine: Engine) -> dict[tuple[Any, ...], int]:
    """Every ``score_rollups`` row as {key: count}."""
    with engine.connect() as conn:
        return {tuple(r)[:-1]: r._mapping["count"] for r in conn.execute(select(score_rollups))}
