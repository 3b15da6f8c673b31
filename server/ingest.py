"""Ingest tap batches from kiosks: idempotent, atomic per batch, rollups in the same transaction.

A batch is one transaction whose first statement is a write (the kiosk's last-seen time), so on
SQLite it takes the write lock at once (no read-then-upgrade deadlock) and on PostgreSQL concurrent
deliveries from one kiosk queue on its row; concurrent deliveries of the same tap are settled by the
primary key (``ON CONFLICT DO NOTHING``). Only rows the insert
actually returned are added to the rollups and to the kiosk's completeness counts (:mod:`server.fleet`),
so a retry or a race never counts a tap twice.

Web touchpoints (:mod:`server.touchpoints`) go through the same insert and rollups with
:func:`ingest_web_batch`, where the server, not the page, decides what is a repeat.

Raises nothing of its own but InvalidInput for a web tap the page flagged ``repeat``: database errors propagate
and roll the whole batch back.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Dialect, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from server import InvalidInput
from server.auth.kiosk_tokens import KioskIdentity
from server.db import daily_rollups, filtered_rollups, kiosks, metadata, rollups, taps, touchpoints
from server.fleet import clock_offset, count_received, heartbeat_values
from server.privacy.redact import redact
from shared.protocol import SERVER_FLAGS, BatchResult, Tap, TapBatch
from shared.scores import FILTERED

# Columns that make up a tap's content as the kiosk sent it: equal -> duplicate, else conflict.
CONTENT_COLUMNS = (
    "kiosk_id", "touchpoint_id", "seq", "question_id", "scale", "score", "tapped_at",
    "mono_ns", "boot_id", "followup", "comment", "first_tap_id",
)  # fmt: skip
ROLLUP_KEY = ("location_id", "question_id", "local_date", "local_hour", "scale", "score", "channel")
DAILY_KEY = ("location_id", "question_id", "local_date", "kiosk_id", "scale", "score", "followup", "channel")
FILTERED_KEY = ("location_id", "question_id", "local_date", "kiosk_id", "why", "channel")
TIME_COLUMNS = ("tapped_at", "effective_at", "received_at")  # the aware datetimes of a taps row
KIOSK_SERVER_FLAGS = frozenset(SERVER_FLAGS)  # flags the server sets: not part of what a sender decided
WEB_SERVER_FLAGS = KIOSK_SERVER_FLAGS | {"repeat"}  # on the web channel the server also decides what is a repeat


@dataclass(frozen=True)
class Source:
    """Where a batch comes from: a kiosk (channel ``kiosk``), or a web touchpoint (channel ``web``, no kiosk)."""

    location_id: int
    timezone: ZoneInfo
    kiosk_id: str | None = None
    touchpoint_id: int | None = None

    @property
    def channel(self) -> str:
        return "kiosk" if self.touchpoint_id is None else "web"

    @classmethod
    def of(cls, sender: KioskIdentity | Source) -> Source:
        """``sender`` as a Source (a kiosk identity becomes a kiosk source)."""
        if isinstance(sender, Source):
            return sender
        return cls(location_id=sender.location_id, timezone=sender.timezone, kiosk_id=sender.kiosk_id)


def effective_time(tap: Tap, batch: TapBatch, received_at: datetime, skew_seconds: float) -> datetime | None:
    """The corrected time of a tap when the kiosk clock is off by more than ``skew_seconds``, else None.

    Whether the clock is off is judged at send time (``received_at - sent_at``), as docs/architecture.md ("Time")
    says; a per-tap monotonic check would misfire after a suspend, which CLOCK_MONOTONIC does not count.
    With the same ``boot_id`` the monotonic clock gives the tap's age at send time exactly;
    otherwise the kiosk clock's offset at send time is applied.
    Raises OverflowError when the correction falls outside the datetime range.
    """
    offset = received_at - batch.sent_at
    if abs(offset.total_seconds()) <= skew_seconds:
        return None
    if tap.boot_id == batch.boot_id and batch.mono_ns >= tap.mono_ns:
        return received_at - timedelta(microseconds=(batch.mono_ns - tap.mono_ns) // 1000)
    return tap.tapped_at + offset


def tap_row(
    tap: Tap, sender: KioskIdentity | Source, batch: TapBatch, received_at: datetime, skew_seconds: float
) -> dict[str, Any]:
    """The ``taps`` row for one tap: local date and hour in the location's zone, the comment redacted
    (:func:`server.privacy.redact.redact`), server flags added (``clock_corrected``, ``redacted``). A retry's
    comment is redacted the same way, so it compares equal to the stored one."""
    kiosk = Source.of(sender)
    try:
        corrected = effective_time(tap, batch, received_at, skew_seconds)
        effective = corrected or tap.tapped_at
        local = effective.astimezone(kiosk.timezone)
    except OverflowError:  # a kiosk clock near year 1 or 9999: only the server's clock is usable
        corrected = effective = received_at
        local = received_at.astimezone(kiosk.timezone)
    comment, redacted = redact(tap.comment)
    flags = [*tap.flags, *(["clock_corrected"] if corrected else []), *(["redacted"] if redacted else [])]
    return {
        "id": tap.id,
        "kiosk_id": kiosk.kiosk_id,
        "location_id": kiosk.location_id,
        "seq": tap.seq,
        "question_id": tap.question_id,
        "scale": tap.scale,
        "score": tap.score,
        "tapped_at": tap.tapped_at,
        "effective_at": effective,
        "local_date": local.date(),
        "local_hour": local.hour,
        "mono_ns": tap.mono_ns,
        "boot_id": tap.boot_id,
        "followup": tap.followup,
        "comment": comment,
        "flags": ",".join(flags),
        "received_at": received_at,
        "channel": kiosk.channel,
        "touchpoint_id": kiosk.touchpoint_id,
        "first_tap_id": tap.first_tap_id,
    }


def ingest_batch(engine: Engine, kiosk: KioskIdentity, batch: TapBatch, *, skew_seconds: float = 120.0) -> BatchResult:
    """Store a batch atomically and return what happened to each tap.

    New taps are inserted and counted into the rollups; ids already stored with the same content
    are duplicates, with other content conflicts (the stored row wins).
    """
    received_at = datetime.now(UTC)
    rows, repeated = _batch_rows(batch, Source.of(kiosk), received_at, skew_seconds)
    insert_new = _insert_new(engine.dialect, list(rows.values()))
    with _writer_turn(engine), engine.begin() as conn:
        if batch.heartbeat is not None or rows:
            _touch_kiosk(conn, kiosk, batch, received_at, skew_seconds)  # a write first: SQLite takes its lock now
        inserted = insert_new(conn)
        duplicates, conflicts = _classify_existing(conn, {i: r for i, r in rows.items() if i not in inserted})
        _add_to_rollups(conn, (rows[i] for i in inserted))
        count_received(conn, kiosk.kiosk_id, [rows[i]["seq"] for i in inserted])
    return _result(rows, repeated, inserted, duplicates, conflicts, received_at, KIOSK_SERVER_FLAGS)


def _batch_rows(
    batch: TapBatch, source: Source, received_at: datetime, skew_seconds: float
) -> tuple[dict[UUID, dict[str, Any]], list[dict[str, Any]]]:
    """The batch's taps rows by id, and the later copies of an id already in the batch (the first copy wins)."""
    rows: dict[UUID, dict[str, Any]] = {}
    repeated: list[dict[str, Any]] = []
    for tap in batch.taps:
        row = tap_row(tap, source, batch, received_at, skew_seconds)
        if tap.id in rows:
            repeated.append(row)
        else:
            rows[tap.id] = row
    return rows, repeated


def _result(
    rows: dict[UUID, dict[str, Any]],
    repeated: list[dict[str, Any]],
    inserted: set[UUID],
    duplicates: int,
    conflicts: list[UUID],
    received_at: datetime,
    server_flags: frozenset[str],
) -> BatchResult:
    """The answer to a batch: copies within it count as duplicates or conflicts of its first copy."""
    for row in repeated:
        if _same_content(rows[row["id"]], row, server_flags):
            duplicates += 1
        else:
            conflicts.append(row["id"])
    return BatchResult(
        accepted=len(inserted), duplicates=duplicates, conflicts=sorted(set(conflicts)), server_time=received_at
    )


def ingest_web_batch(
    engine: Engine, source: Source, batch: TapBatch, *, repeat_seconds: float, skew_seconds: float = 120.0
) -> BatchResult:
    """Store a web page's batch as :func:`ingest_batch` stores a kiosk's (idempotent by tap id, atomic, the same
    rollups), with channel ``web`` and the touchpoint, and the server deciding what is a repeat: a customer's first
    tap within ``repeat_seconds`` (effective time) of a counted first tap of the same phone (``boot_id``, the
    page's device id) at this touchpoint is stored flagged ``repeat``, and so are the further answers linked to
    it. The touchpoint's row is written first, so concurrent batches of a touchpoint take turns.

    Raises InvalidInput when the page flagged a tap ``repeat`` itself (only the server decides that).
    """
    for i, tap in enumerate(batch.taps):
        if "repeat" in tap.flags:
            raise InvalidInput(f"taps.{i}.flags: the server decides what is a repeat; send no 'repeat' flag")
    received_at = datetime.now(UTC)
    rows, repeated = _batch_rows(batch, source, received_at, skew_seconds)
    with _writer_turn(engine), engine.begin() as conn:
        touched = update(touchpoints).where(touchpoints.c.id == source.touchpoint_id)
        conn.execute(touched.values(last_seen_at=received_at))  # a write first: SQLite takes its lock now
        stored = set(conn.execute(select(taps.c.id).where(taps.c.id.in_(list(rows)))).scalars()) if rows else set()
        new = [row for tap_id, row in rows.items() if tap_id not in stored]
        _flag_web_repeats(conn, source, new, repeat_seconds)
        inserted = _insert_new(engine.dialect, new)(conn)
        existing = {i: r for i, r in rows.items() if i not in inserted}
        duplicates, conflicts = _classify_existing(conn, existing, server_flags=WEB_SERVER_FLAGS)
        _add_to_rollups(conn, (rows[i] for i in inserted))
        if inserted:
            newest = max(rows[i]["effective_at"] for i in inserted)
            last = func.coalesce(touchpoints.c.last_tap_at, newest)
            conn.execute(touched.values(
                received=touchpoints.c.received + len(inserted),
                last_tap_at=func.max(last, newest) if conn.dialect.name == "sqlite" else func.greatest(last, newest),
            ))  # fmt: skip
    return _result(rows, repeated, inserted, duplicates, conflicts, received_at, WEB_SERVER_FLAGS)


def _flag_web_repeats(conn: Connection, source: Source, new: list[dict[str, Any]], window: float) -> None:
    """Flag ``repeat`` (in place) the new first taps within ``window`` seconds of a counted first tap of the
    same device at the touchpoint (stored or earlier in ``new``, by effective time), and the answers linked to a
    repeat first tap."""
    repeats: set[UUID] = set()
    firsts = sorted((r for r in new if r["first_tap_id"] is None), key=itemgetter("effective_at"))
    if window > 0:
        reach = timedelta(seconds=window)
        by_device: dict[str, list[datetime]] = {}
        for row in firsts:
            counted = by_device.get(row["boot_id"])
            if counted is None:
                span = (firsts[0]["effective_at"] - reach, firsts[-1]["effective_at"] + reach)
                counted = by_device[row["boot_id"]] = _counted_first_taps(conn, source, row["boot_id"], span)
            at = row["effective_at"]
            if any(abs((at - other).total_seconds()) < window for other in counted):
                repeats.add(row["id"])
            else:
                counted.append(at)
    linked = {r["first_tap_id"] for r in new if r["first_tap_id"] is not None} - {r["id"] for r in new}
    if linked:
        flagged = select(taps.c.id).where(taps.c.id.in_(list(linked)), taps.c.flags.contains("repeat"))
        repeats.update(conn.execute(flagged).scalars())
    for row in new:
        if row["id"] in repeats or row["first_tap_id"] in repeats:
            row["flags"] = ",".join(filter(None, [*row["flags"].split(","), "repeat"]))


def _counted_first_taps(
    conn: Connection, source: Source, device: str, span: tuple[datetime, datetime]
) -> list[datetime]:
    """Effective times of the counted first taps a device made at the source's touchpoint within ``span`` (the
    batch's first taps, widened by the repeat window: no other stored tap can make one of them a repeat)."""
    query = select(taps.c.effective_at).where(
        taps.c.touchpoint_id == source.touchpoint_id,
        taps.c.boot_id == device,
        taps.c.effective_at.between(*span),
        taps.c.first_tap_id.is_(None),
        ~taps.c.flags.contains("repeat"),
    )
    return list(conn.execute(query).scalars())


# SQLite has one writer at a time, and a connection that finds the write lock taken sleeps in SQLite's busy
# handler (1, 2, 5 ... 100 ms), so under concurrent batches most time went to sleeping while the lock was free.
# Batches of this process take turns on a mutex instead; other processes still meet at the busy handler.
# Only waiting changes: correctness stays with the database's transaction.
_SQLITE_WRITER = threading.Lock()


def _writer_turn(engine: Engine) -> AbstractContextManager[Any]:
    """This process's turn to write, on SQLite (where only one writer proceeds anyway); nothing elsewhere."""
    return _SQLITE_WRITER if engine.dialect.name == "sqlite" else nullcontext()


@functools.cache
def _upsert_statement(dialect_name: str, table_name: str, key: tuple[str, ...]) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE SET count = count + excluded.count`` for a rollup table, built
    once per process (building it cost more than executing it)."""
    table = metadata.tables[table_name]
    stmt = (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
    return stmt.on_conflict_do_update(index_elements=list(key), set_={"count": table.c.count + stmt.excluded.count})


def _insert_new(dialect: Dialect, rows: Sequence[dict[str, Any]]) -> Callable[[Connection], set[UUID]]:
    """Prepare the insert of rows whose id is not stored yet: returns ``insert(conn)``, which inserts them
    inside the batch's transaction and returns the ids actually inserted.

    This is the hot path of the server, so the rows go to the driver in one call, bypassing
    per-value bind processing (which cost three times the insert itself), and the driver's parameters
    are built here, before the transaction takes its lock, so that concurrent batches wait less:
    PostgreSQL — one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (id) DO NOTHING RETURNING id``,
    rows in id order, so concurrent batches sharing taps lock them in the same order and one waits for
    the other instead of deadlocking; SQLite — the transaction already holds the write lock
    (:func:`_touch_kiosk` ran first), so the ids already stored are read and the others inserted with
    one ``executemany``.
    """
    if not rows:
        return lambda _conn: set()
    columns = list(rows[0])
    if dialect.name == "postgresql":
        return _insert_new_postgresql(dialect, columns, sorted(rows, key=lambda row: row["id"].int))
    return _insert_new_sqlite(columns, rows)


def _insert_new_postgresql(
    dialect: Dialect, columns: list[str], rows: Sequence[dict[str, Any]]
) -> Callable[[Connection], set[UUID]]:
    # Binary parameters (%b): psycopg's text array dumper quotes and escapes every element in Python.
    arrays = ", ".join(f"%b::{taps.c[name].type.compile(dialect=dialect)}[]" for name in columns)
    names = ", ".join(columns)
    sql = (
        f"INSERT INTO taps ({names}) SELECT {names} FROM unnest({arrays}) WITH ORDINALITY AS t({names}, n)"
        " ORDER BY n ON CONFLICT (id) DO NOTHING RETURNING id"
    )
    # Times in UTC: PostgreSQL refuses offsets beyond ±15:59 that a kiosk may send.
    params = tuple(
        [row[name].astimezone(UTC) for row in rows] if name in TIME_COLUMNS else [row[name] for row in rows]
        for name in columns
    )
    return lambda conn: set(conn.exec_driver_sql(sql, params).scalars())


def _sqlite_time(value: datetime) -> str:
    """An aware datetime as SQLAlchemy stores it on SQLite: naive UTC, microseconds always written."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


# How SQLAlchemy's types store these tap columns on SQLite: ISO dates and times (and Uuid as 32 hex digits,
# ``UUID.hex``, which _insert_new_sqlite applies itself: ids do not repeat, so caching them would not pay).
_SQLITE_STORAGE: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(TIME_COLUMNS, _sqlite_time),
    "local_date": date.isoformat,
    "first_tap_id": lambda value: value.hex if value is not None else None,
}


def _insert_new_sqlite(columns: list[str], rows: Sequence[dict[str, Any]]) -> Callable[[Connection], set[UUID]]:
    values_of = itemgetter(*columns)
    id_index = columns.index("id")
    hexes = [row["id"].hex for row in rows]
    storage = [(i, convert) for i, name in enumerate(columns) if (convert := _SQLITE_STORAGE.get(name))]
    params: list[tuple[Any, ...]] = []
    seen: dict[Any, Any] = {}  # received_at is one value per batch, effective_at mostly tapped_at
    for h, row in zip(hexes, rows, strict=True):
        values = list(values_of(row))
        values[id_index] = h
        for i, convert in storage:
            value = values[i]
            if (text := seen.get(value)) is None:
                text = seen[value] = convert(value)
            values[i] = text
        params.append(tuple(values))
    # The driver's own SQL, ids as stored: no per-value bind processing here either.
    select_stored = f"SELECT id FROM taps WHERE id IN ({', '.join('?' * len(hexes))})"
    insert = f"INSERT INTO taps ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"

    def insert_new(conn: Connection) -> set[UUID]:
        stored = {h for (h,) in conn.exec_driver_sql(select_stored, tuple(hexes))}
        new = [i for i, h in enumerate(hexes) if h not in stored]
        if new:
            conn.exec_driver_sql(insert, [params[i] for i in new])
        return {rows[i]["id"] for i in new}

    return insert_new


def _classify_existing(
    conn: Connection, rows: dict[UUID, dict[str, Any]], *, server_flags: frozenset[str] = KIOSK_SERVER_FLAGS
) -> tuple[int, list[UUID]]:
    """Count ids stored with identical content (duplicates) and list those with other content."""
    if not rows:
        return 0, []
    columns = [taps.c.id, *(taps.c[name] for name in CONTENT_COLUMNS), taps.c.flags]
    stored = conn.execute(select(*columns).where(taps.c.id.in_(list(rows)))).all()
    duplicates, conflicts = 0, []
    for row in stored:
        if _same_content(row._mapping, rows[row.id], server_flags):
            duplicates += 1
        else:
            conflicts.append(row.id)
    return duplicates, conflicts


def _same_content(stored: Any, sent: dict[str, Any], server_flags: frozenset[str] = KIOSK_SERVER_FLAGS) -> bool:
    """Whether a stored tap equals a sent one in everything its sender decided (flags the server sets aside)."""
    kiosk_flags = {f for f in stored["flags"].split(",") if f and f not in server_flags}
    sent_flags = {f for f in sent["flags"].split(",") if f and f not in server_flags}
    return kiosk_flags == sent_flags and all(stored[name] == sent[name] for name in CONTENT_COLUMNS)


def filtered_why(flags: str) -> str | None:
    """Why a tap with these stored flags is left out of the figures (the first of :data:`FILTERED` it carries),
    or None when it counts."""
    present = flags.split(",")
    return next((why for why in FILTERED if why in present), None)


def _add_to_rollups(conn: Connection, inserted: Iterable[dict[str, Any]]) -> None:
    """Increment the hourly and daily rollups by the newly inserted taps that count, and the filtered rollup
    by those left out (by why), so every stored press is counted once somewhere."""
    for table, key, counts in rollup_counts(inserted):
        _upsert_counts(conn, table, key, counts)


def rollup_counts(rows: Iterable[dict[str, Any]]) -> list[tuple[Table, tuple[str, ...], Counter[tuple[Any, ...]]]]:
    """What ``taps`` rows add to each rollup table: (table, its key columns, count per key). The taps that count go
    to the hourly and daily rollups, those left out to the filtered rollup (by why)."""
    counted: list[dict[str, Any]] = []
    filtered: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        keyed = {**row, "kiosk_id": row["kiosk_id"] or "", "followup": row["followup"] or ""}  # key columns
        if (why := filtered_why(row["flags"])) is None:
            counted.append(keyed)
        else:
            filtered[itemgetter(*FILTERED_KEY)({**keyed, "why": why})] += 1
    return [
        (rollups, ROLLUP_KEY, Counter(map(itemgetter(*ROLLUP_KEY), counted))),
        (daily_rollups, DAILY_KEY, Counter(map(itemgetter(*DAILY_KEY), counted))),
        (filtered_rollups, FILTERED_KEY, filtered),
    ]


def _upsert_counts(conn: Connection, table: Any, key: tuple[str, ...], counts: Counter[tuple[Any, ...]]) -> None:
    """Add ``counts`` to ``table``'s count column, creating the rows that do not exist yet (in key order)."""
    if not counts:
        return
    values = [dict(zip(key, k, strict=True), count=n) for k, n in sorted(counts.items())]
    conn.execute(_upsert_statement(conn.dialect.name, table.name, key), values)


def _touch_kiosk(
    conn: Connection, kiosk: KioskIdentity, batch: TapBatch, received_at: datetime, skew_seconds: float
) -> None:
    """Last seen and synced, clock offset and the batch's heartbeat. The kiosk counted the batch's taps in its
    queue; the batch is delivered once this transaction commits (the kiosk marks them synced on the answer), so
    the queue stored is what the kiosk holds after it — 0 after a drain — with no extra request per sync."""
    values: dict[str, Any] = {
        "last_seen_at": received_at,
        "last_sync_at": received_at,
        "clock_offset_seconds": clock_offset(received_at, batch.sent_at),
    }
    if batch.heartbeat is not None:
        delivered = len({tap.id for tap in batch.taps})
        values.update(heartbeat_values(batch.heartbeat, values["clock_offset_seconds"], skew_seconds, delivered))
    conn.execute(update(kiosks).where(kiosks.c.id == kiosk.kiosk_id).values(**values))
