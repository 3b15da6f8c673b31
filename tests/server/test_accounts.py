"""Dashboard accounts: users, grants through locations and groups, argon2 hashes, sessions and CSRF tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from server import InvalidInput, NotFound
from server import groups as server_groups
from server.auth import accounts
from server.db import sessions, users

PASSWORD = "correct horse battery"


@pytest.fixture
def sites(engine, make_location):
    """Two locations in the group "Oslo Airport" and one shop outside it: (group, a, b, shop)."""
    a = make_location(name="Security A")
    b = make_location(name="Security B")
    shop = make_location(name="Shop", timezone="America/New_York")
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Oslo Airport")
        server_groups.add_location(conn, group, a)
        server_groups.add_location(conn, group, b)
    return group, a, b, shop


def test_a_manager_of_a_group_sees_its_locations_plus_those_granted_directly(engine, sites):
    group, a, b, shop = sites
    with engine.begin() as conn:
        by_group = accounts.add_user(conn, email="g@example.com", password=PASSWORD, role="manager", group_ids=[group])
        direct = accounts.add_user(conn, email="d@example.com", password=PASSWORD, role="manager", location_ids=[shop])
        both = accounts.add_user(
            conn, email="b@example.com", password=PASSWORD, role="manager", group_ids=[group], location_ids=[shop]
        )
        boss = accounts.add_user(conn, email="boss@example.com", password=PASSWORD, role="admin")

        assert accounts.access_of(conn, by_group).location_ids == {a, b}
        assert accounts.access_of(conn, direct).location_ids == {shop}
        assert accounts.access_of(conn, both).location_ids == {a, b, shop}
        assert accounts.access_of(conn, boss).location_ids is None  # every location, also ones added later


def test_a_location_added_to_a_group_later_is_seen_by_its_managers(engine, sites, make_location):
    group, a, b, _ = sites
    with engine.begin() as conn:
        manager = accounts.add_user(conn, email="g@example.com", password=PASSWORD, role="manager", group_ids=[group])
    c = make_location(name="Security C")
    with engine.begin() as conn:
        server_groups.add_location(conn, group, c)
        assert accounts.access_of(conn, manager).location_ids == {a, b, c}
        server_groups.set_location_groups(conn, c, [])
        assert accounts.access_of(conn, manager).location_ids == {a, b}


def test_access_check_raises_forbidden_outside_the_granted_locations(engine, sites):
    from server import Forbidden

    group, a, _, shop = sites
    with engine.begin() as conn:
        manager = accounts.add_user(conn, email="g@example.com", password=PASSWORD, role="manager", group_ids=[group])
        access = accounts.access_of(conn, manager)
    access.check(a)
    with pytest.raises(Forbidden, match=f"location {shop}"):
        access.check(shop)


@pytest.mark.parametrize(
    ("email", "password", "role", "kwargs", "message"),
    [
        ("not-an-email", PASSWORD, "admin", {}, "not an email address"),
        ("a@example.com", "short", "admin", {}, "at least 10 characters"),
        ("a@example.com", PASSWORD, "owner", {}, "role must be one of admin, manager"),
        ("a@example.com", PASSWORD, "manager", {}, "needs at least one --location or --group"),
    ],
)
def test_add_user_rejects_bad_input_saying_what_was_expected(engine, email, password, role, kwargs, message):
    with engine.begin() as conn, pytest.raises(InvalidInput, match=message):
        accounts.add_user(conn, email=email, password=password, role=role, **kwargs)


def test_add_user_refuses_unknown_locations_and_groups_and_taken_emails(engine, location):
    with engine.begin() as conn:
        with pytest.raises(NotFound, match="location 999"):
            accounts.add_user(conn, email="a@example.com", password=PASSWORD, role="manager", location_ids=[999])
        with pytest.raises(NotFound, match="group 77"):
            accounts.add_user(conn, email="a@example.com", password=PASSWORD, role="manager", group_ids=[77])
        accounts.add_user(conn, email="a@example.com", password=PASSWORD, role="manager", location_ids=[location])
        with pytest.raises(InvalidInput, match="already exists"):
            accounts.add_user(conn, email="A@Example.com ", password=PASSWORD, role="admin")


def test_passwords_are_stored_only_as_argon2id_hashes(engine, database_url):
    with engine.begin() as conn:
        accounts.add_user(conn, email="a@example.com", password=PASSWORD, role="admin")
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                assert PASSWORD.encode() not in file.read_bytes()


def test_authenticate_accepts_the_right_password_and_any_case_of_the_email_only(engine):
    with engine.begin() as conn:
        user_id = accounts.add_user(conn, email="Ann@Example.com", password=PASSWORD, role="admin")
        assert accounts.authenticate(conn, "ann@example.com", PASSWORD) == user_id
        assert accounts.authenticate(conn, " ANN@example.COM", PASSWORD) == user_id
        assert accounts.authenticate(conn, "ann@example.com", PASSWORD + "x") is None
        assert accounts.authenticate(conn, "bob@example.com", PASSWORD) is None
        assert accounts.authenticate(conn, "no email", PASSWORD) is None


def test_a_disabled_user_can_neither_sign_in_nor_keep_a_session(engine):
    with engine.begin() as conn:
        user_id = accounts.add_user(conn, email="a@example.com", password=PASSWORD, role="admin")
        session = accounts.start_session(conn, user_id, lifetime=timedelta(hours=1))
        conn.execute(update(users).values(disabled_at=datetime.now(UTC)))
        assert accounts.authenticate(conn, "a@example.com", PASSWORD) is None
        assert accounts.session_of(conn, session.token) is None


def test_sessions_are_stored_hashed_expire_and_end_on_logout(engine):
    with engine.begin() as conn:
        user_id = accounts.add_user(conn, email="a@example.com", password=PASSWORD, role="admin")
        session = accounts.start_session(conn, user_id, lifetime=timedelta(hours=1))
        short = accounts.start_session(conn, user_id, lifetime=timedelta(seconds=-1))
        stored = {row.token_hash for row in conn.execute(select(sessions))}

        assert session.token not in stored and len(session.token) >= 43
        found = accounts.session_of(conn, session.token)
        assert found is not None and found.csrf_token == session.csrf_token and found.access.email == "a@example.com"
        assert accounts.session_of(conn, short.token) is None  # expired
        assert accounts.session_of(conn, "made-up") is None
        accounts.end_session(conn, session.token)
        assert accounts.session_of(conn, session.token) is None


@pytest.mark.parametrize(("sent", "ok"), [("tok", True), ("tok2", False), ("", False), (None, False)])
def test_csrf_tokens_must_match_exactly(sent, ok):
    assert accounts.csrf_matches("tok", sent) is ok


def test_group_names_are_unique_and_unknown_ids_are_not_found(engine, location):
    with engine.begin() as conn:
        server_groups.add_group(conn, name="Oslo Airport")
        with pytest.raises(InvalidInput, match="already exists"):
            server_groups.add_group(conn, name=" Oslo Airport ")
        with pytest.raises(InvalidInput, match="must not be empty"):
            server_groups.add_group(conn, name="  ")
        with pytest.raises(NotFound, match="group 42"):
            server_groups.add_location(conn, 42, location)
        with pytest.raises(NotFound, match="location 4242"):
            server_groups.set_location_groups(conn, 4242, [])
        assert server_groups.group_names(conn) == [(1, "Oslo Airport")]
