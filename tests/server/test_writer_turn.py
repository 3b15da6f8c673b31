"""Writers take turns on a SQLite file (server.ingest.writer_turn): the threads of a process on a mutex and the
processes on one database (``smilepost server --workers N``) on a private lock file beside it, so a waiting writer
is woken when the lock is free instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from server.db import make_engine
from server.ingest import writer_turn


def _take_turn(url: str, trying: multiprocessing.synchronize.Event, got: multiprocessing.synchronize.Event) -> None:
    engine = make_engine(url)
    trying.set()
    with writer_turn(engine):
        got.set()


def test_another_process_waits_for_the_turn_until_it_is_given_back(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'smilepost.db'}"
    engine = make_engine(url)
    context = multiprocessing.get_context("spawn")
    trying, got = context.Event(), context.Event()
    other = context.Process(target=_take_turn, args=(url, trying, got))

    with writer_turn(engine):
        other.start()
        assert trying.wait(30)
        waited = not got.wait(0.5)  # the other process is blocked on the lock file meanwhile
    assert got.wait(30)  # and writes as soon as this one is done
    other.join(30)

    assert waited and other.exitcode == 0
    lock_file = tmp_path / "smilepost.db-writer.lock"
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_needs_no_lock_file(url: str, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with writer_turn(make_engine(url)):
        pass
    assert list(tmp_path.iterdir()) == []
