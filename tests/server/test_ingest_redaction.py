"""Comments are redacted at ingest (server.privacy.redact through server.ingest.tap_row): the stored comment holds
placeholders and the tap the server flag ``redacted``; a retry of the same tap is still a duplicate, for kiosks
and for web touchpoints alike."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.db import taps
from server.touchpoints import add_touchpoint
from tests.support.channels import PAGE, page_batch, page_tap

NOW = datetime.now(UTC).replace(microsecond=0)

PERSONAL = "Call me on +47 412 34 567 or mail kari@example.no"
REDACTED = "Call me on [phone] or mail [email]"
PLAIN = "Flight SK4035 from gate B12 at 12:45, 249 kr for 3 people"


@pytest.fixture
def touchpoint(engine, location) -> Any:
    with engine.begin() as conn:
        return add_touchpoint(conn, location_id=location, name="Receipt QR")


def post(client: Any, slug: str, device: str, taps_: list[dict[str, Any]]) -> Any:
    return client.post(f"/api/v1/touchpoints/{slug}/taps", json=page_batch(device, taps_), headers=PAGE)


def stored(engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {str(r.id): r for r in conn.execute(select(taps))}


def test_the_stored_comment_is_redacted_and_the_tap_flagged(send, tap, stored_taps):
    sent = tap(comment=PERSONAL, followup="queue", score=1)

    answer = send([sent])

    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    row = stored_taps()[sent["id"]]
    assert row["comment"] == REDACTED
    assert row["flags"].split(",") == ["redacted"]


def test_a_comment_without_personal_data_is_stored_byte_identical_and_unflagged(send, tap, stored_taps):
    sent = [tap(comment=PLAIN), tap(comment="Ærlig talt: 10/10 🙂"), tap(comment=None)]

    assert send(sent).json()["accepted"] == 3

    rows = stored_taps()
    assert [rows[t["id"]]["comment"] for t in sent] == [PLAIN, "Ærlig talt: 10/10 🙂", None]
    assert [rows[t["id"]]["flags"] for t in sent] == ["", "", ""]


def test_a_retry_of_a_redacted_tap_is_a_duplicate_not_a_conflict(send, tap, stored_taps):
    sent = tap(comment=PERSONAL, flags=["followup_timeout"])
    assert send([sent]).json()["accepted"] == 1

    retry = send([sent]).json()
    within = send([sent, sent]).json()  # a copy inside one batch, too

    assert (retry["accepted"], retry["duplicates"], retry["conflicts"]) == (0, 1, [])
    assert (within["accepted"], within["duplicates"], within["conflicts"]) == (0, 2, [])
    assert set(stored_taps()[sent["id"]]["flags"].split(",")) == {"followup_timeout", "redacted"}


def test_a_retry_with_another_comment_is_still_a_conflict(send, tap, stored_taps):
    sent = tap(comment=PERSONAL)
    send([sent])

    answer = send([{**sent, "comment": "Call me on [phone] or mail [email] later"}]).json()

    assert answer["conflicts"] == [sent["id"]]
    assert stored_taps()[sent["id"]]["comment"] == REDACTED


def test_web_taps_are_redacted_and_a_retry_is_a_duplicate(client, engine, touchpoint):
    redacted = page_tap("phone-a", 1, NOW - timedelta(minutes=2), comment=PERSONAL)
    plain = page_tap("phone-a", 2, NOW - timedelta(minutes=1), comment=PLAIN, first_tap_id=redacted["id"])
    first = post(client, touchpoint.slug, "phone-a", [redacted, plain]).json()
    retry = post(client, touchpoint.slug, "phone-a", [redacted, plain]).json()

    assert first["accepted"] == 2
    assert (retry["accepted"], retry["duplicates"], retry["conflicts"]) == (0, 2, [])
    rows = stored(engine)
    assert (rows[redacted["id"]].comment, rows[redacted["id"]].flags) == (REDACTED, "redacted")
    assert (rows[plain["id"]].comment, rows[plain["id"]].flags) == (PLAIN, "")


def test_a_repeat_web_tap_carries_both_server_flags_and_its_retry_is_a_duplicate(client, engine, touchpoint):
    first = page_tap("phone-b", 1, NOW - timedelta(minutes=3))
    again = page_tap("phone-b", 2, NOW - timedelta(minutes=2), comment="me again: 41234567")
    assert post(client, touchpoint.slug, "phone-b", [first, again]).json()["accepted"] == 2
    retry = post(client, touchpoint.slug, "phone-b", [first, again]).json()

    assert (retry["duplicates"], retry["conflicts"]) == (2, [])
    row = stored(engine)[again["id"]]
    assert row.comment == "me again: [phone]"
    assert set(row.flags.split(",")) == {"repeat", "redacted"}


@pytest.mark.parametrize("personal", [False, True], ids=["plain", "personal"])
def test_a_batch_of_1000_commented_taps_still_ingests(send, tap, stored_taps, personal, capsys):
    comments = [
        f"Tap {i}: mail ola{i}@example.no or ring 412 34 {i:03d}" if personal else f"Tap {i}: {PLAIN}"
        for i in range(1000)
    ]
    sent = [tap(comment=comment, score=1 + i % 5) for i, comment in enumerate(comments)]

    started = time.perf_counter()
    answer = send(sent)
    elapsed = time.perf_counter() - started

    assert answer.status_code == 200 and answer.json()["accepted"] == 1000
    rows = stored_taps()
    assert all(("[email]" in row["comment"]) is personal for row in rows.values())
    with capsys.disabled():
        print(f"\n1000-tap batch ({'personal' if personal else 'plain'} comments): {elapsed * 1000:.0f} ms")
