"""The admin settings form as a view of the stored config (a round trip changes nothing), messages that come from
the server and never from the URL, and the kiosk PIN form."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from server.auth import accounts
from server.db import locations
from server.locations import configure_location, location_config, pin_needs_update
from shared.pins import hash_pin
from shared.protocol import CommentSettings, FollowUp, LocationConfig, Question

PASSWORD = "correct horse battery"
PIN_HASH_4_DIGITS = (  # an old PBKDF2 hash of "4711", as kiosks were given before PINs had 6 digits
    "pbkdf2_sha256$200000$00112233445566778899aabbccddeeff$"
    "c0e5e8ea2cb6c0dd5b8b4c5cb8d2ee1e7d7f0f1d1b5bd9d0a3b6c9e2f4a1b2c3"
)


class FormFields(HTMLParser):
    """The fields a browser would post for one ``<form id=…>``: inputs, textareas and selected options."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[self._textarea] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a["value"]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            if self._textarea and self.fields[self._textarea].startswith("\n"):
                self.fields[self._textarea] = self.fields[self._textarea][1:]  # as browsers drop it
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_fields(html: str, form_id: str) -> dict[str, str]:
    parser = FormFields(form_id)
    parser.feed(html)
    return parser.fields


@pytest.fixture
def signed_in(client, engine):
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    token = match.group(1)
    response = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    return client


def stored_json(engine, location: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(locations.c.config).where(locations.c.id == location)).scalar()


EVERY_OPTION = LocationConfig(
    question_id="security_q1",
    default_language="nb",
    texts={
        "nb": {"question": "Hvordan var kontrollen?", "thanks": "Takk!", "followup_question": "Hvorfor?",
               "closed": "Stengt", "reason.seating": "Sitteplasser"},  # no nb label for queue_time or fast
        "en": {"question": "How was the check?", "thanks": "Thank you!", "reason.queue_time": "Waiting time",
               "reason.fast": "Quick", "reason.seating": "Seating", "comment_prompt": "Tell us more"},
        "de": {"question": "Wie war die Kontrolle?", "reason.queue_time": "Wartezeit"},  # no thanks in German
    },
    followup=FollowUp(negative_reasons=["queue_time", "seating"], positive_reasons=["fast", "seating"],
                      timeout_seconds=17.5),
    comment=CommentSettings(enabled=True, max_chars=140),
    thank_you_seconds=4.5,
    repeat_press_seconds=7.0,
    attract_after_seconds=90.0,
    opening_hours={"mon": [("06:00", "22:00")], "fri": [("06:00", "12:00"), ("13:00", "24:00")],
                   "sat": [("22:00", "02:00")]},
    admin_pin_hash=hash_pin("246813", n=2, r=1, p=1),
    questions=[
        Question(id="wait", scale=11, texts={"nb": {"question": "Hvordan var ventetiden?", "reason.long": "Lang kø"},
                                             "en": {"question": "How was the wait?"}},
                 followup=FollowUp(negative_reasons=["long", "unclear"], positive_reasons=[], timeout_seconds=9.0)),
        Question(id="staff", scale=3, texts={"de": {"question": "Wie war das Personal?"}}),  # nothing in nb
    ],
    question_mode="sequence",
    question_timeout_seconds=12.5,
    web_repeat_minutes=30.0,
)  # fmt: skip


def test_saving_the_settings_form_unchanged_stores_exactly_the_same_config(signed_in, engine, location):
    with engine.begin() as conn:
        configure_location(conn, location, config=EVERY_OPTION)
    before = stored_json(engine, location)
    page = signed_in.get(f"/admin/locations/{location}")
    fields = form_fields(page.text, "settings")

    # the form shows a reason's label only where the default language has one: no raw id typed in as a label
    assert fields["negative_reasons"] == "queue_time\nseating: Sitteplasser"
    assert (fields["q1.id"], fields["q1.scale"], fields["q1.negative_reasons"]) == (
        "wait",
        "11",
        "long: Lang kø\nunclear",
    )
    assert (fields["q2.id"], fields["q2.question"], fields["q3.id"]) == ("staff", "", "")
    saved = signed_in.post(f"/admin/locations/{location}/config", data=fields, follow_redirects=False)

    assert saved.status_code == 303 and saved.headers["location"] == f"/admin/locations/{location}"
    assert stored_json(engine, location) == before  # nothing written at all
    with engine.connect() as conn:
        stored = LocationConfig.model_validate_json(stored_json(engine, location))
        assert stored == EVERY_OPTION
        assert location_config(conn, location).texts["nb"].get("reason.queue_time") is None
    assert "Nothing changed." in signed_in.get(f"/admin/locations/{location}").text


def test_a_changed_label_is_saved_in_the_default_language_and_others_stay(signed_in, engine, location):
    with engine.begin() as conn:
        configure_location(conn, location, config=EVERY_OPTION)
    fields = form_fields(signed_in.get(f"/admin/locations/{location}").text, "settings")
    fields["negative_reasons"] = "queue_time: Ventetid\nseating"  # label one, unlabel the other (in both lists)
    fields["positive_reasons"] = "fast\nseating"
    fields["thanks.de"] = "Danke!"

    saved = signed_in.post(f"/admin/locations/{location}/config", data=fields)  # and the page it leads to

    with engine.connect() as conn:
        config = location_config(conn, location)
    assert config.texts["nb"]["reason.queue_time"] == "Ventetid" and "reason.seating" not in config.texts["nb"]
    assert config.texts["en"] == EVERY_OPTION.texts["en"]
    assert config.texts["de"] == {**EVERY_OPTION.texts["de"], "thanks": "Danke!"}
    assert config.model_dump(exclude={"texts", "admin_pin_hash"}) == EVERY_OPTION.model_dump(
        exclude={"texts", "admin_pin_hash"}
    )
    assert "Saved. Kiosks pick the change up" in saved.text
    assert "Saved." not in signed_in.get(f"/admin/locations/{location}").text  # shown once


def test_a_question_is_added_changed_and_taken_off_in_the_settings_form(signed_in, engine, location):
    with engine.begin() as conn:
        configure_location(conn, location, config=EVERY_OPTION)
    fields = form_fields(signed_in.get(f"/admin/locations/{location}").text, "settings")
    fields |= {
        "q1.question": "Ventetiden?",
        "q2.id": "",
        "q3.id": "toilets",
        "q3.scale": "4",
        "q3.question": "Hvordan var toalettene?",
        "q3.negative_reasons": "dirty: Skittent",
        "question_mode": "rotate",
    }

    signed_in.post(f"/admin/locations/{location}/config", data=fields)

    with engine.connect() as conn:
        config = location_config(conn, location)
    assert config.question_mode == "rotate"
    assert [(q.id, q.scale) for q in config.questions] == [("wait", 11), ("toilets", 4)]
    wait, toilets = config.questions
    assert wait.texts == {
        "nb": {"question": "Ventetiden?", "reason.long": "Lang kø"},
        "en": {"question": "How was the wait?"},
    }  # English kept
    assert wait.followup == EVERY_OPTION.questions[0].followup
    assert toilets.texts == {"nb": {"question": "Hvordan var toalettene?", "reason.dirty": "Skittent"}}
    assert toilets.followup == FollowUp(negative_reasons=["dirty"], positive_reasons=[])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"q3.id": "main"}, "question ids must differ"),
        ({"q3.id": "Bad Id"}, "question 3 id: String should match pattern"),
        ({"q3.id": "x", "q3.scale": "7"}, "question 3 scale: Input should be 3, 4, 5 or 11"),
        ({"question_mode": "shuffle"}, "question_mode: Input should be 'single', 'rotate' or 'sequence'"),
    ],
    ids=["same-id-as-main", "id-form", "scale", "mode"],
)
def test_a_question_that_cannot_be_used_is_said_and_nothing_is_saved(signed_in, engine, location, change, message):
    fields = form_fields(signed_in.get(f"/admin/locations/{location}").text, "settings")
    before = stored_json(engine, location)

    answer = signed_in.post(f"/admin/locations/{location}/config", data=fields | change)

    assert answer.status_code == 422
    assert message in html.unescape(answer.text)
    assert stored_json(engine, location) == before


@pytest.mark.parametrize(
    "query",
    ["code=13371337", "error=Your+account+is+locked,+call+555-0100", "revoked=evil&saved=1",
     "form=x&code=13371337"],
)  # fmt: skip
def test_admin_pages_never_show_text_from_the_url(signed_in, location, query):
    settings = signed_in.get(f"/admin/locations/{location}?{query}")
    listing = signed_in.get(f"/admin?{query}")

    for page in (settings, listing):
        assert page.status_code == 200
        for planted in ("13371337", "555-0100", "evil", "Saved.", "Pairing code"):
            assert planted not in page.text


def test_a_revoked_kiosk_is_announced_once_by_the_server(signed_in, location, kiosk):
    token = form_fields(signed_in.get(f"/admin/locations/{location}").text, "pin")["csrf_token"]

    revoked = signed_in.post(f"/admin/kiosks/{kiosk.kiosk_id}/revoke", data={"csrf_token": token},
                             follow_redirects=False)  # fmt: skip
    first = signed_in.get(revoked.headers["location"]).text
    again = signed_in.get(revoked.headers["location"]).text

    assert revoked.headers["location"] == f"/admin/locations/{location}"
    assert f"Kiosk {kiosk.kiosk_id} revoked" in first and f"Kiosk {kiosk.kiosk_id} revoked" not in again


def test_an_old_short_pin_is_flagged_and_a_new_one_replaces_it(signed_in, engine, location):
    with engine.begin() as conn:
        configure_location(conn, location, config=LocationConfig(admin_pin_hash=PIN_HASH_4_DIGITS))
    page = signed_in.get(f"/admin/locations/{location}").text
    assert 'id="old-pin"' in page
    token = form_fields(page, "pin")["csrf_token"]

    short = signed_in.post(f"/admin/locations/{location}/pin", data={"csrf_token": token, "pin": "4711"})
    assert short.status_code == 422 and "6 to 12 digits" in short.text and 'name="pin" value' not in short.text
    after = signed_in.post(f"/admin/locations/{location}/pin", data={"csrf_token": token, "pin": "80417253"}).text

    with engine.connect() as conn:
        assert not pin_needs_update(conn, location)
    assert 'id="old-pin"' not in after and "80417253" not in after and "New kiosk PIN set" in after
