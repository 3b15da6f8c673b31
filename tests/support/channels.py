"""Taps of both channels for the server tests of figures by channel and question (issue #13): web taps stored the
way a touchpoint's page has them stored (:func:`server.ingest.ingest_web_batch`), and every figure recomputed here
from the scores sent, with the formulas of docs/architecture.md, never read from the server."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from server.ingest import Source, ingest_web_batch
from server.touchpoints import add_touchpoint
from shared.protocol import BatchResult, TapBatch

_SEQS = itertools.count(1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: What the page's script sends with every post (its origin is TestClient's base URL).
PAGE = {"X-Smilepost-Client": "web", "Origin": "http://testserver"}


def page_tap(device: str, seq: int, at: datetime, **overrides: Any) -> dict[str, Any]:
    """One tap as the page makes it: its device id as boot_id, Date.now() in ns as mono_ns (a 2 of 5 faces)."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()), "seq": seq, "question_id": "main", "scale": 5, "score": 2,
        "tapped_at": iso(at), "mono_ns": int(at.timestamp() * 1000) * 1_000_000, "boot_id": device,
        "followup": None, "comment": None, "flags": [],
    }  # fmt: skip
    return body | overrides


def page_batch(device: str, taps: list[dict[str, Any]]) -> dict[str, Any]:
    """A batch as the page sends it now."""
    now = datetime.now(UTC)
    return {"sent_at": iso(now), "boot_id": device, "mono_ns": int(now.timestamp() * 1000) * 1_000_000, "taps": taps}


def make_touchpoint(engine: Engine, location_id: int, name: str = "Table tent") -> int:
    """A web touchpoint of the location; its id."""
    with engine.begin() as conn:
        return add_touchpoint(conn, location_id=location_id, name=name).id


def web_tap(at: datetime, score: int, *, device: str, scale: int = 5, **fields: Any) -> dict[str, Any]:
    """One tap as a phone's page sends it (``device`` is the page's device id, its ``boot_id``)."""
    return {
        "id": str(uuid.uuid4()), "seq": next(_SEQS), "question_id": "main", "scale": scale, "score": score,
        "tapped_at": iso(at), "mono_ns": 1, "boot_id": device, "flags": [], **fields,
    }  # fmt: skip


def send_web(
    engine: Engine, location_id: int, touchpoint_id: int, taps: list[dict[str, Any]], *, repeat_seconds: float = 600
) -> BatchResult:
    """Store one phone's taps (all of one device) as the touchpoint's tap endpoint does."""
    batch = TapBatch.model_validate(
        {"sent_at": iso(datetime.now(UTC)), "boot_id": taps[0]["boot_id"], "mono_ns": 10**12, "taps": taps}
    )
    source = Source(location_id=location_id, timezone=ZoneInfo("Europe/Oslo"), touchpoint_id=touchpoint_id)
    return ingest_web_batch(engine, source, batch, repeat_seconds=repeat_seconds)


def at(moment: datetime, minutes: float = 0) -> datetime:
    return moment + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Figures:
    """What the summary says of some counted scores on one scale, computed here."""

    responses: int
    counts: dict[str, int]
    happy_index: float | None
    csat: float | None
    negative: float | None
    nps: float | None

    @classmethod
    def of(cls, scores: Iterable[int], scale: int) -> Figures:
        tally = Counter(scores)
        n = sum(tally.values())
        keys = range(0, 11) if scale == 11 else range(1, scale + 1)

        def pct(faces: set[int]) -> float | None:
            return None if n == 0 else 100 * sum(tally[s] for s in faces) / n

        if scale == 11:
            nps = None if n == 0 else pct({9, 10}) - pct(set(range(0, 7)))  # type: ignore[operator]
            return cls(n, {str(s): tally[s] for s in keys}, None, None, None, nps)
        top = {scale} if scale == 3 else {scale, scale - 1}
        bottom = {1} if scale == 3 else {1, 2}
        index = None if n == 0 else 100 * sum((s - 1) / (scale - 1) * c for s, c in tally.items()) / n
        return cls(n, {str(s): tally[s] for s in keys}, index, pct(top), pct(bottom), None)

    def matches(self, summary: dict[str, Any]) -> bool:
        """Whether an API summary (or trend point) says these figures (to 1e-9)."""

        def close(a: float | None, b: float | None) -> bool:
            return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)

        return (
            summary["responses"] == self.responses
            and summary["counts"] == self.counts
            and close(summary["happy_index"]["value"], self.happy_index)
            and close(summary["csat"]["value"], self.csat)
            and close(summary["negative"]["value"], self.negative)
            and close(summary["nps"]["value"], self.nps)
        )
