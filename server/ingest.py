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

import fcntl
import functools
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Dialect, Engine, Table, func, select, update

from server import InvalidInput
from server.analytics.grains import GRAINS, start_of
from server.auth.kiosk_tokens import KioskIdentity
from server.db import (
    daily_rollups,
    filtered_rollups,
    kiosks,
    metadata,
    rollups,
    score_rollups,
    score_sums,
    taps,
    touchpoints,
)
from server.fleet import clock_offset, count_received, heartbeat_values
from server.privacy.redact import redact
from shared.protocol import SERVER_FLAGS, BatchResult, Tap, TapBatch
from shared.scores import FILTERED, NPS_SCALE, negative_scores, positive_scores

# Columns that make up a tap's content as the kiosk sent it: equal -> duplicate, else conflict.
CONTENT_COLUMNS = (
    "kiosk_id", "touchpoint_id", "seq", "question_id", "scale", "score", "tapped_at",
    "mono_ns", "boot_id", "followup", "comment", "first_tap_id",
)  # fmt: skip
ROLLUP_KEY = ("location_id", "question_id", "local_date", "local_hour", "scale", "score", "channel")
DAILY_KEY = ("location_id", "question_id", "local_date", "kiosk_id", "scale", "score", "followup", "channel")
FILTERED_KEY = ("location_id", "question_id", "local_date", "kiosk_id", "why", "channel")
SCORE_KEY = ("location_id", "question_id", "grain", "local_date", "scale", "score", "channel")
SUMS_KEY = ("location_id", "question_id", "grain", "local_date", "scale", "channel")
SUM_GRAINS = ("day", "week")  # the spans a trend line is drawn in (server.analytics.summaries.default_granularity)
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


def clock_is_off(batch: TapBatch, received_at: datetime, skew_seconds: float) -> bool:
    """Whether the batch's sender clock was off by more than ``skew_seconds`` at send time (its taps' times are
    then corrected: :func:`effective_time`)."""
    return abs((received_at - batch.sent_at).total_seconds()) > skew_seconds


def tap_row(
    tap: Tap,
    sender: KioskIdentity | Source,
    batch: TapBatch,
    received_at: datetime,
    skew_seconds: float,
    *,
    clock_off: bool | None = None,
) -> dict[str, Any]:
    """The ``taps`` row for one tap: local date and hour in the location's zone, the comment redacted
    (:func:`server.privacy.redact.redact`), server flags added (``clock_corrected``, ``redacted``). A retry's
    comment is redacted the same way, so it compares equal to the stored one. ``clock_off`` is
    :func:`clock_is_off` for the batch when the caller worked it out once for all its taps."""
    kiosk = Source.of(sender)
    try:
        corrected = None if clock_off is False else effective_time(tap, batch, received_at, skew_seconds)
        effective = corrected or tap.tapped_at
        local = effective.astimezone(kiosk.timezone)
    except OverflowError:  # a kiosk clock near year 1 or 9999: only the server's clock is usable
        corrected = effective = received_at
        local = received_at.astimezone(kiosk.timezone)
    comment, redacted = redact(tap.comment)
    flags: Sequence[str] = tap.flags
    if corrected or redacted:
        flags = [*flags, *(["clock_corrected"] if corrected else []), *(["redacted"] if redacted else [])]
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
    dialect = engine.dialect.name
    writes = rollup_writes(dialect, rows.values())  # if every tap is new (the common case): built before the lock
    with writer_turn(engine), engine.begin() as conn:
        if batch.heartbeat is not None or rows:
            _touch_kiosk(conn, kiosk, batch, received_at, skew_seconds)  # a write first: SQLite takes its lock now
        inserted = insert_new(conn)
        new, existing = _split(rows, inserted)
        duplicates, conflicts = _classify_existing(conn, existing)
        _add_to_rollups(conn, writes if len(new) == len(rows) else rollup_writes(dialect, new))
        count_received(conn, kiosk.kiosk_id, [row["seq"] for row in new])
    return _result(rows, repeated, inserted, duplicates, conflicts, received_at, KIOSK_SERVER_FLAGS)


def _batch_rows(
    batch: TapBatch, source: Source, received_at: datetime, skew_seconds: float
) -> tuple[dict[UUID, dict[str, Any]], list[dict[str, Any]]]:
    """The batch's taps rows by id, and the later copies of an id already in the batch (the first copy wins)."""
    rows: dict[UUID, dict[str, Any]] = {}
    repeated: list[dict[str, Any]] = []
    clock_off = clock_is_off(batch, received_at, skew_seconds)
    for tap in batch.taps:
        row = tap_row(tap, source, batch, received_at, skew_seconds, clock_off=clock_off)
        if rows.setdefault(tap.id, row) is not row:
            repeated.append(row)
    return rows, repeated


def _split(
    rows: dict[UUID, dict[str, Any]], inserted: set[UUID]
) -> tuple[list[dict[str, Any]], dict[UUID, dict[str, Any]]]:
    """The rows inserted, and the others by id (already stored)."""
    if len(inserted) == len(rows):  # all new, the common case: no id looked up again (a UUID hashes in Python)
        return list(rows.values()), {}
    return [rows[i] for i in inserted], {i: row for i, row in rows.items() if i not in inserted}


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
    with writer_turn(engine), engine.begin() as conn:
        touched = update(touchpoints).where(touchpoints.c.id == source.touchpoint_id)
        conn.execute(touched.values(last_seen_at=received_at))  # a write first: SQLite takes its lock now
        stored = set(conn.execute(select(taps.c.id).where(taps.c.id.in_(list(rows)))).scalars()) if rows else set()
        new = [row for tap_id, row in rows.items() if tap_id not in stored]
        _flag_web_repeats(conn, source, new, repeat_seconds)
        inserted = _insert_new(engine.dialect, new)(conn)
        existing = {i: r for i, r in rows.items() if i not in inserted}
        duplicates, conflicts = _classify_existing(conn, existing, server_flags=WEB_SERVER_FLAGS)
        _add_to_rollups(conn, rollup_writes(conn.dialect.name, (rows[i] for i in inserted)))
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
# Writers take turns instead: the threads of a process on a mutex, then the processes on one database (``smilepost
# server --workers N``) on an flock of ``<database>-writer.lock``, so they queue in the kernel and each is woken the
# moment the lock is free. Only waiting changes: correctness stays with the database's transaction.
_SQLITE_WRITER = threading.Lock()


@contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """This thread's turn to write, on a SQLite file (where only one writer proceeds anyway), among the threads of
    this process and the other processes on the same file; nothing on PostgreSQL or an in-memory database. The lock
    file (mode 0600) is opened for the turn and closed after it, so no descriptor outlives a database.

    Raises OSError when the lock file beside the database cannot be created (the data folder is not writable: the
    database could not be written either)."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    with _SQLITE_WRITER:
        descriptor = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the flock


@functools.cache
def _upsert_sql(dialect_name: str, table_name: str, key: tuple[str, ...]) -> str:
    """The driver's own ``INSERT ... ON CONFLICT (key) DO UPDATE SET count = count + excluded.count`` (each value
    column added) for a rollup table: the same SQL on SQLite and PostgreSQL but for the placeholder."""
    values = value_columns(metadata.tables[table_name], key)
    columns = (*key, *values)
    marks = ", ".join(["%s" if dialect_name == "postgresql" else "?"] * len(columns))
    added = ", ".join(f"{name} = {table_name}.{name} + excluded.{name}" for name in values)
    return (
        f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({marks})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {added}"
    )


def _insert_new(dialect: Dialect, rows: Sequence[dict[str, Any]]) -> Callable[[Connection], set[UUID]]:
    """Prepare the insert of rows whose id is not stored yet: returns ``insert(conn)``, which inserts them
    inside the batch's transaction and returns the ids actually inserted.

    This is the hot path of the server, so the rows go to the driver in one call, bypassing
    per-value bind processing (which cost three times the insert itself), and the driver's parameters
    are built here, before the transaction takes its lock, so that concurrent batches wait less:
    PostgreSQL — one ``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (id) DO NOTHING RETURNING id``,
    rows in id order, so concurrent batches sharing taps lock them in the same order and one waits for
    the other instead of deadlocking; SQLite — one ``executemany`` of ``INSERT ... ON CONFLICT (id) DO NOTHING``,
    the parameters built column by column; the transaction already holds the write lock (:func:`_touch_kiosk`
    ran first), so when fewer rows went in than were sent, the new ones are those above the highest rowid before.
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
    # Times in UTC: PostgreSQL refuses offsets beyond ±15:59 that a kiosk may send.
    values = {
        name: [row[name].astimezone(UTC) for row in rows] if name in TIME_COLUMNS else [row[name] for row in rows]
        for name in columns
    }
    # A column with one value in the whole batch (the kiosk, location and receive time always, often the question,
    # scale and boot) goes as one parameter, not an array: psycopg dumps array elements one by one in Python.
    arrays = [name for name in columns if name == "id" or values[name].count(values[name][0]) < len(rows)]
    constants = [name for name in columns if name not in arrays]
    # Binary parameters (%b): psycopg's text array dumper quotes and escapes every element in Python.
    sql_type = {name: taps.c[name].type.compile(dialect=dialect) for name in columns}
    picked = ", ".join(name if name in arrays else f"%b::{sql_type[name]}" for name in columns)
    unnest = ", ".join(f"%b::{sql_type[name]}[]" for name in arrays)
    sql = (
        f"INSERT INTO taps ({', '.join(columns)}) SELECT {picked} FROM unnest({unnest}) WITH ORDINALITY"
        f" AS t({', '.join(arrays)}, n) ORDER BY n ON CONFLICT (id) DO NOTHING RETURNING id"
    )
    params = (*(values[name][0] for name in constants), *(values[name] for name in arrays))
    return lambda conn: set(conn.exec_driver_sql(sql, params).scalars())


def _sqlite_time(value: datetime) -> str:
    """An aware datetime as SQLAlchemy stores it on SQLite: naive UTC, microseconds always written."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # the offset cut off: years are always 4 digits


def _sqlite_columns(columns: list[str], rows: Sequence[dict[str, Any]], hexes: list[str]) -> list[list[Any]]:
    """The rows' values column by column, as SQLAlchemy's types store them on SQLite: ISO dates and times (naive
    UTC), Uuid as 32 hex digits (``hexes``: the ids')."""
    by_name: dict[str, list[Any]] = {name: [row[name] for row in rows] for name in columns}
    by_name["id"] = hexes
    tapped = by_name["tapped_at"]
    texts = by_name["tapped_at"] = [_sqlite_time(value) for value in tapped]
    by_name["effective_at"] = [  # the tapped_at object itself unless the clock was corrected
        text if effective is at else _sqlite_time(effective)
        for effective, at, text in zip(by_name["effective_at"], tapped, texts, strict=True)
    ]
    for name, convert in (("received_at", _sqlite_time), ("local_date", date.isoformat)):  # a few values a batch
        text_of = {value: convert(value) for value in set(by_name[name])}
        by_name[name] = [text_of[value] for value in by_name[name]]
    by_name["first_tap_id"] = [None if value is None else value.hex for value in by_name["first_tap_id"]]
    return [by_name[name] for name in columns]


def _insert_new_sqlite(columns: list[str], rows: Sequence[dict[str, Any]]) -> Callable[[Connection], set[UUID]]:
    hexes = [row["id"].hex for row in rows]
    params = list(zip(*_sqlite_columns(columns, rows, hexes), strict=True))
    # The driver's own SQL, ids as stored: no per-value bind processing here either.
    insert = (
        f"INSERT INTO taps ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) ON CONFLICT (id) DO NOTHING"
    )

    def insert_new(conn: Connection) -> set[UUID]:
        # The transaction holds the write lock, so the rows it inserts are the ones above the highest rowid before
        # it; they are read back only when some ids were stored already (a retry), not for every batch.
        before = conn.exec_driver_sql("SELECT max(rowid) FROM taps").scalar()
        if conn.exec_driver_sql(insert, params).rowcount == len(params):
            return {row["id"] for row in rows}
        added = {h for (h,) in conn.exec_driver_sql("SELECT id FROM taps WHERE rowid > ?", (before or 0,))}
        return {row["id"] for row, h in zip(rows, hexes, strict=True) if h in added}

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
    if not flags:  # most taps: decided without a generator (this runs for every tap ingested)
        return None
    present = flags.split(",")
    for why in FILTERED:
        if why in present:
            return why
    return None


# One rollup table's increments: the driver's upsert SQL and its rows of parameters (key, then the values).
RollupWrite = tuple[str, list[tuple[Any, ...]]]


def rollup_writes(dialect_name: str, inserted: Iterable[dict[str, Any]]) -> list[RollupWrite]:
    """What newly inserted taps rows add to the rollups (:func:`rollup_counts`), as the driver's own upserts with
    their parameters (rows in key order, dates as SQLAlchemy stores them on SQLite: ISO text). Built with no
    per-value bind processing, and for a kiosk batch before its transaction takes the write lock."""
    iso = dialect_name != "postgresql"
    return [
        (_upsert_sql(dialect_name, table.name, key), _rollup_params(counts, iso=iso))
        for table, key, counts in rollup_counts(inserted)
        if counts
    ]


def _rollup_params(counts: Counts, *, iso: bool) -> list[tuple[Any, ...]]:
    """``counts`` as rows of values (the key, then the count or sums), in key order; dates as ISO text if ``iso``."""
    return [
        (*(value.isoformat() if iso and type(value) is date else value for value in k),
         *(n if isinstance(n, tuple) else (n,)))
        for k, n in sorted(counts.items())
    ]  # fmt: skip


def _add_to_rollups(conn: Connection, writes: list[RollupWrite]) -> None:
    """Add the increments (:func:`rollup_writes`) to the hourly, daily, score and sums rollups (the taps that count)
    and the filtered rollup (those left out, by why), so every stored press is counted once somewhere."""
    for sql, params in writes:
        conn.exec_driver_sql(sql, params)


# What a batch adds to a rollup table, per key: a count, or (score_sums) a tuple of its value columns in order.
Counts = Mapping[tuple[Any, ...], int | tuple[int, ...]]


def rollup_counts(rows: Iterable[dict[str, Any]]) -> list[tuple[Table, tuple[str, ...], Counts]]:
    """What ``taps`` rows add to each rollup table: (table, its key columns, counts per key). The taps that count go
    to the hourly, daily, score and sums rollups, those left out to the filtered rollup (by why)."""
    counted: list[dict[str, Any]] = []
    filtered: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        keyed = {**row, "kiosk_id": row["kiosk_id"] or "", "followup": row["followup"] or ""}  # key columns
        if (why := filtered_why(row["flags"])) is None:
            counted.append(keyed)
        else:
            filtered[itemgetter(*FILTERED_KEY)({**keyed, "why": why})] += 1
    daily = Counter(map(itemgetter(*DAILY_KEY), counted))
    scored = score_counts(daily)
    return [
        (rollups, ROLLUP_KEY, Counter(map(itemgetter(*ROLLUP_KEY), counted))),
        (daily_rollups, DAILY_KEY, daily),
        (score_rollups, SCORE_KEY, scored),
        (score_sums, SUMS_KEY, score_sums_of(scored)),
        (filtered_rollups, FILTERED_KEY, filtered),
    ]


def score_counts(daily: Counter[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """The ``score_rollups`` counts of some ``daily_rollups`` counts (keyed by DAILY_KEY): each day's count added to
    its day, its ISO week and its month, summed over kiosks and reasons."""
    days: Counter[tuple[Any, ...]] = Counter()
    for (location_id, question_id, day, _, scale, score, _, channel), n in daily.items():
        days[location_id, question_id, day, channel, scale, score] += n
    return spread_days(days)


def spread_days(days: Counter[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """``score_rollups`` counts (keyed by SCORE_KEY) of counts keyed (location, question, local date, channel, scale,
    score): each added to its day, its ISO week and its month."""
    out: Counter[tuple[Any, ...]] = Counter()
    for (location_id, question_id, day, channel, scale, score), n in days.items():
        for grain in GRAINS:
            out[location_id, question_id, grain, start_of(day, grain), scale, score, channel] += n
    return out


def score_sums_of(scored: Mapping[tuple[Any, ...], int]) -> dict[tuple[Any, ...], tuple[int, int, int, int]]:
    """The ``score_sums`` rows (keyed by SUMS_KEY: taps, sum of scores, promoters, detractors) of ``score_rollups``
    counts (keyed by SCORE_KEY), for the grains in SUM_GRAINS; promoters and detractors only on the NPS scale."""
    promoting, detracting = positive_scores(NPS_SCALE), negative_scores(NPS_SCALE)
    out: dict[tuple[Any, ...], tuple[int, int, int, int]] = {}
    for (location_id, question_id, grain, day, scale, score, channel), n in scored.items():
        if grain in SUM_GRAINS:
            key = (location_id, question_id, grain, day, scale, channel)
            taps_, total, promoters, detractors = out.get(key, (0, 0, 0, 0))
            nps = scale == NPS_SCALE
            out[key] = (taps_ + n, total + n * score, promoters + (n if nps and score in promoting else 0),
                        detractors + (n if nps and score in detracting else 0))  # fmt: skip
    return out


@functools.cache
def value_columns(table: Table, key: tuple[str, ...]) -> tuple[str, ...]:
    """A rollup table's columns outside its key, in table order: ``count``, or score_sums' four sums."""
    return tuple(column.name for column in table.columns if column.name not in key)


def rollup_rows(table: Table, key: tuple[str, ...], counts: Counts) -> list[dict[str, Any]]:
    """``counts`` as rows of ``table`` (column -> value), in key order."""
    names = (*key, *value_columns(table, key))
    return [dict(zip(names, values, strict=True)) for values in _rollup_params(counts, iso=False)]


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
