"""Fixtures for every test folder: a real database (SQLite file or PostgreSQL), the real app, small factories, and
the markers each folder implies.

The database is chosen in exactly one place, :func:`database_url`, parametrized over SQLite and
PostgreSQL; everything else (settings, app, engine, client) derives from it, so every server test runs
on both. PostgreSQL is a private cluster started once per session (``pg_cluster``), or the server named
by ``SMILEPOST_TEST_POSTGRES_URL``; each test gets a fresh database copied from one already migrated to
head. Without PostgreSQL binaries the postgresql cases are skipped, except under ``CI``, where they fail.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select

from server.app import create_app
from server.auth import accounts, keys, kiosk_tokens
from server.db import (
    daily_rollups,
    filtered_rollups,
    kiosks,
    make_engine,
    rollups,
    score_rollups,
    score_sums,
    taps,
    upgrade,
)  # fmt: skip
from server.locations import add_location
from server.settings import Settings
from tests.support.pg_cluster import NoPostgres, ReusableDatabase, create_database, fresh_database, running_cluster

OSLO = "Europe/Oslo"


def iso(moment: datetime) -> str:
    """RFC 3339 UTC with a Z, as the kiosk sends it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- markers from folders --------------------------------------------------------------------------------------

E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/e2e is an ``e2e`` test (it starts real server processes); no test elsewhere may claim to be.

    Raises pytest.UsageError for an ``e2e`` mark outside tests/e2e.
    """
    for item in items:
        inside = item.path.is_relative_to(E2E)
        if inside:
            item.add_marker(pytest.mark.e2e)
        elif item.get_closest_marker("e2e"):
            raise pytest.UsageError(f"{item.nodeid} is marked e2e but is not in tests/e2e")


# --- database and app ------------------------------------------------------------------------


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """Admin URL of the PostgreSQL server the tests may create databases on (started here if need be)."""
    if external := os.environ.get("SMILEPOST_TEST_POSTGRES_URL"):
        yield external
        return
    try:
        with running_cluster() as url:
            yield url
    except NoPostgres as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}; CI must run the PostgreSQL tests, not skip them")
        pytest.skip(f"{exc}; the postgresql cases are skipped locally")


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> str:
    """Name of a database migrated to head, copied for each test (much quicker than migrating)."""
    name = f"smilepost_template_{uuid.uuid4().hex[:8]}"
    engine = make_engine(create_database(postgres_admin_url, name))
    upgrade(engine)
    engine.dispose()  # a template must have no open connections when it is copied
    return name


@pytest.fixture(scope="session")
def postgres_reusable(postgres_admin_url: str, postgres_template: str) -> Iterator[ReusableDatabase]:
    """This test process's PostgreSQL database at head, emptied after each test that used it."""
    database = ReusableDatabase(postgres_admin_url, postgres_template)
    yield database
    database.drop()


@pytest.fixture
def postgres_url(postgres_reusable: ReusableDatabase) -> Iterator[str]:
    """An empty PostgreSQL database at head (ids from 1), as if fresh: emptied again after the test."""
    yield postgres_reusable.url
    postgres_reusable.reset()


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A database with no schema at all, on each database kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with fresh_database(request.getfixturevalue("postgres_admin_url")) as url:
            yield url


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The one place the test database is chosen: a real SQLite file in tmp_path, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        path = tmp_path / "smilepost.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)  # migrated once per session
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test (as the PostgreSQL template is): migrating every test's
    database from scratch cost more than most tests."""
    path = tmp_path_factory.mktemp("template") / "smilepost.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with test parameters (1 pass over 8 MiB instead of 3 over 64 MiB): the same algorithm and code path,
    a fraction of the time. The production parameters are argon2-cffi's defaults (server.auth.accounts)."""
    monkeypatch.setattr(accounts, "_hasher", CHEAP_HASHER)
    monkeypatch.setattr(accounts, "_dummy_hash", functools.cache(lambda: CHEAP_HASHER.hash("nobody's password")))


CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    """Settings on the test database; no kiosk rate limit, since tests send far faster than kiosks
    (test_rate_limit.py tests the limit with its own settings), and no background worker or scheduler: tests that
    want them start them (in-process apps would otherwise evaluate and deliver behind the tests' backs)."""
    return Settings(data_dir=tmp_path, database_url=database_url, kiosk_rate_limit=0, background=False)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    return app.state.engine


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


# --- operator-side factories (server.locations, server.auth on the app's engine) -------------------------------


@pytest.fixture
def make_location(engine: Engine) -> Callable[..., int]:
    def make(*, name: str = "Gardermoen Gate 12", timezone: str = OSLO, scale: int = 5) -> int:
        with engine.begin() as conn:
            return add_location(conn, name=name, timezone=timezone, scale=scale)

    return make


@pytest.fixture
def enroll(engine: Engine) -> Callable[[int], kiosk_tokens.Enrolment]:
    def make(location_id: int) -> kiosk_tokens.Enrolment:
        with engine.begin() as conn:
            return kiosk_tokens.enroll_kiosk(conn, location_id=location_id)

    return make


@pytest.fixture
def location(make_location: Callable[..., int]) -> int:
    """An Oslo location on the 5-face scale."""
    return make_location()


@pytest.fixture
def kiosk(enroll: Callable[[int], kiosk_tokens.Enrolment], location: int) -> kiosk_tokens.Enrolment:
    return enroll(location)


@pytest.fixture
def api_key(engine: Engine) -> str:
    with engine.begin() as conn:
        return keys.create_api_key(conn, name="dashboard")


# --- wire-side factories ----------------------------------------------------------------------

BOOT = "boot-a"
BATCH_MONO_NS = 10_000_000_000_000


@pytest.fixture
def tap() -> Callable[..., dict[str, Any]]:
    """``tap(**overrides)`` -> one valid tap dict (fresh id, next seq, score 4 of 5)."""
    seqs = itertools.count(1)

    def make(**overrides: Any) -> dict[str, Any]:
        seq = next(seqs)
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "seq": seq,
            "question_id": "main",
            "scale": 5,
            "score": 4,
            "tapped_at": "2026-11-22T09:58:00Z",
            "mono_ns": BATCH_MONO_NS - 60_000_000_000 + seq * 1_000_000,
            "boot_id": BOOT,
            "followup": None,
            "comment": None,
            "flags": [],
        }
        body.update(overrides)
        return body

    return make


def batch(taps_: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    """A batch body sent now (so no clock correction happens unless sent_at is overridden)."""
    body: dict[str, Any] = {
        "sent_at": iso(datetime.now(UTC)),
        "boot_id": BOOT,
        "mono_ns": BATCH_MONO_NS,
        "taps": taps_,
    }
    body.update(overrides)
    return body


@pytest.fixture
def send(client: TestClient, kiosk: kiosk_tokens.Enrolment) -> Callable[..., Any]:
    """``send(taps, token=..., **batch_overrides)`` -> the response to POST /api/v1/taps."""

    def post(taps_: list[dict[str, Any]], *, token: str | None = None, **overrides: Any) -> Any:
        headers = {"Authorization": f"Bearer {token or kiosk.token}"}
        return client.post("/api/v1/taps", json=batch(taps_, **overrides), headers=headers)

    return post


# --- reading the database back ----------------------------------------------------------------


@pytest.fixture
def stored_taps(engine: Engine) -> Callable[[], dict[str, Any]]:
    """``stored_taps()`` -> {tap id (str): row mapping} of the taps table."""

    def read() -> dict[str, Any]:
        with engine.connect() as conn:
            return {str(row.id): row._mapping for row in conn.execute(select(taps))}

    return read


@pytest.fixture
def stored_rollups(engine: Engine) -> Callable[[], dict[tuple[Any, ...], int]]:
    """``stored_rollups()`` -> {(location, question, date, hour, scale, score): count}, all channels together."""

    def read() -> dict[tuple[Any, ...], int]:
        with engine.connect() as conn:
            rows = conn.execute(select(rollups)).all()
        counts: Counter[tuple[Any, ...]] = Counter()
        for r in rows:  # r.count would be the Sequence method a Row has; the column is its mapping's "count"
            counts[r.location_id, r.question_id, r.local_date, r.local_hour, r.scale, r.score] += r._mapping["count"]
        return dict(counts)

    return read


@pytest.fixture
def stored_daily_rollups(engine: Engine) -> Callable[[], dict[tuple[Any, ...], int]]:
    """``stored_daily_rollups()`` -> {(location, question, date, kiosk, scale, score, followup): count}, all channels
    together (a web tap's kiosk is '')."""

    def read() -> dict[tuple[Any, ...], int]:
        with engine.connect() as conn:
            rows = conn.execute(select(daily_rollups)).all()
        counts: Counter[tuple[Any, ...]] = Counter()
        for r in rows:
            counts[tuple(r)[:7]] += r._mapping["count"]  # the column, not the Sequence method
        return dict(counts)

    return read


@pytest.fixture
def kiosk_row(engine: Engine) -> Callable[[str], Any]:
    def read(kiosk_id: str) -> Any:
        with engine.connect() as conn:
            return conn.execute(select(kiosks).where(kiosks.c.id == kiosk_id)).one()

    return read


@pytest.fixture
def clear_taps(engine: Engine) -> Callable[[], None]:
    """Empty the taps and rollups tables (locations, kiosks and keys stay)."""

    def clear() -> None:
        with engine.begin() as conn:
            for table in (rollups, daily_rollups, score_rollups, score_sums, filtered_rollups, taps):
                conn.execute(delete(table))

    return clear


@pytest.fixture
def make_batch() -> Callable[..., dict[str, Any]]:
    """``make_batch(taps, **overrides)`` -> a batch body dict sent now."""
    return batch
