"""kiosk.sync against httpx.MockTransport: what is marked synced when, retries, backoff, config cache."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from pydantic import ValidationError

from kiosk import __version__
from kiosk.store import Store, StoreCounts
from kiosk.sync import (
    Rejected,
    Syncer,
    SyncError,
    SyncReport,
    SyncStatus,
    SyncWorker,
    Unreachable,
    backoff_delay,
    make_client,
    pair,
    parse_retry_after,
)
from shared.protocol import HeartbeatPing, KioskConfig, TapBatch
from tests.support.kiosk_config import make_config

Handler = Callable[[httpx.Request], httpx.Response]
SERVER_TIME = "2026-11-22T10:00:05Z"
HEARTBEAT = "/api/v1/kiosk/heartbeat"


def ok(request: httpx.Request) -> httpx.Response:
    """A server that accepts every tap it is sent."""
    batch = TapBatch.model_validate_json(request.content)
    return httpx.Response(
        200, json={"accepted": len(batch.taps), "duplicates": 0, "conflicts": [], "server_time": SERVER_TIME}
    )


class FakeServer:
    """Records every request; answers with the handler (a list of handlers is used one per request)."""

    def __init__(self, *handlers: Handler) -> None:
        self.handlers = list(handlers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.handlers.pop(0) if len(self.handlers) > 1 else self.handlers[0]
        return handler(request)

    @property
    def batches(self) -> list[TapBatch]:
        return [TapBatch.model_validate_json(r.content) for r in self.requests if r.url.path == "/api/v1/taps"]

    @property
    def pings(self) -> list[HeartbeatPing]:
        return [HeartbeatPing.model_validate_json(r.content) for r in self.requests if r.url.path == HEARTBEAT]


def client_for(server: FakeServer) -> httpx.Client:
    return make_client("http://kiosk.test", "secret-token", transport=httpx.MockTransport(server))


@pytest.fixture
def syncer_for(store: Store) -> Iterator[Callable[..., Syncer]]:
    clients: list[httpx.Client] = []

    def build(server: FakeServer, **kwargs: object) -> Syncer:
        client = client_for(server)
        clients.append(client)
        return Syncer(store, client, **kwargs)  # type: ignore[arg-type]

    yield build
    for client in clients:
        client.close()


def record(store: Store, n: int) -> list[UUID]:
    return [store.record_tap(1 + i % 5, 5).id for i in range(n)]


def status(code: int, headers: dict[str, str] | None = None, body: object = None) -> Handler:
    return lambda request: httpx.Response(code, headers=headers, json=body)


def raises(error: type[httpx.RequestError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


# -- send_pending -----------------------------------------------------------------------------------------


def test_batch_marked_synced_only_after_2xx(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    ids = record(store, 3)
    seen_pending: list[int] = []

    def server_that_looks_first(request: httpx.Request) -> httpx.Response:
        # still pending while the request is in flight (sent from a helper thread, which opens its own Store)
        with Store(store.path, check=False) as own:
            seen_pending.append(own.counts().pending)
        return ok(request)

    report = syncer_for(FakeServer(server_that_looks_first)).send_pending()
    assert seen_pending == [3]
    assert report == SyncReport(batches=1, sent=3, accepted=3, duplicates=0, conflicts=[])
    assert store.counts() == StoreCounts(total=3, pending=0, synced=3)
    assert [t.id for t in store.iter_all()] == ids


def test_body_is_a_valid_tap_batch_in_seq_order_with_heartbeat(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    taps = [store.record_tap(s, 5) for s in (5, 1, 3)]
    server = FakeServer(ok)
    before = datetime.now(UTC)
    syncer_for(server).send_pending()
    request = server.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/taps")
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.headers["User-Agent"] == f"smilepost-kiosk/{__version__}"
    assert request.headers["Content-Type"] == "application/json"
    batch = server.batches[0]
    assert batch.taps == taps
    assert [t.seq for t in batch.taps] == [1, 2, 3]
    assert batch.boot_id == store.boot_id
    assert before <= batch.sent_at <= datetime.now(UTC)
    assert batch.mono_ns >= taps[-1].mono_ns
    assert batch.heartbeat is not None
    assert batch.heartbeat.queue_depth == 3
    assert batch.heartbeat.app_version == __version__
    assert batch.heartbeat.last_tap_at == taps[-1].tapped_at


def test_an_aspect_answer_goes_out_linked_and_a_first_tap_exactly_as_before_several_questions(
    store: Store, syncer_for: Callable[..., Syncer]
) -> None:
    first = store.record_tap(2, 5)
    aspect = store.record_tap(9, 11, "recommend", first_tap_id=first.id)
    server = FakeServer(ok)
    syncer_for(server).send_pending()
    sent = json.loads(server.requests[0].content)["taps"]
    assert "first_tap_id" not in sent[0]  # what a server from before #13 takes
    assert sent[1]["first_tap_id"] == str(first.id)
    assert (sent[1]["question_id"], sent[1]["scale"]) == ("recommend", 11)
    assert server.batches[0].taps == [first, aspect]


def test_batches_never_exceed_batch_size_and_go_oldest_first(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    ids = record(store, 7)
    server = FakeServer(ok)
    report = syncer_for(server, batch_size=3).send_pending()
    assert [len(b.taps) for b in server.batches] == [3, 3, 1]
    assert [t.id for b in server.batches for t in b.taps] == ids
    assert (report.batches, report.sent, report.accepted) == (3, 7, 7)
    assert store.counts().pending == 0


def test_nothing_pending_sends_nothing(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    server = FakeServer(ok)
    assert syncer_for(server).send_pending() == SyncReport()
    assert server.requests == []


@pytest.mark.parametrize(
    "handler",
    [
        status(500),
        status(502),
        status(503, {"Retry-After": "7"}),
        status(408),
        status(429, {"Retry-After": "3"}),
        raises(httpx.ReadTimeout),
        raises(httpx.ConnectTimeout),
        raises(httpx.ConnectError),
        raises(httpx.RemoteProtocolError),
    ],
    ids=["500", "502", "503", "408", "429", "read-timeout", "connect-timeout", "connect-error", "protocol"],
)
def test_server_errors_and_network_failures_leave_every_tap_pending(
    store: Store, syncer_for: Callable[..., Syncer], handler: Handler
) -> None:
    ids = record(store, 5)
    with pytest.raises(Unreachable):
        syncer_for(FakeServer(handler)).send_pending()
    assert [t.id for t in store.pending()] == ids
    assert store.counts() == StoreCounts(total=5, pending=5, synced=0)


def test_failure_mid_way_keeps_earlier_batches_synced_and_reports_them(
    store: Store, syncer_for: Callable[..., Syncer]
) -> None:
    ids = record(store, 5)
    with pytest.raises(Unreachable) as caught:
        syncer_for(FakeServer(ok, raises(httpx.ReadTimeout)), batch_size=2).send_pending()
    assert caught.value.report.sent == 2
    assert [t.id for t in store.pending()] == ids[2:]


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (status(429, {"Retry-After": "12"}), 12.0),
        (status(503, {"Retry-After": "1.5"}), 1.5),
        (status(503), None),
        (status(500, {"Retry-After": "soon"}), None),
        (raises(httpx.ConnectError), None),
    ],
)
def test_retry_after_is_parsed_into_unreachable(
    store: Store, syncer_for: Callable[..., Syncer], handler: Handler, expected: float | None
) -> None:
    record(store, 1)
    with pytest.raises(Unreachable) as caught:
        syncer_for(FakeServer(handler)).send_pending()
    assert caught.value.retry_after == expected


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (status(500), 500),
        (status(503, {"Retry-After": "7"}), 503),
        (status(408), 408),
        (status(429), 429),
        (status(302, {"Location": "http://portal.example/login"}), 302),
        (status(200, body={"hello": "captive portal"}), 200),
        (raises(httpx.ConnectError), None),
        (raises(httpx.ReadTimeout), None),
    ],
    ids=["500", "503", "408", "429", "redirect", "not-a-batch-result", "connect-error", "read-timeout"],
)
def test_unreachable_carries_the_http_status_of_the_answer_or_none(
    store: Store, syncer_for: Callable[..., Syncer], handler: Handler, expected: int | None
) -> None:
    record(store, 1)
    with pytest.raises(Unreachable) as caught:
        syncer_for(FakeServer(handler)).send_pending()
    assert caught.value.status == expected


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 22 Nov 2026 10:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now=now) == 0.0


def test_413_halves_the_batch_and_still_delivers_everything(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    ids = record(store, 10)

    def at_most_three(request: httpx.Request) -> httpx.Response:
        if len(TapBatch.model_validate_json(request.content).taps) > 3:
            return httpx.Response(413, json={"message": "too many taps"})
        return ok(request)

    server = FakeServer(at_most_three)
    report = syncer_for(server, batch_size=8).send_pending()
    sizes = [len(TapBatch.model_validate_json(r.content).taps) for r in server.requests]
    assert sizes == [8, 4, 2, 2, 2, 2, 2]
    assert report.sent == 10 and report.batches == 5
    assert [t.id for t in store.iter_all()] == ids
    assert store.counts().pending == 0


def test_single_tap_over_the_limit_is_rejected_and_kept(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 2)
    with pytest.raises(Rejected) as caught:
        syncer_for(FakeServer(status(413))).send_pending()
    assert caught.value.status == 413
    assert store.counts().pending == 2


@pytest.mark.parametrize(
    ("code", "body", "message"),
    [
        (401, {"message": "unknown or revoked token"}, "unknown or revoked token"),
        (403, {"detail": "Forbidden"}, "Forbidden"),
        (422, {"message": "taps.3.score: score 9 is outside 1..5", "detail": []}, "taps.3.score: score 9"),
        (404, None, "Not Found"),
    ],
)
def test_client_errors_raise_rejected_and_keep_taps(
    store: Store, syncer_for: Callable[..., Syncer], code: int, body: object, message: str
) -> None:
    ids = record(store, 3)
    with pytest.raises(Rejected) as caught:
        syncer_for(FakeServer(status(code, body=body))).send_pending()
    assert caught.value.status == code
    assert caught.value.message.startswith(message)
    assert str(caught.value).startswith(f"HTTP {code}")
    assert [t.id for t in store.pending()] == ids


def test_2xx_without_a_batch_result_is_not_trusted(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 2)
    portal = FakeServer(lambda request: httpx.Response(200, text="<html>Welcome to Airport WiFi</html>"))
    with pytest.raises(Unreachable, match="BatchResult"):
        syncer_for(portal).send_pending()
    assert store.counts().pending == 2


def test_redirect_is_unreachable(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 1)
    portal = FakeServer(status(302, {"Location": "http://portal.example/login"}))
    with pytest.raises(Unreachable, match="302"):
        syncer_for(portal).send_pending()
    assert store.counts().pending == 1


def test_conflicts_are_logged_reported_and_still_marked_synced(
    store: Store, syncer_for: Callable[..., Syncer], caplog: pytest.LogCaptureFixture
) -> None:
    ids = record(store, 3)

    def one_conflict(request: httpx.Request) -> httpx.Response:
        body = {"accepted": 1, "duplicates": 1, "conflicts": [str(ids[2])], "server_time": SERVER_TIME}
        return httpx.Response(200, json=body)

    report = syncer_for(FakeServer(one_conflict)).send_pending()
    assert report.conflicts == [ids[2]]
    assert (report.accepted, report.duplicates) == (1, 1)
    assert store.counts().pending == 0
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert any(str(ids[2]) in r.getMessage() for r in warnings)


def test_exception_tree() -> None:
    assert issubclass(Unreachable, SyncError) and issubclass(Rejected, SyncError)
    assert not issubclass(Unreachable, Rejected) and not issubclass(Rejected, Unreachable)


# -- drain and backoff ------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_drain_backs_off_with_full_jitter_then_delivers(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 2)
    sleep = Recorder()
    failures = [raises(httpx.ConnectError)] * 4
    syncer = syncer_for(FakeServer(*failures, ok), sleep=sleep, rand=lambda: 0.5)
    report = syncer.drain()
    assert sleep.sleeps == [0.25, 0.5, 1.0, 2.0]  # 0.5 * min(60, 0.5 * 2**attempt)
    assert report.sent == 2
    assert store.counts().pending == 0


def test_drain_delay_is_capped_at_60_seconds(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 1)
    sleep = Recorder()
    syncer = syncer_for(FakeServer(*[status(500)] * 10, ok), sleep=sleep, rand=lambda: 1.0)
    syncer.drain()
    assert sleep.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_drain_uses_rand_for_each_delay(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 1)
    sleep = Recorder()
    rands = iter([0.0, 0.9, 0.1])
    syncer = syncer_for(FakeServer(*[status(503)] * 3, ok), sleep=sleep, rand=lambda: next(rands))
    syncer.drain()
    assert sleep.sleeps == pytest.approx([0.0, 0.9 * 1.0, 0.1 * 2.0])


def test_drain_honours_retry_after_capped_at_300(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 1)
    sleep = Recorder()
    handlers = [status(429, {"Retry-After": "42"}), status(503, {"Retry-After": "3600"}), ok]
    syncer_for(FakeServer(*handlers), sleep=sleep, rand=lambda: 0.5).drain()
    assert sleep.sleeps == [42.0, 300.0]


def test_drain_raises_last_unreachable_after_max_attempts(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 1)
    sleep = Recorder()
    server = FakeServer(status(500), status(502), status(503), ok)
    with pytest.raises(Unreachable, match="HTTP 503"):
        syncer_for(server, sleep=sleep, rand=lambda: 1.0).drain(max_attempts=3)
    assert len(server.requests) == 3
    assert sleep.sleeps == [0.5, 1.0]
    assert store.counts().pending == 1


def test_drain_stops_at_deadline(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 1)
    sleep = Recorder()
    server = FakeServer(status(500))
    with pytest.raises(Unreachable):
        syncer_for(server, sleep=sleep, rand=lambda: 1.0).drain(deadline=time.monotonic() - 1)
    assert len(server.requests) == 1 and sleep.sleeps == []


def test_drain_shortens_the_last_wait_to_the_deadline(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 1)
    sleep = Recorder()
    syncer = syncer_for(FakeServer(status(429, {"Retry-After": "120"}), ok), sleep=sleep)
    syncer.drain(deadline=time.monotonic() + 5)
    assert len(sleep.sleeps) == 1 and 4.0 < sleep.sleeps[0] <= 5.0


def test_drain_raises_rejected_at_once(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 1)
    sleep = Recorder()
    server = FakeServer(status(500), status(401, body={"message": "unknown or revoked token"}), ok)
    with pytest.raises(Rejected) as caught:
        syncer_for(server, sleep=sleep, rand=lambda: 1.0).drain()
    assert caught.value.status == 401
    assert len(server.requests) == 2 and len(sleep.sleeps) == 1
    assert store.counts().pending == 1


@pytest.mark.parametrize(
    ("attempt", "rand", "retry_after", "expected"),
    [(0, 1.0, None, 0.5), (3, 0.5, None, 2.0), (200, 1.0, None, 60.0), (0, 0.5, 500.0, 300.0), (5, 0.0, 9.0, 9.0)],
)
def test_backoff_delay(attempt: int, rand: float, retry_after: float | None, expected: float) -> None:
    assert backoff_delay(attempt, retry_after, lambda: rand) == expected


# -- fetch_config -----------------------------------------------------------------------------------------


def config_server(config: KioskConfig, etag: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/kiosk/config"
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, headers={"ETag": etag}, content=config.model_dump_json())

    return handler


def test_fetch_config_caches_200_and_uses_etag_for_304(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    config = make_config(scale=3, thank_you_seconds=2.0)
    server = FakeServer(config_server(config, '"abc"'))
    syncer = syncer_for(server)
    assert syncer.fetch_config() == config
    assert store.cached_config() == (config, '"abc"')
    assert syncer.fetch_config() == config
    assert "If-None-Match" not in server.requests[0].headers
    assert server.requests[1].headers["If-None-Match"] == '"abc"'


def test_fetch_config_replaces_cache_when_config_changes(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    store.save_config(make_config(scale=5), '"old"')
    new = make_config(scale=4)
    server = FakeServer(config_server(new, '"new"'))
    assert syncer_for(server).fetch_config() == new
    assert server.requests[0].headers["If-None-Match"] == '"old"'
    assert store.cached_config() == (new, '"new"')


def test_fetch_config_errors_keep_the_cache(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    cached = make_config(scale=3)
    store.save_config(cached, '"v1"')
    with pytest.raises(Unreachable):
        syncer_for(FakeServer(raises(httpx.ConnectError))).fetch_config()
    with pytest.raises(Rejected):
        syncer_for(FakeServer(status(401, body={"message": "unknown or revoked token"}))).fetch_config()
    with pytest.raises(Unreachable):
        syncer_for(FakeServer(lambda r: httpx.Response(200, text="<html>portal</html>"))).fetch_config()
    assert store.cached_config() == (cached, '"v1"')


# -- SyncWorker -------------------------------------------------------------------------------------------


class Statuses:
    def __init__(self) -> None:
        self.items: list[SyncStatus] = []
        self.changed = threading.Condition()

    def __call__(self, status: SyncStatus) -> None:
        with self.changed:
            self.items.append(status)
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[SyncStatus], bool], timeout: float = 5.0) -> SyncStatus:
        with self.changed:
            ok_ = self.changed.wait_for(lambda: any(predicate(s) for s in self.items), timeout)
            assert ok_, f"no matching status in {self.items}"
            return next(s for s in self.items if predicate(s))


def worker_for(path: Path, server: FakeServer, statuses: Statuses, interval: float = 60) -> SyncWorker:
    return SyncWorker(path, lambda: client_for(server), interval=interval, on_status=statuses)


def config_and_taps(config: KioskConfig) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, headers={"ETag": '"1"'}, content=config.model_dump_json())
        if request.url.path == HEARTBEAT:
            return httpx.Response(204)
        return ok(request)

    return handler


def test_worker_syncs_on_its_own_store_and_reports_new_config(tmp_path: Path) -> None:
    config = make_config(scale=4)
    with Store.open(tmp_path) as ui:
        record(ui, 3)
        statuses = Statuses()
        worker = worker_for(ui.path, FakeServer(config_and_taps(config)), statuses)
        worker.start()
        try:
            first = statuses.wait_for(lambda s: s.state == "synced")
        finally:
            worker.stop()
        assert not worker.is_alive()
        assert first.queued == 0 and first.config == config and first.last_sync_at is not None
        assert ui.counts() == StoreCounts(total=3, pending=0, synced=3)
        assert ui.cached_config() == (config, '"1"')


def test_worker_wake_sends_new_taps_before_the_interval(tmp_path: Path) -> None:
    with Store.open(tmp_path) as ui:
        statuses = Statuses()
        server = FakeServer(config_and_taps(make_config()))
        worker = worker_for(ui.path, server, statuses, interval=60)
        worker.start()
        try:
            statuses.wait_for(lambda s: s.state == "synced")
            record(ui, 2)
            worker.wake()
            deadline = time.monotonic() + 5
            while ui.counts().pending and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            worker.stop()
        assert ui.counts().pending == 0
        assert [len(b.taps) for b in server.batches] == [2]


def test_worker_reports_offline_with_queue_and_keeps_taps(tmp_path: Path) -> None:
    with Store.open(tmp_path) as ui:
        record(ui, 2)
        statuses = Statuses()
        worker = worker_for(ui.path, FakeServer(raises(httpx.ConnectError)), statuses)
        worker.start()
        try:
            offline = statuses.wait_for(lambda s: s.state == "offline")
        finally:
            worker.stop()
        assert offline.queued == 2 and "ConnectError" in (offline.last_error or "")
        assert offline.describe() == "offline, 2 queued"
        assert ui.counts().pending == 2


def test_worker_reports_rejected_token(tmp_path: Path) -> None:
    with Store.open(tmp_path) as ui:
        record(ui, 1)
        statuses = Statuses()
        server = FakeServer(status(401, body={"message": "unknown or revoked token"}))
        worker = worker_for(ui.path, server, statuses)
        worker.start()
        try:
            rejected = statuses.wait_for(lambda s: s.state == "rejected")
        finally:
            worker.stop()
        assert (rejected.error_status, rejected.describe()) == (401, "token rejected")
        assert ui.counts().pending == 1


def test_worker_stop_is_prompt_during_a_long_interval(tmp_path: Path) -> None:
    with Store.open(tmp_path) as ui:
        statuses = Statuses()
        worker = worker_for(ui.path, FakeServer(config_and_taps(make_config())), statuses, interval=3600)
        worker.start()
        statuses.wait_for(lambda s: s.state == "synced")
        started = time.monotonic()
        worker.stop()
        assert not worker.is_alive() and time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("status_", "text"),
    [
        (SyncStatus("synced", 0), "synced"),
        (SyncStatus("synced", 4), "synced, 4 queued"),
        (SyncStatus("offline", 12, last_error="ConnectError: refused"), "offline, 12 queued"),
        (SyncStatus("rejected", 3, last_error="HTTP 403: gone", error_status=403), "refused by the server, 3 queued"),
        (SyncStatus("rejected", 3, last_error="HTTP 401: unknown token", error_status=401), "token rejected"),
        (SyncStatus("rejected", 3, last_error="HTTP 422: taps.0.score", error_status=422), "sync rejected, 3 queued"),
        # decided by the status, never by the text
        (SyncStatus("rejected", 3, last_error="HTTP 401 said the proxy", error_status=422), "sync rejected, 3 queued"),
        (SyncStatus("rejected", 3, last_error="HTTP 403: Forbidden"), "sync rejected, 3 queued"),
    ],
)
def test_status_description(status_: SyncStatus, text: str) -> None:
    assert status_.describe() == text


def test_report_addition() -> None:
    a = SyncReport(1, 2, 2, 0, [])
    b = SyncReport(1, 3, 1, 1, [UUID(int=1)])
    assert a + b == SyncReport(2, 5, 3, 1, [UUID(int=1)])


# -- pairing (#3) ----------------------------------------------------------------------------------------------


def pair_server(status: int, body: object, headers: dict[str, str] | None = None) -> tuple[httpx.MockTransport, list]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body, headers=headers)

    return httpx.MockTransport(handler), seen


def test_pair_returns_kiosk_id_and_token_and_sends_no_bearer() -> None:
    transport, seen = pair_server(200, {"kiosk_id": "k-9", "token": "tok", "server_time": SERVER_TIME})
    assert pair("http://s", "12345678", "lane 3", transport=transport) == ("k-9", "tok")
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/pair")
    assert json.loads(request.content) == {"code": "12345678", "name": "lane 3"}
    assert "Authorization" not in request.headers


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "detail"),
    [
        (403, {"message": "invalid or expired pairing code"}, None, Rejected, "invalid or expired pairing code"),
        (422, {"message": "code: must be 8 digits"}, None, Rejected, "code: must be 8 digits"),
        (429, {"message": "too many attempts"}, {"Retry-After": "42"}, Unreachable, 42.0),
        (503, {"message": "down"}, None, Unreachable, None),
        (200, {"hello": "captive portal"}, None, Unreachable, None),
    ],
)
def test_pair_failures_follow_the_exception_tree(
    status: int, body: object, headers: dict[str, str] | None, error: type[SyncError], detail: object
) -> None:
    transport, _ = pair_server(status, body, headers)
    with pytest.raises(error) as raised:
        pair("http://s", "12345678", transport=transport)
    assert raised.value.status == status  # what callers decide on, not the message text
    if isinstance(raised.value, Rejected):
        assert (raised.value.status, raised.value.message) == (status, detail)
    elif status == 429:
        assert isinstance(raised.value, Unreachable) and raised.value.retry_after == detail


def test_pair_network_error_is_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(Unreachable, match="ConnectError") as raised:
        pair("http://s", "12345678", transport=httpx.MockTransport(refuse))
    assert raised.value.status is None  # no answer came


@pytest.mark.parametrize("code", ["1234567", "123456789", "1234567a", ""])
def test_pair_refuses_a_malformed_code_without_sending_it(code: str) -> None:
    transport, seen = pair_server(200, {"kiosk_id": "k-9", "token": "tok", "server_time": SERVER_TIME})
    with pytest.raises(ValidationError, match="code"):
        pair("http://s", code, transport=transport)
    assert seen == []


# -- the retry matrix (#5) --------------------------------------------------------------------------------------


def problem_422(*locs: list[object]) -> Handler:
    detail = [{"loc": loc, "msg": "refused", "type": "value_error"} for loc in locs]
    return status(422, body={"message": "taps.1.score: refused", "detail": detail})


PAST = "Wed, 21 Oct 2015 07:28:00 GMT"
MATRIX = [
    # (id, answers of the server in order, outcome, Rejected.status / Unreachable.retry_after,
    #  (pending, synced, quarantined) afterwards; their sum is the number of taps recorded)
    ("200", [ok], "synced", None, (0, 3, 0)),
    ("201", [lambda r: httpx.Response(201, json=ok(r).json())], "synced", None, (0, 3, 0)),
    ("204-no-body", [status(204)], Unreachable, None, (3, 0, 0)),
    ("301", [status(301, {"Location": "https://elsewhere/"})], Unreachable, None, (3, 0, 0)),
    ("400", [status(400, body={"message": "bad"})], Rejected, 400, (3, 0, 0)),
    ("401", [status(401, body={"message": "unknown or revoked token"})], Rejected, 401, (3, 0, 0)),
    ("403", [status(403, body={"message": "forbidden"})], Rejected, 403, (3, 0, 0)),
    ("404", [status(404)], Rejected, 404, (3, 0, 0)),
    ("408", [status(408)], Unreachable, None, (3, 0, 0)),
    ("409", [status(409, body={"message": "conflict"})], Rejected, 409, (3, 0, 0)),
    ("413-then-200", [status(413), ok], "synced", None, (0, 3, 0)),
    ("413-single-tap", [status(413)], Rejected, 413, (1, 0, 0)),
    ("422-names-tap-1", [problem_422(["body", "taps", 1, "score"]), ok], "quarantined", None, (0, 2, 1)),
    ("422-names-body", [problem_422(["body"])], Rejected, 422, (3, 0, 0)),
    ("422-names-sent_at", [problem_422(["body", "sent_at"])], Rejected, 422, (3, 0, 0)),
    ("422-tap-and-more", [problem_422(["body", "taps", 0], ["body", "boot_id"])], Rejected, 422, (3, 0, 0)),
    ("422-index-outside", [problem_422(["body", "taps", 3, "score"])], Rejected, 422, (3, 0, 0)),
    ("422-no-detail", [status(422, body={"message": "bad"})], Rejected, 422, (3, 0, 0)),
    ("429-seconds", [status(429, {"Retry-After": "30"})], Unreachable, 30.0, (3, 0, 0)),
    ("429-no-header", [status(429)], Unreachable, None, (3, 0, 0)),
    ("500", [status(500)], Unreachable, None, (3, 0, 0)),
    ("502", [status(502)], Unreachable, None, (3, 0, 0)),
    ("503-seconds", [status(503, {"Retry-After": "7"})], Unreachable, 7.0, (3, 0, 0)),
    ("503-past-date", [status(503, {"Retry-After": PAST})], Unreachable, 0.0, (3, 0, 0)),
    ("504", [status(504)], Unreachable, None, (3, 0, 0)),
    ("599", [status(599)], Unreachable, None, (3, 0, 0)),
    *(
        (error.__name__, [raises(error)], Unreachable, None, (3, 0, 0))
        for error in (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.ReadTimeout,
            httpx.WriteTimeout,
            httpx.PoolTimeout,
            httpx.ReadError,
            httpx.WriteError,
            httpx.RemoteProtocolError,
            httpx.LocalProtocolError,
        )
    ),
]


@pytest.mark.parametrize(
    ("answers", "outcome", "detail", "counts"), [m[1:] for m in MATRIX], ids=[m[0] for m in MATRIX]
)
def test_retry_matrix_every_answer_has_one_outcome_and_no_tap_is_lost(
    tmp_path: Path, answers: list[Handler], outcome: object, detail: object, counts: tuple[int, int, int]
) -> None:
    with Store.open(tmp_path) as store:
        ids = record(store, sum(counts))  # the counts add up to the taps recorded: none may go missing
        sleep = Recorder()
        server = FakeServer(*answers)
        with client_for(server) as client:
            syncer = Syncer(store, client, sleep=sleep, rand=lambda: 0.5)
            if isinstance(outcome, type):
                with pytest.raises(outcome) as caught:
                    syncer.send_pending()
                error = caught.value
                if isinstance(error, Rejected):
                    assert error.status == detail
                else:
                    assert isinstance(error, Unreachable) and error.retry_after == detail
                report = error.report
            else:
                report = syncer.send_pending()
        pending, synced, quarantined = counts
        assert store.counts() == StoreCounts(
            total=len(ids), pending=pending, synced=synced, held=0, quarantined=quarantined
        )
        assert [t.id for t in store.iter_all()] == ids  # never a tap deleted, whatever the answer
        assert report.quarantined == ([ids[1]] if outcome == "quarantined" else [])
        assert sleep.sleeps == []  # send_pending never sleeps; drain and the worker do
        if outcome == "quarantined":
            assert [len(b.taps) for b in server.batches] == [3, 2]  # the rest went out in the same call
        if outcome == "synced" and len(answers) == 2:
            assert [len(b.taps) for b in server.batches] == [3, 1, 1, 1]  # 413: halved (3 // 2 = 1), went on


def test_422_quarantines_every_named_tap_logs_a_warning_and_sends_the_rest(
    store: Store, syncer_for: Callable[..., Syncer], caplog: pytest.LogCaptureFixture
) -> None:
    ids = record(store, 5)
    named = problem_422(["body", "taps", 0, "score"], ["body", "taps", 3, "comment"], ["body", "taps", 3, "flags", 0])
    server = FakeServer(named, ok)
    report = syncer_for(server).send_pending()
    assert report == SyncReport(batches=1, sent=3, accepted=3, duplicates=0, conflicts=[], quarantined=[ids[0], ids[3]])
    assert [t.id for t in server.batches[1].taps] == [ids[1], ids[2], ids[4]]
    assert [(q.tap.id, q.reason) for q in store.quarantined()] == [
        (ids[0], "HTTP 422 taps.0.score: refused"),
        (ids[3], "HTTP 422 taps.3.comment: refused; taps.3.flags.0: refused"),
    ]
    assert store.counts() == StoreCounts(total=5, pending=0, synced=3, held=0, quarantined=2)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and str(ids[0]) in warnings[0] and str(ids[3]) in warnings[1]


def test_422_index_is_taken_in_the_batch_that_was_sent(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    ids = record(store, 5)

    def refuse_score_4(request: httpx.Request) -> httpx.Response:
        taps = TapBatch.model_validate_json(request.content).taps
        bad = [["body", "taps", i, "score"] for i, tap in enumerate(taps) if tap.score == 4]
        return problem_422(*bad)(request) if bad else ok(request)

    report = syncer_for(FakeServer(refuse_score_4), batch_size=2).send_pending()
    assert report.quarantined == [ids[3]]  # score 4 is the 4th tap: index 1 of the second batch
    assert store.counts() == StoreCounts(total=5, pending=0, synced=4, held=0, quarantined=1)


def test_quarantined_taps_are_not_sent_again(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    ids = record(store, 2)
    syncer_for(FakeServer(problem_422(["body", "taps", 0, "score"]), ok)).send_pending()
    record(store, 1)
    server = FakeServer(ok)
    syncer_for(server).send_pending()
    assert [len(b.taps) for b in server.batches] == [1]
    assert ids[0] not in [t.id for b in server.batches for t in b.taps]


def test_drain_sleeps_exactly_per_retry_after_and_full_jitter(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    record(store, 2)
    sleep = Recorder()
    rands = iter([0.25, 0.75])
    answers = [status(503, {"Retry-After": "7"}), status(500), status(500), ok]
    report = syncer_for(FakeServer(*answers), sleep=sleep, rand=lambda: next(rands)).drain()
    assert sleep.sleeps == [7.0, 0.25 * 1.0, 0.75 * 2.0]
    assert (report.batches, report.sent) == (1, 2)
    assert store.counts() == StoreCounts(total=2, pending=0, synced=2)


@pytest.mark.parametrize(
    ("retry_after", "slept"),
    [("299", 299.0), ("300", 300.0), ("301", 300.0), ("86400", 300.0), ("FUTURE", 300.0), (PAST, 0.0)],
)
def test_drain_caps_retry_after_at_300_seconds(
    store: Store, syncer_for: Callable[..., Syncer], retry_after: str, slept: float
) -> None:
    record(store, 1)
    if retry_after == "FUTURE":
        retry_after = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    sleep = Recorder()
    syncer_for(FakeServer(status(429, {"Retry-After": retry_after}), ok), sleep=sleep).drain()
    assert sleep.sleeps == [slept]


def test_drain_jitter_is_capped_at_60_seconds_from_the_8th_retry(
    store: Store, syncer_for: Callable[..., Syncer]
) -> None:
    record(store, 1)
    sleep = Recorder()
    syncer_for(FakeServer(*[raises(httpx.ConnectError)] * 9, ok), sleep=sleep, rand=lambda: 0.5).drain()
    assert sleep.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]  # 0.5 * min(60, 0.5 * 2**n)


def test_drain_goes_on_after_a_quarantine_and_a_network_error(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    ids = record(store, 3)
    sleep = Recorder()
    answers = [raises(httpx.ReadTimeout), problem_422(["body", "taps", 2, "score"]), ok]
    report = syncer_for(FakeServer(*answers), sleep=sleep, rand=lambda: 1.0).drain()
    assert sleep.sleeps == [0.5]
    assert report.quarantined == [ids[2]] and report.sent == 2
    assert store.counts() == StoreCounts(total=3, pending=0, synced=2, held=0, quarantined=1)


# -- heartbeat (#5) ---------------------------------------------------------------------------------------------


def test_every_batch_heartbeat_carries_last_seq_and_quarantined_count(
    store: Store, syncer_for: Callable[..., Syncer]
) -> None:
    ids = record(store, 4)
    store.quarantine({ids[1]: "HTTP 422 taps.1.score: refused"})
    store.mark_synced([ids[0]])
    server = FakeServer(ok)
    syncer_for(server).send_pending()
    heartbeat = server.batches[0].heartbeat
    assert heartbeat is not None
    assert (heartbeat.queue_depth, heartbeat.last_seq, heartbeat.quarantined) == (2, 4, 1)


def test_send_heartbeat_posts_a_heartbeat_ping_and_accepts_204(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    ids = record(store, 3)
    store.quarantine({ids[2]: "bad"})
    server = FakeServer(status(204))
    before = datetime.now(UTC)
    syncer_for(server).send_heartbeat()  # returns, raising nothing, on the 204
    [request] = server.requests
    assert (request.method, request.url.path) == ("POST", HEARTBEAT)
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.headers["Content-Type"] == "application/json"
    ping = HeartbeatPing.model_validate_json(request.content)
    assert before <= ping.sent_at <= datetime.now(UTC) and ping.boot_id == store.boot_id
    assert ping.heartbeat.model_dump() == {
        "queue_depth": 2,
        "app_version": __version__,
        "last_tap_at": store.last_tap_at(),
        "last_seq": 3,
        "quarantined": 1,
    }


def test_idle_heartbeat_of_an_empty_outbox_has_no_last_seq(store: Store, syncer_for: Callable[..., Syncer]) -> None:
    server = FakeServer(status(204))
    syncer_for(server).send_heartbeat()
    assert server.pings[0].heartbeat.model_dump(include={"queue_depth", "last_seq", "quarantined", "last_tap_at"}) == {
        "queue_depth": 0,
        "last_seq": None,
        "quarantined": 0,
        "last_tap_at": None,
    }


@pytest.mark.parametrize(
    ("handler", "error", "detail"),
    [
        (status(401, body={"message": "unknown or revoked token"}), Rejected, 401),
        (status(403), Rejected, 403),
        (status(404), Rejected, 404),
        (status(429, {"Retry-After": "5"}), Unreachable, 5.0),
        (status(503), Unreachable, None),
        (raises(httpx.ConnectError), Unreachable, None),
    ],
)
def test_send_heartbeat_errors_follow_the_exception_tree(
    store: Store, syncer_for: Callable[..., Syncer], handler: Handler, error: type[SyncError], detail: object
) -> None:
    with pytest.raises(error) as caught:
        syncer_for(FakeServer(handler)).send_heartbeat()
    if isinstance(caught.value, Rejected):
        assert caught.value.status == detail
    else:
        assert isinstance(caught.value, Unreachable) and caught.value.retry_after == detail


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def kiosk_server(heartbeat: Handler) -> FakeServer:
    config = make_config()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, headers={"ETag": '"1"'}, content=config.model_dump_json())
        return heartbeat(request) if request.url.path == HEARTBEAT else ok(request)

    return FakeServer(handler)


def test_idle_worker_sends_a_heartbeat_at_most_every_heartbeat_interval(tmp_path: Path) -> None:
    clock, statuses = Clock(), Statuses()
    server = kiosk_server(status(204))
    worker = SyncWorker(tmp_path / "o.db", lambda: client_for(server), interval=10, on_status=statuses)
    worker.heartbeat_interval, worker.clock = 60.0, clock
    posts: list[str] = []
    with Store(tmp_path / "o.db") as store, client_for(server) as client:
        syncer = Syncer(store, client)
        for now, taps in [(0, 0), (10, 0), (59, 0), (60, 0), (70, 2), (125, 0), (130, 0), (189, 0), (190, 0)]:
            clock.now = 1000.0 + now
            record(store, taps)
            seen = len(server.requests)
            worker._round(syncer)
            posts += [f"{now}:{r.url.path.rsplit('/', 1)[1]}" for r in server.requests[seen:] if r.method == "POST"]
    # A batch counts as a heartbeat (it carries one), so the next ping is 60 s after the batch at 70.
    assert posts == ["0:heartbeat", "60:heartbeat", "70:taps", "130:heartbeat", "190:heartbeat"]
    assert [s.state for s in statuses.items] == ["synced"] * 9
    assert [p.heartbeat.last_seq for p in server.pings] == [None, None, 2, 2]


@pytest.mark.parametrize(
    ("heartbeat", "state", "text"),
    [
        (status(401, body={"message": "unknown or revoked token"}), "rejected", "token rejected"),
        (raises(httpx.ConnectError), "offline", "offline"),
        (status(404), "synced", "synced"),  # a server without the endpoint: logged, taps still sync
    ],
)
def test_worker_reports_heartbeat_failures(tmp_path: Path, heartbeat: Handler, state: str, text: str) -> None:
    statuses = Statuses()
    server = kiosk_server(heartbeat)
    worker = SyncWorker(tmp_path / "o.db", lambda: client_for(server), interval=10, on_status=statuses)
    with Store(tmp_path / "o.db") as store, client_for(server) as client:
        worker._round(Syncer(store, client))
    assert [(s.state, s.describe()) for s in statuses.items] == [(state, text)]


def test_worker_takes_heartbeat_interval_from_settings() -> None:
    from kiosk.settings import KioskSettings

    assert KioskSettings().heartbeat_interval == 60.0
    assert KioskSettings(heartbeat_interval=5).heartbeat_interval == 5.0
