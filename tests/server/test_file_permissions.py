"""The server's files hold password hashes, session CSRF tokens, the PIN hash, comments and (for the demo) credentials:
only their owner may read them. The data folder Smilepost creates is 0700, the SQLite database and its ``-wal`` and
``-shm`` 0600, whatever the umask lets through otherwise. SQLite only; PostgreSQL keeps its own files.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.auth import accounts
from server.db import make_engine
from server.demo import runner as demo
from server.locations import add_location
from server.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def side_files(database: Path) -> list[Path]:
    return [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common umask 022 (files 0644, folders 0755 unless asked otherwise), whatever the test runner has."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_fresh_data_folder_its_database_and_the_wal_and_shm_files_are_private(tmp_path):
    data = tmp_path / "var" / "smilepost"
    app = create_app(Settings(data_dir=data))
    try:
        with TestClient(app) as client:
            with app.state.engine.begin() as conn:
                add_location(conn, name="Security A", timezone="Europe/Oslo")
                accounts.add_user(conn, email="boss@example.com", password="correct horse battery", role="admin")
            assert client.get("/healthz").status_code == 200
            database = data / "smilepost.db"
            wal, shm = side_files(database)
            assert wal.exists() and shm.exists()  # there while the pool keeps its connections open

            assert (mode(data), mode(database), mode(wal), mode(shm)) == (0o700, 0o600, 0o600, 0o600)
    finally:
        app.state.engine.dispose()


def test_an_existing_database_left_readable_by_an_older_version_is_made_private_with_its_side_files(tmp_path):
    database = tmp_path / "smilepost.db"
    older = sqlite3.connect(database)  # kept open, so its -wal and -shm stay
    older.execute("PRAGMA journal_mode=WAL")
    older.execute("CREATE TABLE t (x)")
    older.execute("INSERT INTO t VALUES (1)")
    older.commit()
    assert [mode(p) for p in (database, *side_files(database))] == [0o644] * 3

    engine = make_engine(f"sqlite:///{database}")
    try:
        assert [mode(p) for p in (database, *side_files(database))] == [0o600] * 3
    finally:
        engine.dispose()
        older.close()


def test_an_existing_data_folder_open_to_others_is_left_as_it_is_with_a_warning(tmp_path, caplog):
    shared, private = tmp_path / "shared", tmp_path / "private"
    shared.mkdir(mode=0o755)
    private.mkdir(mode=0o700)
    caplog.set_level(logging.WARNING, logger="server.settings")

    url = Settings(data_dir=shared).resolved_database_url
    Settings(data_dir=private).resolved_database_url  # noqa: B018

    assert url.endswith("/shared/smilepost.db") and mode(shared) == 0o755
    assert f"data folder {shared} has mode 755" in caplog.text and f"chmod 700 {shared}" in caplog.text
    assert str(private) not in caplog.text


def test_the_demo_credentials_file_is_private_in_a_private_folder(tmp_path):
    settings = Settings(data_dir=tmp_path / "demo-data")

    creds = demo.prepare_demo(settings, demo.SeedPlan(locations=1, days=1)).credentials

    path = settings.data_dir / "demo.json"
    assert json.loads(path.read_text())["token"] == creds.token
    assert (mode(settings.data_dir), mode(path)) == (0o700, 0o600)


def test_the_demo_credentials_writer_makes_its_folder_private_and_an_existing_readable_file_private(tmp_path):
    fresh = tmp_path / "new" / "demo.json"
    demo._write_private(fresh, "{}")
    old = tmp_path / "old.json"
    old.write_text("secret from before")
    assert mode(old) == 0o644

    demo._write_private(old, '{"token": "spk_x"}')

    assert (mode(fresh.parent), mode(fresh), mode(old)) == (0o700, 0o600, 0o600)
    assert old.read_text() == '{"token": "spk_x"}'
