"""Swear words in comments are masked where comments are shown, for locations that ask for it
(``locations.mask_profanity``, server.privacy.profanity): the location page, alert pages and reports; never in
storage or exports. Set from the admin location page with the session's CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from server import NotFound
from server.alerts import rules
from server.alerts.evaluate import evaluate
from server.analytics.summaries import Period
from server.auth import accounts
from server.db import alerts, locations, taps
from server.locations import profanity_masked, set_profanity_mask
from server.privacy.profanity import LANGUAGES, mask, words
from server.reports.data import build_report, scope_of
from tests.support.sessions import PASSWORD, form_token, sign_in

# comment typed -> as shown when the location masks
MASKED = [
    ("This is fucking slow", "This is f****** slow"),  # en
    ("SHIT service, what a Bastard", "S*** service, what a B******"),
    ("Faen, for en jævla kø!", "F***, for en j**** kø!"),  # nb
    ("Helvete. Dritt kaffe", "H******. D**** kaffe"),
    ("So eine Scheiße, verdammt!", "So eine S******, v*******!"),  # de
    ("Arschloch am Schalter", "A******** am Schalter"),
]
KEPT = [
    "Shitake soup was great",  # a word that only starts like one
    "Classic assessment of the pass",
    "Skål! Dass es so schnell ging",
    "Snill og hyggelig betjening",
    "",
]


@pytest.mark.parametrize(("typed", "shown"), MASKED)
def test_listed_words_keep_their_first_letter(typed, shown):
    assert mask(typed) == shown


@pytest.mark.parametrize("typed", KEPT)
def test_words_that_only_contain_a_listed_word_are_kept(typed):
    assert mask(typed) == typed


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shipped_list_is_short_lower_case_and_masked(language):
    listed = words(language)
    assert 5 <= len(listed) <= 40 and all(word == word.lower().strip() for word in listed)
    for word in listed:
        assert mask(word.capitalize()) == word[0].upper() + "*" * (len(word) - 1)


@given(st.text(max_size=100))
def test_masking_keeps_the_length_and_masking_twice_changes_nothing_more(text):
    once = mask(text)
    assert len(once) == len(text) and mask(once) == once


def test_the_mask_is_off_by_default_and_set_by_location(engine, make_location):
    first, second = make_location(name="A"), make_location(name="B")

    with engine.begin() as conn:
        assert profanity_masked(conn, [first, second]) == frozenset()
        assert set_profanity_mask(conn, first, True) is True
        assert set_profanity_mask(conn, first, True) is False  # unchanged

    with engine.connect() as conn:
        assert profanity_masked(conn, [first, second, 999]) == {first}


def test_setting_the_mask_of_an_unknown_location_raises_not_found(engine):
    with engine.begin() as conn, pytest.raises(NotFound, match="location 999 does not exist"):
        set_profanity_mask(conn, 999, True)


# --- where comments are shown ---------------------------------------------------------------------------------


@pytest.fixture
def admin(client, engine):
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    assert sign_in(client, "admin@example.com").status_code == 303
    return client


@pytest.fixture
def commented(send, tap, make_batch):
    """The MASKED comments sent by the location's kiosk ten minutes ago, one sad tap each. Ten minutes ago may be
    yesterday in Oslo (just after midnight), so pages read them with ``range=7d``, never ``range=today``."""
    at = (datetime.now(UTC) - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    sent = [tap(score=1, tapped_at=at, comment=typed) for typed, _ in MASKED]
    assert send(sent).json()["accepted"] == len(sent)
    return sent


def test_the_location_page_shows_comments_as_typed_by_default(admin, location, commented):
    page = admin.get(f"/locations/{location}?range=7d").text

    for typed, shown in MASKED:
        assert _escaped(typed) in page and _escaped(shown) not in page


def test_the_location_page_masks_comments_in_english_norwegian_and_german(admin, engine, location, commented):
    with engine.begin() as conn:
        set_profanity_mask(conn, location, True)

    page = admin.get(f"/locations/{location}?range=7d").text

    for typed, shown in MASKED:
        assert _escaped(shown) in page and _escaped(typed) not in page


def test_storage_and_exports_keep_the_comments_as_typed(client, engine, location, commented, api_key):
    with engine.begin() as conn:
        set_profanity_mask(conn, location, True)
    day = datetime.now(ZoneInfo("Europe/Oslo")).date()
    params = {"location_id": location, "start": str(day - timedelta(days=1)), "end": str(day + timedelta(days=1))}
    headers = {"Authorization": f"Bearer {api_key}"}

    exported = client.get("/api/v1/export/taps", params=params, headers=headers).json()["items"]
    as_csv = client.get("/api/v1/export/taps", params={**params, "format": "csv"}, headers=headers).text

    typed = {t for t, _ in MASKED}
    assert {item["comment"] for item in exported} == typed
    assert all(t in as_csv for t in typed) and "f******" not in as_csv
    with engine.connect() as conn:
        assert set(conn.execute(select(taps.c.comment)).scalars()) == typed


def test_reports_mask_the_comments_of_a_masking_location(engine, location, commented):
    day = datetime.now(ZoneInfo("Europe/Oslo")).date()
    period = Period(day - timedelta(days=1), day + timedelta(days=1))
    with engine.begin() as conn:
        set_profanity_mask(conn, location, True)
        report = build_report(conn, scope_of(conn, location_id=location), "week", period)

    assert sorted(c.text for c in report.comments) == sorted(shown for _, shown in MASKED)


def test_the_alert_page_masks_the_comments_of_its_window(admin, engine, location, commented):
    with engine.begin() as conn:
        rules.add_rule(conn, location_id=location, metric="negative", above=40, window="30m", min_responses=5,
                       notify=["email:lead@example.com"], created_by="test")  # fmt: skip
        set_profanity_mask(conn, location, True)
    assert len(evaluate(engine, now=datetime.now(UTC)).opened) == 1
    with engine.connect() as conn:
        alert_id = conn.execute(select(alerts.c.id)).scalar_one()

    page = admin.get(f"/alerts/{alert_id}").text

    for typed, shown in MASKED:
        assert _escaped(shown) in page and _escaped(typed) not in page


# --- the admin setting ----------------------------------------------------------------------------------------


def test_the_admin_location_page_ticks_and_clears_the_mask(admin, engine, location):
    path = f"/admin/locations/{location}"
    assert 'name="mask_profanity" value="on" >' in admin.get(path).text  # not ticked

    ticked = admin.post(f"{path}/privacy", data={"mask_profanity": "on", "csrf_token": form_token(admin, path)},
                        follow_redirects=False)  # fmt: skip
    page = admin.get(path).text

    assert ticked.status_code == 303 and ticked.headers["location"] == path
    assert 'name="mask_profanity" value="on" checked>' in page and "swear words in comments are now masked" in page
    assert _stored_mask(engine, location) is True

    cleared = admin.post(f"{path}/privacy", data={"csrf_token": form_token(admin, path)}, follow_redirects=False)

    assert cleared.status_code == 303 and _stored_mask(engine, location) is False


def test_the_mask_cannot_be_set_without_the_sessions_csrf_token(admin, engine, location):
    path = f"/admin/locations/{location}/privacy"

    missing = admin.post(path, data={"mask_profanity": "on"}, follow_redirects=False)
    wrong = admin.post(path, data={"mask_profanity": "on", "csrf_token": "guess"}, follow_redirects=False)

    assert missing.status_code == 403 and wrong.status_code == 403
    assert _stored_mask(engine, location) is False


def _stored_mask(engine, location: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(locations.c.mask_profanity).where(locations.c.id == location)).scalar_one())


def _escaped(text: str) -> str:
    """How Jinja's autoescape writes a comment into a page."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")
