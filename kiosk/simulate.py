"""Simulated customers: record N taps through the kiosk's own store and sync them, as the app would.

Recording runs on the calling thread (like the UI thread) while a sync thread with its own Store
drains the outbox, so the figure reported is the whole kiosk path: durable tap → batch → server
acknowledgement. Raises :class:`kiosk.sync.Rejected` when the server refuses the kiosk (bad token)
and :class:`kiosk.sync.Unreachable` when the outbox could not be drained before the deadline.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kiosk.store import Store
from kiosk.sync import Rejected, Syncer, SyncError, Unreachable, backoff_delay
from shared.protocol import score_range


@dataclass(frozen=True)
class SimulationReport:
    """What a simulation recorded and what the server acknowledged."""

    recorded: int
    counts: dict[str, int]
    acknowledged: int
    pending: int
    seconds: float
    taps_per_second: float = field(init=False)

    def __post_init__(self) -> None:
        rate = self.acknowledged / self.seconds if self.seconds > 0 else 0.0
        object.__setattr__(self, "taps_per_second", round(rate, 1))


def simulate(
    data_dir: Path,
    client_factory: Callable[[], httpx.Client],
    *,
    taps: int,
    seed: int | None = None,
    timeout: float = 600.0,
    on_tap: Callable[[], None] | None = None,
) -> SimulationReport:
    """Record ``taps`` taps with random scores (each a distinct customer, never a repeat press) and sync them.

    The scale comes from the server's config (cached config, then 5, if it cannot be fetched).
    Raises Rejected if the server refuses the kiosk, Unreachable if the outbox is not empty by ``timeout``.
    """
    rng = random.Random(seed)
    started = time.monotonic()
    deadline = started + timeout
    with Store.open(data_dir) as store, client_factory() as client:
        syncer = Syncer(store, client)
        scale = _scale(syncer, store)
        before = store.counts().synced
        worker = _BackgroundDrain(data_dir, client_factory, deadline)
        worker.start()
        counts: Counter[int] = Counter()
        try:
            for _ in range(taps):
                score = rng.choice(score_range(scale))
                store.record_tap(score, scale)
                counts[score] += 1
                if on_tap is not None:
                    on_tap()
        finally:
            worker.finish()
        if worker.error is not None and isinstance(worker.error, Rejected):
            raise worker.error
        syncer.drain(deadline=deadline)
        after = store.counts()
    return SimulationReport(
        recorded=taps,
        counts={str(s): counts[s] for s in score_range(scale)},
        acknowledged=after.synced - before,
        pending=after.pending,
        seconds=round(time.monotonic() - started, 3),
    )


def _scale(syncer: Syncer, store: Store) -> int:
    """The face scale to simulate: from the server, else the cached config, else 5. Raises Rejected."""
    try:
        config = syncer.fetch_config()
    except Unreachable:
        cached = store.cached_config()
        config = cached[0] if cached else None
    return config.scale if config is not None else 5


class _BackgroundDrain(threading.Thread):
    """Sends the outbox while taps are being recorded; stops when told and the outbox is empty."""

    def __init__(self, data_dir: Path, client_factory: Callable[[], httpx.Client], deadline: float) -> None:
        super().__init__(name="simulate-sync", daemon=True)
        self.data_dir = data_dir
        self.client_factory = client_factory
        self.deadline = deadline
        self.error: SyncError | None = None
        self._recording_done = threading.Event()

    def finish(self) -> None:
        """Signal that recording is over and wait for the thread to stop."""
        self._recording_done.set()
        self.join()

    def run(self) -> None:
        attempt = 0
        # check=False: the recording thread's Store checked the file; only the first opener may move it aside.
        with Store.open(self.data_dir, check=False) as store, self.client_factory() as client:
            syncer = Syncer(store, client)
            while time.monotonic() < self.deadline:
                try:
                    syncer.send_pending()
                    attempt = 0
                except Rejected as exc:
                    self.error = exc
                    return
                except Unreachable as exc:
                    self.error = exc
                    time.sleep(backoff_delay(attempt, exc.retry_after, random.random))
                    attempt += 1
                    continue
                if self._recording_done.is_set():
                    return
                self._recording_done.wait(0.05)
