"""A batch commits whole or not at all: a failure mid-ingest leaves no tap and no count behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

import server.ingest


class Boom(RuntimeError):
    pass


def _fail_after(original: Any) -> Any:
    """Wrap an ingest step so that it does its work, then fails (the worst moment)."""

    def wrapper(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        raise Boom("simulated failure mid-batch")

    return wrapper


@pytest.fixture
def failing_client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("step", ["_insert_new", "_classify_existing", "_add_to_rollups", "_touch_kiosk"])
def test_failure_mid_batch_answers_500_and_stores_nothing_of_the_batch(
    monkeypatch, failing_client, kiosk, tap, make_batch, stored_taps, stored_rollups, kiosk_row, location, step
):
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    earlier = tap(score=5)
    assert failing_client.post("/api/v1/taps", json=make_batch([earlier]), headers=headers).status_code == 200
    seen_before = kiosk_row(kiosk.kiosk_id).last_seen_at
    monkeypatch.setattr(server.ingest, step, _fail_after(getattr(server.ingest, step)))

    response = failing_client.post(
        "/api/v1/taps",
        json=make_batch([tap(score=1), earlier, tap(score=1)], heartbeat={"queue_depth": 9, "app_version": "2"}),
        headers=headers,
    )

    assert response.status_code == 500
    assert set(stored_taps()) == {earlier["id"]}
    assert stored_rollups() == {(location, "main", date(2026, 11, 22), 10, 5, 5): 1}
    row = kiosk_row(kiosk.kiosk_id)
    assert (row.last_seen_at, row.queue_depth, row.app_version) == (seen_before, None, None)


def test_batch_that_failed_is_accepted_in_full_when_retried(
    monkeypatch, failing_client, kiosk, tap, make_batch, stored_taps
):
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    sent = [tap() for _ in range(4)]
    monkeypatch.setattr(server.ingest, "_add_to_rollups", _fail_after(server.ingest._add_to_rollups))
    assert failing_client.post("/api/v1/taps", json=make_batch(sent), headers=headers).status_code == 500
    monkeypatch.undo()

    body = failing_client.post("/api/v1/taps", json=make_batch(sent), headers=headers).json()

    assert (body["accepted"], body["duplicates"]) == (4, 0)
    assert len(stored_taps()) == 4
