"""Property: however batches are retried, reordered and overlapped, rollups equal the raw taps.

Random taps (all scales, two questions, repeat flags) on dates around both 2026 DST changes in
Europe/Oslo and in Asia/Kathmandu (+05:45), cut into overlapping batches, each delivered 1-3
times in shuffled order. At the end every rollup count must equal the number of stored,
non-repeat taps with that key, both as computed from the taps table and from the zone rules.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.protocol import SCALES, score_range
from tests.support.rollups import score_rollups_of, score_sums_of, stored_score_rollups, stored_score_sums

ZONES = ("Europe/Oslo", "Asia/Kathmandu")
DAYS = [date(2026, 3, d) for d in (28, 29, 30)] + [date(2026, 10, d) for d in (24, 25, 26)]
FLAG_SETS = ([], ["repeat"], ["followup_timeout"], ["repeat", "followup_timeout"])


@st.composite
def tap_specs(draw: Any) -> dict[str, Any]:
    scale = draw(st.sampled_from(SCALES))
    day = draw(st.sampled_from(DAYS))
    minute = draw(st.integers(0, 24 * 60 - 1))
    return {
        "kiosk": draw(st.integers(0, len(ZONES) - 1)),
        "question_id": draw(st.sampled_from(["main", "toilets"])),
        "scale": scale,
        "score": draw(st.sampled_from(list(score_range(scale)))),
        "tapped_at": datetime.combine(day, time(), UTC) + timedelta(minutes=minute),
        "flags": draw(st.sampled_from(FLAG_SETS)),
    }


@st.composite
def deliveries(draw: Any) -> tuple[list[dict[str, Any]], list[tuple[int, list[int]]]]:
    """(tap specs, deliveries as (kiosk, tap indexes)), with overlaps, retries and shuffling."""
    specs = draw(st.lists(tap_specs(), min_size=1, max_size=40))
    ids = draw(st.lists(st.uuids(version=4), min_size=len(specs), max_size=len(specs), unique=True))
    for seq, (spec, tap_id) in enumerate(zip(specs, ids, strict=True), start=1):
        spec.update(id=str(tap_id), seq=seq)
    batches = draw(st.lists(st.lists(st.integers(0, len(specs) - 1), unique=True, max_size=15), min_size=1, max_size=6))
    sent = []
    for batch in batches:
        for kiosk in range(len(ZONES)):
            taps = [i for i in batch if specs[i]["kiosk"] == kiosk]
            sent += [(kiosk, draw(st.permutations(taps))) for _ in range(draw(st.integers(1, 3)))]
    return specs, draw(st.permutations(sent))


def _wire(spec: dict[str, Any], tap: Any) -> dict[str, Any]:
    return tap(
        id=spec["id"], seq=spec["seq"], mono_ns=spec["seq"] * 1_000_000, question_id=spec["question_id"],
        scale=spec["scale"], score=spec["score"], tapped_at=spec["tapped_at"].isoformat(), flags=spec["flags"],
    )  # fmt: skip


@pytest.fixture
def sites(make_location, enroll) -> list[tuple[int, str]]:
    """(location id, kiosk token) per zone in ZONES."""
    locations = [make_location(name=zone, timezone=zone) for zone in ZONES]
    return [(location, enroll(location).token) for location in locations]


# Function-scoped fixtures are shared by the examples on purpose: each example empties the
# taps and rollups first, which works the same on SQLite and PostgreSQL.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=deliveries())
def test_rollups_equal_raw_taps_however_batches_are_retried_and_reordered(
    clear_taps, sites, send, tap, stored_taps, stored_rollups, stored_daily_rollups, engine, plan
):
    clear_taps()
    specs, sent = plan

    accepted = 0
    for kiosk, indexes in sent:
        response = send([_wire(specs[i], tap) for i in indexes], token=sites[kiosk][1])
        assert response.status_code == 200
        body = response.json()
        assert body["conflicts"] == []
        assert body["accepted"] + body["duplicates"] == len(indexes)
        accepted += body["accepted"]

    delivered = {specs[i]["id"] for _, indexes in sent for i in indexes}
    rows = stored_taps()
    assert set(rows) == delivered
    assert accepted == len(delivered)

    def key(location: int, spec_or_row: Any, local: tuple[date, int]) -> tuple[Any, ...]:
        return (location, spec_or_row["question_id"], *local, spec_or_row["scale"], spec_or_row["score"])

    from_rows = Counter(
        key(row.location_id, row, (row.local_date, row.local_hour))
        for row in rows.values()
        if "repeat" not in row.flags.split(",")
    )
    from_zone_rules = Counter()
    for spec in specs:
        if spec["id"] in delivered and "repeat" not in spec["flags"]:
            location = sites[spec["kiosk"]][0]
            local = spec["tapped_at"].astimezone(ZoneInfo(ZONES[spec["kiosk"]]))
            from_zone_rules[key(location, spec, (local.date(), local.hour))] += 1
    assert stored_rollups() == dict(from_rows) == dict(from_zone_rules)
    daily_from_rows = Counter(
        (r.location_id, r.question_id, r.local_date, r.kiosk_id, r.scale, r.score, r.followup or "")
        for r in rows.values()
        if "repeat" not in r.flags.split(",")
    )
    assert stored_daily_rollups() == dict(daily_from_rows)
    counted = [row for row in rows.values() if "repeat" not in row["flags"].split(",")]
    assert stored_score_rollups(engine) == dict(score_rollups_of(counted))
    assert stored_score_sums(engine) == score_sums_of(counted)
