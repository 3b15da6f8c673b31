"""What a server process does once it has built its app (server.app): the objects alive after start-up are kept out
of the garbage collector's later passes, so tap batches do not rescan them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.app import create_worker_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process builds many apps: leave nothing frozen behind


def test_a_worker_process_freezes_what_start_up_left_alive(unfrozen, monkeypatch, tmp_path: Path, database_url):
    monkeypatch.setenv("SMILEPOST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SMILEPOST_DATABASE_URL", database_url)
    assert gc.get_freeze_count() == 0

    create_worker_app()

    assert gc.get_freeze_count() > 10_000  # the modules, the app and its routes
