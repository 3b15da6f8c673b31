"""Locations (server.locations), kiosk enrolment and API keys (server.auth): secrets stored only as hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url, select

from server import InvalidInput, NotFound
from server.auth import keys, kiosk_tokens, tokens
from server.db import api_keys, kiosks, locations
from server.locations import add_location, kiosk_config


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"},
         "unknown time zone 'Mars/Olympus_Mons': expected an IANA name such as 'Europe/Oslo'"),
        ({"timezone": "../../etc/passwd"},
         "unknown time zone '../../etc/passwd': expected an IANA name such as 'Europe/Oslo'"),
        ({"scale": 7}, "scale must be one of 3, 4, 5, 11, got 7"),
        ({"scale": 10}, "scale must be one of 3, 4, 5, 11, got 10"),
        ({"name": "   "}, "location name must not be empty"),
    ],
    ids=["unknown-zone", "path-as-zone", "scale-7", "scale-10", "blank-name"],
)  # fmt: skip
def test_add_location_rejects_bad_input_saying_what_was_expected(engine, kwargs, message):
    arguments = {"name": "Gate 12", "timezone": "Europe/Oslo", "scale": 5, **kwargs}

    with engine.begin() as conn, pytest.raises(InvalidInput) as caught:
        add_location(conn, **arguments)

    assert str(caught.value) == message
    with engine.connect() as conn:
        assert conn.execute(select(locations)).all() == []


@pytest.mark.parametrize("scale", [3, 4, 5, 11])
def test_add_location_stores_name_zone_and_scale(engine, scale):
    with engine.begin() as conn:
        location = add_location(conn, name="  Gate 12 ", timezone="Asia/Kathmandu", scale=scale)

    with engine.connect() as conn:
        row = conn.execute(select(locations).where(locations.c.id == location)).one()
    assert (row.name, row.timezone, row.scale) == ("Gate 12", "Asia/Kathmandu", scale)


def test_enroll_kiosk_at_unknown_location_raises_not_found(engine, location):
    with engine.begin() as conn, pytest.raises(NotFound, match=f"location {location + 1} does not exist"):
        kiosk_tokens.enroll_kiosk(conn, location_id=location + 1)


def test_revoke_unknown_kiosk_raises_not_found(engine):
    with engine.begin() as conn, pytest.raises(NotFound, match="kiosk nope does not exist"):
        kiosk_tokens.revoke_kiosk(conn, "nope")


def test_create_api_key_rejects_a_blank_name(engine):
    with engine.begin() as conn, pytest.raises(InvalidInput, match="must not be empty"):
        keys.create_api_key(conn, name=" ")


def test_kiosk_config_of_unknown_kiosk_raises_not_found(engine):
    with engine.connect() as conn, pytest.raises(NotFound):
        kiosk_config(conn, "nope")


def test_secrets_are_prefixed_and_unique(enroll, location, engine):
    made_tokens = {enroll(location).token for _ in range(3)}
    with engine.begin() as conn:
        made_keys = {keys.create_api_key(conn, name=f"k{i}") for i in range(3)}

    assert len(made_tokens) == len(made_keys) == 3
    assert all(t.startswith("spk_") and len(t) >= 40 for t in made_tokens)
    assert all(k.startswith("spa_") and len(k) >= 40 for k in made_keys)


def test_tokens_and_keys_are_stored_only_as_hashes(engine, database_url, enroll, location, client):
    enrolment = enroll(location)
    with engine.begin() as conn:
        key = keys.create_api_key(conn, name="dashboard")

    with engine.connect() as conn:
        token_hash = conn.execute(select(kiosks.c.token_hash)).scalar_one()
        key_hash = conn.execute(select(api_keys.c.key_hash)).scalar_one()
    assert (token_hash, key_hash) == (tokens.hash_secret(enrolment.token), tokens.hash_secret(key))

    if make_url(database_url).get_backend_name() != "sqlite":
        return
    file = make_url(database_url).database
    assert file is not None
    database = Path(file)
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert token_hash.encode() in stored and key_hash.encode() in stored  # the search below can see data
    for secret in (enrolment.token, key):
        assert secret.encode() not in stored
        assert secret.removeprefix("spk_").removeprefix("spa_").encode() not in stored
