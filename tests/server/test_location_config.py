"""A location's kiosk config: set with an admin key, read with any key, served to its kiosks with a new ETag."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from server import InvalidInput, NotFound
from server.auth import keys, kiosk_tokens
from server.db import locations
from server.locations import configure_location, kiosk_config, pin_needs_update
from shared.pins import hash_pin, verify_pin
from shared.protocol import LocationConfig

PIN_HASH = hash_pin("246813", salt=bytes(16), n=2**10)  # cheap scrypt parameters, for speed
# The old format (PBKDF2, 4-digit PINs), as stored before scrypt: still accepted and served.
OLD_PIN_HASH = f"pbkdf2_sha256$1000${'00' * 16}${hashlib.pbkdf2_hmac('sha256', b'2468', bytes(16), 1000).hex()}"

CONFIG: dict[str, Any] = {
    "question_id": "security",
    "default_language": "nb",
    "texts": {
        "nb": {"question": "Hvordan var sikkerhetskontrollen?", "thanks": "Takk!", "reason.queue": "Kø"},
        "en": {"question": "How was security today?", "thanks": "Thank you!", "reason.queue": "Queue"},
    },
    "followup": {"negative_reasons": ["queue", "staff"], "positive_reasons": ["fast"], "timeout_seconds": 8.0},
    "comment": {"enabled": True, "max_chars": 120},
    "thank_you_seconds": 2.5,
    "repeat_press_seconds": 4.0,
    "attract_after_seconds": 45.0,
    "opening_hours": {"mon": [["06:00", "22:00"]], "sat": [["08:00", "12:00"], ["13:00", "18:00"]]},
    "admin_pin_hash": None,
    "questions": [
        {"id": "wait", "scale": 5, "texts": {"en": {"question": "How was the wait?"}}, "followup": None},
        {
            "id": "staff",
            "scale": 11,
            "texts": {"nb": {"question": "Hvor vennlige var de ansatte?"}},
            "followup": {"negative_reasons": ["rude"], "positive_reasons": [], "timeout_seconds": 6.0},
        },
    ],  # fmt: skip
    "question_mode": "sequence",
    "question_timeout_seconds": 9.0,
    "web_repeat_minutes": 15.0,
}
# Every field of the kiosk config as protocol v1 defined it: a v1 kiosk's model refuses any other.
V1_KIOSK_CONFIG_KEYS = {
    "question_id", "default_language", "texts", "followup", "comment", "thank_you_seconds", "repeat_press_seconds",
    "attract_after_seconds", "opening_hours", "admin_pin_hash", "kiosk_id", "location_id", "location_name",
    "timezone", "scale",
}  # fmt: skip


@pytest.fixture
def admin_key(engine) -> str:
    with engine.begin() as conn:
        return keys.create_api_key(conn, name="installer", scope="admin")


@pytest.fixture
def put_config(client, admin_key):
    def put(location_id: int, body: dict[str, Any], key: str | None = None):
        headers = {"Authorization": f"Bearer {key or admin_key}"}
        return client.put(f"/api/v1/locations/{location_id}/config", json=body, headers=headers)

    return put


@pytest.fixture
def get_config(client, api_key):
    def get(location_id: int, key: str | None = None):
        headers = {"Authorization": f"Bearer {key or api_key}"}
        return client.get(f"/api/v1/locations/{location_id}/config", headers=headers)

    return get


@pytest.fixture
def kiosk_get(client, kiosk):
    def get(**headers: str):
        return client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {kiosk.token}", **headers})

    return get


def test_a_new_location_has_the_default_config(get_config, location):
    response = get_config(location)

    assert response.status_code == 200
    assert response.json() == LocationConfig().model_dump(mode="json")


def test_a_config_put_with_an_admin_key_is_stored_and_read_back(put_config, get_config, location):
    put = put_config(location, CONFIG)

    assert (put.status_code, put.json()) == (200, CONFIG)
    assert get_config(location).json() == CONFIG


def test_the_config_is_stored_as_json_in_the_locations_row(engine, put_config, location):
    put_config(location, CONFIG)

    with engine.connect() as conn:
        stored = conn.execute(select(locations.c.config).where(locations.c.id == location)).scalar_one()
    assert LocationConfig.model_validate_json(stored).model_dump(mode="json") == CONFIG


def test_a_read_key_may_read_the_config_but_not_change_it(put_config, get_config, location, api_key):
    refused = put_config(location, CONFIG, key=api_key)

    assert (refused.status_code, refused.json()) == (403, {"message": "this API key may only read"})
    assert get_config(location).json() == LocationConfig().model_dump(mode="json")


def test_the_config_needs_a_valid_api_key(client, location, kiosk):
    path = f"/api/v1/locations/{location}/config"
    answers = [
        client.get(path),
        client.get(path, headers={"Authorization": "Bearer spa_unknown"}),
        client.put(path, json=CONFIG, headers={"Authorization": f"Bearer {kiosk.token}"}),
    ]
    assert [(a.status_code, a.json()) for a in answers] == [(401, {"message": "invalid or revoked credentials"})] * 3


def test_the_config_of_an_unknown_location_is_a_404(put_config, get_config):
    answers = [put_config(999, CONFIG), get_config(999)]
    assert [(a.status_code, a.json()) for a in answers] == [(404, {"message": "location 999 does not exist"})] * 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"followup": {"negative_reasons": ["a", "b", "c", "d", "e", "f", "g"]}},
            "followup.negative_reasons: List should have at most 6 items after validation, not 7",
        ),
        (
            {"followup": {"negative_reasons": ["Long Queue"]}},
            "followup.negative_reasons.0: String should match pattern '^[a-z0-9_]{1,32}$'",
        ),
        ({"thank_you_seconds": 0}, "thank_you_seconds: Input should be greater than 0"),
        (
            {"opening_hours": {"mon": [["6:00", "22:00"]]}},
            "opening_hours.mon.0.0: String should match pattern '^([01][0-9]|2[0-4]):[0-5][0-9]$'",
        ),
        (
            {"opening_hours": {"monday": []}},
            "opening_hours.monday.[key]: Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
        ),  # fmt: skip
        ({"scale": 3}, "scale: Extra inputs are not permitted"),
    ],
    ids=["seven-reasons", "reason-id", "thank-you-zero", "hour-form", "weekday", "scale-is-not-config"],
)
def test_an_invalid_config_is_a_422_naming_the_field_and_changes_nothing(
    put_config, get_config, location, change, message
):
    put_config(location, CONFIG)

    response = put_config(location, {**CONFIG, **change})

    assert response.status_code == 422
    assert response.json()["message"] == message
    assert get_config(location).json() == CONFIG


# --- the admin PIN -----------------------------------------------------------------------------


def test_a_pin_hash_is_shown_as_set_and_served_to_kiosks_in_full(put_config, get_config, location, kiosk_get):
    put = put_config(location, {**CONFIG, "admin_pin_hash": PIN_HASH})

    assert put.json()["admin_pin_hash"] == "set"
    assert get_config(location).json()["admin_pin_hash"] == "set"
    served = kiosk_get().json()["admin_pin_hash"]
    assert served == PIN_HASH and verify_pin("246813", served)


def test_an_old_pbkdf2_pin_hash_is_still_accepted_and_round_trips(put_config, get_config, location, kiosk_get):
    put_config(location, {**CONFIG, "admin_pin_hash": OLD_PIN_HASH})

    again = put_config(location, {**get_config(location).json(), "thank_you_seconds": 4.0})

    assert (again.status_code, again.json()["admin_pin_hash"]) == (200, "set")
    served = kiosk_get().json()["admin_pin_hash"]
    assert served == OLD_PIN_HASH and verify_pin("2468", served)


def test_a_new_pin_hash_put_back_as_set_round_trips(put_config, get_config, location, kiosk_get):
    put_config(location, {**CONFIG, "admin_pin_hash": PIN_HASH})

    again = put_config(location, get_config(location).json())

    assert (again.status_code, again.json()) == (200, {**CONFIG, "admin_pin_hash": "set"})
    assert kiosk_get().json()["admin_pin_hash"] == PIN_HASH


@pytest.mark.parametrize(("sent", "kept"), [("set", PIN_HASH), (None, None)], ids=["set-keeps", "null-clears"])
def test_sending_set_keeps_the_stored_pin_hash_and_null_clears_it(put_config, location, kiosk_get, sent, kept):
    put_config(location, {**CONFIG, "admin_pin_hash": PIN_HASH})

    put = put_config(location, {**CONFIG, "thank_you_seconds": 4.0, "admin_pin_hash": sent})

    assert put.json()["admin_pin_hash"] == ("set" if kept else None)
    assert (kiosk_get().json()["admin_pin_hash"], kiosk_get().json()["thank_you_seconds"]) == (kept, 4.0)


def test_set_without_a_stored_pin_stays_unset(put_config, location):
    assert put_config(location, {**CONFIG, "admin_pin_hash": "set"}).json()["admin_pin_hash"] is None


@pytest.mark.parametrize(
    "bad",
    [
        "2468",
        "pbkdf2_sha256$200000$00$zz",
        OLD_PIN_HASH.replace("$1000$", "$99999999$"),
        OLD_PIN_HASH.replace("$1000$", "$2000000$"),  # the form's digits, but more than a kiosk computes
        PIN_HASH.replace("scrypt$1024$", f"scrypt${2**20}$"),  # 1 GiB per check
        PIN_HASH.replace("scrypt$1024$8$", "scrypt$65536$16$"),  # 128 MiB: the form's digits, over the bound
        PIN_HASH.replace("scrypt$1024$", "scrypt$1000$"),  # not a power of two
        PIN_HASH + "\n",
    ],
    ids=["pin", "hex", "iterations-8-digits", "iterations-over-bound", "n-1GiB", "r16-128MiB", "n-1000", "newline"],
)
def test_a_pin_hash_not_made_by_hash_pin_is_refused(put_config, location, bad):
    response = put_config(location, {**CONFIG, "admin_pin_hash": bad})

    assert (response.status_code, response.json()) == (
        422, {"message": 'admin_pin_hash: expected "set", null or a hash made by shared.pins.hash_pin'},
    )  # fmt: skip


def test_configure_location_with_a_pin_stores_only_its_hash(engine, location):
    with engine.begin() as conn:
        shown = configure_location(conn, location, pin="80417253")

    with engine.connect() as conn:
        stored = conn.execute(select(locations.c.config).where(locations.c.id == location)).scalar_one()
        served = kiosk_config(conn, kiosk_tokens.enroll_kiosk(conn, location_id=location).kiosk_id)
    assert shown.admin_pin_hash == "set"
    assert "80417253" not in stored
    assert served.admin_pin_hash is not None and verify_pin("80417253", served.admin_pin_hash)


def test_configure_location_with_only_a_pin_keeps_the_rest(engine, put_config, location):
    put_config(location, CONFIG)

    with engine.begin() as conn:
        shown = configure_location(conn, location, pin="135799")

    assert shown.model_dump(mode="json") == {**CONFIG, "admin_pin_hash": "set"}


@pytest.mark.parametrize("pin", ["12", "1357", "13579", "12ab56", "1234567890123"])
def test_a_malformed_or_short_pin_is_invalid_input(engine, location, pin):
    with engine.begin() as conn, pytest.raises(InvalidInput, match="^pin: a PIN is 6 to 12 digits$"):
        configure_location(conn, location, pin=pin)


@pytest.mark.parametrize(
    ("pin_hash", "expected"),
    [(None, False), (OLD_PIN_HASH, True), (PIN_HASH, True)],
    ids=["no-pin", "old-pbkdf2", "weak-scrypt"],
)
def test_pin_needs_update_for_an_old_or_weak_hash(engine, put_config, location, pin_hash, expected):
    put_config(location, {**CONFIG, "admin_pin_hash": pin_hash})

    with engine.connect() as conn:
        assert pin_needs_update(conn, location) is expected


def test_a_pin_set_now_needs_no_update(engine, put_config, location):
    put_config(location, {**CONFIG, "admin_pin_hash": OLD_PIN_HASH})

    with engine.begin() as conn:
        configure_location(conn, location, pin="80417253")
        assert pin_needs_update(conn, location) is False


def test_a_stored_hash_kiosks_now_refuse_is_kept_by_set_and_needs_update(engine, put_config, location):
    too_slow = OLD_PIN_HASH.replace("$1000$", "$2000000$")  # the old form allowed it; kiosks now stop at 1,000,000
    stored = LocationConfig.model_validate({**CONFIG, "admin_pin_hash": too_slow}).model_dump_json()
    with engine.begin() as conn:
        conn.execute(locations.update().where(locations.c.id == location).values(config=stored))

    put = put_config(location, {**CONFIG, "thank_you_seconds": 4.0, "admin_pin_hash": "set"})

    assert (put.status_code, put.json()["admin_pin_hash"]) == (200, "set")
    with engine.connect() as conn:
        assert pin_needs_update(conn, location) is True


def test_pin_needs_update_of_an_unknown_location_is_not_found(engine):
    with engine.connect() as conn, pytest.raises(NotFound, match="location 999 does not exist"):
        pin_needs_update(conn, 999)


# --- kiosks get it -----------------------------------------------------------------------------


def test_a_config_change_reaches_the_kiosk_with_a_new_etag(put_config, location, kiosk, kiosk_get):
    before = kiosk_get()
    old_etag = before.headers["ETag"]
    assert before.json()["followup"] is None

    put_config(location, CONFIG)
    after = kiosk_get(**{"If-None-Match": old_etag, "Smilepost-Features": "questions"})

    assert after.status_code == 200
    assert after.headers["ETag"] != old_etag
    body = after.json()
    assert {k: body[k] for k in CONFIG} == CONFIG
    assert (body["kiosk_id"], body["location_id"], body["location_name"], body["timezone"], body["scale"]) == (
        kiosk.kiosk_id, location, "Gardermoen Gate 12", "Europe/Oslo", 5,
    )  # fmt: skip
    again = {"If-None-Match": after.headers["ETag"], "Smilepost-Features": "questions"}
    assert kiosk_get(**again).status_code == 304


def test_a_v1_kiosk_gets_only_the_fields_it_knows_and_asks_the_main_question(put_config, location, kiosk_get):
    put_config(location, CONFIG)

    v1, current = kiosk_get(), kiosk_get(**{"Smilepost-Features": "questions"})

    assert set(v1.json()) == V1_KIOSK_CONFIG_KEYS
    assert {k: v1.json()[k] for k in V1_KIOSK_CONFIG_KEYS} == {k: current.json()[k] for k in V1_KIOSK_CONFIG_KEYS}
    assert (current.json()["question_mode"], [q["id"] for q in current.json()["questions"]]) == (
        "sequence", ["wait", "staff"]
    )  # fmt: skip
    assert v1.headers["ETag"] != current.headers["ETag"]  # each revalidates against what it was sent


def test_kiosks_of_other_locations_keep_their_config(put_config, make_location, enroll, client, location):
    other = enroll(make_location(name="Elsewhere"))

    put_config(location, CONFIG)

    body = client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {other.token}"}).json()
    assert body["question_id"] == "main" and body["followup"] is None
