"""The link between the sync worker thread and the Kivy UI thread: :class:`SyncLink` (re)starts the app's
:class:`~kiosk.sync.SyncWorker` with a token and hands each of its reports to the UI thread
(``Clock.schedule_once``); reports of a worker replaced by re-pairing (still finishing its round) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import kiosk.ui.kivy_env  # noqa: F401  (prepares the environment Kivy reads on import)

# isort: split

import httpx
from kivy.clock import Clock

from kiosk.settings import KioskSettings
from kiosk.store import Store
from kiosk.sync import SyncStatus, SyncWorker, make_client


class SyncLink:
    """Owns the running :class:`SyncWorker`; ``on_status`` is called on the UI thread with each report."""

    def __init__(self, on_status: Callable[[SyncStatus], None]) -> None:
        self.worker: SyncWorker | None = None
        self._on_status = on_status
        self._generation = 0

    def start(
        self, store: Store, settings: KioskSettings, *, server: str, token: str, transport: httpx.BaseTransport | None
    ) -> None:
        """(Re)start syncing ``store``'s outbox with ``server`` and ``token``; the old worker, if any, is told to
        stop (its last reports are dropped)."""
        self.stop(timeout=0)
        self._generation += 1
        generation = self._generation
        timeout = settings.request_timeout
        self.worker = SyncWorker(
            store.path,
            lambda: make_client(server, token, timeout=timeout, transport=transport),
            interval=settings.sync_interval,
            on_status=lambda status: self._report(status, generation),
            batch_size=settings.batch_size,
            boot_id=store.boot_id,
            heartbeat_interval=settings.heartbeat_interval,
        )
        self.worker.start()

    def wake(self, *, check_config: bool = True) -> None:
        """Sync now (see :meth:`kiosk.sync.SyncWorker.wake`); a wake for a new tap passes ``check_config=False``, the
        config being checked on its own period."""
        if self.worker is not None:
            self.worker.wake(check_config=check_config)

    def stop(self, timeout: float | None) -> None:
        """Tell the worker to stop and wait up to ``timeout`` seconds for it."""
        if self.worker is not None:
            self.worker.stop(timeout=timeout)

    def _report(self, status: SyncStatus, generation: int) -> None:
        """Worker thread: hop to the UI thread before anything touches a property or widget."""
        if generation == self._generation:
            Clock.schedule_once(lambda _dt: self._on_status(status) if generation == self._generation else None)


__all__ = ["SyncLink"]
