"""What the score rollups and sums should hold, worked out independently of server.analytics.grains and
server.ingest (the ISO calendar finds each week's Monday), and what they do hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from server.db import score_rollups, score_sums


def _spans(day: date) -> tuple[tuple[str, date], ...]:
    """(grain, first date) of the day, ISO week and month ``day`` is in."""
    year, week, _ = day.isocalendar()
    return ("day", day), ("week", date.fromisocalendar(year, week, 1)), ("month", day.replace(day=1))


def score_rollups_of(rows: Iterable[Mapping[str, Any]]) -> Counter[tuple[Any, ...]]:
    """``score_rollups``' key (location, question, grain, first date, scale, score, channel) of each counted tap row
    (``channel`` "kiosk" when the row has none), counted once in its day, its ISO week and its month."""
    out: Counter[tuple[Any, ...]] = Counter()
    for r in rows:
        channel = r.get("channel") or "kiosk"
        for grain, first in _spans(r["local_date"]):
            out[r["location_id"], r["question_id"], grain, first, r["scale"], r["score"], channel] += 1
    return out


def score_sums_of(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[Any, ...], tuple[int, int, int, int]]:
    """``score_sums``' key (location, question, grain, first date, scale, channel) -> (taps, sum of their scores,
    promoters, detractors) of the counted tap rows, in their day and their ISO week; promoters (9 or 10) and
    detractors (0 to 6) are counted on the 0-10 scale only."""
    out: dict[tuple[Any, ...], list[int]] = {}
    for r in rows:
        scale, score = r["scale"], r["score"]
        for grain, first in _spans(r["local_date"])[:2]:
            key = (r["location_id"], r["question_id"], grain, first, scale, r.get("channel") or "kiosk")
            sums = out.setdefault(key, [0, 0, 0, 0])
            sums[0] += 1
            sums[1] += score
            sums[2] += scale == 11 and score >= 9
            sums[3] += scale == 11 and score <= 6
    return {key: (n, total, promoters, detractors) for key, (n, total, promoters, detractors) in out.items()}


def stored_score_rollups(engine: Engine) -> dict[tuple[Any, ...], int]:
    """Every ``score_rollups`` row as {key: count}."""
    with engine.connect() as conn:
        return {tuple(r)[:-1]: r._mapping["count"] for r in conn.execute(select(score_rollups))}


def stored_score_sums(engine: Engine) -> dict[tuple[Any, ...], tuple[int, int, int, int]]:
    """Every ``score_sums`` row as {key: (taps, sum of scores, promoters, detractors)}."""
    with engine.connect() as conn:
        return {tuple(r)[:6]: tuple(r)[6:] for r in conn.execute(select(score_sums))}
