"""A database made by the first migration, with taps in it, upgrades to head without losing a tap.

Head is whatever the migration scripts say it is today; the test never names it.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Column, Connection, Engine, MetaData, Table, inspect, select

from server.app import create_app
from server.auth.tokens import hash_secret
from server.db import (
    MIGRATIONS_DIR,
    current_revision,
    daily_rollups,
    kiosks,
    locations,
    make_engine,
    report_runs,
    rollups,
    score_rollups,
    subscriptions,
    taps,
    upgrade,
    users,
    webhooks,
)
from server.ingest import SCORE_KEY
from server.settings import Settings
from tests.support.rollups import score_rollups_of, score_sums_of, stored_score_rollups, stored_score_sums

FIRST = "0001"
TOKEN = "spk_migration-test-token"
TAPS = 250


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations must have one head, not {heads}"
    return heads[0]


def _as_at(conn: Connection, table: Table) -> Table:
    """``table`` restricted to the columns the database has now (an older revision has fewer)."""
    present = {column["name"] for column in inspect(conn).get_columns(table.name)}
    columns = [Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns if c.name in present]
    return Table(table.name, MetaData(), *columns)


def _old_taps(location_id: int) -> list[dict[str, Any]]:
    start = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # across the Oslo DST change
    rows = []
    for seq in range(1, TAPS + 1):
        at = start + timedelta(minutes=7 * seq)
        rows.append(
            {
                "id": uuid.uuid4(), "kiosk_id": "k-old", "location_id": location_id, "seq": seq,
                "question_id": "main" if seq % 5 else "toilets", "scale": 5, "score": 1 + seq % 5,
                "tapped_at": at, "effective_at": at, "local_date": date(2026, 3, 28 + seq * 7 // 1440),
                "local_hour": (22 + seq * 7 // 60) % 24, "mono_ns": seq * 1_000_000, "boot_id": "boot-old",
                "followup": "queue" if seq % 7 == 0 else None, "comment": "très bien ☺" if seq % 11 == 0 else None,
                "flags": "repeat" if seq % 13 == 0 else "", "received_at": at + timedelta(seconds=3),
            }
        )  # fmt: skip
    return rows


@pytest.fixture
def first_revision_engine(empty_database_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    upgrade(engine, FIRST)
    yield engine
    engine.dispose()


def test_a_first_revision_database_with_taps_upgrades_to_head_with_no_tap_lost(first_revision_engine):
    engine = first_revision_engine
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with engine.begin() as conn:
        location_id = conn.execute(
            _as_at(conn, locations).insert().values(name="Old Gate", timezone="Europe/Oslo", scale=5, created_at=now)
        ).inserted_primary_key[0]
        conn.execute(
            _as_at(conn, kiosks).insert(),
            {"id": "k-old", "location_id": location_id, "name": "lane 1", "token_hash": hash_secret(TOKEN),
             "created_at": now},
        )  # fmt: skip
        sent = _old_taps(location_id)
        conn.execute(_as_at(conn, taps).insert(), sent)
        conn.execute(
            _as_at(conn, rollups).insert(),
            [{"location_id": location_id, "question_id": "main", "local_date": date(2026, 3, 29), "local_hour": 9,
              "scale": 5, "score": s, "count": 10 * s} for s in range(1, 6)],
        )  # fmt: skip
        columns = list(sent[0])
    assert current_revision(engine) == FIRST

    upgrade(engine)

    assert current_revision(engine) == _head()
    with engine.connect() as conn:
        stored = {row.id: dict(row._mapping) for row in conn.execute(select(*(taps.c[c] for c in columns)))}
        counts = conn.execute(select(rollups.c.score, rollups.c.count).order_by(rollups.c.score)).all()
        daily = {tuple(r)[:-1]: r.count for r in conn.execute(select(daily_rollups))}
    assert stored == {row["id"]: row for row in sent}
    assert [tuple(r) for r in counts] == [(s, 10 * s) for s in range(1, 6)]
    # The daily rollups are filled from the taps already stored, repeat presses left out as ingest does.
    expected = Counter(
        (
            *(r[name] for name in ("location_id", "question_id", "local_date", "kiosk_id", "scale", "score")),
            r["followup"] or "",
            "kiosk",  # every tap before web touchpoints came from a kiosk
        )
        for r in sent
        if r["flags"] != "repeat"
    )
    assert daily == dict(expected)
    assert sum(daily.values()) == TAPS - TAPS // 13
    # The score rollups hold the same counted taps per day, ISO week and month (0011), and their sums per day and
    # week (0012).
    assert stored_score_rollups(engine) == dict(score_rollups_of(r for r in sent if r["flags"] != "repeat"))
    assert stored_score_sums(engine) == score_sums_of(r for r in sent if r["flags"] != "repeat")


def test_0012_sums_the_day_and_week_score_rollups_with_nps_promoters_and_detractors(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0011")
        with engine.begin() as conn:
            inserted = conn.execute(
                _as_at(conn, locations).insert().values(name="Gate", timezone="Europe/Oslo", scale=11,
                                                         created_at=datetime(2026, 3, 1, tzinfo=UTC))
            ).inserted_primary_key  # fmt: skip
            assert inserted is not None
            location_id = inserted[0]
            rows = [
                {"location_id": location_id, "question_id": "main", "local_date": date(2026, 3, 27 + i % 5),
                 "scale": 11 if i % 3 else 5, "score": i % 11 if i % 3 else 1 + i % 5,
                 "channel": "web" if i % 4 == 0 else "kiosk"}
                for i in range(200)
            ]  # fmt: skip
            conn.execute(
                _as_at(conn, score_rollups).insert(),
                [dict(zip(SCORE_KEY, key, strict=True), count=n) for key, n in score_rollups_of(rows).items()],
            )
        upgrade(engine)

        expected = score_sums_of(rows)
        assert stored_score_sums(engine) == expected
        assert {grain for _, _, grain, *_ in expected} == {"day", "week"}
        assert sum(promoters for _, _, promoters, _ in expected.values()) == 2 * sum(
            r["scale"] == 11 and r["score"] >= 9 for r in rows
        )  # each tap once in its day and once in its week
    finally:
        engine.dispose()


def test_an_upgraded_database_serves_the_old_kiosk_and_keeps_counting(
    first_revision_engine, empty_database_url, tmp_path, tap, make_batch
):
    with first_revision_engine.begin() as conn:
        location_id = conn.execute(
            _as_at(conn, locations).insert().values(name="Old Gate", timezone="Europe/Oslo", scale=5,
                                                    created_at=datetime(2026, 3, 1, tzinfo=UTC))
        ).inserted_primary_key[0]  # fmt: skip
        conn.execute(
            _as_at(conn, kiosks).insert(),
            {"id": "k-old", "location_id": location_id, "name": "lane 1", "token_hash": hash_secret(TOKEN),
             "created_at": datetime(2026, 3, 1, tzinfo=UTC)},
        )  # fmt: skip
        conn.execute(_as_at(conn, taps).insert(), _old_taps(location_id)[:10])

    app = create_app(Settings(data_dir=tmp_path, database_url=empty_database_url))  # migrates to head
    with TestClient(app) as client:
        body = client.post(
            "/api/v1/taps", json=make_batch([tap(), tap()]), headers={"Authorization": f"Bearer {TOKEN}"}
        ).json()

    assert (body["accepted"], body["duplicates"]) == (2, 0)
    with first_revision_engine.connect() as conn:
        assert len(conn.execute(select(taps.c.id)).all()) == 12


def _downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _report_runs(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(report_runs.c.subscription_id, report_runs.c.period_start))]


def _insert(conn: Connection, table: Table, **values: Any) -> int:
    """Insert one row; its id."""
    key = conn.execute(table.insert().values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def test_report_webhooks_migrate_both_ways_without_resending_a_report(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0006")
    now, week = datetime(2026, 3, 1, tzinfo=UTC), date(2026, 2, 23)
    report = {"kind": "report", "period": "week", "at_time": "08:00", "created_at": now}
    with engine.begin() as conn:
        location_id = _insert(conn, locations, name="Gate", timezone="Europe/Oslo", scale=5, created_at=now)
        user_id = _insert(conn, _as_at(conn, users), email="ops@example.com", password_hash="x", role="admin",
                          created_at=now)  # fmt: skip
        by_mail = _insert(conn, _as_at(conn, subscriptions), user_id=user_id, location_id=location_id, **report)
        conn.execute(report_runs.insert().values(subscription_id=by_mail, period_start=week, created_at=now))

    upgrade(engine)
    assert _report_runs(engine) == [(by_mail, week)]
    with engine.begin() as conn:
        hook = _insert(conn, webhooks, url="https://hooks.example.net/x", format="json", created_at=now)
        to_hook = _insert(conn, subscriptions, user_id=user_id, location_id=location_id, webhook_id=hook, **report)
        conn.execute(report_runs.insert().values(subscription_id=to_hook, period_start=week, created_at=now))

    _downgrade(engine, "0006")

    with engine.connect() as conn:
        assert "webhook_id" not in {c["name"] for c in inspect(conn).get_columns("subscriptions")}
        left = conn.execute(select(subscriptions.c.id)).scalars().all()
    assert left == [by_mail]  # the webhook's subscription does not turn into an e-mail one
    assert _report_runs(engine) == [(by_mail, week)]  # so last week's report is not sent again
    upgrade(engine)
    assert current_revision(engine) == _head()
    engine.dispose()


def test_processes_upgrading_a_new_database_at_once_all_succeed(empty_database_url):
    # A server starting while an operator's first CLI command runs: each upgrades the empty database.
    script = "import sys; from server.db import make_engine, upgrade; upgrade(make_engine(sys.argv[1]))"
    processes = [
        subprocess.Popen([sys.executable, "-c", script, empty_database_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in processes]

    assert [p.returncode for p in processes] == [0] * 3, "\n".join(errors)
    engine = make_engine(empty_database_url)
    assert current_revision(engine) == _head()
    engine.dispose()
