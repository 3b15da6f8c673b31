"""``/admin/users`` and ``/account`` over HTTP (TestClient), on SQLite and PostgreSQL (issue #14).

``/admin/users`` is for admins only and every post needs the session's CSRF token; disabling a user ends their
sessions (their next request is sent to sign in) and the last active admin can be neither disabled nor deleted.
On ``/account`` any signed-in user changes their password: the current one is required (a wrong one is a message and
counts like a failed sign-in), the new one typed twice and at least 10 characters; their other sessions end, this one
stays. The same in Chromium is tests/e2e/test_account_pages.py.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from server.auth import accounts
from server.auth.accounts import FREE_FAILURES
from server.db import login_throttle, sessions, users
from tests.support.sessions import PASSWORD, form_token, sign_in

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def people(engine, location) -> dict[str, int]:
    """An admin and a manager of one location."""
    with engine.begin() as conn:
        return {
            "admin": accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin"),
            "lane": accounts.add_user(conn, email="lane@example.com", password=PASSWORD, role="manager",
                                      location_ids=[location]),
        }  # fmt: skip


def signed_in(app, email: str, password: str = PASSWORD) -> TestClient:
    """A client of its own (its own cookies: another browser), signed in as ``email``."""
    client = TestClient(app)
    assert sign_in(client, email, password).status_code == 303
    return client


def post(client: TestClient, path: str, page: str = "/admin/users", **data: str) -> Any:
    """A form post with the CSRF token of ``page``; the answer is not followed."""
    return client.post(path, data={**data, "csrf_token": form_token(client, page)}, follow_redirects=False)


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert match, page
    return html.unescape(match.group(1))


def session_count(engine, user_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(sessions.c.user_id == user_id)).scalar_one())


def disabled(engine, user_id: int) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(users.c.disabled_at).where(users.c.id == user_id)).scalar() is not None


# --- /admin/users -----------------------------------------------------------------------------------------------


def test_only_admins_see_the_users_page_and_the_nav_links_it(app, people) -> None:
    admin, manager = signed_in(app, "admin@example.com"), signed_in(app, "lane@example.com")

    page = admin.get("/admin/users")

    assert page.status_code == 200
    assert re.findall(r'<td class="email">([^<]+)</td>', page.text) == ["admin@example.com", "lane@example.com"]
    assert 'href="/admin/users" aria-current="page"' in page.text
    assert 'href="/admin/users"' in admin.get("/admin").text
    assert manager.get("/admin/users").status_code == 403
    token = form_token(manager, "/")
    refused = manager.post(f"/admin/users/{people['admin']}/disable", data={"csrf_token": token})
    assert refused.status_code == 403 and not disabled(app.state.engine, people["admin"])


def test_a_post_without_the_sessions_csrf_token_changes_nothing(app, engine, people) -> None:
    admin = signed_in(app, "admin@example.com")

    for token in ("", "forged"):
        answer = admin.post(f"/admin/users/{people['lane']}/disable", data={"csrf_token": token})
        assert answer.status_code == 403
    assert not disabled(engine, people["lane"])


def test_a_disabled_users_session_is_refused_on_its_next_request_until_enabled(app, engine, people) -> None:
    admin, lane = signed_in(app, "admin@example.com"), signed_in(app, "lane@example.com")
    assert lane.get("/").status_code == 200

    answer = post(admin, f"/admin/users/{people['lane']}/disable")

    assert answer.status_code == 303 and answer.headers["location"] == "/admin/users"
    assert text_of(admin.get("/admin/users").text, "flash") == "lane@example.com disabled and signed out everywhere."
    assert session_count(engine, people["lane"]) == 0
    refused = lane.get("/", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    assert sign_in(TestClient(app), "lane@example.com").status_code == 401

    assert post(admin, f"/admin/users/{people['lane']}/enable").status_code == 303
    assert sign_in(TestClient(app), "lane@example.com").status_code == 303


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_the_last_active_admin_cannot_be_removed(app, engine, people, action: str) -> None:
    admin = signed_in(app, "admin@example.com")

    answer = post(admin, f"/admin/users/{people['admin']}/{action}")

    assert answer.status_code == 422
    assert "it is the last active admin" in text_of(answer.text, "error")
    assert not disabled(engine, people["admin"]) and session_count(engine, people["admin"]) == 1


def test_an_admin_deletes_a_user_and_sets_a_password(app, engine, people) -> None:
    admin, lane = signed_in(app, "admin@example.com"), signed_in(app, "lane@example.com")

    short = post(admin, f"/admin/users/{people['lane']}/password", password="short")
    assert short.status_code == 422 and "at least 10 characters" in text_of(short.text, "error")
    assert post(admin, f"/admin/users/{people['lane']}/password", password=NEW_PASSWORD).status_code == 303
    assert lane.get("/", follow_redirects=False).status_code == 303  # their session ended
    assert admin.get("/").status_code == 200  # the admin's own stays
    assert sign_in(TestClient(app), "lane@example.com", NEW_PASSWORD).status_code == 303

    assert post(admin, f"/admin/users/{people['lane']}/delete").status_code == 303
    with engine.connect() as conn:
        assert conn.execute(select(users.c.email)).scalars().all() == ["admin@example.com"]
    assert post(admin, "/admin/users/99/delete").status_code == 404


# --- /account ---------------------------------------------------------------------------------------------------


def test_any_signed_in_user_has_an_account_page_linked_in_the_header(app, people) -> None:
    lane = signed_in(app, "lane@example.com")

    page = lane.get("/account")

    assert page.status_code == 200 and 'id="change-password"' in page.text
    assert '<a class="account" href="/account"' in lane.get("/").text
    assert TestClient(app).get("/account", follow_redirects=False).headers["location"] == "/login?next=/account"


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(app, engine, people) -> None:
    here, elsewhere = signed_in(app, "lane@example.com"), signed_in(app, "lane@example.com")

    answer = post(here, "/account/password", "/account", current=PASSWORD, new=NEW_PASSWORD, repeat=NEW_PASSWORD)

    assert answer.status_code == 303 and answer.headers["location"] == "/account"
    assert text_of(here.get("/account").text, "flash").startswith("Password changed.")
    assert session_count(engine, people["lane"]) == 1
    assert elsewhere.get("/", follow_redirects=False).status_code == 303
    assert sign_in(TestClient(app), "lane@example.com").status_code == 401
    assert sign_in(TestClient(app), "lane@example.com", NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(("current", "new", "repeat", "status", "says"), [
    ("not my password", NEW_PASSWORD, NEW_PASSWORD, 401, "Your current password is not right"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", 422, "differ"),
    (PASSWORD, "short", "short", 422, "at least 10 characters"),
    ("", NEW_PASSWORD, NEW_PASSWORD, 422, None),  # a missing field: FastAPI's own 422
])  # fmt: skip
def test_a_refused_change_says_why_and_changes_nothing(app, people, current, new, repeat, status, says) -> None:
    lane = signed_in(app, "lane@example.com")

    answer = post(lane, "/account/password", "/account", current=current, new=new, repeat=repeat)

    assert answer.status_code == status
    if says:
        assert says in text_of(answer.text, "error")
    assert sign_in(TestClient(app), "lane@example.com").status_code == 303  # the old password still works


def test_a_wrong_current_password_counts_against_the_sign_in_throttle(app, engine, people) -> None:
    lane = signed_in(app, "lane@example.com")

    for _ in range(FREE_FAILURES):
        wrong = post(lane, "/account/password", "/account", current="guess", new=NEW_PASSWORD, repeat=NEW_PASSWORD)
        assert wrong.status_code == 401
    with engine.connect() as conn:
        assert conn.execute(select(login_throttle.c.failures)).scalar() == FREE_FAILURES

    throttled = post(lane, "/account/password", "/account", current=PASSWORD, new=NEW_PASSWORD, repeat=NEW_PASSWORD)
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    assert sign_in(TestClient(app), "lane@example.com").status_code == 429  # signing in waits as well


def test_a_change_without_the_csrf_token_is_refused(app, people) -> None:
    lane = signed_in(app, "lane@example.com")

    answer = lane.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})

    assert answer.status_code == 403
    assert sign_in(TestClient(app), "lane@example.com").status_code == 303
