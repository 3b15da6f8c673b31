"""Outbox recovery: a damaged outbox is moved aside, never deleted, and a new one is started in its place.

:class:`kiosk.store.Store` opens its file through :func:`open_checked` when asked to check it (the app's first
Store does; the sync worker's does not: only the first opener may move the file). The connect function it passes
runs ``PRAGMA quick_check`` (:func:`quick_check`). A file that is not a database, fails the check, or cannot be
opened at all (a folder in its place, no permission) is *moved aside* to ``outbox.db.corrupt-<UTC time>`` with its
``-wal`` / ``-shm`` / ``-journal`` (:func:`move_aside`), an ERROR is logged, and the connect function runs again on
the now empty place. Problems that are not damage (a locked database, a full disk, an I/O error, a folder that
cannot be written) are raised as they are. :func:`damage_note` is the line the status label and the admin screen
show until the next start.

SQLite deletes a WAL it cannot use when its connection closes, even after a failed open, so the side files are
copied before the first try (``<side file>.precheck``) and the copies go next to the saved outbox.

Errors: :class:`OutboxDamaged` (a ``sqlite3.DatabaseError``) from :func:`quick_check`; from :func:`open_checked`
whatever the connect function raises when it is not damage, and the damage itself (chained to the ``OSError``)
when the file cannot be moved aside (then nothing was moved: the file stays where it was, with its WAL).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

# SQLite's primary result codes for "this file is damaged" (not "busy", "full" or "I/O error").
DAMAGE_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
SIDE_FILES = ("-wal", "-shm", "-journal")
_PRECHECK = ".precheck"  # suffix of the side-file copies taken before a checked open

_Opened = TypeVar("_Opened")


class OutboxDamaged(sqlite3.DatabaseError):
    """``PRAGMA quick_check`` did not answer "ok"; the message holds its first findings."""


def quick_check(conn: sqlite3.Connection) -> None:
    """Raises OutboxDamaged unless ``PRAGMA quick_check`` says "ok" (sqlite3.DatabaseError if it cannot run)."""
    findings = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)").fetchall()]
    if findings != ["ok"]:
        raise OutboxDamaged("quick_check: " + "; ".join(findings)[:300])


def open_checked(path: Path, connect: Callable[[], _Opened]) -> tuple[_Opened, Path | None]:
    """``connect()`` the outbox at ``path``; if that fails because the file is damaged, move it aside and connect
    again. Returns what ``connect`` returned and where the damaged file was saved (None when nothing was wrong).

    Raises what ``connect`` raised for problems that are not damage, and the damage (chained to the OSError) if
    the file cannot be moved aside.
    """
    snapshots = _snapshot_side_files(path)
    try:
        opened = connect()
    except (sqlite3.Error, OSError) as error:
        if not is_damage(error, path):
            _drop_snapshots(snapshots)
            raise
        saved = move_aside(path, error, snapshots)
        log.error(
            "outbox %s was damaged (%s: %s); saved as %s, started a new empty outbox",
            path,
            type(error).__name__,
            error,
            saved,
        )
        return connect(), saved
    _drop_snapshots(snapshots)
    return opened, None


def damage_note(saved: Path | None) -> str | None:
    """The note "outbox was damaged; saved as …" for the status line, or None when nothing was moved aside."""
    return f"outbox was damaged; saved as {saved.name}" if saved is not None else None


def is_damage(error: BaseException, path: Path) -> bool:
    """Whether an error opening ``path`` means the file itself is damaged or unusable (not busy, full, I/O).

    Decided on the exception's class and SQLite result code, and on what sits at ``path``.
    """
    if isinstance(error, OutboxDamaged):
        return True
    if isinstance(error, sqlite3.Error) and getattr(error, "sqlite_errorcode", 0) & 0xFF in DAMAGE_CODES:
        return True
    return _unusable_file(path)


def _unusable_file(path: Path) -> bool:
    """Whether something sits at ``path`` that is not a file we may read and write (a folder, mode 000)."""
    if not os.path.lexists(path):
        return False
    if not path.is_file():
        return True
    try:
        os.close(os.open(path, os.O_RDWR))
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def _snapshot_side_files(path: Path) -> dict[str, Path]:
    """Copy the -wal / -shm / -journal that sit next to ``path`` (left by an unclean stop) before SQLite opens it.

    Returns suffix -> copy. Raises OSError if a copy fails.
    """
    copies: dict[str, Path] = {}
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.is_file():
            copy = side.with_name(side.name + _PRECHECK)
            shutil.copyfile(side, copy)
            copies[suffix] = copy
    return copies


def _drop_snapshots(snapshots: dict[str, Path]) -> None:
    """Remove the copies made by :func:`_snapshot_side_files` (the outbox opened fine; its files are intact)."""
    for copy in snapshots.values():
        copy.unlink(missing_ok=True)


def move_aside(path: Path, error: BaseException, snapshots: dict[str, Path]) -> Path:
    """Rename ``path`` (and its -wal / -shm / -journal) to ``<name>.corrupt-<UTC time>``; return the new path.

    ``snapshots`` (suffix -> copy taken before the failed open) go next to the copy under SQLite's names, and
    side files SQLite made meanwhile get ``-after-check``. Raises ``error`` (the reason for the move), chained to
    the OSError, if a file cannot be renamed; what was renamed is renamed back then (nothing is deleted, and the
    outbox is not replaced).
    """
    target = _free_name(path)
    moves = _planned_moves(path, target, snapshots)
    done: list[tuple[Path, Path]] = []
    for old, new in moves:
        try:
            old.rename(new)
        except OSError as failure:
            log.error("outbox %s is damaged and %s cannot be moved aside: %s", path, old, failure)
            _undo(path, done, snapshots)
            raise error from failure
        done.append((old, new))
    return target


def _free_name(path: Path) -> Path:
    """``<name>.corrupt-<UTC time>``, with ``-2``, ``-3``... when that name is taken (two in one second)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while os.path.lexists(target):
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    return target


def _planned_moves(path: Path, target: Path, snapshots: dict[str, Path]) -> list[tuple[Path, Path]]:
    """The renames, side files first: a new outbox must never pick up the old one's WAL."""
    moves: list[tuple[Path, Path]] = []
    for suffix in SIDE_FILES:
        live, saved = path.with_name(path.name + suffix), target.with_name(target.name + suffix)
        if suffix in snapshots:
            moves.append((snapshots[suffix], saved))
            saved = saved.with_name(saved.name + "-after-check")
        if os.path.lexists(live):
            moves.append((live, saved))
    moves.append((path, target))
    return moves


def _undo(path: Path, done: list[tuple[Path, Path]], snapshots: dict[str, Path]) -> None:
    """Leave the set as it was: a file without its WAL loses taps. Puts back a WAL that SQLite deleted, too."""
    for back, moved in reversed(done):
        moved.rename(back)
    for suffix, copy in snapshots.items():
        live = path.with_name(path.name + suffix)
        if not os.path.lexists(live):
            copy.rename(live)


__all__ = ["DAMAGE_CODES", "SIDE_FILES", "OutboxDamaged", "damage_note", "is_damage", "move_aside", "open_checked"]
