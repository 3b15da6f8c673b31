"""The kiosk fleet: health, clock and completeness (taps recorded on a kiosk but never received).

Completeness is kept per kiosk in the ``kiosks`` row, inside the ingest transaction and in SQL
(``received = received + n``, ``max_seq = greatest(max_seq, m)``), for newly stored taps only, so it
stays exact with any number of server instances and never moves for a duplicate. Heartbeats (with every
batch, or alone from an idle kiosk) add what only the kiosk knows: the highest seq it has recorded
(``reported_seq``), how many taps it still holds unsent (``queue_depth``) and how many it set aside
after a 422 (``quarantined``). :func:`missing_taps` turns these into the number of taps lost so far.

Raises nothing of its own: database errors propagate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from server.db import kiosks
from server.schemas import KioskOut
from shared.protocol import Heartbeat, HeartbeatPing

# A kiosk syncs or sends a heartbeat every minute or so; one not heard from for this long is offline.
OFFLINE_AFTER = timedelta(minutes=10)


def is_offline(kiosk: KioskOut, now: datetime) -> bool:
    """Whether a kiosk has not been heard from (batch or heartbeat) within OFFLINE_AFTER, or never."""
    return kiosk.last_seen_at is None or now - kiosk.last_seen_at > OFFLINE_AFTER


def missing_taps(
    *, max_seq: int, received: int, reported_seq: int | None, queue_depth: int | None, quarantined: int
) -> int:
    """How many taps a kiosk recorded that the server has not received and the kiosk no longer holds.

    A kiosk numbers its taps 1, 2, 3... and sends the oldest first, so the taps it still queues are its
    newest ones: every seq up to ``expected = max(max_seq, reported_seq - queue_depth)`` should be here,
    except those the kiosk quarantined. ``missing = expected - received - quarantined``, never negative.
    Queued-but-unsent taps are therefore not missing (they are late, not lost); ``max_seq`` keeps the bound
    right when the heartbeat is older than the batch that carried it. Without a reported seq (a kiosk
    that predates it) only gaps below the highest seq received count. A gap closes when its taps arrive.
    """
    expected = max_seq
    if reported_seq is not None:
        expected = max(expected, reported_seq - (queue_depth or 0))
    return max(0, expected - received - quarantined)


def heartbeat_values(
    heartbeat: Heartbeat, offset_seconds: float, skew_seconds: float, delivered: int = 0
) -> dict[str, Any]:
    """The ``kiosks`` columns a heartbeat sets: a snapshot, so all of them together, last writer wins.

    ``delivered`` is how many of the queued taps the heartbeat's own batch delivered: the queue stored is what
    the kiosk still holds once the batch is acknowledged. ``last_tap_at`` is corrected by the kiosk's clock
    offset when that is beyond ``skew_seconds``, as tap times are (:func:`server.ingest.effective_time`).
    """
    return {
        "queue_depth": max(0, heartbeat.queue_depth - delivered),
        "app_version": heartbeat.app_version,
        "reported_seq": heartbeat.last_seq,
        "quarantined": heartbeat.quarantined,
        "last_tap_at": _corrected(heartbeat.last_tap_at, offset_seconds, skew_seconds),
    }


def _corrected(moment: datetime | None, offset_seconds: float, skew_seconds: float) -> datetime | None:
    """A kiosk-clock time on the server's clock when the kiosk's clock is off by more than ``skew_seconds``."""
    if moment is None or abs(offset_seconds) <= skew_seconds:
        return moment
    try:
        return moment + timedelta(seconds=offset_seconds)
    except OverflowError:  # a clock near year 1 or 9999: the kiosk's own value is all there is
        return moment


def clock_offset(received_at: datetime, sent_at: datetime) -> float:
    """Seconds the kiosk's clock is behind the server's (negative: ahead), as judged at send time."""
    return (received_at - sent_at).total_seconds()


def record_heartbeat(
    engine: Engine,
    kiosk_id: str,
    ping: HeartbeatPing,
    *,
    skew_seconds: float = 120.0,
    received_at: datetime | None = None,
) -> None:
    """Store an idle kiosk's heartbeat: last seen, queue, version, reported seq, quarantined, last tap, clock
    offset (``skew_seconds`` as in :func:`heartbeat_values`)."""
    values = heartbeat_update(ping, skew_seconds, received_at or datetime.now(UTC))
    with engine.begin() as conn:
        conn.execute(update(kiosks).where(kiosks.c.id == kiosk_id).values(**values))


def heartbeat_update(ping: HeartbeatPing, skew_seconds: float, received_at: datetime) -> dict[str, Any]:
    """The kiosk-row columns an idle kiosk's heartbeat sets: :func:`heartbeat_values`, last seen and clock offset."""
    offset = clock_offset(received_at, ping.sent_at)
    values = heartbeat_values(ping.heartbeat, offset, skew_seconds)
    values.update(last_seen_at=received_at, clock_offset_seconds=offset)
    return values


def count_received(conn: Connection, kiosk_id: str, seqs: list[int]) -> None:
    """Add newly stored taps (their seqs) to the kiosk's ``received`` and ``max_seq``, in SQL, in ``conn``'s
    transaction, so concurrent batches on several instances add up exactly."""
    if not seqs:
        return
    greatest = func.greatest if conn.dialect.name == "postgresql" else func.max  # SQLite's 2-argument max
    conn.execute(
        update(kiosks)
        .where(kiosks.c.id == kiosk_id)
        .values(received=kiosks.c.received + len(seqs), max_seq=greatest(kiosks.c.max_seq, max(seqs)))
    )


def list_kiosks(conn: Connection, *, location_id: int | None = None) -> list[KioskOut]:
    """Every kiosk (or those of one location), by location then id, with its health and missing taps."""
    query = select(kiosks).order_by(kiosks.c.location_id, kiosks.c.id)
    if location_id is not None:
        query = query.where(kiosks.c.location_id == location_id)
    return [_kiosk_out(row) for row in conn.execute(query)]


def _kiosk_out(row: Any) -> KioskOut:
    return KioskOut(
        kiosk_id=row.id,
        name=row.name,
        location_id=row.location_id,
        last_seen_at=row.last_seen_at,
        last_sync_at=row.last_sync_at,
        queue_depth=row.queue_depth,
        app_version=row.app_version,
        clock_offset_seconds=row.clock_offset_seconds,
        received=row.received,
        max_seq=row.max_seq,
        reported_seq=row.reported_seq,
        quarantined=row.quarantined,
        last_tap_at=row.last_tap_at,
        missing=missing_taps(
            max_seq=row.max_seq,
            received=row.received,
            reported_seq=row.reported_seq,
            queue_depth=row.queue_depth,
            quarantined=row.quarantined,
        ),
        revoked=row.revoked_at is not None,
        retired=row.retired_at is not None,
        successor_id=row.successor_id,
    )
