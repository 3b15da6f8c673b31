"""A data subject's copy (server.location_export, ``smilepost location export``): every record of one location as
JSON lines, each tap once, nothing of another location, no secrets, in a file only its owner may read."""

from __future__ import annotations

import json
import stat
from datetime import date, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Engine, func, select

from server.db import daily_rollups, kiosks, taps
from server.demo.seed import SeedResult, seed
from server.locations import configure_location
from server.touchpoints import add_touchpoint
from tests.support.cli import cli_runner

SECRETS = ("token_hash", "key_hash", "password_hash", "admin_pin_hash", "code_hash")


@pytest.fixture
def seeded(engine: Engine) -> SeedResult:
    """Two demo locations with 60 days of taps; location 1 also with a kiosk admin PIN and a web touchpoint."""
    result = seed(engine, locations=2, days=60, taps_per_day=20, rng_seed=5)
    with engine.begin() as conn:
        configure_location(conn, 1, pin="24681357")
        add_touchpoint(conn, location_id=1, name="Table 4")
    return result


@pytest.fixture
def run(tmp_path, monkeypatch, database_url):
    """``run(*args)`` -> the CLI's result on the test database."""
    invoke = cli_runner(tmp_path, monkeypatch)
    monkeypatch.setenv("SMILEPOST_DATABASE_URL", database_url)
    return invoke


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value


def test_export_has_every_tap_of_the_location_once_and_nothing_else(run, engine, seeded, tmp_path):
    out = tmp_path / "location-1.jsonl"

    result = run("location", "export", "1", "--out", str(out), "--json")

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = [record["record"] for record in records]
    assert kinds[0] == "location" and kinds.count("location") == 1
    assert kinds == sorted(kinds, key=["location", "kiosk", "touchpoint", "tap", "daily_rollup"].index)
    with engine.connect() as conn:
        stored = {str(row.id): {name: _plain(value) for name, value in row._mapping.items()}
                  for row in conn.execute(select(taps).where(taps.c.location_id == 1))}  # fmt: skip
        rollup_rows = conn.execute(select(func.count()).select_from(daily_rollups)
                                   .where(daily_rollups.c.location_id == 1)).scalar_one()  # fmt: skip
        kiosk_ids = set(conn.execute(select(kiosks.c.id).where(kiosks.c.location_id == 1)).scalars())
    exported = [{k: v for k, v in record.items() if k != "record"} for record in records if record["record"] == "tap"]
    assert len(exported) == len(stored) > 500
    assert {tap["id"]: tap for tap in exported} == stored
    assert kinds.count("daily_rollup") == rollup_rows
    assert {record["id"] for record in records if record["record"] == "kiosk"} == kiosk_ids
    assert [record["name"] for record in records if record["record"] == "touchpoint"] == ["Table 4"]
    assert all(record.get("location_id", 1) == 1 for record in records)
    assert records[0]["id"] == 1 and records[0]["config"]["repeat_press_seconds"] >= 0
    assert json.loads(result.output) == {
        "location_id": 1,
        "file": str(out),
        "records": {
            "daily_rollup": rollup_rows,
            "kiosk": len(kiosk_ids),
            "location": 1,
            "tap": len(stored),
            "touchpoint": 1,
        },
    }


def test_export_holds_no_secrets_and_is_readable_by_its_owner_only(run, engine, seeded, tmp_path):
    out = tmp_path / "location-1.jsonl"
    out.write_text("older export\n")
    out.chmod(0o644)

    result = run("location", "export", "1", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "location 1 exported to" in result.output and " tap" in result.output
    text = out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not any(secret in text for secret in SECRETS)
    with engine.connect() as conn:
        hashes = conn.execute(select(kiosks.c.token_hash)).scalars().all()
    assert hashes and not any(token_hash in text for token_hash in hashes)
    assert "older export" not in text


def test_export_of_an_unknown_location_says_so_and_writes_no_file(run, seeded, tmp_path):
    out = tmp_path / "nothing.jsonl"

    result = run("location", "export", "9", "--out", str(out))

    assert result.exit_code == 2
    assert "location 9 does not exist" in result.output
    assert not out.exists()
