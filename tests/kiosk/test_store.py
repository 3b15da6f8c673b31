"""The outbox on a real SQLite file: durability, seq, pending, mark_synced, config cache, pragmas. (A damaged
outbox moved aside at start: test_recovery.py.)"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from pydantic import ValidationError

from kiosk.store import FILENAME, Store, StoreCounts
from tests.support.kiosk_config import make_config

REPO = Path(__file__).resolve().parents[2]


def test_open_creates_data_dir_and_outbox_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "a" / "b"
    with Store.open(data_dir) as store:
        assert store.path == data_dir / FILENAME
    assert (data_dir / FILENAME).is_file()


def test_tap_is_there_after_reopening_the_file(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        tap = store.record_tap(4, 5, followup="queue", comment="fast", flags=["repeat"])
    with Store.open(tmp_path) as reopened:
        assert list(reopened.iter_all()) == [tap]


def test_tap_is_visible_to_another_process_as_soon_as_record_tap_returns(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        tap = store.record_tap(2, 3)
        reader = (
            "import json, sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
            "print(json.dumps(c.execute('select id, score, scale, seq from taps').fetchall()))"
        )
        out = subprocess.run(
            [sys.executable, "-c", reader, str(store.path)], capture_output=True, text=True, check=True
        )
    assert json.loads(out.stdout) == [[str(tap.id), 2, 3, 1]]


def test_record_tap_returns_the_validated_tap_with_current_boot_and_utc_time(store: Store) -> None:
    before = datetime.now(UTC)
    tap = store.record_tap(5, 5, "entrance")
    assert (tap.score, tap.scale, tap.question_id, tap.boot_id) == (5, 5, "entrance", store.boot_id)
    assert before <= tap.tapped_at <= datetime.now(UTC)
    offset = tap.tapped_at.utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert tap.flags == [] and tap.followup is None


def test_seq_strictly_increases_and_is_never_reused_after_deletes(store: Store) -> None:
    seqs = [store.record_tap(3, 5).seq for _ in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    # The store never deletes; simulate an operator deleting the newest rows by hand.
    store.db.execute("DELETE FROM taps WHERE seq >= 4")
    assert store.record_tap(3, 5).seq == 6


def test_seq_continues_after_reopen(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.record_tap(1, 3)
        store.record_tap(2, 3)
    with Store.open(tmp_path) as store:
        assert store.record_tap(3, 3).seq == 3


@pytest.mark.parametrize(
    ("score", "scale"),
    [(0, 5), (6, 5), (4, 3), (11, 11), (-1, 11), (3, 6)],
)
def test_record_tap_with_invalid_score_raises_and_stores_nothing(store: Store, score: int, scale: int) -> None:
    with pytest.raises(ValidationError):
        store.record_tap(score, scale)
    assert store.counts() == StoreCounts(total=0, pending=0, synced=0)
    assert store.record_tap(1, 3).seq == 1  # and no seq was burnt


def test_record_tap_with_unknown_flag_raises(store: Store) -> None:
    with pytest.raises(ValidationError):
        store.record_tap(3, 5, flags=["bogus"])
    assert store.counts().total == 0


def test_pending_is_oldest_first_and_respects_limit(store: Store) -> None:
    taps = [store.record_tap(score, 5) for score in (5, 1, 4, 2, 3)]
    assert [t.id for t in store.pending(3)] == [t.id for t in taps[:3]]
    assert store.pending() == taps


def test_pending_rejects_limit_below_one(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.pending(0)


def test_mark_synced_marks_only_the_given_ids(store: Store) -> None:
    taps = [store.record_tap(3, 5) for _ in range(4)]
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert store.mark_synced([taps[1].id, str(taps[3].id)], at=at) == 2
    assert store.pending() == [taps[0], taps[2]]
    rows = {r["id"]: r["synced_at"] for r in store.db.query("select id, synced_at from taps")}
    assert rows == {
        str(taps[0].id): None,
        str(taps[1].id): "2026-11-22T10:00:00+00:00",
        str(taps[2].id): None,
        str(taps[3].id): "2026-11-22T10:00:00+00:00",
    }


def test_mark_synced_counts_only_newly_marked_rows(store: Store) -> None:
    tap = store.record_tap(3, 5)
    assert store.mark_synced([tap.id]) == 1
    assert store.mark_synced([tap.id, "6f1c2e1a-0000-4000-8000-000000000000"]) == 0


def test_mark_synced_handles_more_ids_than_one_statement_takes(store: Store) -> None:
    taps = [store.record_tap(3, 5) for _ in range(1200)]
    assert store.mark_synced(t.id for t in taps) == 1200
    assert store.counts() == StoreCounts(total=1200, pending=0, synced=1200)


def test_counts_and_last_tap_at(store: Store) -> None:
    assert store.last_tap_at() is None
    first, second, last = (store.record_tap(3, 5) for _ in range(3))
    store.mark_synced([first.id])
    assert store.counts() == StoreCounts(total=3, pending=2, synced=1)
    assert store.last_tap_at() == last.tapped_at


def test_synced_taps_are_kept(store: Store) -> None:
    taps = [store.record_tap(3, 5) for _ in range(3)]
    store.mark_synced(t.id for t in taps)
    assert list(store.iter_all()) == taps


def test_pending_uses_the_partial_index(store: Store) -> None:
    plan = list(store.db.query("EXPLAIN QUERY PLAN SELECT * FROM taps WHERE synced_at IS NULL ORDER BY seq"))
    assert "taps_pending" in plan[0]["detail"]


def test_config_cache_round_trip_survives_reopen(tmp_path: Path) -> None:
    config = make_config(scale=3, thank_you_seconds=2.5, texts={"de": {"question": "Wie war es?"}})
    with Store.open(tmp_path) as store:
        assert store.cached_config() is None
        store.save_config(make_config(), '"v1"')
        store.save_config(config, '"v2"')
    with Store.open(tmp_path) as store:
        assert store.cached_config() == (config, '"v2"')


def test_config_cache_without_etag(store: Store) -> None:
    store.save_config(make_config(), None)
    assert store.cached_config() == (make_config(), None)


def test_cached_config_that_no_longer_validates_is_ignored(store: Store) -> None:
    store.save_config(make_config(), '"v1"')
    store.db.execute("UPDATE config SET body = '{\"scale\": 7}'")
    assert store.cached_config() is None


def test_wal_synchronous_full_and_busy_timeout_are_set(store: Store) -> None:
    assert next(store.db.query("PRAGMA journal_mode"))["journal_mode"] == "wal"
    assert next(store.db.query("PRAGMA synchronous"))["synchronous"] == 2  # FULL
    assert next(store.db.query("PRAGMA busy_timeout"))["timeout"] == 5000


def test_boot_id_is_shared_within_a_process_unless_given(tmp_path: Path) -> None:
    with Store.open(tmp_path) as a, Store.open(tmp_path) as b, Store.open(tmp_path, boot_id="boot-2") as c:
        assert a.boot_id == b.boot_id != c.boot_id == "boot-2"
        assert len(a.boot_id) == 32


def test_boot_id_changes_with_each_program_start(tmp_path: Path) -> None:
    code = "from kiosk.store import Store; import sys; print(Store(sys.argv[1]).boot_id)"
    ids = {
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "o.db")],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(ids) == 2


def test_store_is_bound_to_the_thread_that_opened_it(store: Store) -> None:
    import sqlite3
    import threading

    errors: list[BaseException] = []

    def use() -> None:
        try:
            store.record_tap(3, 5)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], sqlite3.ProgrammingError)


def test_two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    with Store.open(tmp_path) as ui, Store.open(tmp_path) as worker:
        tap = ui.record_tap(4, 5)
        assert worker.pending() == [tap]
        assert worker.mark_synced([tap.id]) == 1
        assert ui.counts().synced == 1


# -- held taps (follow-up questions, #3) -------------------------------------------------------------------


def test_held_tap_is_durable_but_not_pending_until_completed(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        plain = store.record_tap(3, 5)
        held = store.record_tap(1, 5, hold=True)
        assert [t.id for t in store.pending()] == [plain.id]
        assert store.counts() == StoreCounts(total=2, pending=2, synced=0, held=1)
    with Store.open(tmp_path) as reopened:  # the face itself survived: it is committed
        assert [t.id for t in reopened.held()] == [held.id]
        done = reopened.complete_tap(held.id, followup="queue_time")
        assert (done.id, done.seq, done.score, done.followup, done.flags) == (held.id, 2, 1, "queue_time", [])
        assert [(t.id, t.followup) for t in reopened.pending()] == [(plain.id, None), (held.id, "queue_time")]
        assert reopened.counts().held == 0


def test_complete_tap_with_comment_and_with_timeout(store: Store) -> None:
    a = store.record_tap(5, 5, hold=True)
    b = store.record_tap(2, 5, flags=["repeat"], hold=True)
    store.complete_tap(a.id, comment="  Friendly staff  ")
    store.complete_tap(b.id, timed_out=True)
    assert [(t.comment, t.followup, t.flags) for t in store.pending()] == [
        ("Friendly staff", None, []),
        (None, None, ["repeat", "followup_timeout"]),
    ]


def test_a_tap_never_changes_after_release(store: Store) -> None:
    held = store.record_tap(1, 3, hold=True)
    plain = store.record_tap(2, 3)
    store.complete_tap(held.id, followup="rude")
    with pytest.raises(LookupError):
        store.complete_tap(held.id, followup="slow")  # second answer: refused, first one kept
    with pytest.raises(LookupError):
        store.complete_tap(plain.id, followup="slow")  # never held
    with pytest.raises(LookupError):
        store.complete_tap("6f1c2a4e-0000-4000-8000-000000000000")
    assert [t.followup for t in store.iter_all()] == ["rude", None]


def test_complete_tap_refuses_what_the_protocol_refuses_and_keeps_the_hold(store: Store) -> None:
    held = store.record_tap(1, 5, hold=True)
    with pytest.raises(ValidationError):
        store.complete_tap(held.id, comment="x" * 501)
    with pytest.raises(ValidationError):
        store.complete_tap(held.id, followup="x" * 65)
    assert [t.id for t in store.held()] == [held.id] and store.pending() == []


def test_release_holds_completes_crash_leftovers_as_timeouts(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        first = store.record_tap(1, 5, hold=True)
        store.record_tap(4, 5)
        second = store.record_tap(5, 5, hold=True)
    # the program "crashed" here; the next start releases both
    with Store.open(tmp_path) as restarted:
        assert restarted.release_holds() == 2
        assert restarted.release_holds() == 0
        pending = {t.id: t.flags for t in restarted.pending()}
    assert pending[first.id] == ["followup_timeout"] and pending[second.id] == ["followup_timeout"]
    assert len(pending) == 3


def test_outbox_from_before_holds_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE taps (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            question_id TEXT NOT NULL, score INTEGER NOT NULL, scale INTEGER NOT NULL, tapped_at TEXT NOT NULL,
            mono_ns INTEGER NOT NULL, boot_id TEXT NOT NULL, followup TEXT, comment TEXT,
            flags TEXT NOT NULL DEFAULT '[]', synced_at TEXT);
        INSERT INTO taps (id, question_id, score, scale, tapped_at, mono_ns, boot_id)
            VALUES ('6f1c2a4e-0000-4000-8000-000000000001', 'main', 2, 5, '2026-11-22T09:58:00+00:00', 1, 'b1');
        """
    )
    old.commit()
    old.close()
    with Store.open(tmp_path) as store:
        assert [t.score for t in store.pending()] == [2]  # the old tap is not held
        held = store.record_tap(4, 5, hold=True)
        assert [t.id for t in store.held()] == [held.id]
        assert store.counts() == StoreCounts(total=2, pending=2, synced=0, held=1)


# -- credentials ---------------------------------------------------------------------------------------------


def test_credentials_round_trip_and_replace(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        assert store.credentials() is None
        store.save_credentials("http://a:8000", "k-1", "secret-1")
        store.save_credentials("http://b:8000", "k-2", "secret-2")
    with Store.open(tmp_path) as reopened:
        creds = reopened.credentials()
    assert creds is not None
    assert (creds.server, creds.kiosk_id, creds.token) == ("http://b:8000", "k-2", "secret-2")
    assert "secret" not in repr(creds)


def test_outbox_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.touch(mode=0o644)
    path.chmod(0o644)
    with Store.open(tmp_path) as store:
        store.save_credentials("http://a", "k", "t")
        store.record_tap(3, 5)
        modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes[FILENAME] == 0o600
    assert all(mode == 0o600 for name, mode in modes.items() if name.startswith(FILENAME)), modes


# -- quarantine (#5) -----------------------------------------------------------------------------------------


def test_quarantined_tap_is_kept_skipped_by_pending_and_counted(store: Store) -> None:
    taps = [store.record_tap(s, 5) for s in (1, 2, 3)]
    at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert store.quarantine({taps[1].id: "HTTP 422 taps.1.score: bad"}, at=at) == 1
    assert [t.id for t in store.pending()] == [taps[0].id, taps[2].id]
    assert store.counts() == StoreCounts(total=3, pending=2, synced=0, held=0, quarantined=1)
    [entry] = store.quarantined()
    assert (entry.tap, entry.quarantined_at, entry.reason) == (taps[1], at, "HTTP 422 taps.1.score: bad")
    assert [t.id for t in store.iter_all()] == [t.id for t in taps]  # nothing deleted
    store.mark_synced([taps[0].id, taps[2].id])
    assert store.counts() == StoreCounts(total=3, pending=0, synced=2, held=0, quarantined=1)


def test_quarantine_leaves_synced_quarantined_and_unknown_taps_alone(store: Store) -> None:
    a, b = store.record_tap(1, 5), store.record_tap(2, 5)
    store.mark_synced([a.id])
    assert store.quarantine({b.id: "first"}) == 1
    assert store.quarantine({a.id: "x", b.id: "second", UUID(int=7): "y"}) == 0
    assert [(q.tap.id, q.reason) for q in store.quarantined()] == [(b.id, "first")]
    assert store.counts() == StoreCounts(total=2, pending=0, synced=1, held=0, quarantined=1)


def test_quarantined_listing_is_oldest_first_and_limited(store: Store) -> None:
    taps = [store.record_tap(3, 5) for _ in range(4)]
    store.quarantine({t.id: f"r{i}" for i, t in enumerate(reversed(taps))})
    assert [q.tap.seq for q in store.quarantined(limit=3)] == [1, 2, 3]
    with pytest.raises(ValueError):
        store.quarantined(limit=0)


def test_last_seq_is_the_highest_seq_synced_or_not(store: Store) -> None:
    assert store.last_seq() is None
    taps = [store.record_tap(3, 5) for _ in range(3)]
    store.mark_synced([t.id for t in taps])
    assert store.last_seq() == 3


def test_outbox_from_before_quarantine_is_migrated_and_keeps_its_taps(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE taps (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            question_id TEXT NOT NULL, score INTEGER NOT NULL, scale INTEGER NOT NULL, tapped_at TEXT NOT NULL,
            mono_ns INTEGER NOT NULL, boot_id TEXT NOT NULL, followup TEXT, comment TEXT,
            flags TEXT NOT NULL DEFAULT '[]', synced_at TEXT, held INTEGER NOT NULL DEFAULT 0);
        INSERT INTO taps (id, question_id, score, scale, tapped_at, mono_ns, boot_id, held) VALUES
            ('6f1c2a4e-0000-4000-8000-000000000001', 'main', 2, 5, '2026-11-22T09:58:00+00:00', 1, 'b1', 0),
            ('6f1c2a4e-0000-4000-8000-000000000002', 'main', 4, 5, '2026-11-22T09:59:00+00:00', 2, 'b1', 0);
        """
    )
    old.commit()
    old.close()
    with Store.open(tmp_path) as store:
        columns = {row[1] for row in store.db.execute("PRAGMA table_info(taps)").fetchall()}
        assert {"held", "quarantined_at", "quarantine_reason"} <= columns
        [first, second] = store.pending()
        assert store.quarantine({first.id: "HTTP 422 taps.0.score: bad"}) == 1
        assert [t.id for t in store.pending()] == [second.id]
        assert store.counts() == StoreCounts(total=2, pending=1, synced=0, held=0, quarantined=1)


# -- several questions (#13) ---------------------------------------------------------------------------------


def test_each_answer_is_its_own_tap_with_question_scale_and_link(store: Store) -> None:
    first = store.record_tap(2, 5)
    aspect = store.record_tap(9, 11, "recommend", first_tap_id=first.id)
    assert (aspect.question_id, aspect.scale, aspect.first_tap_id) == ("recommend", 11, first.id)
    assert [(t.question_id, t.scale, t.score, t.first_tap_id) for t in store.pending()] == [
        ("main", 5, 2, None),
        ("recommend", 11, 9, first.id),
    ]
    held = store.record_tap(1, 3, "staff", first_tap_id=first.id, hold=True)
    assert store.complete_tap(held.id, followup="rude").first_tap_id == first.id  # kept through the follow-up
    assert [t.first_tap_id for t in store.pending()][-1] == first.id


def test_the_rotation_turn_is_saved_with_its_tap_and_survives_a_restart(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        assert store.question_turn() == 0
        store.record_tap(4, 5, next_turn=1)
        store.record_tap(2, 3, "staff", next_turn=2)
        store.record_tap(2, 3, "staff", flags=["repeat"])  # a repeat leaves the turn alone
        assert store.question_turn() == 2
        with pytest.raises(ValidationError):
            store.record_tap(7, 3, "staff", next_turn=3)  # refused: neither the tap nor the turn is stored
    with Store.open(tmp_path) as reopened:
        assert reopened.question_turn() == 2
        assert reopened.counts().total == 3


def test_a_turn_is_not_saved_when_its_tap_cannot_be_committed(store: Store) -> None:
    store.record_tap(4, 5, next_turn=1)
    store.db.execute("CREATE TRIGGER no_more BEFORE INSERT ON taps BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(sqlite3.IntegrityError):
        store.record_tap(4, 5, next_turn=2)
    assert (store.question_turn(), store.counts().total) == (1, 1)


def test_outbox_from_before_several_questions_is_migrated_and_keeps_its_taps(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE taps (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            question_id TEXT NOT NULL, score INTEGER NOT NULL, scale INTEGER NOT NULL, tapped_at TEXT NOT NULL,
            mono_ns INTEGER NOT NULL, boot_id TEXT NOT NULL, followup TEXT, comment TEXT,
            flags TEXT NOT NULL DEFAULT '[]', synced_at TEXT, held INTEGER NOT NULL DEFAULT 0,
            quarantined_at TEXT, quarantine_reason TEXT);
        INSERT INTO taps (id, question_id, score, scale, tapped_at, mono_ns, boot_id) VALUES
            ('6f1c2a4e-0000-4000-8000-000000000001', 'main', 2, 5, '2026-11-22T09:58:00+00:00', 1, 'b1');
        """
    )
    old.commit()
    old.close()
    with Store.open(tmp_path) as store:
        [before] = store.pending()
        assert (before.score, before.first_tap_id) == (2, None)
        assert store.question_turn() == 0
        linked = store.record_tap(8, 11, "recommend", first_tap_id=before.id, next_turn=1)
        assert [t.first_tap_id for t in store.pending()] == [None, before.id]
        assert (linked.seq, store.question_turn()) == (2, 1)
