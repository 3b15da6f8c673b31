"""Pairing a kiosk with a one-time code: single use, 15 minutes, hashed at rest, guessing rate-limited."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from server import InvalidInput, NotFound, PairingRefused, RateLimited
from server.auth import keys, pairing
from server.db import api_keys, kiosks, locations, make_engine, pair_codes, pair_failures, upgrade
from server.locations import add_location, location_config
from shared.protocol import LocationConfig

REFUSED = {"message": "invalid or expired pairing code"}
UNAUTHORIZED = {"message": "invalid or revoked credentials"}
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Clock:
    """The time server.pairing sees; tests move it."""

    def __init__(self) -> None:
        self.now = T0

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(pairing, "_now", lambda: clock.now)
    return clock


@pytest.fixture
def make_code(engine):
    def make(location_id: int, **kwargs: Any) -> pairing.PairCode:
        with engine.begin() as conn:
            return pairing.create_pair_code(conn, location_id=location_id, **kwargs)

    return make


@pytest.fixture
def admin_key(engine) -> str:
    with engine.begin() as conn:
        return keys.create_api_key(conn, name="installer", scope="admin")


def pair(client, code: str, name: str | None = None):
    return client.post("/api/v1/pair", json={"code": code, "name": name})


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


# --- the happy path ---------------------------------------------------------------------------


def test_a_paired_kiosks_token_sends_taps_and_gets_its_locations_config(
    client, make_location, make_code, make_batch, tap, stored_taps
):
    location = make_location(name="Tribhuvan Gate 3", timezone="Asia/Kathmandu", scale=3)
    code = make_code(location).code

    response = pair(client, code, "lane 3")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"kiosk_id", "token", "server_time"}
    assert body["token"].startswith("spk_")
    headers = {"Authorization": f"Bearer {body['token']}"}
    config = client.get("/api/v1/kiosk/config", headers=headers).json()
    assert (config["kiosk_id"], config["location_id"], config["location_name"], config["scale"]) == (
        body["kiosk_id"], location, "Tribhuvan Gate 3", 3,
    )  # fmt: skip
    sent = tap(scale=3, score=2)
    taps = client.post("/api/v1/taps", json=make_batch([sent]), headers=headers)
    assert taps.status_code == 200 and taps.json()["accepted"] == 1
    assert (stored_taps()[sent["id"]].kiosk_id, stored_taps()[sent["id"]].location_id) == (body["kiosk_id"], location)


def test_server_time_in_the_pairing_answer_is_the_servers_clock(client, location, make_code):
    before = datetime.now(UTC)
    server_time = datetime.fromisoformat(pair(client, make_code(location).code).json()["server_time"])
    assert before <= server_time <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("operator_name", "kiosk_name", "stored"),
    [("lane 3", "tablet-7", "lane 3"), (None, "tablet-7", "tablet-7")],
    ids=["operator-name-wins", "kiosk-name-otherwise"],
)
def test_the_paired_kiosk_is_named_by_the_operator_else_by_the_kiosk(
    client, location, make_code, kiosk_row, operator_name, kiosk_name, stored
):
    code = make_code(location, kiosk_name=operator_name).code

    kiosk_id = pair(client, code, kiosk_name).json()["kiosk_id"]

    assert kiosk_row(kiosk_id).name == stored


def test_a_kiosk_paired_without_any_name_gets_a_default_one(client, location, make_code, kiosk_row):
    kiosk_id = pair(client, make_code(location).code).json()["kiosk_id"]
    assert kiosk_row(kiosk_id).name == f"kiosk-{kiosk_id[:6]}"


def test_redeeming_records_the_kiosk_and_time_on_the_code(engine, client, location, make_code, clock):
    code = make_code(location).code
    clock.advance(minutes=3)

    kiosk_id = pair(client, code).json()["kiosk_id"]

    with engine.connect() as conn:
        row = conn.execute(select(pair_codes)).one()
    assert (row.used_at, row.kiosk_id, row.location_id) == (T0 + timedelta(minutes=3), kiosk_id, location)


# --- codes --------------------------------------------------------------------------------------


def test_a_code_is_eight_digits_and_expires_after_fifteen_minutes(location, make_code, clock):
    code = make_code(location)

    assert len(code.code) == 8 and code.code.isdigit()
    assert code.expires_at == T0 + timedelta(minutes=15)


def test_codes_are_stored_only_as_sha256_hashes(engine, database_url, location, make_code):
    code = make_code(location, kiosk_name="lane 9").code

    with engine.connect() as conn:
        row = conn.execute(select(pair_codes)).one()
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert all(code not in str(value) for value in row)
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        stored = b"".join(f.read_bytes() for f in (path, path.with_name(path.name + "-wal")) if f.exists())
        assert code.encode() not in stored
        assert hashlib.sha256(code.encode()).hexdigest().encode() in stored


def test_a_code_for_an_unknown_location_is_not_found(make_code):
    with pytest.raises(NotFound, match="^location 999 does not exist$"):
        make_code(999)


def test_codes_of_one_location_are_different(location, make_code):
    codes = {make_code(location).code for _ in range(20)}
    assert len(codes) == 20


def test_codes_expired_over_a_day_ago_are_deleted_when_a_new_one_is_made(engine, location, make_code, clock):
    make_code(location)
    clock.advance(days=1, minutes=15)
    kept = make_code(location)  # the first expired exactly a day ago: kept
    clock.advance(seconds=1)

    make_code(location)

    with engine.connect() as conn:
        expiries = sorted(conn.execute(select(pair_codes.c.expires_at)).scalars())
    assert expiries == [kept.expires_at, clock.now + timedelta(minutes=15)]


# --- refusals -----------------------------------------------------------------------------------


def test_a_code_works_once(client, location, make_code, engine):
    code = make_code(location).code

    first, second = pair(client, code), pair(client, code)

    assert first.status_code == 200
    assert (second.status_code, second.json()) == (403, REFUSED)
    with engine.connect() as conn:
        assert len(conn.execute(select(kiosks.c.id)).all()) == 1


def test_a_code_works_until_fifteen_minutes_and_not_after(client, location, make_code, clock):
    early, late = make_code(location).code, make_code(location).code

    clock.advance(minutes=15, seconds=-1)
    assert pair(client, early).status_code == 200
    clock.advance(seconds=1)
    response = pair(client, late)

    assert (response.status_code, response.json()) == (403, REFUSED)


def test_wrong_expired_and_used_codes_get_identical_403s(client, location, make_code, clock):
    used, expired = make_code(location).code, make_code(location, ttl=timedelta(minutes=1)).code
    pair(client, used)
    clock.advance(minutes=1)

    answers = [pair(client, code) for code in (wrong_code(used), expired, used)]

    assert [(a.status_code, a.json()) for a in answers] == [(403, REFUSED)] * 3
    per_answer = ("date", "x-request-id")  # differ between any two answers, whatever the code
    assert len({tuple(sorted((k, v) for k, v in a.headers.items() if k not in per_answer)) for a in answers}) == 1


def test_each_refusal_is_recorded_with_the_client_and_time(engine, client, location, make_code, clock):
    code = make_code(location).code
    pair(client, wrong_code(code))
    clock.advance(seconds=30)
    pair(client, wrong_code(code))
    pair(client, code)  # success: not a failure

    with engine.connect() as conn:
        rows = conn.execute(select(pair_failures.c.client, pair_failures.c.failed_at).order_by("id")).all()
    assert [tuple(r) for r in rows] == [("testclient", T0), ("testclient", T0 + timedelta(seconds=30))]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"code": "1234567"}, "code: String should match pattern '^[0-9]{8}$'"),
        ({"code": "12345678 "}, "code: String should match pattern '^[0-9]{8}$'"),
        ({"code": "１２３４５６７８"}, "code: String should match pattern '^[0-9]{8}$'"),
        ({"code": 12345678}, "code: Input should be a valid string"),
        ({}, "code: Field required"),
        ({"code": "12345678", "location_id": 1}, "location_id: Extra inputs are not permitted"),
        ({"code": "12345678", "name": ""}, "name: String should have at least 1 character"),
    ],
    ids=["short", "space", "fullwidth", "number", "missing", "extra", "empty-name"],
)
def test_a_malformed_pairing_body_is_a_422_naming_the_field(client, engine, body, message):
    response = client.post("/api/v1/pair", json=body)

    assert response.status_code == 422
    assert response.json()["message"] == message
    with engine.connect() as conn:
        assert conn.execute(select(pair_failures)).all() == []


# --- rate limits -------------------------------------------------------------------------------


def test_ten_failures_from_one_client_lock_it_out_even_with_the_right_code(client, location, make_code, clock):
    code = make_code(location).code
    answers = [pair(client, wrong_code(code)).status_code for _ in range(pairing.MAX_FAILURES_PER_CLIENT)]
    clock.advance(minutes=5)

    limited = pair(client, code)

    assert answers == [403] * 10
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "600"
    assert limited.json() == {"message": "too many failed attempts; try again in 600 s"}


def test_a_locked_out_client_may_try_again_when_its_oldest_failure_leaves_the_window(
    client, location, make_code, clock
):
    code = make_code(location, ttl=timedelta(hours=1)).code
    for _ in range(9):
        pair(client, wrong_code(code))
    clock.advance(minutes=2)
    pair(client, wrong_code(code))  # the 10th failure, two minutes after the first nine

    clock.advance(minutes=13, seconds=-1)
    assert pair(client, code).headers["Retry-After"] == "1"
    clock.advance(seconds=1)  # the first nine are now 15 minutes old: one left in the window
    assert pair(client, code).status_code == 200


def test_the_retry_after_counts_from_the_failure_that_must_expire(client, location, make_code, clock):
    code = make_code(location, ttl=timedelta(hours=1)).code
    for _ in range(10):
        pair(client, wrong_code(code))
        clock.advance(minutes=1)  # failures at T0, T0+1 min, ... T0+9 min; now T0+10 min

    response = pair(client, code)

    # Only when the T0 failure leaves (at T0+15 min) is the client under 10 again.
    assert (response.status_code, response.headers["Retry-After"]) == (429, str(5 * 60))


def test_retry_after_rounds_a_part_second_up(client, location, make_code, clock):
    code = make_code(location).code
    for _ in range(10):
        pair(client, wrong_code(code))
    clock.advance(minutes=10, seconds=0.25)  # 4 min 59.75 s to go

    assert pair(client, code).headers["Retry-After"] == "300"


def test_rate_limited_attempts_are_not_counted_as_failures(engine, client, location, make_code, clock):
    code = make_code(location).code
    for _ in range(15):
        pair(client, wrong_code(code))

    with engine.connect() as conn:
        assert len(conn.execute(select(pair_failures)).all()) == pairing.MAX_FAILURES_PER_CLIENT


def test_one_clients_failures_do_not_lock_out_another(engine, location, make_code, clock):
    code = make_code(location).code
    for _ in range(10):
        with pytest.raises(PairingRefused):
            pairing.redeem_pair_code(engine, code=wrong_code(code), client="203.0.113.7")

    with pytest.raises(RateLimited):
        pairing.redeem_pair_code(engine, code=code, client="203.0.113.7")
    enrolment = pairing.redeem_pair_code(engine, code=code, client="198.51.100.2")

    assert enrolment.token.startswith("spk_")


def test_two_hundred_failures_from_many_clients_lock_out_everyone(engine, location, make_code, clock):
    code = make_code(location, ttl=timedelta(hours=1)).code
    per_client = pairing.MAX_FAILURES_PER_CLIENT
    for n in range(pairing.MAX_FAILURES_OVERALL - 1):
        with pytest.raises(PairingRefused):
            pairing.redeem_pair_code(engine, code=wrong_code(code), client=f"10.0.{n // per_client}.1")
    clock.advance(minutes=1)
    with pytest.raises(PairingRefused):  # the 200th failure, a minute later
        pairing.redeem_pair_code(engine, code=wrong_code(code), client="10.99.0.1")
    clock.advance(minutes=1)

    with pytest.raises(RateLimited) as limited:
        pairing.redeem_pair_code(engine, code=code, client="192.0.2.200")  # a fresh client, the right code

    assert limited.value.retry_after == 13 * 60  # when the first 199 (made at T0) are 15 minutes old
    clock.advance(minutes=13)
    assert pairing.redeem_pair_code(engine, code=code, client="192.0.2.200").kiosk_id


def test_failures_older_than_the_window_are_deleted(engine, location, make_code, clock):
    code = make_code(location, ttl=timedelta(hours=1)).code
    with pytest.raises(PairingRefused):
        pairing.redeem_pair_code(engine, code=wrong_code(code), client="a")
    clock.advance(minutes=15)

    with pytest.raises(PairingRefused):
        pairing.redeem_pair_code(engine, code=wrong_code(code), client="b")

    with engine.connect() as conn:
        assert conn.execute(select(pair_failures.c.client)).scalars().all() == ["b"]


def test_concurrent_redemptions_of_one_code_enrol_exactly_one_kiosk(engine, location, make_code):
    code = make_code(location).code
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        start.wait()
        try:
            pairing.redeem_pair_code(engine, code=code, client=f"10.0.0.{n}")
            outcomes.append("paired")
        except PairingRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["paired"] + ["refused"] * 7
    with engine.connect() as conn:
        assert len(conn.execute(select(kiosks.c.id)).all()) == 1


# --- who may make codes ---------------------------------------------------------------------------


def test_an_admin_key_creates_a_code_that_pairs(client, location, admin_key, clock):
    response = client.post(
        f"/api/v1/locations/{location}/pair-codes", json={"kiosk_name": "lane 4"},
        headers={"Authorization": f"Bearer {admin_key}"},
    )  # fmt: skip

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"code", "expires_at"}
    assert datetime.fromisoformat(body["expires_at"]) == T0 + timedelta(minutes=15)
    assert pair(client, body["code"]).status_code == 200


def test_a_pair_code_request_needs_no_body(client, location, admin_key):
    response = client.post(f"/api/v1/locations/{location}/pair-codes", headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code == 201


def test_a_read_key_may_not_create_pair_codes(client, engine, location, api_key):
    response = client.post(
        f"/api/v1/locations/{location}/pair-codes", json={}, headers={"Authorization": f"Bearer {api_key}"}
    )

    assert (response.status_code, response.json()) == (403, {"message": "this API key may only read"})
    with engine.connect() as conn:
        assert conn.execute(select(pair_codes)).all() == []


def test_missing_unknown_revoked_and_kiosk_credentials_get_401_for_pair_codes(
    client, engine, location, admin_key, kiosk
):
    with engine.begin() as conn:
        conn.execute(update(api_keys).values(revoked_at=datetime.now(UTC)))
    path = f"/api/v1/locations/{location}/pair-codes"

    answers = [
        client.post(path, json={}),
        client.post(path, json={}, headers={"Authorization": "Bearer spa_unknown"}),
        client.post(path, json={}, headers={"Authorization": f"Bearer {admin_key}"}),
        client.post(path, json={}, headers={"Authorization": f"Bearer {kiosk.token}"}),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(401, UNAUTHORIZED)] * 4


def test_a_pair_code_for_an_unknown_location_is_a_404(client, admin_key):
    response = client.post(
        "/api/v1/locations/999/pair-codes", json={}, headers={"Authorization": f"Bearer {admin_key}"}
    )
    assert (response.status_code, response.json()) == (404, {"message": "location 999 does not exist"})


def test_an_admin_key_can_also_read(client, location, admin_key):
    response = client.get("/api/v1/locations", headers={"Authorization": f"Bearer {admin_key}"})
    assert [row["id"] for row in response.json()] == [location]


def test_an_unknown_api_key_scope_is_refused(engine):
    with engine.begin() as conn, pytest.raises(InvalidInput, match="^API key scope must be one of read, admin"):
        keys.create_api_key(conn, name="x", scope="root")


def test_openapi_documents_the_pairing_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert {"403", "422", "429"} <= set(paths["/api/v1/pair"]["post"]["responses"])
    assert "201" in paths["/api/v1/locations/{location_id}/pair-codes"]["post"]["responses"]
    assert set(paths["/api/v1/locations/{location_id}/config"]) == {"get", "put"}


# --- migration 0002 -------------------------------------------------------------------------------


def test_a_0001_database_with_data_upgrades_to_0002_keeping_its_rows(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0001")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(locations).values(id=7, name="Old Gate", timezone="Europe/Oslo", scale=4, created_at=now))
        conn.execute(insert(kiosks).values(id="k-old", location_id=7, name="lane 1", token_hash="a" * 64,
                                           created_at=now))  # fmt: skip
        conn.execute(insert(api_keys).values(id=3, name="dashboard", key_hash="b" * 64, created_at=now))

    upgrade(engine, "0002")

    with engine.connect() as conn:
        columns = ("id", "name", "timezone", "scale", "created_at", "config")  # as of 0002
        rows = conn.execute(select(*(locations.c[name] for name in columns)))
        assert [tuple(r) for r in rows] == [(7, "Old Gate", "Europe/Oslo", 4, now, None)]
        assert conn.execute(select(kiosks.c.id, kiosks.c.name)).all() == [("k-old", "lane 1")]
        assert [tuple(r) for r in conn.execute(select(api_keys.c.id, api_keys.c.name, api_keys.c.scope))] == [
            (3, "dashboard", "read")
        ]
        assert location_config(conn, 7) == LocationConfig()
    upgrade(engine)  # today's pairing writes columns and tables of later revisions (the audit trail, 0010)
    enrolment = pairing.redeem_pair_code(engine, code=_code_for(engine, 7), client="x")
    assert enrolment.kiosk_id
    engine.dispose()


def _code_for(engine, location_id: int) -> str:
    with engine.begin() as conn:
        return pairing.create_pair_code(conn, location_id=location_id).code


def test_0002_downgrades_to_0001_and_back(empty_database_url):
    from alembic import command
    from alembic.config import Config

    from server.db import MIGRATIONS_DIR

    engine = make_engine(empty_database_url)
    upgrade(engine)
    with engine.begin() as conn:
        location = add_location(conn, name="Gate", timezone="Europe/Oslo")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")

    upgrade(engine)

    with engine.connect() as conn:
        assert conn.execute(select(locations.c.id, locations.c.config)).all() == [(location, None)]
    engine.dispose()
