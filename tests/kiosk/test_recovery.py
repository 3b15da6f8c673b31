"""A damaged outbox at start (kiosk.recovery, through Store.open): moved aside as outbox.db.corrupt-<UTC> with its
WAL and SHM, never deleted, a new empty outbox in its place; problems that are not damage are raised as they are."""

from __future__ import annotations

import os
import random
import re
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from kiosk.recovery import OutboxDamaged, damage_note, is_damage, open_checked, quick_check
from kiosk.store import FILENAME, Store, StoreCounts

# -- damaged outbox at start (#5) ----------------------------------------------------------------------------


def corrupt_copies(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".corrupt-" in p.name)


def fill(path: Path, n: int) -> None:
    """A real outbox with ``n`` taps, written in one transaction (fast), closed and checkpointed."""
    with Store(path) as store:
        tap = store.record_tap(3, 5)
        rows = [(str(UUID(int=i + 1)), "main", 1 + i % 5, 5, tap.tapped_at.isoformat(), i, "b1") for i in range(n - 1)]
        with store.db.atomic():
            store.db.conn.executemany(
                "INSERT INTO taps (id, question_id, score, scale, tapped_at, mono_ns, boot_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )


def assert_moved_aside(tmp_path: Path, store: Store, original: bytes | None, caplog: pytest.LogCaptureFixture) -> None:
    [copy] = corrupt_copies(tmp_path)
    assert re.fullmatch(r"outbox\.db\.corrupt-\d{8}T\d{6}Z", copy), copy
    assert store.recovered_from == tmp_path / copy
    if original is not None:
        assert (tmp_path / copy).read_bytes() == original  # moved, not rewritten
    assert store.counts() == StoreCounts(total=0, pending=0, synced=0)  # a new, empty, working outbox
    assert store.record_tap(4, 5).seq == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and copy in errors[0], errors


def test_garbage_outbox_is_moved_aside_and_a_new_one_started(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    garbage = random.Random(1).randbytes(20_000)
    (tmp_path / FILENAME).write_bytes(garbage)
    with Store.open(tmp_path) as store:
        assert_moved_aside(tmp_path, store, garbage, caplog)


def test_outbox_with_a_page_overwritten_fails_quick_check_and_is_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILENAME
    fill(path, 5000)
    data = bytearray(path.read_bytes())
    assert len(data) > 200_000 and not (tmp_path / f"{FILENAME}-wal").exists()
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 4096] = random.Random(2).randbytes(4096)
    path.write_bytes(bytes(data))
    with Store.open(tmp_path) as store:
        assert_moved_aside(tmp_path, store, bytes(data), caplog)
    saved = sqlite3.connect(tmp_path / corrupt_copies(tmp_path)[0])
    try:  # the saved copy really is damaged: quick_check finds problems or cannot even run
        findings = [row[0] for row in saved.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as error:
        findings = [str(error)]
    finally:
        saved.close()
    assert findings != ["ok"]


def test_a_folder_in_place_of_the_outbox_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / FILENAME).mkdir()
    (tmp_path / FILENAME / "keep.txt").write_text("mine")
    with Store.open(tmp_path) as store:
        assert_moved_aside(tmp_path, store, None, caplog)
        assert store.recovered_from is not None
        assert (store.recovered_from / "keep.txt").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes files whatever their mode")
def test_an_unreadable_outbox_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fill(tmp_path / FILENAME, 10)
    (tmp_path / FILENAME).chmod(0)
    with Store.open(tmp_path) as store:
        assert_moved_aside(tmp_path, store, None, caplog)


def test_damaged_outbox_is_moved_with_its_wal_and_shm(tmp_path: Path) -> None:
    (tmp_path / FILENAME).write_bytes(b"not a database at all" * 100)
    (tmp_path / f"{FILENAME}-wal").write_bytes(b"old wal")
    (tmp_path / f"{FILENAME}-shm").write_bytes(b"old shm")
    with Store.open(tmp_path) as store:
        assert store.recovered_from is not None
        copy = store.recovered_from.name
        assert (tmp_path / f"{copy}-wal").read_bytes() == b"old wal"
        assert (tmp_path / f"{copy}-shm").read_bytes() == b"old shm"
        assert store.counts().total == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".precheck")]


def test_a_second_damaged_outbox_in_the_same_second_gets_its_own_name(tmp_path: Path) -> None:
    for _ in range(2):
        (tmp_path / FILENAME).write_bytes(b"garbage" * 1000)
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"{FILENAME}{suffix}").unlink(missing_ok=True)
        with Store.open(tmp_path) as store:
            assert store.recovered_from is not None
    assert len(corrupt_copies(tmp_path)) == 2


def test_healthy_outbox_is_checked_and_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fill(tmp_path / FILENAME, 100)
    with Store.open(tmp_path) as store:
        assert store.recovered_from is None
        assert store.counts().total == 100
    assert corrupt_copies(tmp_path) == []
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_without_check_a_damaged_outbox_raises_and_stays_where_it_is(tmp_path: Path) -> None:
    garbage = b"garbage" * 1000
    (tmp_path / FILENAME).write_bytes(garbage)
    with pytest.raises(sqlite3.DatabaseError):
        Store.open(tmp_path, check=False)
    assert (tmp_path / FILENAME).read_bytes() == garbage
    assert corrupt_copies(tmp_path) == []


def test_damaged_outbox_that_cannot_be_moved_raises_and_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = b"garbage" * 1000
    (tmp_path / FILENAME).write_bytes(garbage)
    (tmp_path / f"{FILENAME}-wal").write_bytes(b"old wal")
    real_rename = Path.rename

    def rename(self: Path, target: Path) -> Path:
        if self.name == FILENAME:
            raise PermissionError("read-only folder")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(sqlite3.DatabaseError):
        Store.open(tmp_path)
    assert (tmp_path / FILENAME).read_bytes() == garbage
    assert (tmp_path / f"{FILENAME}-wal").read_bytes() == b"old wal"  # renamed back with its database
    assert corrupt_copies(tmp_path) == []


def test_outbox_left_by_a_crash_with_its_wal_opens_with_every_tap(tmp_path: Path) -> None:
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    with Store.open(live) as store:
        ids = [store.record_tap(2, 5).id for _ in range(20)]
        crashed.mkdir()
        for name in (FILENAME, f"{FILENAME}-wal", f"{FILENAME}-shm"):  # the files as a power cut leaves them
            (crashed / name).write_bytes((live / name).read_bytes())
    assert (crashed / f"{FILENAME}-wal").stat().st_size > 0
    with Store.open(crashed) as reopened:
        assert reopened.recovered_from is None
        assert [t.id for t in reopened.pending()] == ids
    assert sorted(p.name for p in crashed.iterdir()) == [FILENAME]  # checkpointed; no copies left behind


# -- the rules, one by one ------------------------------------------------------------------------------------


def sqlite_error(code: int) -> sqlite3.Error:
    error = sqlite3.DatabaseError(f"SQLite result code {code}")
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("error", "damage"),
    [
        (OutboxDamaged("quick_check: page 3 is never used"), True),
        (sqlite_error(11), True),  # SQLITE_CORRUPT
        (sqlite_error(26), True),  # SQLITE_NOTADB
        (sqlite_error(11 | 256), True),  # an extended code of SQLITE_CORRUPT
        (sqlite_error(5), False),  # SQLITE_BUSY: another process holds a lock
        (sqlite_error(13), False),  # SQLITE_FULL
        (sqlite_error(10), False),  # SQLITE_IOERR
        (OSError("no space left on device"), False),
    ],
    ids=["quick-check", "corrupt", "notadb", "corrupt-extended", "busy", "full", "ioerr", "oserror"],
)
def test_damage_is_told_by_the_errors_class_and_sqlite_code(tmp_path: Path, error: BaseException, damage: bool) -> None:
    fill(tmp_path / FILENAME, 1)  # a healthy file: only the error decides
    assert is_damage(error, tmp_path / FILENAME) is damage


def test_a_folder_in_place_of_the_outbox_is_damage_whatever_the_error(tmp_path: Path) -> None:
    (tmp_path / FILENAME).mkdir()
    assert is_damage(sqlite_error(14), tmp_path / FILENAME)  # SQLITE_CANTOPEN


def test_quick_check_passes_a_healthy_outbox_and_fails_a_damaged_one(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    fill(path, 3000)
    with sqlite3.connect(path) as healthy:
        quick_check(healthy)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 4096] = bytes(4096)
    path.write_bytes(bytes(data))
    damaged = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError):  # OutboxDamaged, or SQLite itself refuses the page
            quick_check(damaged)
    finally:
        damaged.close()


def test_the_status_line_names_the_saved_copy() -> None:
    assert damage_note(None) is None
    saved = Path("/kiosk-data/outbox.db.corrupt-20261122T100000Z")
    assert damage_note(saved) == "outbox was damaged; saved as outbox.db.corrupt-20261122T100000Z"


def test_an_error_that_is_not_damage_is_raised_and_nothing_is_moved(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    fill(path, 5)
    (tmp_path / f"{FILENAME}-wal").write_bytes(b"a wal left by a crash")

    def busy() -> None:
        raise sqlite_error(5)  # SQLITE_BUSY: another process holds a lock

    with pytest.raises(sqlite3.DatabaseError, match="code 5"):
        open_checked(path, busy)
    assert corrupt_copies(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILENAME, f"{FILENAME}-wal"]  # no copies left behind
