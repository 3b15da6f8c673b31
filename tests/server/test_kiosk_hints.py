"""What the server tells kiosks besides the answer (hint headers a v1 kiosk ignores), and heartbeats written by
group commit (server.api.routes.kiosk)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.api.routes.kiosk import HeartbeatWriter
from server.db import kiosks
from server.ingest import writer_turn
from server.settings import Settings
from shared.protocol import HEARTBEAT_HINT_HEADER, SYNC_AFTER_HEADER, BatchResult
from tests.support.receivers import wait_until


def _ping() -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {"sent_at": now, "boot_id": "b", "mono_ns": 1, "heartbeat": {"queue_depth": 0, "app_version": "1.0"}}


def _answers(client, kiosk, send, tap):
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    return {
        "taps": send([tap()]),
        "heartbeat": client.post("/api/v1/kiosk/heartbeat", json=_ping(), headers=headers),
        "config": client.get("/api/v1/kiosk/config", headers=headers),
    }


def test_every_answer_to_a_kiosk_says_how_often_to_send_heartbeats(client, kiosk, send, tap):
    answers = _answers(client, kiosk, send, tap)
    assert {name: (r.status_code, r.headers.get(HEARTBEAT_HINT_HEADER)) for name, r in answers.items()} == {
        "taps": (200, "300"), "heartbeat": (204, "300"), "config": (200, "300"),
    }  # fmt: skip
    assert not any(SYNC_AFTER_HEADER in r.headers for r in answers.values())  # not busy
    # The body is what a v1 kiosk's model (extra="forbid") takes: the hints are headers only.
    assert BatchResult.model_validate_json(answers["taps"].content).accepted == 1


class TestBusy:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        """Busy from the first request in hand (the answered one counts), heartbeats every 10 minutes."""
        return settings.model_copy(
            update={"kiosk_busy_requests": 1, "kiosk_busy_sync_after_seconds": 45, "kiosk_heartbeat_seconds": 600}
        )

    def test_a_busy_server_asks_kiosks_to_come_back_later(self, client, kiosk, send, tap):
        answers = _answers(client, kiosk, send, tap)
        assert {name: (r.headers.get(SYNC_AFTER_HEADER), r.headers.get(HEARTBEAT_HINT_HEADER))
                for name, r in answers.items()} == dict.fromkeys(answers, ("45", "600"))  # fmt: skip


# --- group commit ----------------------------------------------------------------------------------------------


def _values(queue_depth: int, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {"queue_depth": queue_depth, "app_version": f"v{queue_depth}", "quarantined": 0,
                                 "reported_seq": queue_depth, "last_tap_at": None, "last_seen_at": datetime.now(UTC),
                                 "clock_offset_seconds": 0.5}  # fmt: skip
    return {**values, **overrides}


def test_heartbeats_arriving_during_a_write_go_together_and_one_bad_one_fails_alone(engine, enroll, location):
    if engine.dialect.name != "sqlite":
        pytest.skip("holds SQLite's in-process writer lock to make heartbeats queue up")
    ids = [enroll(location).kiosk_id for _ in range(5)]
    writer = HeartbeatWriter(engine)
    errors: dict[int, BaseException] = {}

    def beat(i: int, values: dict[str, object]) -> None:
        try:
            writer.write(ids[i], values)
        except Exception as error:
            errors[i] = error

    lock = writer_turn(engine)
    threads = [threading.Thread(target=beat, args=(0, _values(0)))]
    with lock:  # the first heartbeat's write waits here; the others queue up behind it
        threads[0].start()
        for i in range(1, 5):
            bad = {"last_seen_at": "not a time"} if i == 3 else {}
            threads.append(threading.Thread(target=beat, args=(i, _values(i, **bad))))
            threads[-1].start()
        wait_until(lambda: len(writer._queue) == 4, what="four heartbeats queued behind the first")
        group = {pending.params["b_kiosk_id"] for pending in writer._queue}
    for thread in threads:
        thread.join(10)
    assert group == set(ids[1:])  # written in one transaction once the first write ended
    assert list(errors) == [3]
    with engine.connect() as conn:
        rows = dict(conn.execute(select(kiosks.c.id, kiosks.c.app_version).where(kiosks.c.id.in_(ids))).all())
    assert rows == {ids[0]: "v0", ids[1]: "v1", ids[2]: "v2", ids[3]: None, ids[4]: "v4"}
    assert writer._queue == [] and writer._writing is False
