"""The customer page of a web touchpoint (``/s/<slug>``) as the server answers it: status, headers (no cookies, this
server's files only), what the page says in which language, its answer buttons per scale, the same 404 for an
unknown and a revoked touchpoint, the service worker, the size of what a phone downloads, and the texts the page
falls back to (the kiosk's own, kept equal by a test).

The page's behaviour in a browser (taps, offline, kiosk mode, accessibility) is tested in
tests/e2e/test_web_touchpoint.py.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from kiosk import texts as kiosk_texts
from server.locations import configure_location
from server.touchpoints import add_touchpoint, revoke_touchpoint
from server.web import touch_view
from server.web.pages.touchpoint import TOUCH_DIR, asset_urls
from shared.protocol import FollowUp, LocationConfig, Question

FIRST_LOAD_BUDGET = 100 * 1024  # bytes a phone may download on its first visit (README, issue #13)

NORWEGIAN = LocationConfig(
    default_language="en",
    texts={
        "en": {"question": "How was the security check?", "reason.queue_time": "Waiting time"},
        "nb": {"question": "Hvordan var sikkerhetskontrollen?", "thanks": "Takk!", "reason.queue_time": "Ventetid"},
    },
    followup=FollowUp(negative_reasons=["queue_time", "staff"], positive_reasons=["staff"]),
)


@pytest.fixture
def touchpoint(engine: Engine, location: int) -> Callable[..., str]:
    """``touchpoint(config=None, scale=None)`` -> the path of a new touchpoint of the Oslo location."""

    def make(config: LocationConfig | None = None) -> str:
        with engine.begin() as conn:
            if config is not None:
                configure_location(conn, location, config=config)
            return add_touchpoint(conn, location_id=location, name="Gate 12 QR").path

    return make


class Page(HTMLParser):
    """What a test wants of the page: its answer buttons (attributes and text), every src/href, the JSON data."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.buttons: list[dict[str, Any]] = []
        self.links: list[str] = []
        self.data: dict[str, Any] = {}
        self._in: dict[str, Any] | None = None
        self._json = False
        self._template = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.links += [value for name, value in attrs if name in ("src", "href") and value]
        if tag == "template":
            self._template += 1
        if tag == "button" and "data-score" in found and not self._template:
            self._in = {**found, "text": ""}
            self.buttons.append(self._in)
        self._json = tag == "script" and found.get("type") == "application/json"

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self._template -= 1
        if tag == "button":
            self._in = None
        self._json = False

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._in["text"] += data.strip()
        if self._json:
            self.data = json.loads(data)


def test_the_page_answers_without_cookies_with_its_own_files_only(client: TestClient, touchpoint):
    path = touchpoint()

    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "set-cookie" not in response.headers
    assert not client.cookies
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = Page(response.text)
    assert page.links, "the page links its script and style sheet"
    for link in page.links:
        assert link.startswith("/") or link == "data:,", f"{link}: the page may load only this server's files"
    assert "base.html" not in response.text and "/logout" not in response.text  # not the dashboard's layout
    for url in asset_urls().values():
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert "set-cookie" not in asset.headers


@pytest.mark.parametrize(
    ("scale", "names"),
    [
        (3, ["Unhappy", "Neutral", "Happy"]),
        (4, ["Very unhappy", "Unhappy", "Happy", "Very happy"]),
        (5, ["Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy"]),
        (11, [str(n) for n in range(11)]),
    ],
)
def test_every_answer_is_a_button_with_its_score_and_a_name(client, engine, make_location, scale, names):
    place = make_location(name="Bergen Gate 4", scale=scale)
    with engine.begin() as conn:
        path = add_touchpoint(conn, location_id=place).path

    page = Page(client.get(path).text)

    scores = range(11) if scale == 11 else range(1, scale + 1)
    assert [int(b["data-score"]) for b in page.buttons] == list(scores)
    assert [b.get("aria-label") or b["text"] for b in page.buttons] == names
    assert all(b["type"] == "button" for b in page.buttons)
    assert page.data["questions"][0]["scale"] == scale


def test_the_page_asks_the_locations_question_in_the_language_the_browser_prefers(client, touchpoint):
    path = touchpoint(NORWEGIAN)

    english = client.get(path)
    norwegian = client.get(path, headers={"Accept-Language": "nb-NO,nb;q=0.9,en;q=0.5"})

    assert "How was the security check?" in english.text and 'lang="en"' in english.text
    assert "Hvordan var sikkerhetskontrollen?" in norwegian.text and 'lang="nb"' in norwegian.text
    data = Page(norwegian.text).data
    assert data["language"] == "nb"
    assert [(lang["code"], lang["name"]) for lang in data["languages"]] == [("en", "English"), ("nb", "Norsk")]
    nb, en = data["texts"]["nb"], data["texts"]["en"]
    assert (nb["thanks"], en["thanks"]) == ("Takk!", "Thank you!")
    labels = (nb["r.main.queue_time"], en["r.main.queue_time"], nb["r.main.staff"])
    assert labels == ("Ventetid", "Waiting time", "Staff")
    assert nb["followup_question"] == "What was the main reason?"  # Norwegian has none: the built-in English
    assert data["questions"][0]["reasons"] == {"negative": ["queue_time", "staff"], "positive": ["staff"]}
    assert "Oslo" not in nb["web.privacy"] and "Gardermoen Gate 12" in nb["web.privacy"]  # the location's name
    assert 'aria-pressed="true">Norsk' in norwegian.text  # the switch shows the language in use


def test_the_page_never_carries_the_admin_pin_or_other_locations(client, engine, touchpoint, location):
    path = touchpoint(NORWEGIAN)
    with engine.begin() as conn:
        stored = configure_location(conn, location, pin="482916")

    text = client.get(path).text

    assert stored.admin_pin_hash == "set"
    assert "admin_pin_hash" not in text and "scrypt" not in text and "pbkdf2" not in text.lower()


def test_an_unknown_and_a_revoked_touchpoint_get_the_same_404_page(client, engine, location):
    with engine.begin() as conn:
        touchpoint = add_touchpoint(conn, location_id=location)
        revoke_touchpoint(conn, touchpoint.id)

    revoked = client.get(touchpoint.path)
    unknown = client.get("/s/" + "A" * 22)
    malformed = client.get("/s/not%20a%20slug!")

    for response in (revoked, unknown, malformed):
        assert response.status_code == 404
        assert "set-cookie" not in response.headers
        assert "This feedback page does not exist" in response.text
        assert "/logout" not in response.text
    assert revoked.text == unknown.text == malformed.text


def test_the_service_worker_covers_every_page_and_keeps_this_versions_files(client):
    response = client.get("/s/sw.js")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "set-cookie" not in response.headers
    for url in asset_urls().values():
        assert json.dumps(url) in response.text
    assert "__VERSION__" not in response.text and "__ASSETS__" not in response.text


def test_a_phone_downloads_well_under_the_budget_on_its_first_visit(client, touchpoint):
    path = touchpoint(NORWEGIAN)
    sizes = {path: len(client.get(path).content), "/s/sw.js": len(client.get("/s/sw.js").content)}
    sizes |= {url: len(client.get(url).content) for url in asset_urls().values()}

    total = sum(sizes.values())

    assert total < FIRST_LOAD_BUDGET * 0.6, sizes  # uncompressed, with room for headers and a page refetch


def test_the_page_posts_to_the_tap_endpoint_it_names(client, touchpoint):
    data = Page(client.get(path := touchpoint()).text).data
    now = datetime.now(UTC)
    mono = int(now.timestamp() * 1000) * 1_000_000
    tap = {
        "id": str(uuid.uuid4()), "seq": 1, "question_id": data["questions"][0]["id"], "scale": 5, "score": 2,
        "tapped_at": now.isoformat().replace("+00:00", "Z"), "mono_ns": mono, "boot_id": "0f" * 16,
        "followup": "queue_time", "comment": None, "flags": [], "first_tap_id": None,
    }  # fmt: skip
    body = {"sent_at": tap["tapped_at"], "boot_id": "0f" * 16, "mono_ns": mono, "taps": [tap]}

    response = client.post(
        data["tap_url"], json=body, headers={"X-Smilepost-Client": "web", "Origin": "http://testserver"}
    )

    assert data["tap_url"] == f"/api/v1/touchpoints/{path.removeprefix('/s/')}/taps"
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("header", "offered", "expected"),
    [
        (None, ["en", "nb"], "en"),
        ("nb-NO,nb;q=0.9,en;q=0.8", ["en", "nb"], "nb"),
        ("de-DE,de;q=0.9,nb;q=0.5", ["en", "nb"], "nb"),  # no German: the next language asked for
        ("fr", ["nb", "en"], "nb"),  # nothing matches: the default language
        ("pt", ["en", "pt-BR"], "pt-BR"),  # the same primary language
        ("pt-BR", ["en", "pt-BR"], "pt-BR"),
        ("en;q=0.2,nb;q=0.8", ["en", "nb"], "nb"),  # by quality, not by order
        ("nb;q=0,en", ["nb", "en"], "en"),  # q=0: not wanted
        ("*", ["nb", "en"], "nb"),
        ("en;q=x,,;", ["nb", "en"], "nb"),  # malformed: as if absent
    ],
)
def test_the_language_is_picked_from_accept_language(header, offered, expected):
    assert touch_view.pick_language(header, offered) == expected


def test_texts_fall_back_to_the_default_language_then_english_then_the_built_in_ones():
    config = LocationConfig(
        default_language="nb",
        texts={"nb": {"question": "Hvordan var det?", "skip": "Nei takk"}, "en": {"skip": "Skip", "send": "Go"}},
        questions=[
            Question(id="staff-friendliness", scale=3, texts={"en": {"reason.rude": "Impolite"}}),
            Question(id="recommend", scale=11, texts={"de": {"question": "Empfehlen?"}}),
        ],
        question_mode="sequence",
    )
    staff, recommend = config.questions

    assert touch_view.text_for(config, "skip", "en") == "Skip"
    assert touch_view.text_for(config, "question", "en") == "Hvordan var det?"  # the default language's
    assert touch_view.text_for(config, "send", "nb") == "Go"  # English before the built-in text
    assert touch_view.text_for(config, "cancel", "nb") == "Cancel"  # built in
    assert touch_view.text_for(config, "face.very_happy", "nb") == "Very happy"
    assert touch_view.question_text(config, staff, "nb") == "Staff friendliness"  # its id made readable
    assert touch_view.question_text(config, recommend, "nb") == "Empfehlen?"  # any language it has
    assert touch_view.reason_label(config, staff, "rude", "nb") == "Impolite"
    assert touch_view.reason_label(config, staff, "queue_time", "nb") == "Queue time"


def test_the_page_has_every_built_in_text_of_the_kiosk_and_its_own():
    page_only = {key for key in touch_view.WEB_TEXTS if key.startswith(("web.", "face."))}
    assert set(touch_view.WEB_TEXTS) - page_only == set(kiosk_texts.KIOSK_TEXTS)


@pytest.mark.parametrize(
    ("scale", "sides"),
    [
        (3, "negative neutral positive"),
        (4, "negative negative positive positive"),
        (5, "negative negative neutral positive positive"),
        (11, " ".join(["negative"] * 7 + ["neutral"] * 2 + ["positive"] * 2)),
    ],
)
def test_the_page_knows_the_side_of_every_score(scale, sides):
    assert " ".join(touch_view.sides(scale).values()) == sides


def test_a_sequence_gives_the_page_every_question_and_its_own_reasons(client, touchpoint):
    config = LocationConfig(
        followup=FollowUp(negative_reasons=["queue_time"]),
        questions=[
            Question(id="recommend", scale=11, texts={"en": {"question": "Would you recommend us?"}}),
            Question(
                id="cleanliness",
                scale=3,
                followup=FollowUp(negative_reasons=["toilets"]),
                texts={"en": {"question": "How clean was it?", "reason.toilets": "The toilets"}},
            ),
        ],
        question_mode="sequence",
        question_timeout_seconds=7,
    )

    response = client.get(touchpoint(config))

    data = Page(response.text).data
    assert [(q["id"], q["scale"]) for q in data["questions"]] == [("main", 5), ("recommend", 11), ("cleanliness", 3)]
    assert (data["mode"], data["question_seconds"]) == ("sequence", 7)
    assert data["questions"][2]["reasons"] == {"negative": ["toilets"], "positive": []}
    en = data["texts"]["en"]
    assert (en["q.recommend"], en["q.cleanliness"], en["r.cleanliness.toilets"]) == (
        "Would you recommend us?", "How clean was it?", "The toilets",
    )  # fmt: skip
    # the other scales' buttons wait in templates for the script
    assert re.search(r'<template id="pad-11">.*data-score="10"', response.text, re.S)
    assert re.search(r'<template id="pad-3">.*aria-label="Happy"', response.text, re.S)


def test_the_pages_files_are_in_the_package_folder():
    assert {p.name for p in TOUCH_DIR.iterdir()} >= {"touch.js", "touch.css", "sw.js"}
