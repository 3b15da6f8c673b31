"""Kiosk tokens and API keys: who may write where, and what a refused caller learns."""

from __future__ import annotations

from datetime import date

import pytest

from server.auth import kiosk_tokens, tokens

UNAUTHORIZED = {"message": "invalid or revoked credentials"}


@pytest.fixture
def revoked_token(engine, enroll, location) -> str:
    enrolment = enroll(location)
    with engine.begin() as conn:
        kiosk_tokens.revoke_kiosk(conn, enrolment.kiosk_id)
    return enrolment.token


@pytest.mark.parametrize("path", ["/api/v1/taps", "/api/v1/kiosk/config"])
def test_unknown_revoked_and_missing_kiosk_tokens_get_identical_401s(
    client, make_batch, tap, revoked_token, stored_taps, path
):
    def call(headers: dict[str, str]):
        if path == "/api/v1/taps":
            return client.post(path, json=make_batch([tap()]), headers=headers)
        return client.get(path, headers=headers)

    unknown = call({"Authorization": f"Bearer {tokens.new_secret(tokens.KIOSK_TOKEN_PREFIX)}"})
    revoked = call({"Authorization": f"Bearer {revoked_token}"})
    missing = call({})
    wrong_scheme = call({"Authorization": f"Basic {revoked_token}"})

    for response in (unknown, revoked, missing, wrong_scheme):
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert stored_taps() == {}


def test_revoked_kiosk_keeps_its_stored_taps(engine, send, tap, kiosk, stored_taps):
    sent = tap()
    send([sent])
    with engine.begin() as conn:
        kiosk_tokens.revoke_kiosk(conn, kiosk.kiosk_id)

    response = send([tap()])

    assert response.status_code == 401
    assert set(stored_taps()) == {sent["id"]}


def test_revoking_one_kiosk_leaves_the_others_working(engine, send, tap, enroll, location, kiosk):
    other = enroll(location)
    with engine.begin() as conn:
        kiosk_tokens.revoke_kiosk(conn, other.kiosk_id)

    assert send([tap()]).status_code == 200
    assert send([tap()], token=other.token).status_code == 401


def test_kiosk_token_is_not_an_api_key(client, kiosk, location):
    headers = {"Authorization": f"Bearer {kiosk.token}"}

    listing = client.get("/api/v1/locations", headers=headers)
    summary = client.get(
        f"/api/v1/locations/{location}/summary", params={"start": "2026-11-01", "end": "2026-12-01"},
        headers=headers,
    )  # fmt: skip

    for response in (listing, summary):
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED


def test_api_key_is_not_a_kiosk_token(client, api_key, make_batch, tap, stored_taps):
    headers = {"Authorization": f"Bearer {api_key}"}

    post = client.post("/api/v1/taps", json=make_batch([tap()]), headers=headers)
    config = client.get("/api/v1/kiosk/config", headers=headers)

    for response in (post, config):
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
    assert stored_taps() == {}


def test_missing_or_unknown_api_key_gets_401(client, api_key):
    missing = client.get("/api/v1/locations")
    unknown = client.get("/api/v1/locations", headers={"Authorization": "Bearer spa_nope"})

    for response in (missing, unknown):
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED


def test_kiosk_writes_only_to_its_own_location(make_location, enroll, send, tap, stored_taps, stored_rollups):
    oslo = make_location(name="Oslo S")
    kathmandu = make_location(name="Tribhuvan", timezone="Asia/Kathmandu")
    oslo_kiosk, kathmandu_kiosk = enroll(oslo), enroll(kathmandu)
    a, b = tap(score=5), tap(score=1)

    send([a], token=oslo_kiosk.token)
    send([b], token=kathmandu_kiosk.token)

    rows = stored_taps()
    assert (rows[a["id"]].location_id, rows[a["id"]].kiosk_id) == (oslo, oslo_kiosk.kiosk_id)
    assert (rows[b["id"]].location_id, rows[b["id"]].kiosk_id) == (kathmandu, kathmandu_kiosk.kiosk_id)
    assert stored_rollups() == {
        (oslo, "main", date(2026, 11, 22), 10, 5, 5): 1,
        (kathmandu, "main", date(2026, 11, 22), 15, 5, 1): 1,  # 09:58Z is 15:43 in Kathmandu
    }


@pytest.mark.parametrize("where", ["batch", "tap"])
def test_body_cannot_name_a_location(make_location, enroll, send, tap, make_batch, stored_taps, where):
    mine, other = make_location(name="Mine"), make_location(name="Other")
    token = enroll(mine).token
    if where == "batch":
        response = send([tap()], token=token, location_id=other)
        path = "location_id"
    else:
        response = send([tap(location_id=other)], token=token)
        path = "taps.0.location_id"

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{path}: ")
    assert stored_taps() == {}
