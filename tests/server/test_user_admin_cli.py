"""``smilepost user list|disable|enable|passwd|delete`` in-process on a SQLite file (tests.support.cli): each has
``--json``; disabling ends the user's sessions and stops sign-in until enabled; ``passwd`` sets a new password (at
least 10 characters) and ends the sessions; delete takes the sessions, grants and subscriptions with the user; the
last active admin can be neither disabled nor deleted. The library is tested over HTTP in test_account_pages.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from server.alerts.subscriptions import subscribe_alerts
from server.auth import accounts
from server.db import make_engine, sessions, subscriptions, user_locations, users
from tests.support.cli import cli_runner, said
from tests.support.sessions import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    return cli_runner(tmp_path, monkeypatch)


@pytest.fixture
def engine(tmp_path: Path, run: Callable[..., Any]) -> Iterator[Engine]:
    """The CLI's database (migrated by a first command), with an admin and a manager of one location."""
    assert run("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo").exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'smilepost.db'}")
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
        accounts.add_user(conn, email="lane@example.com", password=PASSWORD, role="manager", location_ids=[1])
    yield engine
    engine.dispose()


def sign_in(engine: Engine, email: str, password: str = PASSWORD) -> str | None:
    """A new session's token, or None when the credentials are refused."""
    with engine.begin() as conn:
        user_id = accounts.authenticate(conn, email, password)
        return None if user_id is None else accounts.start_session(conn, user_id, lifetime=timedelta(hours=1)).token


def live(engine: Engine, token: str) -> bool:
    with engine.connect() as conn:
        return accounts.session_of(conn, token) is not None


def count(engine: Engine, table: Any, user_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(table.c.user_id == user_id)).scalar_one())


def test_user_list_json_shows_id_email_role_grants_created_and_disabled(engine: Engine, run) -> None:
    result = run("user", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [(u["id"], u["email"], u["role"], u["grants"], u["disabled"]) for u in listed] == [
        (1, "admin@example.com", "admin", {"locations": [], "groups": []}, None),
        (2, "lane@example.com", "manager", {"locations": [1], "groups": []}, None),
    ]
    assert all(u["created"].endswith("Z") for u in listed)
    assert "password" not in result.stdout and "argon2" not in result.stdout
    human = run("user", "list").stdout
    assert "lane@example.com (manager; sees location 1)" in human and "active" in human


def test_disable_ends_sessions_everywhere_and_stops_sign_in_until_enabled(engine: Engine, run) -> None:
    first, second = sign_in(engine, "lane@example.com"), sign_in(engine, "lane@example.com")
    assert first and second and live(engine, first)

    result = run("user", "disable", "LANE@example.com", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["disabled"] is not None
    assert count(engine, sessions, 2) == 0 and not live(engine, first) and not live(engine, second)
    assert sign_in(engine, "lane@example.com") is None
    assert json.loads(run("user", "enable", "lane@example.com", "--json").stdout)["disabled"] is None
    assert sign_in(engine, "lane@example.com") is not None


@pytest.mark.parametrize("command", ["disable", "delete"])
def test_the_last_active_admin_can_be_neither_disabled_nor_deleted(engine: Engine, run, command: str) -> None:
    result = run("user", command, "admin@example.com")

    assert result.exit_code == 2
    assert "it is the last active admin" in said(result)
    with engine.connect() as conn:
        assert conn.execute(select(users.c.disabled_at).where(users.c.id == 1)).one() == (None,)


def test_an_admin_can_go_once_another_admin_is_active(engine: Engine, run) -> None:
    with engine.begin() as conn:
        accounts.add_user(conn, email="second@example.com", password=PASSWORD, role="admin")
    assert run("user", "disable", "admin@example.com").exit_code == 0
    assert "last active admin" in said(run("user", "delete", "second@example.com"))  # the first is disabled
    assert run("user", "delete", "admin@example.com").exit_code == 0


def test_passwd_sets_the_new_password_and_ends_the_users_sessions(engine: Engine, run) -> None:
    token = sign_in(engine, "lane@example.com")
    result = run("user", "passwd", "lane@example.com", "--password-stdin", "--json", input=NEW_PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["email"] == "lane@example.com"
    assert token and not live(engine, token)
    assert sign_in(engine, "lane@example.com") is None
    assert sign_in(engine, "lane@example.com", NEW_PASSWORD) is not None


@pytest.mark.parametrize(("args", "stdin", "says"), [
    (["--password-stdin"], "too short\n", "at least 10 characters"),
    ([], "", "--password-stdin"),
])  # fmt: skip
def test_passwd_refuses_a_short_password_or_one_not_on_stdin(engine: Engine, run, args, stdin, says) -> None:
    result = run("user", "passwd", "lane@example.com", *args, input=stdin)

    assert result.exit_code == 2 and says in said(result)
    assert sign_in(engine, "lane@example.com") is not None


def test_delete_removes_the_user_with_sessions_grants_and_subscriptions(engine: Engine, run) -> None:
    sign_in(engine, "lane@example.com")
    with engine.begin() as conn:
        subscribe_alerts(conn, user_id=2, location_id=1)

    result = run("user", "delete", "lane@example.com", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"id": 2, "email": "lane@example.com", "deleted": True}
    assert [count(engine, table, 2) for table in (sessions, user_locations, subscriptions)] == [0, 0, 0]
    assert [u["email"] for u in json.loads(run("user", "list", "--json").stdout)] == ["admin@example.com"]


@pytest.mark.parametrize("command", ["disable", "enable", "delete"])
def test_an_unknown_user_is_named_in_the_error(engine: Engine, run, command: str) -> None:
    result = run("user", command, "nobody@example.com")

    assert result.exit_code == 2 and "no user nobody@example.com" in said(result)
