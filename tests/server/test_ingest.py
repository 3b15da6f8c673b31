"""POST /api/v1/taps: idempotent storage, conflicts, validation, limits, repeats and heartbeats."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.protocol import MAX_BODY_BYTES, MAX_TAPS_PER_BATCH


def test_new_taps_are_accepted_stored_and_counted(send, tap, stored_taps, stored_rollups, location, kiosk):
    sent = [tap(score=5), tap(score=5), tap(score=2, tapped_at="2026-11-22T14:10:00Z")]

    response = send(sent)

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (3, 0, [])
    rows = stored_taps()
    assert set(rows) == {t["id"] for t in sent}
    assert {row.kiosk_id for row in rows.values()} == {kiosk.kiosk_id}
    # 09:58Z is 10:58 in Oslo (CET), 14:10Z is 15:10.
    day = date(2026, 11, 22)
    assert stored_rollups() == {
        (location, "main", day, 10, 5, 5): 2,
        (location, "main", day, 15, 5, 2): 1,
    }


def test_retried_batch_counts_as_duplicates_not_accepted(send, tap, stored_taps, stored_rollups):
    sent = [tap(score=s) for s in (1, 2, 3, 4, 5)]
    assert send(sent).json()["accepted"] == 5
    rollups_before = stored_rollups()

    again = send(sent)

    assert again.status_code == 200
    body = again.json()
    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (0, 5, [])
    assert len(stored_taps()) == 5
    assert stored_rollups() == rollups_before


@pytest.mark.parametrize(
    "change",
    [
        {"score": 1},
        {"seq": 999},
        {"tapped_at": "2026-11-22T09:59:00Z"},
        {"followup": "queue"},
        {"comment": "slow"},
        {"flags": ["repeat"]},
        {"question_id": "other"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_same_id_with_different_content_is_a_conflict_and_stored_row_wins(
    send, tap, stored_taps, stored_rollups, change
):
    original = tap(score=4)
    send([original])
    rollups_before = stored_rollups()

    response = send([{**original, **change}])

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (0, 0, [original["id"]])
    row = stored_taps()[original["id"]]
    assert (row.score, row.seq, row.question_id, row.followup, row.comment, row.flags) == (
        4, original["seq"], "main", None, None, "",
    )  # fmt: skip
    assert row.tapped_at == datetime(2026, 11, 22, 9, 58, tzinfo=UTC)
    assert stored_rollups() == rollups_before


def test_same_tap_id_from_another_kiosk_is_a_conflict(send, tap, enroll, location, kiosk, stored_taps):
    other = enroll(location)
    shared_tap = tap()
    send([shared_tap])

    body = send([shared_tap], token=other.token).json()

    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (0, 0, [shared_tap["id"]])
    assert stored_taps()[shared_tap["id"]].kiosk_id == kiosk.kiosk_id


def test_mixed_batch_reports_new_duplicate_and_conflicting_taps_separately(send, tap, stored_rollups, location):
    old, changed = tap(score=5), tap(score=5)
    send([old, changed])
    new_a, new_b = tap(score=1), tap(score=1)

    body = send([new_a, old, {**changed, "score": 1}, new_b]).json()

    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (2, 1, [changed["id"]])
    day = date(2026, 11, 22)
    assert stored_rollups() == {(location, "main", day, 10, 5, 5): 2, (location, "main", day, 10, 5, 1): 2}


def test_conflicts_are_listed_sorted(send, tap):
    sent = [tap() for _ in range(5)]
    send(sent)

    body = send([{**t, "score": 1} for t in reversed(sent)]).json()

    assert body["conflicts"] == sorted(t["id"] for t in sent)


# --- validation: a batch with one bad tap is rejected whole -------------------------------------


def _without(key: str) -> Any:
    return lambda t: {k: v for k, v in t.items() if k != key}


@pytest.mark.parametrize(
    ("spoil", "path"),
    [
        (lambda t: {**t, "score": 9}, "taps.3.score"),
        (lambda t: {**t, "scale": 3, "score": 4}, "taps.3.score"),
        (lambda t: {**t, "scale": 11, "score": 11}, "taps.3.score"),
        (lambda t: {**t, "scale": 7}, "taps.3.scale"),
        (_without("seq"), "taps.3.seq"),
        (_without("tapped_at"), "taps.3.tapped_at"),
        (lambda t: {**t, "id": "not-a-uuid"}, "taps.3.id"),
        (lambda t: {**t, "tapped_at": "2026-11-22T09:58:00"}, "taps.3.tapped_at"),
        (lambda t: {**t, "flags": ["angry"]}, "taps.3.flags.0"),
        (lambda t: {**t, "flags": ["clock_corrected"]}, "taps.3.flags.0"),
        (lambda t: {**t, "colour": "red"}, "taps.3.colour"),
        (lambda t: {**t, "seq": 0}, "taps.3.seq"),
        (lambda t: {**t, "mono_ns": -1}, "taps.3.mono_ns"),
        (lambda t: {**t, "comment": "x" * 501}, "taps.3.comment"),
        (lambda t: {**t, "boot_id": "has space"}, "taps.3.boot_id"),
    ],
    ids=[
        "score-9-on-5", "score-4-on-3", "score-11-on-nps", "scale-7", "missing-seq", "missing-tapped_at",
        "bad-uuid", "naive-timestamp", "unknown-flag", "server-flag", "extra-field", "seq-0",
        "negative-mono", "long-comment", "bad-boot-id",
    ],
)  # fmt: skip
def test_batch_with_one_invalid_tap_is_rejected_whole_naming_the_field(send, tap, stored_taps, spoil, path):
    sent = [tap() for _ in range(5)]
    sent[3] = spoil(sent[3])

    response = send(sent)

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{path}: ")
    assert stored_taps() == {}


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"sent_at": "yesterday"}, "sent_at"),
        ({"sent_at": "2026-11-22T10:00:00"}, "sent_at"),
        ({"location_id": 2}, "location_id"),
        ({"heartbeat": {"queue_depth": -1, "app_version": "1"}}, "heartbeat.queue_depth"),
    ],
    ids=["bad-sent_at", "naive-sent_at", "location_id", "negative-queue-depth"],
)
def test_invalid_batch_fields_are_rejected_naming_the_field(send, tap, stored_taps, overrides, path):
    response = send([tap()], **overrides)

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{path}: ")
    assert stored_taps() == {}


def test_body_that_is_not_json_is_rejected_with_422(client, kiosk):
    response = client.post(
        "/api/v1/taps",
        content=b"{not json",
        headers={"Authorization": f"Bearer {kiosk.token}", "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["message"]


@pytest.mark.parametrize("content_type", [None, "text/plain"], ids=["none", "text-plain"])
def test_body_without_a_json_content_type_is_rejected_with_422(
    client, kiosk, tap, make_batch, stored_taps, content_type
):
    headers = {"Authorization": f"Bearer {kiosk.token}", **({"Content-Type": content_type} if content_type else {})}

    response = client.post("/api/v1/taps", content=json.dumps(make_batch([tap()])).encode(), headers=headers)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
    assert stored_taps() == {}


def test_body_with_a_json_suffix_content_type_is_accepted(client, kiosk, tap, make_batch):
    headers = {"Authorization": f"Bearer {kiosk.token}", "Content-Type": "application/vnd.smilepost+json"}

    response = client.post("/api/v1/taps", content=json.dumps(make_batch([tap()])).encode(), headers=headers)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_openapi_request_body_of_taps_is_the_tap_batch(client):
    """The route parses its body itself (server.api.routes.taps); the documented body must not change."""
    post = client.get("/openapi.json").json()["paths"]["/api/v1/taps"]["post"]

    assert post["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TapBatch"}}},
        "required": True,
    }


# --- limits -------------------------------------------------------------------------------------


def test_batch_of_exactly_the_maximum_number_of_taps_is_accepted(send, tap):
    response = send([tap() for _ in range(MAX_TAPS_PER_BATCH)])

    assert response.status_code == 200
    assert response.json()["accepted"] == MAX_TAPS_PER_BATCH


def test_batch_over_the_maximum_number_of_taps_is_413_and_nothing_stored(send, tap, stored_taps):
    response = send([tap() for _ in range(MAX_TAPS_PER_BATCH + 1)])

    assert response.status_code == 413
    assert "1000" in response.json()["message"]
    assert stored_taps() == {}


def _padded_body(batch: dict[str, Any], size: int) -> bytes:
    """A valid JSON batch padded with trailing whitespace to exactly ``size`` bytes."""
    raw = json.dumps(batch).encode()
    assert len(raw) < size
    return raw + b" " * (size - len(raw))


def _chunks(body: bytes, size: int = 64 * 1024) -> Any:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("size", "status"), [(MAX_BODY_BYTES, 200), (MAX_BODY_BYTES + 1, 413)], ids=["at-limit", "over-limit"]
)
def test_body_size_limit_applies_with_and_without_content_length(
    client, kiosk, tap, make_batch, stored_taps, size, status, chunked
):
    body = _padded_body(make_batch([tap()]), size)
    headers = {"Authorization": f"Bearer {kiosk.token}", "Content-Type": "application/json"}

    response = client.post("/api/v1/taps", content=_chunks(body) if chunked else body, headers=headers)

    assert response.status_code == status
    assert len(stored_taps()) == (1 if status == 200 else 0)
    if status == 413:
        assert response.json()["message"] == (
            f"request body is larger than {MAX_BODY_BYTES} bytes; send fewer taps per batch"
        )


def test_chunked_request_really_has_no_content_length(client, kiosk, tap, make_batch):
    """Guards the chunked case above: httpx must send a generator body without Content-Length."""
    seen: dict[str, Any] = {}

    def hook(request: Any) -> None:
        seen.update(request.headers)

    client.event_hooks["request"].append(hook)
    client.post("/api/v1/taps", content=_chunks(b"{}"), headers={"Authorization": f"Bearer {kiosk.token}"})

    assert "content-length" not in seen
    assert seen["transfer-encoding"] == "chunked"


# --- repeats, empty batches, heartbeats ---------------------------------------------------------


def test_repeat_presses_are_stored_but_not_counted_in_rollups(send, tap, stored_taps, stored_rollups, location):
    counted, repeat = tap(score=5), tap(score=5, flags=["repeat"])
    timeout = tap(score=5, flags=["followup_timeout"])

    body = send([counted, repeat, timeout]).json()

    assert body["accepted"] == 3
    rows = stored_taps()
    assert rows[repeat["id"]].flags == "repeat"
    assert rows[timeout["id"]].flags == "followup_timeout"
    assert stored_rollups() == {(location, "main", date(2026, 11, 22), 10, 5, 5): 2}


def test_empty_batch_is_accepted_and_stores_nothing(send, stored_taps, stored_rollups):
    response = send([])

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (0, 0, [])
    assert stored_taps() == {}
    assert stored_rollups() == {}


def test_server_time_is_the_servers_clock(send, tap):
    before = datetime.now(UTC)
    body = send([tap()], sent_at="1999-01-01T00:00:00Z").json()
    after = datetime.now(UTC)

    assert before <= datetime.fromisoformat(body["server_time"]) <= after


def test_heartbeat_updates_queue_depth_app_version_and_last_seen(send, kiosk, kiosk_row):
    assert kiosk_row(kiosk.kiosk_id).last_seen_at is None
    before = datetime.now(UTC)

    response = send([], heartbeat={"queue_depth": 17, "app_version": "1.4.2"})

    after = datetime.now(UTC)
    assert response.status_code == 200
    row = kiosk_row(kiosk.kiosk_id)
    assert (row.queue_depth, row.app_version) == (17, "1.4.2")
    assert before <= row.last_seen_at <= after


def test_batch_with_taps_but_no_heartbeat_updates_last_seen_only(send, tap, kiosk, kiosk_row):
    send([], heartbeat={"queue_depth": 3, "app_version": "1.0.0"})
    first_seen = kiosk_row(kiosk.kiosk_id).last_seen_at

    send([tap()])

    row = kiosk_row(kiosk.kiosk_id)
    assert (row.queue_depth, row.app_version) == (3, "1.0.0")
    assert row.last_seen_at > first_seen


def test_later_batches_increment_existing_rollup_counts(send, tap, stored_rollups, location):
    send([tap(score=5), tap(score=5)])
    send([tap(score=5)])
    send([tap(score=5), tap(score=5), tap(score=5, flags=["repeat"])])

    assert stored_rollups() == {(location, "main", date(2026, 11, 22), 10, 5, 5): 5}


def test_concurrent_deliveries_of_one_batch_store_and_count_each_tap_once(
    send, tap, stored_taps, stored_rollups, location
):
    sent = [tap(score=1 + i % 5) for i in range(50)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [r.json() for r in pool.map(lambda _: send(sent), range(8))]

    assert sum(r["accepted"] for r in results) == 50
    assert sum(r["duplicates"] for r in results) == 7 * 50
    assert all(r["conflicts"] == [] for r in results)
    assert len(stored_taps()) == 50
    day = date(2026, 11, 22)
    assert stored_rollups() == {(location, "main", day, 10, 5, score): 10 for score in range(1, 6)}


@pytest.mark.parametrize("text", ["Kø ved kassa 😡", "a\x00b", "line\nbreak", "ﷺ" * 500])
def test_comment_text_is_stored_exactly_or_refused_with_422_never_500(send, tap, stored_taps, text):
    sent = tap(comment=text, followup="queue")

    response = send([sent])

    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert stored_taps()[sent["id"]].comment == text
    else:
        assert response.json()["message"].startswith("taps.0.comment: ")


# --- found by this suite and fixed ----------------------------------------------------------------


def test_id_repeated_within_a_batch_is_reported_and_first_copy_wins(send, tap, stored_taps):
    twice, changed = tap(score=4), tap(score=4)

    body = send([twice, twice, changed, {**changed, "score": 1}]).json()

    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (2, 1, [changed["id"]])
    assert stored_taps()[changed["id"]].score == 4


@pytest.mark.parametrize(
    ("spoil", "path"),
    [
        ({"taps": {"seq": 2**63}}, "taps.0.seq"),
        ({"taps": {"mono_ns": 2**63}}, "taps.0.mono_ns"),
        ({"heartbeat": {"queue_depth": 2**63, "app_version": "1.0"}}, "heartbeat.queue_depth"),
    ],
    ids=["seq", "mono_ns", "queue_depth"],
)
def test_integer_too_large_to_store_is_422_not_500(app, kiosk, tap, make_batch, stored_taps, spoil, path):
    body = make_batch([tap(**spoil.get("taps", {}))])
    if "heartbeat" in spoil:
        body["heartbeat"] = spoil["heartbeat"]
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/taps", json=body, headers={"Authorization": f"Bearer {kiosk.token}"})

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{path}: ")
    assert stored_taps() == {}
