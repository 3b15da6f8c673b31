"""The insert hot path (:func:`server.ingest._insert_new`) hands the driver its own parameters, bypassing
SQLAlchemy's bind processing: what it stores must be exactly what SQLAlchemy would store for the same rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from server.auth.kiosk_tokens import Enrolment, KioskIdentity
from server.db import taps
from server.ingest import Source, _batch_rows, _insert_new
from shared.protocol import TapBatch
from tests.conftest import batch as make_batch

TAPPED = [
    "2026-03-29T01:59:59.999999+14:00",  # an offset, and local midnight crossing in Oslo
    "2026-03-29T02:00:00Z",  # no microseconds
    "2026-10-25T00:30:00.5-09:30",
    "0001-01-01T00:00:00Z",  # first representable instant
    "9999-12-31T23:59:59.999999Z",  # beyond the datetime range in Oslo: the server's clock is used
]


def _rows(kiosk: KioskIdentity, tap: Any, *, clock_off: bool) -> list[dict[str, Any]]:
    first = str(uuid.uuid4())
    taps_ = [tap(tapped_at=at) for at in TAPPED]
    taps_.append(tap(id=first, comment="ring me on +47 412 34 567", flags=["repeat"], followup="queue"))
    taps_.append(tap(first_tap_id=first, question_id="toilets", scale=11, score=0))
    sent_at = datetime.now(UTC) + (timedelta(hours=3) if clock_off else timedelta())
    body = TapBatch.model_validate(make_batch(taps_, sent_at=sent_at.isoformat()))
    rows, _ = _batch_rows(body, Source.of(kiosk), datetime.now(UTC), 120.0)
    return list(rows.values())


@pytest.mark.parametrize("clock_off", [False, True], ids=["clock-ok", "clock-corrected"])
def test_fast_insert_stores_exactly_what_sqlalchemy_stores(
    engine: Engine, location: int, kiosk: Enrolment, tap: Any, clock_off: bool
) -> None:
    identity = KioskIdentity(kiosk.kiosk_id, location, ZoneInfo("Europe/Oslo"))
    fast = _rows(identity, tap, clock_off=clock_off)
    corrected = sum("clock_corrected" in row["flags"] for row in fast)
    assert corrected == (len(fast) if clock_off else 1)  # the year-9999 tap always (beyond the range in Oslo)
    by_orm = [{**row, "id": uuid.uuid4(), "seq": row["seq"] + 100} for row in fast]
    with engine.begin() as conn:
        assert _insert_new(engine.dialect, fast)(conn) == {row["id"] for row in fast}
        conn.execute(taps.insert(), by_orm)
    columns = [name for name in fast[0] if name not in ("id", "seq")]
    with engine.connect() as conn:
        read = {row.id: row for row in conn.execute(select(taps))}
        for mine, theirs in zip(fast, by_orm, strict=True):
            assert [read[mine["id"]]._mapping[c] for c in columns] == [read[theirs["id"]]._mapping[c] for c in columns]
        if engine.dialect.name == "sqlite":  # the very text stored, not only what it reads back as
            names = ", ".join(columns)
            raw = {h: rest for h, *rest in conn.exec_driver_sql(f"SELECT id, {names} FROM taps")}
            for mine, theirs in zip(fast, by_orm, strict=True):
                assert raw[mine["id"].hex] == raw[theirs["id"].hex]
