"""Draining in batches with the next batch read while the server answers the last one (issue #15): the bodies are
what the tap models serialize to, every batch's heartbeat counts the queue as it is when that batch goes out, and
taps released meanwhile still go out in the same call."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kiosk.store import Store
from kiosk.sync import Syncer, Unreachable, make_client, wire_json
from shared.protocol import Heartbeat, TapBatch

SERVER_TIME = "2026-11-22T10:00:05Z"


def _answer(request: httpx.Request) -> httpx.Response:
    batch = TapBatch.model_validate_json(request.content)
    result = {"accepted": len(batch.taps), "duplicates": 0, "conflicts": [], "server_time": SERVER_TIME}
    return httpx.Response(200, json=result)


def _syncer(store: Store, handler: httpx.MockTransport, batch_size: int) -> Syncer:
    return Syncer(store, make_client("http://kiosk.test", "token", transport=handler), batch_size=batch_size)


def test_pending_batch_json_is_what_the_tap_models_serialize_to(store: Store) -> None:
    first = store.record_tap(4, 5, followup="queue", comment='"quoted" \\ back, æøå \u2028 and a\nnewline')
    store.record_tap(9, 11, "recommend", first_tap_id=first.id, flags=["repeat"])
    held = store.record_tap(1, 5, hold=True)
    store.complete_tap(held.id, timed_out=True)
    store.record_tap(3, 3)
    pending = store.pending()
    batch = TapBatch(sent_at=datetime.now(UTC), boot_id="b", mono_ns=1, taps=pending)
    expected = wire_json(batch).split('"taps":', 1)[1].rsplit(',"heartbeat":', 1)[0]

    fast = store.pending_batch()

    assert fast.taps_json == expected  # byte for byte what the models send, first_tap_id only when set
    assert json.loads(fast.taps_json)[1]["first_tap_id"] == str(first.id)
    assert (fast.seqs, fast.ids) == ([t.seq for t in pending], [str(t.id) for t in pending])
    assert store.pending_batch(2, after_seq=fast.seqs[1]).seqs == fast.seqs[2:4]


def test_each_batch_of_a_drain_carries_the_queue_depth_at_its_sending(store: Store) -> None:
    for score in (1, 2, 3, 4, 5):
        store.record_tap(score, 5)
    heartbeats: list[Heartbeat | None] = []

    def server(request: httpx.Request) -> httpx.Response:
        heartbeats.append(TapBatch.model_validate_json(request.content).heartbeat)
        return _answer(request)

    report = _syncer(store, httpx.MockTransport(server), batch_size=2).send_pending()

    assert (report.batches, report.accepted) == (3, 5)
    assert [h.queue_depth for h in heartbeats if h] == [5, 3, 1]  # each batch's own taps still counted, as before
    assert store.counts().pending == 0


def test_tap_released_during_a_drain_goes_out_in_the_same_call(store: Store) -> None:
    store.record_tap(1, 5)
    held = store.record_tap(2, 5, hold=True)
    store.record_tap(3, 5)
    store.record_tap(4, 5)
    sent: list[list[int]] = []

    def server(request: httpx.Request) -> httpx.Response:
        if not sent:  # the customer answers the follow-up while the first batch is on its way
            with Store(store.path, check=False) as ui:
                ui.complete_tap(held.id, followup="staff")
        sent.append([tap.score for tap in TapBatch.model_validate_json(request.content).taps])
        return _answer(request)

    report = _syncer(store, httpx.MockTransport(server), batch_size=2).send_pending()

    assert sorted(score for batch in sent for score in batch) == [1, 2, 3, 4]
    assert sent[0] == [1, 3] and report.sent == 4
    assert store.counts().pending == 0


def test_failed_batch_stops_the_drain_and_leaves_later_batches_pending(store: Store) -> None:
    for score in (1, 2, 3, 4, 5):
        store.record_tap(score, 5)
    answers = iter([_answer, lambda request: httpx.Response(503)])

    def server(request: httpx.Request) -> httpx.Response:
        return next(answers)(request)

    with pytest.raises(Unreachable) as failed:
        _syncer(store, httpx.MockTransport(server), batch_size=2).send_pending()

    assert failed.value.report.accepted == 2  # what was delivered before
    assert store.counts().pending == 3  # the refused batch and the one read ahead of it stay queued


def test_stored_utc_times_go_out_with_a_z_like_the_models_write_them(store: Store) -> None:
    store.record_tap(4, 5)
    tapped = json.loads(store.pending_batch().taps_json)[0]["tapped_at"]
    assert tapped.endswith("Z") and abs(datetime.fromisoformat(tapped) - datetime.now(UTC)) < timedelta(minutes=1)
