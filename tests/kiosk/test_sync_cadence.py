"""The sync worker's cadence: an idle kiosk that is doing fine sends nothing between heartbeats (the config is
checked on the same period), follows the server's hints (heartbeat period with jitter, a pause when busy), and a
kiosk whose last round failed contacts the server every interval as before. Driven round by round on a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kiosk.store import Store
from kiosk.sync import Syncer, SyncStatus, SyncWorker
from shared.protocol import HEARTBEAT_HINT_HEADER, SYNC_AFTER_HEADER
from tests.kiosk.test_sync import HEARTBEAT, FakeServer, client_for, ok, record
from tests.support.kiosk_config import make_config

Hints = dict[str, str]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Kiosk:
    """A worker, its outbox and a fake server answering with ``hints``; ``at(t, taps)`` runs one round at t s."""

    def __init__(self, path: Path, hints: Hints, rand: float, refuse: list[bool]) -> None:
        self.hints, self.refuse, self.clock = hints, refuse, Clock()
        config = make_config()

        def handler(request: httpx.Request) -> httpx.Response:
            if self.refuse and self.refuse[0]:
                return httpx.Response(403, json={"message": "location 1 is archived"})
            if request.method == "GET":
                return httpx.Response(200, headers={"ETag": '"1"', **self.hints}, content=config.model_dump_json())
            if request.url.path == HEARTBEAT:
                return httpx.Response(204, headers=self.hints)
            answer = ok(request)
            return httpx.Response(200, headers=self.hints, content=answer.content)

        self.server = FakeServer(handler)
        self.statuses: list[SyncStatus] = []
        self.worker = SyncWorker(path, lambda: client_for(self.server), interval=10, on_status=self.statuses.append,
                                 rand=lambda: rand, heartbeat_interval=60.0, clock=self.clock)  # fmt: skip
        self.store = Store(path)
        self.client = client_for(self.server)
        self.worker.follow_hints(self.client)
        self.syncer = Syncer(self.store, self.client)

    def at(self, seconds: float, taps: int = 0) -> tuple[list[str], tuple[float, bool]]:
        """The requests of one round at ``seconds`` ("config", "heartbeat", "taps") and the wait it chose."""
        self.clock.now = 1000.0 + seconds
        record(self.store, taps)
        seen = len(self.server.requests)
        wait = self.worker._round(self.syncer)
        return [r.url.path.rsplit("/", 1)[1] for r in self.server.requests[seen:]], wait

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Callable[..., Kiosk]]:
    made: list[Kiosk] = []

    def make(hints: Hints | None = None, rand: float = 0.5, refuse: list[bool] | None = None) -> Kiosk:
        made.append(Kiosk(tmp_path / f"o{len(made)}.db", hints or {}, rand, refuse if refuse is not None else []))
        return made[-1]

    yield make
    for k in made:
        k.close()


def test_an_idle_kiosk_contacts_the_server_once_a_heartbeat_period_without_hints(kiosk) -> None:
    k = kiosk()
    rounds = {t: k.at(t)[0] for t in (0, 10, 20, 59, 60, 70, 119, 120)}
    assert rounds == {0: ["config", "heartbeat"], 10: [], 20: [], 59: [], 60: ["config", "heartbeat"], 70: [],
                      119: [], 120: ["config", "heartbeat"]}  # fmt: skip
    assert [s.state for s in k.statuses] == ["synced"] * 8


def test_taps_go_out_at_once_and_restart_the_heartbeat_clock_not_the_config_clock(kiosk) -> None:
    k = kiosk()
    rounds = {t: k.at(t, taps)[0] for t, taps in ((0, 0), (30, 2), (60, 0), (89, 0), (90, 0))}
    assert rounds == {0: ["config", "heartbeat"], 30: ["taps"], 60: ["config"], 89: [], 90: ["heartbeat"]}


@pytest.mark.parametrize(("rand", "period"), [(0.5, 300.0), (0.0, 270.0), (1.0, 330.0)])
def test_the_servers_heartbeat_hint_sets_the_period_with_jitter(kiosk, rand: float, period: float) -> None:
    k = kiosk({HEARTBEAT_HINT_HEADER: "300"}, rand=rand)
    assert k.at(0)[0] == ["config", "heartbeat"]
    assert k.at(period - 0.5)[0] == []
    assert k.at(period)[0] == ["config", "heartbeat"]


@pytest.mark.parametrize("value", ["soon", "-5", "nan", ""])
def test_a_malformed_hint_is_ignored(kiosk, value: str) -> None:
    k = kiosk({HEARTBEAT_HINT_HEADER: value, SYNC_AFTER_HEADER: value})
    assert k.at(0) == (["config", "heartbeat"], (10, True))
    assert k.at(60)[0] == ["config", "heartbeat"]


def test_a_hint_is_held_to_its_bounds(kiosk) -> None:
    k = kiosk({HEARTBEAT_HINT_HEADER: "1"})
    k.at(0)
    assert (k.at(9.5)[0], k.at(10)[0]) == ([], ["config", "heartbeat"])  # at least 10 s


def test_a_busy_server_pauses_the_kiosk_with_jitter_and_a_tap_does_not_cut_it_short(kiosk) -> None:
    k = kiosk({SYNC_AFTER_HEADER: "30"}, rand=0.5)
    assert k.at(0, taps=1) == (["config", "taps"], (37.5, False))  # 30 s plus up to half again
    k.hints = {}
    assert k.at(37.5, taps=1) == (["taps"], (10, True))


def test_after_a_refused_round_the_kiosk_checks_every_interval_until_it_is_taken_again(kiosk) -> None:
    refuse = [True]
    k = kiosk(refuse=refuse)
    assert k.at(0)[0] == ["config"]
    assert k.at(10)[0] == ["config"]
    refuse.clear()
    assert k.at(20)[0] == ["config", "heartbeat"]
    assert k.at(30)[0] == []
    assert [s.state for s in k.statuses] == ["rejected", "rejected", "synced", "synced"]


def test_a_wake_checks_the_config_unless_it_is_for_a_tap(kiosk) -> None:
    k = kiosk()
    k.at(0)
    k.worker.wake(check_config=False)
    assert k.at(5, taps=1)[0] == ["taps"]
    k.worker.wake()
    assert k.at(6)[0] == ["config"]
    assert k.at(7)[0] == []
