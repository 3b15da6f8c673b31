"""``/admin/touchpoints`` over HTTP (TestClient), on SQLite and PostgreSQL: admins list web touchpoints per location
(QR code, address, created, state, last tap, taps received), create and revoke them with the session's CSRF token
(post, redirect, one-shot message), and print a table tent; managers and signed-out users are refused; names are
shown as text, never as markup. The same in a real Chromium is tests/e2e/test_touchpoint_admin.py."""

from __future__ import annotations

import re
from dataclasses import astuple

import pytest
from sqlalchemy import select

from server.auth import accounts
from server.db import touchpoints
from server.touchpoints import add_touchpoint, revoke_touchpoint
from tests.support import pdfs
from tests.support.sessions import PASSWORD, form_token, sign_in
from tests.support.sites import airport

PAGE = "/admin/touchpoints"
XSS = '<img src=x onerror="window.__xss=1">Table <b>4</b>'


@pytest.fixture
def site(engine, make_location):
    """Two Oslo Airport locations (a group) and a New York shop; an admin and a manager of the group."""
    a, b, shop, group = astuple(airport(engine, make_location))
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
        accounts.add_user(conn, email="mgr@example.com", password=PASSWORD, role="manager", group_ids=[group])
    return {"a": a, "b": b, "shop": shop}


@pytest.fixture
def admin(client, site):
    assert sign_in(client, "admin@example.com").status_code == 303
    return client


def stored(engine) -> list[tuple[int, int, str, bool]]:
    """(id, location, name, revoked) of every stored touchpoint."""
    with engine.connect() as conn:
        rows = conn.execute(select(touchpoints).order_by(touchpoints.c.id)).all()
    return [(r.id, r.location_id, r.name, r.revoked_at is not None) for r in rows]


def make(engine, location_id: int, name: str | None = None):
    with engine.begin() as conn:
        return add_touchpoint(conn, location_id=location_id, name=name)


def rows(html: str) -> list[int]:
    """The touchpoints listed on the page, in order."""
    return [int(found) for found in re.findall(r'data-touchpoint="(\d+)"', html)]


def row(html: str, touchpoint_id: int) -> str:
    match = re.search(rf'<tr id="touchpoint-{touchpoint_id}".*?</tr>', html, re.S)
    assert match, html
    return match.group(0)


# --- who may ----------------------------------------------------------------------------------------------------


def test_signed_out_users_are_sent_to_sign_in(client, engine, site):
    made = make(engine, site["a"])

    page = client.get(PAGE, follow_redirects=False)
    tent = client.get(f"{PAGE}/{made.id}/table-tent.pdf", follow_redirects=False)
    posted = client.post(PAGE, data={"location_id": str(site["a"]), "csrf_token": "x"}, follow_redirects=False)

    assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/touchpoints"
    assert tent.status_code == 303 and posted.status_code == 303
    assert len(stored(engine)) == 1


def test_managers_are_refused_even_for_their_own_locations(client, engine, site):
    made = make(engine, site["a"])
    assert sign_in(client, "mgr@example.com").status_code == 303
    token = form_token(client, "/")

    page = client.get(PAGE)
    tent = client.get(f"{PAGE}/{made.id}/table-tent.pdf")
    created = client.post(PAGE, data={"location_id": str(site["a"]), "csrf_token": token})
    revoked = client.post(f"{PAGE}/{made.id}/revoke", data={"csrf_token": token})

    assert [page.status_code, tent.status_code, created.status_code, revoked.status_code] == [403] * 4
    assert 'href="/admin/touchpoints"' not in client.get("/").text
    assert stored(engine) == [(made.id, site["a"], "Web 1", False)]


def test_forms_without_the_sessions_csrf_token_change_nothing(admin, engine, site):
    made = make(engine, site["a"])

    created = admin.post(PAGE, data={"location_id": str(site["a"]), "name": "Table 4"})
    wrong = admin.post(PAGE, data={"location_id": str(site["a"]), "csrf_token": "not-the-token"})
    revoked = admin.post(f"{PAGE}/{made.id}/revoke", data={"csrf_token": "not-the-token"})

    assert [created.status_code, wrong.status_code, revoked.status_code] == [403, 403, 403]
    assert stored(engine) == [(made.id, site["a"], "Web 1", False)]


# --- list, create, revoke ---------------------------------------------------------------------------------------


def test_the_page_lists_touchpoints_per_location_with_their_qr_codes_and_links(admin, engine, site):
    a1, shop1 = make(engine, site["a"], "Table 4"), make(engine, site["shop"], "Counter")
    a2 = make(engine, site["a"])
    with engine.begin() as conn:
        revoke_touchpoint(conn, a2.id)

    page = admin.get(PAGE)

    assert page.status_code == 200
    assert 'href="/admin/touchpoints" aria-current="page"' in page.text
    assert rows(page.text) == [a1.id, a2.id, shop1.id]  # Oslo Airport's locations first, by location
    first = row(page.text, a1.id)
    assert "Table 4" in first and f'href="http://testserver/s/{a1.slug}"' in first
    assert f'<img src="/s/{a1.slug}/qr.svg" width="104" height="104" alt="QR code of Table 4">' in first
    assert f'href="/s/{a1.slug}/qr.png"' in first and f'href="/admin/touchpoints/{a1.id}/table-tent.pdf"' in first
    assert '<td class="tp-state">active</td>' in first and '<td class="num received">0</td>' in first
    revoked = row(page.text, a2.id)
    assert "revoked 20" in revoked and "qr.svg" not in revoked and "Revoke" not in revoked
    assert re.search(r'<section class="panel touchpoints" id="location-(\d+)">', page.text)
    assert f'id="location-{site["b"]}"' not in page.text  # no touchpoints, no section


def test_links_use_the_public_url_when_one_is_set(admin, app, engine, site):
    made = make(engine, site["a"])
    app.state.settings.public_url = "https://feedback.example.com/"

    page = admin.get(PAGE)

    assert f'href="https://feedback.example.com/s/{made.slug}"' in row(page.text, made.id)


def test_the_page_shows_the_last_tap_and_the_taps_received(admin, engine, site, tap, make_batch):
    made = make(engine, site["a"])
    headers = {"X-Smilepost-Client": "web", "Origin": "http://testserver"}
    body = make_batch([tap(tapped_at="2026-11-22T09:58:00Z"), tap(tapped_at="2026-11-22T10:01:00Z")])
    answer = admin.post(f"/api/v1/touchpoints/{made.slug}/taps", json=body, headers=headers)
    assert answer.status_code == 200, answer.text

    shown = row(admin.get(PAGE).text, made.id)

    assert '<td class="num received">2</td>' in shown
    assert "2026-11-22 11:01 CET" in shown  # the newest tap, in Oslo time


def test_an_admin_creates_a_touchpoint_and_is_told_its_address(admin, engine, site):
    token = form_token(admin, PAGE)

    answer = admin.post(PAGE, data={"location_id": str(site["b"]), "name": " Table 4 ", "csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    unnamed = admin.post(PAGE, data={"location_id": str(site["b"]), "name": "", "csrf_token": token},
                         follow_redirects=False)  # fmt: skip
    page = admin.get(PAGE)

    (first, _, _, _), (second, _, _, _) = stored(engine)
    assert answer.status_code == 303 and answer.headers["location"] == f"{PAGE}#touchpoint-{first}"
    assert unnamed.status_code == 303
    assert stored(engine) == [(first, site["b"], "Table 4", False), (second, site["b"], "Web 2", False)]
    flash = re.search(r'<p class="ok" role="status" id="flash">(.*?)</p>', page.text)
    assert flash and re.fullmatch(r"Touchpoint Web 2 created at Security B: http://testserver/s/[\w-]{22}", flash[1])
    assert rows(page.text) == [first, second]
    assert 'id="flash"' not in admin.get(PAGE).text  # shown once


@pytest.mark.parametrize(
    ("location", "name", "expected"),
    [("99", "Table 4", "location 99 does not exist"), ("x", "", "location: expected a whole number, got &#39;x&#39;"),
     ("{a}", "Table\x004", "name: expected 1 to 200 characters")],
)  # fmt: skip
def test_a_touchpoint_that_cannot_be_made_reshows_the_form_with_the_message(admin, engine, site, location, name,
                                                                            expected):  # fmt: skip
    location = location.format(**site)

    answer = admin.post(PAGE, data={"location_id": location, "name": name, "csrf_token": form_token(admin, PAGE)})

    assert answer.status_code == 422
    assert expected in answer.text and 'id="touchpoint-error"' in answer.text
    assert stored(engine) == []


def test_an_admin_revokes_a_touchpoint_and_its_qr_code_goes(admin, engine, site):
    made, other = make(engine, site["a"], "Table 4"), make(engine, site["a"], "Table 5")
    assert admin.get(f"/s/{made.slug}/qr.svg").status_code == 200

    answer = admin.post(f"{PAGE}/{made.id}/revoke", data={"csrf_token": form_token(admin, PAGE)},
                        follow_redirects=False)  # fmt: skip
    page = admin.get(PAGE)

    assert answer.status_code == 303 and answer.headers["location"] == PAGE
    assert stored(engine) == [(made.id, site["a"], "Table 4", True), (other.id, site["a"], "Table 5", False)]
    assert "Touchpoint Table 4 at Security A revoked: its link and QR code lead nowhere now." in page.text
    assert "revoked 20" in row(page.text, made.id) and "active" in row(page.text, other.id)
    assert admin.get(f"/s/{made.slug}/qr.svg").status_code == 404
    assert admin.get(f"{PAGE}/{made.id}/table-tent.pdf").status_code == 404


def test_revoking_a_touchpoint_that_does_not_exist_is_404(admin, engine, site):
    answer = admin.post(f"{PAGE}/77/revoke", data={"csrf_token": form_token(admin, PAGE)})

    assert answer.status_code == 404 and "touchpoint 77 does not exist" in answer.text


def test_names_are_shown_as_text_never_as_markup(admin, engine, site):
    made = make(engine, site["a"], XSS)
    token = form_token(admin, PAGE)
    admin.post(f"{PAGE}/{made.id}/revoke", data={"csrf_token": token})
    admin.post(PAGE, data={"location_id": str(site["b"]), "name": XSS, "csrf_token": token})

    page = admin.get(PAGE)  # the second one's flash, both rows

    assert "<img src=x" not in page.text and "<b>4</b>" not in page.text
    assert page.text.count("&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;Table &lt;b&gt;4&lt;/b&gt;") >= 3


# --- the table tent ------------------------------------------------------------------------------------------------


def test_an_admin_gets_the_table_tent_of_an_active_touchpoint(admin, engine, site):
    made = make(engine, site["a"])

    answer = admin.get(f"{PAGE}/{made.id}/table-tent.pdf")

    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == f'inline; filename="smilepost-table-tent-{made.id}.pdf"'
    assert pdfs.pages(answer.content) == [pytest.approx(pdfs.A4_POINTS, abs=0.1)]
    assert "Security A" in pdfs.text(answer.content)
    assert admin.get(f"{PAGE}/999/table-tent.pdf").status_code == 404  # its QR code: tests/server/test_table_tent.py
