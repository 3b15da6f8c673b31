"""The kiosk's outbox: every tap is committed to SQLite before the customer sees "thank you".

One :class:`Store` wraps one ``sqlite_utils.Database`` (one ``sqlite3`` connection). A connection
belongs to the thread that opened it (``sqlite3`` raises ``ProgrammingError`` otherwise), so **each thread
opens its own Store on the same file**: the UI thread records taps, the sync worker reads ``pending`` and
calls ``mark_synced``.
WAL mode lets the two work side by side; ``busy_timeout`` covers the short moments when both write.

Nothing here deletes a tap. Rows only ever gain a ``synced_at`` — or a ``quarantined_at``.

**Quarantined taps**: a tap the server refused by name (a 422 naming ``taps.<i>``) is set aside with
:meth:`Store.quarantine`: kept forever with its reason, skipped by :meth:`Store.pending`, counted by
:meth:`Store.counts` and listed by :meth:`Store.quarantined`, so one bad tap cannot block the queue behind it.

**Damaged outbox**: a Store opened with ``check=True`` (the default; the app's first Store) runs
``PRAGMA quick_check`` and opens through :func:`kiosk.recovery.open_checked`, which moves a damaged or unopenable
file aside to ``outbox.db.corrupt-<UTC time>`` (with its -wal / -shm) so a new, empty outbox is made in its place;
:attr:`Store.recovered_from` names the saved copy. A damaged outbox is never deleted and never silently replaced.
Other stores of the same process (the sync worker's) open with ``check=False``: only the first opener may move
the file. How damage is told apart and moved lives in :mod:`kiosk.recovery`.

**Held taps** (a face with a follow-up question): ``record_tap(..., hold=True)`` commits the face at once
(durable), but :meth:`Store.pending` skips it until :meth:`Store.complete_tap` has written its follow-up
reason / comment / ``followup_timeout`` flag and released it. So the server receives each tap once, with its
full content, and a tap never changes after it was sent (the server would call a changed re-send a conflict).
:meth:`Store.release_holds` completes holds left by a crash as timeouts; the app calls it at start.

**Several questions** (#13): every answer is its own tap with its ``question_id`` and ``scale``; an aspect answer
of a sequence carries ``first_tap_id``, the id of the same customer's first tap. The rotation turn (which question
the next customer of a ``rotate`` location gets, :class:`kiosk.flow.KioskFlow`) is kept in the ``counters`` table,
written in the same transaction as the tap that moves it (:meth:`Store.record_tap` ``next_turn``), so it survives a
restart without a second commit on the UI thread.

The same file keeps the kiosk's **credentials** (kiosk id and token from pairing), so the file is made
readable by its owner only (mode 0600; SQLite gives its -wal and -shm files the same mode).

Errors: ``pydantic.ValidationError`` for a tap the protocol would refuse (nothing is stored then);
``LookupError`` from :meth:`Store.complete_tap` for a tap that is not held (unknown, or already completed);
``sqlite3.Error`` (e.g. ``OperationalError`` for a locked or full disk) from SQLite itself; on open,
``OSError`` / ``sqlite3.Error`` when a damaged outbox cannot be moved aside (it is left where it was) or for
problems that are not damage (a locked database, an I/O error, a folder that cannot be written).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import UUID

import sqlite_utils
from pydantic import ValidationError
from sqlite_utils.db import NotFoundError, Table

from kiosk.recovery import OutboxDamaged, open_checked, quick_check
from shared.protocol import KioskConfig, Tap

log = logging.getLogger(__name__)

FILENAME = "outbox.db"
TAPS = "taps"
CONFIG = "config"
CREDENTIALS = "credentials"
COUNTERS = "counters"
QUESTION_TURN = "question_turn"  # the rotation turn of the next customer (kiosk.flow)
FILE_MODE = 0o600  # the outbox holds the kiosk's token
_CONFIG_KEY = "kiosk"
_MARK_CHUNK = 500  # ids per UPDATE; far below SQLite's bound-parameter limit

#: Changes each time the kiosk program starts; every Store of one process shares it, so the UI thread's taps
#: and the sync worker's batches carry the same boot id (their ``mono_ns`` come from the same clock).
PROCESS_BOOT_ID = uuid.uuid4().hex

# sqlite-utils' create_table() cannot write AUTOINCREMENT. Without it SQLite may hand out the rowid of a
# deleted last row again; AUTOINCREMENT keeps the high-water mark in sqlite_sequence, so seq is never reused.
# seq IS the rowid, so it is assigned by the INSERT itself: the same statement, the same transaction.
_CREATE_TAPS = """
CREATE TABLE IF NOT EXISTS taps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    question_id TEXT NOT NULL,
    score INTEGER NOT NULL,
    scale INTEGER NOT NULL,
    tapped_at TEXT NOT NULL,
    mono_ns INTEGER NOT NULL,
    boot_id TEXT NOT NULL,
    followup TEXT,
    comment TEXT,
    flags TEXT NOT NULL DEFAULT '[]',
    synced_at TEXT,
    held INTEGER NOT NULL DEFAULT 0,
    quarantined_at TEXT,
    quarantine_reason TEXT,
    first_tap_id TEXT
)
"""
# Outbox files made before follow-up questions (#3), quarantine (#5) or several questions (#13) lack these
# columns; added on open.
_ADDED_COLUMNS = {
    "held": "ALTER TABLE taps ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
    "quarantined_at": "ALTER TABLE taps ADD COLUMN quarantined_at TEXT",
    "quarantine_reason": "ALTER TABLE taps ADD COLUMN quarantine_reason TEXT",
    "first_tap_id": "ALTER TABLE taps ADD COLUMN first_tap_id TEXT",
}
# sqlite-utils' create_index() cannot make a partial index. This one holds only unsynced rows, so `pending`
# and the pending count stay fast however many synced taps pile up, and it costs little to maintain.
_CREATE_PENDING_INDEX = "CREATE INDEX IF NOT EXISTS taps_pending ON taps (seq) WHERE synced_at IS NULL"
# The kiosk's hot path: Table.insert() introspects the table on every call; one prepared statement does not.
_INSERT_TAP = """
INSERT INTO taps (
    id, question_id, score, scale, tapped_at, mono_ns, boot_id, followup, comment, flags, first_tap_id, held
) VALUES (
    :id, :question_id, :score, :scale, :tapped_at, :mono_ns, :boot_id, :followup, :comment, :flags, :first_tap_id, :held
)
"""
_SAVE_COUNTER = "INSERT INTO counters (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
# Only a held, unsynced row may change, and only once: then it is released for sync.
_COMPLETE_TAP = """
UPDATE taps SET followup = :followup, comment = :comment, flags = :flags, held = 0
WHERE id = :id AND held = 1 AND synced_at IS NULL
"""
_TAP_COLUMNS = "seq, id, question_id, score, scale, tapped_at, mono_ns, boot_id, followup, comment, flags, first_tap_id"
_PENDING = "synced_at IS NULL AND held = 0 AND quarantined_at IS NULL"
_PENDING_WIRE = f"SELECT {_TAP_COLUMNS} FROM taps WHERE {_PENDING} AND seq > ? ORDER BY seq LIMIT ?"


@dataclass(frozen=True)
class Credentials:
    """What pairing gave this kiosk: the server that issued the token, the kiosk's id, and the token."""

    server: str
    kiosk_id: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class StoreCounts:
    """How many taps the outbox holds."""

    total: int
    pending: int
    synced: int
    held: int = 0  # part of pending: taps waiting for their follow-up answer
    quarantined: int = 0  # not pending, not synced: refused by name by the server (422), kept


@dataclass(frozen=True)
class PendingBatch:
    """The next pending taps, read for sending: their ``seq`` and ids in order, and ``taps_json``, the JSON array of
    the taps as ``POST /api/v1/taps`` carries them (what :class:`~shared.protocol.Tap` serializes to, a tap's
    ``first_tap_id`` only when set)."""

    seqs: list[int]
    ids: list[str]
    taps_json: str

    def __len__(self) -> int:
        return len(self.seqs)


@dataclass(frozen=True)
class QuarantinedTap:
    """A tap set aside after the server refused it by name, with when and why."""

    tap: Tap
    quarantined_at: datetime
    reason: str


class Store:
    """The outbox of one kiosk, on one SQLite file. Use one Store per thread (see the module docstring)."""

    def __init__(self, path: Path | str, *, boot_id: str | None = None, check: bool = True) -> None:
        """Open (and if needed create) the outbox at ``path``.

        ``check=True`` runs ``PRAGMA quick_check`` and moves a damaged or unopenable file aside (see the module
        docstring; :attr:`recovered_from` then names the saved copy). Raises sqlite3.Error or OSError if the
        file cannot be opened and was not moved aside (``check=False``, not damage, or the move failed).
        """
        self.path = Path(path)
        self.boot_id = boot_id or PROCESS_BOOT_ID
        #: Where a damaged outbox found at open was saved (a new, empty one is in use); None normally.
        self.recovered_from: Path | None = None
        if check:
            self.db, self.recovered_from = open_checked(self.path, lambda: self._connect(check=True))
        else:
            self.db = self._connect(check=False)
        self.taps: Table = self.db.table(TAPS)
        self.config: Table = self.db.table(CONFIG)

    @classmethod
    def open(cls, data_dir: Path, *, boot_id: str | None = None, check: bool = True) -> Store:
        """Open ``data_dir / "outbox.db"``, creating the folder if needed (``check`` as for :class:`Store`).

        Raises OSError if the folder cannot be created, sqlite3.Error if the database cannot be opened.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir / FILENAME, boot_id=boot_id, check=check)

    def _connect(self, *, check: bool) -> sqlite_utils.Database:
        """Open, configure, (quick-)check and migrate the file. Raises sqlite3.Error / OSError; closes on error."""
        _restrict_file(self.path)
        db = sqlite_utils.Database(self.path)
        self.db = db
        try:
            self._configure()
            if check:
                quick_check(db.conn)
            self._create_schema()
        except BaseException:
            db.close()
            raise
        return db

    def _configure(self) -> None:
        # busy_timeout first: switching to WAL needs a lock another Store may briefly hold.
        self.db.execute("PRAGMA busy_timeout = 5000")
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = FULL")

    def _create_schema(self) -> None:
        with self.db.atomic():
            self.db.execute(_CREATE_TAPS)
            self.db.execute(_CREATE_PENDING_INDEX)
            self.db.create_table(
                CONFIG,
                {"key": str, "body": str, "etag": str, "saved_at": str},
                pk="key",
                not_null=["body", "saved_at"],
                if_not_exists=True,
            )
            self.db.create_table(
                CREDENTIALS,
                {"key": str, "server": str, "kiosk_id": str, "token": str, "saved_at": str},
                pk="key",
                not_null=["server", "kiosk_id", "token", "saved_at"],
                if_not_exists=True,
            )
            self.db.create_table(COUNTERS, {"key": str, "value": int}, pk="key", not_null=["value"], if_not_exists=True)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(taps)").fetchall()}
            for column, alter in _ADDED_COLUMNS.items():
                if column not in columns:
                    log.info("outbox %s: adding the %r column", self.path, column)
                    self.db.execute(alter)

    # -- taps --------------------------------------------------------------------------------------

    def record_tap(
        self,
        score: int,
        scale: int,
        question_id: str = "main",
        *,
        followup: str | None = None,
        comment: str | None = None,
        flags: Sequence[str] = (),
        hold: bool = False,
        first_tap_id: UUID | None = None,
        next_turn: int | None = None,
    ) -> Tap:
        """Store one tap durably (committed with synchronous=FULL) and return it with its new ``seq``.

        ``hold=True`` keeps it from :meth:`pending` until :meth:`complete_tap` (a follow-up question is open).
        ``first_tap_id`` links an aspect answer to its customer's first tap; ``next_turn`` saves the rotation turn
        (:meth:`question_turn`) in the same transaction as the tap.
        Raises pydantic.ValidationError if the protocol would refuse the tap (e.g. a score outside the scale);
        nothing is stored then. Raises sqlite3.Error if SQLite cannot commit; nothing is stored then either
        (nor the turn).
        """
        # Validate before writing, with a placeholder seq: the real one comes from the INSERT.
        draft = Tap(
            id=uuid.uuid4(),
            seq=1,
            question_id=question_id,
            scale=scale,  # type: ignore[arg-type]  # validated by the model
            score=score,
            tapped_at=datetime.now(UTC),
            mono_ns=time.monotonic_ns(),
            boot_id=self.boot_id,
            followup=followup,
            comment=comment,
            flags=list(flags),  # type: ignore[arg-type]  # validated by the model
            first_tap_id=first_tap_id,
        )
        row = {**_row_from_tap(draft), "held": int(hold)}
        if next_turn is None:
            cursor = self.db.execute(_INSERT_TAP, row)  # one statement, committed by execute()
        else:
            with self.db.atomic():  # the tap and the turn it moves: one commit
                cursor = self.db.execute(_INSERT_TAP, row)
                self.db.execute(_SAVE_COUNTER, [QUESTION_TURN, next_turn])
        seq = cursor.lastrowid
        assert seq is not None  # an INSERT into a rowid table always sets it
        return draft.model_copy(update={"seq": seq})

    def complete_tap(
        self, tap_id: UUID | str, *, followup: str | None = None, comment: str | None = None, timed_out: bool = False
    ) -> Tap:
        """Write the follow-up answer of a held tap and release it for sync; return the completed tap.

        ``followup`` is a reason id, ``comment`` the customer's text (blank means none), ``timed_out`` adds the
        ``followup_timeout`` flag. Raises LookupError if no held, unsynced tap has this id (a tap never changes
        after release); pydantic.ValidationError if the protocol would refuse the result (nothing changes then);
        sqlite3.Error if SQLite cannot commit.
        """
        key = str(UUID(str(tap_id)))
        rows = list(self.taps.rows_where("id = ? AND held = 1", [key], select=_TAP_COLUMNS))
        if not rows:
            raise LookupError(f"no held tap with id {key}")
        tap = _tap_from_row(rows[0])
        flags = [*tap.flags, "followup_timeout"] if timed_out and "followup_timeout" not in tap.flags else tap.flags
        done = Tap.model_validate(
            {**tap.model_dump(), "followup": followup, "comment": (comment or "").strip() or None, "flags": flags}
        )
        params = {"id": key, "followup": done.followup, "comment": done.comment, "flags": json.dumps(done.flags)}
        if self.db.execute(_COMPLETE_TAP, params).rowcount != 1:  # released by another Store meanwhile
            raise LookupError(f"no held tap with id {key}")
        return done

    def release_holds(self) -> int:
        """Complete every held tap as a follow-up timeout (holds left by a crash); return how many.

        Raises sqlite3.Error if SQLite cannot commit.
        """
        released = 0
        for row in list(self.taps.rows_where("held = 1 AND synced_at IS NULL", select="id")):
            try:
                self.complete_tap(row["id"], timed_out=True)
            except LookupError:  # released meanwhile
                continue
            released += 1
        if released:
            log.info("released %d held tap(s) as follow-up timeouts", released)
        return released

    def question_turn(self) -> int:
        """The rotation turn of the next customer, as last saved by :meth:`record_tap`; 0 if never saved."""
        row = self.db.execute("SELECT value FROM counters WHERE key = ?", [QUESTION_TURN]).fetchone()
        return int(row[0]) if row else 0

    def held(self) -> list[Tap]:
        """Taps waiting for their follow-up answer, oldest first."""
        rows = self.taps.rows_where("held = 1 AND synced_at IS NULL", order_by="seq", select=_TAP_COLUMNS)
        return [_tap_from_row(row) for row in rows]

    def pending(self, limit: int = 1000) -> list[Tap]:
        """Unsynced taps that are neither held nor quarantined, oldest ``seq`` first, at most ``limit``.

        Raises ValueError for a limit below 1; pydantic.ValidationError if a stored row is corrupt.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        rows = self.taps.rows_where(_PENDING, order_by="seq", select=_TAP_COLUMNS, limit=limit)
        return [_tap_from_row(row) for row in rows]

    def pending_batch(self, limit: int = 1000, *, after_seq: int = 0) -> PendingBatch:
        """What :meth:`pending` returns (from ``seq`` above ``after_seq``), ready to send: the rows go to wire
        JSON without a :class:`~shared.protocol.Tap` each (the sync hot path; every row was validated when it was
        recorded, and a row the server refuses by name is quarantined). Raises ValueError for a limit below 1.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        rows = self.db.conn.execute(_PENDING_WIRE, (after_seq, limit)).fetchall()
        return PendingBatch(
            seqs=[row[0] for row in rows],
            ids=[row[1] for row in rows],
            taps_json=json.dumps([_wire_tap(row) for row in rows], ensure_ascii=False, separators=(",", ":")),
        )

    def quarantine(self, reasons: dict[UUID, str], at: datetime | None = None) -> int:
        """Set these unsynced taps aside (kept, never sent again) with a reason each; return how many changed.

        Taps already synced or quarantined, and unknown ids, are left alone. Raises sqlite3.Error.
        """
        stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat()
        changed = 0
        with self.db.atomic():
            for tap_id, reason in reasons.items():
                cursor = self.db.execute(
                    "UPDATE taps SET quarantined_at = ?, quarantine_reason = ?"
                    " WHERE id = ? AND synced_at IS NULL AND quarantined_at IS NULL",
                    [stamp, reason, str(UUID(str(tap_id)))],
                )
                changed += cursor.rowcount
        return changed

    def quarantined(self, limit: int = 100) -> list[QuarantinedTap]:
        """Quarantined taps, oldest ``seq`` first, at most ``limit``. Raises ValueError for a limit below 1."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        select = f"{_TAP_COLUMNS}, quarantined_at, quarantine_reason"
        rows = self.taps.rows_where("quarantined_at IS NOT NULL", order_by="seq", select=select, limit=limit)
        return [
            QuarantinedTap(
                tap=_tap_from_row({k: v for k, v in row.items() if k not in ("quarantined_at", "quarantine_reason")}),
                quarantined_at=datetime.fromisoformat(row["quarantined_at"]),
                reason=row["quarantine_reason"] or "",
            )
            for row in rows
        ]

    def mark_synced(self, ids: Iterable[UUID | str], at: datetime | None = None) -> int:
        """Mark the taps with these ids synced (at ``at``, default now); return how many were newly marked.

        Ids that are unknown or already synced are left alone. Raises sqlite3.Error if SQLite cannot commit.
        """
        return self._mark_synced("id", [str(UUID(str(i))) for i in ids], at)

    def mark_seqs_synced(self, seqs: Sequence[int], at: datetime | None = None) -> int:
        """:meth:`mark_synced` by ``seq`` (a :class:`PendingBatch`'s): return how many were newly marked.
        Raises sqlite3.Error if SQLite cannot commit."""
        return self._mark_synced("seq", list(seqs), at)

    def _mark_synced(self, column: str, keys: list[Any], at: datetime | None) -> int:
        """Set ``synced_at`` on the unsynced taps whose ``column`` ("id" or "seq") is one of ``keys``, in chunks of
        _MARK_CHUNK, one transaction; how many were newly marked. Raises sqlite3.Error if SQLite cannot commit."""
        stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat()
        marked = 0
        with self.db.atomic():
            for start in range(0, len(keys), _MARK_CHUNK):
                chunk = keys[start : start + _MARK_CHUNK]
                marks = ", ".join("?" * len(chunk))
                cursor = self.db.execute(
                    f"UPDATE taps SET synced_at = ? WHERE synced_at IS NULL AND {column} IN ({marks})", [stamp, *chunk]
                )
                marked += cursor.rowcount
        return marked

    def counts(self) -> StoreCounts:
        """Total, pending (held included), synced and quarantined taps, read in one consistent query."""
        # One statement, so all numbers come from one snapshot; the unsynced rows are read once, through the partial
        # index (a sync reads these with every batch, while the queue may be long).
        sql = (
            "SELECT (SELECT count(*) FROM taps),"
            " count(CASE WHEN quarantined_at IS NULL THEN 1 END),"
            " count(CASE WHEN quarantined_at IS NULL AND held = 1 THEN 1 END),"
            " count(quarantined_at)"
            " FROM taps WHERE synced_at IS NULL"
        )
        total, pending, held, quarantined = self.db.execute(sql).fetchone()
        return StoreCounts(
            total=total, pending=pending, synced=total - pending - quarantined, held=held, quarantined=quarantined
        )

    def last_seq(self) -> int | None:
        """The highest ``seq`` recorded (synced or not), or None when no tap was ever recorded."""
        row = self.db.execute("SELECT max(seq) FROM taps").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def last_tap_at(self) -> datetime | None:
        """Wall-clock time of the newest tap, or None when no tap was ever recorded."""
        for row in self.taps.rows_where(order_by="seq DESC", select="tapped_at", limit=1):
            return datetime.fromisoformat(row["tapped_at"])
        return None

    def iter_all(self) -> Iterator[Tap]:
        """Every stored tap, synced or not, in ``seq`` order (for inspection and tests)."""
        for row in self.taps.rows_where(order_by="seq", select=_TAP_COLUMNS):
            yield _tap_from_row(row)

    # -- config cache ------------------------------------------------------------------------------

    def save_config(self, config: KioskConfig, etag: str | None) -> None:
        """Cache the server's config (and its ETag) so a rebooted kiosk starts offline with it.

        Raises sqlite3.Error if SQLite cannot commit.
        """
        record = {
            "key": _CONFIG_KEY,
            "body": config.model_dump_json(),
            "etag": etag,
            "saved_at": datetime.now(UTC).isoformat(),
        }
        self.config.upsert(record, pk="key")

    def cached_config(self) -> tuple[KioskConfig, str | None] | None:
        """The last saved config and its ETag, or None if none was saved or it no longer validates."""
        try:
            row = self.config.get(_CONFIG_KEY)
        except NotFoundError:
            return None
        try:
            return KioskConfig.model_validate_json(row["body"]), row["etag"]
        except ValidationError:
            log.warning("ignoring cached kiosk config that no longer validates", exc_info=True)
            return None

    # -- credentials -------------------------------------------------------------------------------

    def save_credentials(self, server: str, kiosk_id: str, token: str) -> None:
        """Keep the kiosk id and token received by pairing (replacing earlier ones). Raises sqlite3.Error."""
        record = {
            "key": _CONFIG_KEY,
            "server": server,
            "kiosk_id": kiosk_id,
            "token": token,
            "saved_at": datetime.now(UTC).isoformat(),
        }
        self.db.table(CREDENTIALS).upsert(record, pk="key")

    def credentials(self) -> Credentials | None:
        """The saved pairing credentials, or None if the kiosk was never paired."""
        try:
            row = self.db.table(CREDENTIALS).get(_CONFIG_KEY)
        except NotFoundError:
            return None
        return Credentials(server=row["server"], kiosk_id=row["kiosk_id"], token=row["token"])

    # -- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection. Every tap was already committed by record_tap."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, boot_id={self.boot_id!r})"


def _restrict_file(path: Path) -> None:
    """Create ``path`` with mode 0600 if missing, and make an existing file 0600. Raises OSError."""
    if str(path) == ":memory:":
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    if path.stat().st_mode & 0o777 != FILE_MODE:
        path.chmod(FILE_MODE)


def _row_from_tap(tap: Tap) -> dict[str, Any]:
    return {
        "id": str(tap.id),
        "question_id": tap.question_id,
        "score": tap.score,
        "scale": tap.scale,
        "tapped_at": tap.tapped_at.astimezone(UTC).isoformat(),
        "mono_ns": tap.mono_ns,
        "boot_id": tap.boot_id,
        "followup": tap.followup,
        "comment": tap.comment,
        "flags": json.dumps(tap.flags),
        "first_tap_id": str(tap.first_tap_id) if tap.first_tap_id is not None else None,
    }


def _wire_tap(row: tuple[Any, ...]) -> dict[str, Any]:
    """A :data:`_PENDING_WIRE` row as the tap's wire object, field for field what ``Tap.model_dump_json`` writes
    (times in UTC end in ``Z``)."""
    seq, tap_id, question_id, score, scale, tapped_at, mono_ns, boot_id, followup, comment, flags, first = row
    if tapped_at.endswith("+00:00"):
        tapped_at = tapped_at[:-6] + "Z"
    wire = {
        "id": tap_id, "seq": seq, "question_id": question_id, "scale": scale, "score": score,
        "tapped_at": tapped_at, "mono_ns": mono_ns, "boot_id": boot_id, "followup": followup,
        "comment": comment, "flags": [] if flags == "[]" else json.loads(flags),
    }  # fmt: skip
    if first is not None:
        wire["first_tap_id"] = first
    return wire


def _tap_from_row(row: dict[str, Any]) -> Tap:
    return Tap.model_validate({**row, "flags": json.loads(row["flags"])})


__all__ = [
    "FILENAME",
    "PROCESS_BOOT_ID",
    "Credentials",
    "OutboxDamaged",
    "PendingBatch",
    "QuarantinedTap",
    "Store",
    "StoreCounts",
]
