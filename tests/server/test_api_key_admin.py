"""API keys after they are made (issue #14), on SQLite and PostgreSQL: a key notes when it was last used (at most one
write a minute per key), ``apikey list`` shows name, scope, created and last used but never a key, and a revoked key
gets exactly the 401 an unknown one gets. The CLI runs in-process (tests.support.cli) on a SQLite file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from server import NotFound
from server.auth import keys
from server.auth.tokens import API_KEY_PREFIX, new_secret
from server.db import api_keys
from tests.support.cli import cli_runner


def make_key(engine: Engine, name: str = "BI export", scope: str = "read") -> str:
    with engine.begin() as conn:
        return keys.create_api_key(conn, name=name, scope=scope)


def last_used(engine: Engine, key_id: int = 1) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(select(api_keys.c.last_used_at).where(api_keys.c.id == key_id)).scalar()


def get(client, key: str):
    return client.get("/api/v1/locations", headers={"Authorization": f"Bearer {key}"})


def test_a_key_notes_its_last_use_at_most_once_a_minute(client, engine: Engine) -> None:
    key = make_key(engine)
    assert last_used(engine) is None

    assert get(client, key).status_code == 200
    first = last_used(engine)
    assert first is not None and datetime.now(UTC) - first < timedelta(seconds=30)
    assert get(client, key).status_code == 200
    assert last_used(engine) == first  # within the minute: no second write

    with engine.begin() as conn:
        conn.execute(update(api_keys).values(last_used_at=first - timedelta(minutes=2)))
    assert get(client, key).status_code == 200
    assert (again := last_used(engine)) is not None and again >= first


def test_a_revoked_key_gets_the_same_401_as_an_unknown_one(client, engine: Engine) -> None:
    key = make_key(engine)
    assert get(client, key).status_code == 200
    with engine.begin() as conn:
        revoked = keys.revoke_api_key(conn, 1)
    assert revoked.revoked_at is not None

    refused, unknown = get(client, key), get(client, new_secret(API_KEY_PREFIX))

    assert refused.status_code == unknown.status_code == 401
    assert refused.json() == unknown.json()
    assert refused.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"] == "Bearer"


def test_list_shows_every_key_without_the_key_and_revoking_twice_changes_nothing(engine: Engine) -> None:
    make_key(engine, "BI export")
    make_key(engine, "Config robot", "admin")
    with engine.begin() as conn:
        first = keys.revoke_api_key(conn, 2)
        again = keys.revoke_api_key(conn, 2)
        listed = keys.list_api_keys(conn)
    assert first.revoked_at == again.revoked_at
    assert [(k.id, k.name, k.scope, k.revoked_at is not None) for k in listed] == [
        (1, "BI export", "read", False),
        (2, "Config robot", "admin", True),
    ]


def test_revoking_an_unknown_key_is_not_found(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(NotFound, match="API key 7 does not exist"):
        keys.revoke_api_key(conn, 7)


def test_apikey_list_and_revoke_print_ids_names_scopes_and_dates_never_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = cli_runner(tmp_path, monkeypatch)
    made = json.loads(run("apikey", "create", "--name", "BI export", "--json").stdout)["key"]
    run("apikey", "create", "--name", "Config robot", "--admin")

    listed = run("apikey", "list", "--json")
    revoked = run("apikey", "revoke", "1", "--json")
    human = run("apikey", "list")

    assert listed.exit_code == revoked.exit_code == human.exit_code == 0, listed.output + revoked.output
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["name"], r["scope"], r["last_used"], r["revoked"]) for r in rows] == [
        (1, "BI export", "read", None, None),
        (2, "Config robot", "admin", None, None),
    ]
    assert all(r["created"].endswith("Z") for r in rows) and set(rows[0]) == {
        "id", "name", "scope", "created", "last_used", "revoked"
    }  # fmt: skip
    assert json.loads(revoked.stdout)["revoked"].endswith("Z")
    assert "1: 'BI export' (read)" in human.stdout and "revoked" in human.stdout and "last used never" in human.stdout
    for output in (listed.stdout, revoked.stdout, human.stdout):
        assert made not in output and API_KEY_PREFIX not in output
    assert run("apikey", "revoke", "9").exit_code == 2
