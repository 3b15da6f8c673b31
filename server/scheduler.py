"""Background work of a server instance: one instance leads the scheduler (alert evaluation, reports, the daily
retention purge) through a lease row in the database; every instance delivers notifications from the outbox.

Why not a library: the well-kept schedulers and queues do not fit both databases. APScheduler 3 keeps jobs in a
database but does not coordinate several schedulers (each would run every job); APScheduler 4, which does, was not
released as stable; procrastinate and pgqueuer are PostgreSQL-only, and SQLite is the embedded default. A lease row
(:func:`hold_lease`, a compare-and-set on ``leases``) and the outbox's compare-and-set claims
(:mod:`server.notify.outbox`) are enough, and behave the same on both. See docs/architecture.md.

Raises nothing of its own; database errors in a tick are logged and the next tick tries again.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.db import leases
from server.settings import Settings

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"
PURGE_EVERY = timedelta(days=1)  # the retention purge (server.retention), on the leader
PURGE_CHECK_SECONDS = 3600.0  # how often the purge loop asks whether a purge is due


def new_holder_id() -> str:
    """A name for this process's claims and leases (unique per process start)."""
    return secrets.token_hex(8)


def hold_lease(engine: Engine, name: str, holder: str, seconds: float, *, now: datetime | None = None) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + seconds``; whether ``holder`` has it now.

    Compare-and-set: a live lease of another holder is left alone; an expired one is taken over; two instances
    racing for a free lease cannot both win (the primary key, then the holder check).
    """
    now = now or datetime.now(UTC)
    until = now + timedelta(seconds=seconds)
    lease = leases.c
    with engine.begin() as conn:
        renewed = conn.execute(
            update(leases)
            .where(lease.name == name, (lease.holder == holder) | (lease.expires_at < now))
            .values(holder=holder, expires_at=until)
        )
        if renewed.rowcount == 1:
            return True
        if conn.execute(select(lease.name).where(lease.name == name)).first() is not None:
            return False
    try:
        with engine.begin() as conn:
            conn.execute(insert(leases).values(name=name, holder=holder, expires_at=until))
    except IntegrityError:
        return False  # another instance created it first
    return True


def release_lease(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up (on a clean stop), so another instance can lead at once."""
    with engine.begin() as conn:
        conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))


class Loop:
    """A daemon thread that calls ``tick()`` every ``seconds`` until :meth:`stop`; :meth:`wake` runs it at once.

    An exception in a tick is logged (with its traceback) and the loop goes on.
    """

    def __init__(self, name: str, seconds: float, tick: Callable[[], object]) -> None:
        self.seconds = seconds
        self.tick = tick
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a tick must never end the loop
                log.exception("%s: tick failed; trying again in %g s", self._thread.name, self.seconds)
            self._wake.wait(self.seconds)
            self._wake.clear()


class Background:
    """What a server instance (or ``smilepost worker``) runs besides answering requests: the notification delivery
    worker on every instance, and the scheduler — alert evaluation every ``settings.evaluate_seconds`` — on the one
    instance that holds the scheduler lease. ``start()`` once, ``stop()`` at shutdown (the lease is given up).
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        from server.notify.worker import DeliveryWorker

        self.engine = engine
        self.settings = settings
        self.holder = new_holder_id()
        self.delivery = DeliveryWorker(engine, settings)
        self.scheduler = Loop("smilepost-scheduler", settings.evaluate_seconds, self.tick)
        # its own thread, so a long purge never delays alert evaluation
        self.retention = Loop("smilepost-retention", PURGE_CHECK_SECONDS, self.purge_tick)
        self.purged_at: datetime | None = None

    def start(self) -> None:
        self.delivery.start()
        self.scheduler.start()
        self.retention.start()

    def stop(self) -> None:
        self.retention.stop()
        self.scheduler.stop()
        self.delivery.stop()
        release_lease(self.engine, SCHEDULER_LEASE, self.holder)

    def tick(self) -> bool:
        """One scheduler round if this instance leads: evaluate the alert rules, write the reports that are due,
        then deliver what that wrote. Whether it led."""
        from server.alerts.evaluate import evaluate
        from server.reports.delivery import due_reports

        lease_seconds = max(30.0, 3 * self.settings.evaluate_seconds)  # outlives a slow round or two
        if not hold_lease(self.engine, SCHEDULER_LEASE, self.holder, lease_seconds):
            return False
        report = evaluate(self.engine)
        if report.opened or report.closed:
            log.info("alerts: %d opened, %d closed", len(report.opened), len(report.closed))
        if sent := due_reports(self.engine, datetime.now(UTC), public_url=self.settings.public_url):
            log.info("reports: %d written to the outbox", sent)
        self.delivery.wake()
        return True

    def purge_tick(self, now: datetime | None = None) -> bool:
        """The retention purge, when retention is set, this instance leads the scheduler and its last purge is
        :data:`PURGE_EVERY` old (or it has not purged since it started or took the lead). Whether it purged."""
        from server.retention import purge

        settings = self.settings
        if not (settings.retain_taps_days or settings.retain_comments_days):
            return False
        now = now or datetime.now(UTC)
        if self.purged_at is not None and now - self.purged_at < PURGE_EVERY:
            return False
        lease_seconds = max(30.0, 3 * settings.evaluate_seconds)  # as tick(): renews this leader's own lease
        if not hold_lease(self.engine, SCHEDULER_LEASE, self.holder, lease_seconds, now=now):
            self.purged_at = None  # not leading: purge at once should this instance take the lead
            return False
        report = purge(self.engine, settings, now)
        self.purged_at = now
        log.info("retention: %d taps deleted, %d comments cleared", report.taps_deleted, report.comments_cleared)
        return True
