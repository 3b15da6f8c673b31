"""The dashboard's languages (issue #14): the nb and de catalogues hold a translation of every message the sources
mark, and nothing else; a page's language is the user's setting, else the browser's Accept-Language, else English;
numbers and dates are written the language's way (``72,4 %`` in Norwegian). Every page in the pseudo-locale, in
Chromium, is tests/e2e/test_dashboard_languages.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from server.auth import accounts
from server.db import users
from server.web import i18n
from tests.conftest import BATCH_MONO_NS
from tests.support.i18n import catalogue, extracted
from tests.support.sessions import PASSWORD, form_token, sign_in

LANGUAGES = [language for language in i18n.LANGUAGES if language != i18n.DEFAULT]
BRACES = re.compile(r"\{\w+\}")
PERCENTS = re.compile(r"%(?:\(\w+\))?[sd%]")


# --- the catalogues -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_message_has_a_translation_in_the_catalogue(language):
    held = {message.id: message for message in catalogue(language) if message.id}
    missing = sorted(map(str, extracted() - set(held)))
    untranslated = sorted(
        str(m.id) for m in held.values() if m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string])
    )
    assert not missing, f"run `make i18n` and translate: {missing}"
    assert not untranslated, f"fuzzy or empty in {language}: {untranslated}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_holds_no_message_the_sources_dropped(language):
    obsolete = sorted(str(m.id) for m in catalogue(language) if m.id and m.id not in extracted())
    assert not obsolete, f"run `make i18n` to drop them: {obsolete}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_translation_keeps_the_placeholders_of_its_message(language):
    wrong = []
    for message in catalogue(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = {token for text in map(str, ids) for pattern in (BRACES, PERCENTS) for token in pattern.findall(text)}
        for text in map(str, strings):
            got = {token for pattern in (BRACES, PERCENTS) for token in pattern.findall(text)}
            if got != wanted and not (len(ids) > 1 and got <= wanted):  # a singular may leave out the count
                wrong.append((message.id, text))
    assert not wrong


def test_the_catalogues_compile_and_translate():
    with i18n.use("nb"):
        assert i18n.gettext("Overview") == "Oversikt"
        assert i18n.ngettext("%(num)s kiosk", "%(num)s kiosks", 3) % {"num": 3} == "3 kiosker"
    with i18n.use("de"):
        assert i18n.gettext("Overview") == "Übersicht"
    assert i18n.gettext("Overview") == "Overview"  # outside a request: English


# --- formatting ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "value", "digits", "expected"),
    [
        ("en", 72.4, 1, "72.4"), ("nb", 72.4, 1, "72,4"), ("de", 72.4, 1, "72,4"), ("en", 1234.56, 1, "1234.6"),
        ("nb", 1234.56, 0, "1235"), ("en", None, 1, "–"), ("en", 72.45, 1, "72.5"),
    ],
)  # fmt: skip
def test_a_figure_is_written_the_languages_way_without_grouping(language, value, digits, expected):
    with i18n.use(language):
        assert i18n.number(value, digits) == expected


@given(
    st.sampled_from(sorted(i18n.LANGUAGES)),
    st.floats(min_value=-1e7, max_value=1e7, allow_nan=False),
    st.integers(min_value=0, max_value=2),
)
def test_a_figure_is_what_babel_writes_with_the_languages_decimal_mark(language, value, digits):
    pattern = "0." + "0" * digits if digits else "0"
    with i18n.use(language):
        babel = format_decimal(round(value, digits) + 0.0, format=pattern, locale=i18n.format_locale())
        assert i18n.number(value, digits) == babel


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "2026-11-20"), ("nb", "20. nov. 2026"), ("de", "20.11.2026")]
)
def test_a_date_is_written_the_languages_way_iso_in_english(language, expected):
    with i18n.use(language):
        assert i18n.day(date(2026, 11, 20)) == expected


def test_a_change_keeps_its_sign():
    with i18n.use("de"):
        assert (i18n.signed(3), i18n.signed(-1.5), i18n.signed(None)) == ("+3,0", "-1,5", "–")


# --- which language -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "accepted", "expected"),
    [
        ("de", ["nb", "en"], "de"),  # the user's setting beats the browser
        (None, ["nb-NO", "nb", "en"], "nb"),  # Accept-Language, first spoken tag
        (None, ["fr", "de"], "de"),
        (None, ["fr"], "en"),  # nothing spoken: English
        (None, [], "en"),
        ("xx", ["de"], "de"),  # a setting the dashboard no longer speaks is passed over
        (None, ["DE"], "de"),
    ],
)
def test_the_language_is_the_setting_else_the_browsers_else_english(setting, accepted, expected):
    assert i18n.choose(setting, accepted) == expected


@pytest.fixture
def manager(engine, location) -> int:
    with engine.begin() as conn:
        return accounts.add_user(
            conn, email="lane@example.com", password=PASSWORD, role="manager", location_ids=[location]
        )


def heading(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', page)
    assert match
    return match.group(1)


def test_a_page_speaks_the_browsers_language_until_the_user_picks_one(client, engine, manager):
    assert sign_in(client, "lane@example.com").status_code == 303
    norwegian = client.get("/", headers={"Accept-Language": "nb-NO,nb;q=0.9,en;q=0.5"}).text
    assert heading(norwegian) == "nb" and ">Oversikt</a>" in norwegian
    assert heading(client.get("/", headers={"Accept-Language": "fr"}).text) == "en"
    assert heading(client.get("/").text) == "en"

    saved = client.post(
        "/account/language", data={"language": "de", "csrf_token": form_token(client, "/account")},
        headers={"Accept-Language": "nb"}, follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    german = client.get("/account", headers={"Accept-Language": "nb"}).text
    assert heading(german) == "de" and "Sprache gespeichert." in german  # the setting beats Accept-Language
    assert '<option value="de" lang="de" selected>Deutsch</option>' in german
    with engine.connect() as conn:
        assert conn.execute(select(users.c.language).where(users.c.id == manager)).scalar() == "de"

    back = client.post("/account/language", data={"language": "", "csrf_token": form_token(client, "/account")})
    assert heading(back.text) == "en"  # "from the browser" again; this client sends none


def test_a_language_the_dashboard_does_not_speak_is_refused(client, engine, manager):
    sign_in(client, "lane@example.com")
    refused = client.post(
        "/account/language", data={"language": "fr", "csrf_token": form_token(client, "/account")},
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 422 and "does not speak" in refused.text
    with engine.connect() as conn:
        assert conn.execute(select(users.c.language).where(users.c.id == manager)).scalar() is None


def test_the_sign_in_and_error_pages_speak_the_browsers_language(client):
    assert "<h1>Anmelden</h1>" in client.get("/login", headers={"Accept-Language": "de"}).text
    missing = client.get("/no-such-page", headers={"Accept-Language": "nb"})
    assert missing.status_code == 404 and "<h1>Ikke funnet</h1>" in missing.text


# --- a figure in Norwegian, from taps ------------------------------------------------------------------------------


def test_a_share_shows_with_a_decimal_comma_in_norwegian(client, manager, location, send, tap):
    """21 happy and 8 sad taps a minute apart (none a repeat): CSAT 21/29 = 72.4 %."""
    now = datetime.now(UTC)
    taps: list[dict[str, Any]] = []
    for i, score in enumerate([5] * 21 + [1] * 8):
        ago = timedelta(minutes=30 - i)
        at = (now - ago).isoformat().replace("+00:00", "Z")
        taps.append(tap(score=score, tapped_at=at, mono_ns=BATCH_MONO_NS - int(ago.total_seconds() * 1e9)))
    assert send(taps).json()["accepted"] == 29
    sign_in(client, "lane@example.com")

    norwegian = client.get(f"/locations/{location}?range=7d", headers={"Accept-Language": "nb"}).text
    english = client.get(f"/locations/{location}?range=7d").text

    csat = re.compile(r'id="kpi-csat"><h2>[^<]+</h2><p class="big"><span class="share[^"]*"[^>]*>([^<]+)</span>')
    assert csat.search(norwegian).group(1) == "72,4 %"  # type: ignore[union-attr]
    assert csat.search(english).group(1) == "72.4 %"  # type: ignore[union-attr]
    assert "27,6 %" in norwegian and "27.6 %" in english  # the negative share
