"""What a server process does once it has built its app (server.app): the objects alive after start-up are kept out
of the garbage collector's later passes, so tap batches do not rescan them, and young objects are collected less
often, so a large page is not rescanned while it is built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import GC_THRESHOLDS, create_worker_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process builds many apps: leave nothing frozen behind
    gc.set_threshold(*thresholds)


def test_a_worker_process_freezes_what_start_up_left_alive(unfrozen, monkeypatch, tmp_path: Path, database_url):
    monkeypatch.setenv("SMILEPOST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SMILEPOST_DATABASE_URL", database_url)
    assert gc.get_freeze_count() == 0

    create_worker_app()

    assert gc.get_freeze_count() > 10_000  # the modules, the app and its routes
    assert gc.get_threshold() == GC_THRESHOLDS != (700, 10, 10)  # Python's default
