"""Attack: a Hypothesis state machine over the real kiosk store, the real sync and the real server app.

Rules: customers tap, the kiosk syncs, the kiosk crashes (its Store is dropped and reopened from the file),
the server answers 500, the answer is lost after the server committed, a batch is delivered again, the
kiosk's wall clock jumps. Invariants: the server holds only taps the kiosk recorded, never one twice, and
its rollups equal its raw taps; after a final drain both sides hold exactly the same taps.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

import kiosk.store as store_module
from kiosk.store import Store
from kiosk.sync import Syncer, SyncError
from server.app import create_app
from server.auth import kiosk_tokens
from server.db import rollups, taps
from server.locations import add_location
from server.settings import Settings
from shared.protocol import TapBatch


class _Faults(httpx.BaseTransport):
    """Wraps the app's transport; `mode` says what the next request suffers."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.mode = "ok"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        mode, self.mode = self.mode, "ok"
        if mode == "500":
            return httpx.Response(500, json={"message": "injected"})
        response = self.inner.handle_request(request)
        if mode == "lost":  # the server committed; the kiosk never hears of it
            response.read()
            raise httpx.ReadError("connection lost after the server answered")
        return response


class _ShiftedClock(datetime):
    """datetime whose now() runs `offset` away from the real clock (a kiosk with a wrong clock)."""

    offset = timedelta(0)

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + cls.offset


def set_store_clock(clock: type[datetime]) -> None:
    """Make ``clock`` what kiosk.store calls ``datetime`` (the name it imported, looked up in its module globals)."""
    vars(store_module)["datetime"] = clock


class KioskAndServer(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name)
        app = create_app(Settings(data_dir=root / "server"))
        self.engine = app.state.engine
        with self.engine.begin() as conn:
            location = add_location(conn, name="Gate", timezone="Asia/Kathmandu")
            self.token = kiosk_tokens.enroll_kiosk(conn, location_id=location).token
        self.http = TestClient(app)
        self.faults = _Faults(self.http._transport)
        self.kiosk_dir = root / "kiosk"
        self.store = Store.open(self.kiosk_dir)
        self.client = httpx.Client(
            base_url="http://testserver", transport=self.faults, headers={"Authorization": f"Bearer {self.token}"}
        )
        self.sent_batches: list[str] = []
        _ShiftedClock.offset = timedelta(0)

    def teardown(self) -> None:
        """Final drain with a healthy network: both sides must then hold exactly the same taps."""
        try:
            self.faults.mode = "ok"
            self._syncer().drain(max_attempts=3)
            assert self.store.counts().pending == 0
            assert self._server_ids() == self._kiosk_ids()
        finally:
            self._close()

    def _close(self) -> None:
        set_store_clock(datetime)
        self.store.close()
        self.client.close()
        self.http.close()
        self.engine.dispose()
        self.tmp.cleanup()

    def _syncer(self) -> Syncer:
        def remember(request: httpx.Request) -> None:
            if request.url.path == "/api/v1/taps":
                self.sent_batches.append(request.content.decode())

        self.client.event_hooks["request"] = [remember]
        return Syncer(self.store, self.client, batch_size=7, sleep=lambda _s: None, rand=lambda: 0.0)

    @rule(score=st.integers(1, 5), count=st.integers(1, 12))
    def tap(self, score: int, count: int) -> None:
        for _ in range(count):
            self.store.record_tap(score, 5)

    @rule()
    def sync(self) -> None:
        with contextlib.suppress(SyncError):
            self._syncer().send_pending()

    @rule(mode=st.sampled_from(["500", "lost"]))
    def fault_on_next_sync(self, mode: str) -> None:
        self.faults.mode = mode
        self.sync()

    @rule()
    def crash(self) -> None:
        """The kiosk process dies: its connection goes away without ceremony; a new one opens the file."""
        self.store.db.conn.close()
        self.store = Store.open(self.kiosk_dir)

    @precondition(lambda self: bool(self.sent_batches))
    @rule(data=st.data())
    def duplicate_delivery(self, data: st.DataObject) -> None:
        body = data.draw(st.sampled_from(self.sent_batches))
        batch = TapBatch.model_validate_json(body)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        response = self.http.post("/api/v1/taps", content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] + response.json()["duplicates"] == len(batch.taps)
        assert response.json()["conflicts"] == []

    @rule(days=st.sampled_from([-20000, -400, -1, 1, 365]))
    def clock_jump(self, days: int) -> None:
        _ShiftedClock.offset = timedelta(days=days)
        set_store_clock(_ShiftedClock)

    def _server_ids(self) -> set[UUID]:
        with self.engine.connect() as conn:
            return set(conn.scalars(select(taps.c.id)))

    def _kiosk_ids(self) -> set[UUID]:
        return {tap.id for tap in self.store.iter_all()}

    @invariant()
    def server_holds_only_kiosk_taps_once_and_rollups_add_up(self) -> None:
        with self.engine.connect() as conn:
            raw = conn.scalar(select(func.count()).select_from(taps))
            rolled = conn.scalar(select(func.coalesce(func.sum(rollups.c.count), 0)))
        server = self._server_ids()
        assert raw == len(server)
        assert raw == rolled
        assert server <= self._kiosk_ids()


TestKioskAndServer = pytest.mark.e2e(KioskAndServer.TestCase)
TestKioskAndServer.settings = settings(
    max_examples=30, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
)


def test_shifted_clock_really_moves_tap_times(tmp_path: Path) -> None:
    """Guards the clock_jump rule: a kiosk with a shifted clock records shifted times."""
    _ShiftedClock.offset = timedelta(days=-400)
    set_store_clock(_ShiftedClock)
    try:
        with Store.open(tmp_path) as store:
            tap = store.record_tap(3, 5)
    finally:
        set_store_clock(datetime)
    assert abs((datetime.now(UTC) - tap.tapped_at) - timedelta(days=400)) < timedelta(seconds=5)
