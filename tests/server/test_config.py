"""GET /api/v1/kiosk/config with ETag revalidation."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from server.db import locations


@pytest.fixture
def get_config(client, kiosk):
    def call(**headers: str):
        return client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {kiosk.token}", **headers})

    return call


def test_config_names_the_kiosks_location_zone_and_scale(make_location, enroll, client):
    location = make_location(name="Tribhuvan Gate 3", timezone="Asia/Kathmandu", scale=3)
    enrolment = enroll(location)

    response = client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {enrolment.token}"})

    assert response.status_code == 200
    body = response.json()
    assert body["kiosk_id"] == enrolment.kiosk_id
    assert (body["location_id"], body["location_name"], body["timezone"], body["scale"]) == (
        location, "Tribhuvan Gate 3", "Asia/Kathmandu", 3,
    )  # fmt: skip
    assert (body["question_id"], body["default_language"]) == ("main", "en")
    assert body["texts"]["en"]["question"] == "How was your experience today?"


def test_config_has_an_etag_and_if_none_match_gives_304(get_config):
    first = get_config()
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2

    again = get_config(**{"If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag


def test_stale_etag_gets_the_full_config(get_config):
    response = get_config(**{"If-None-Match": '"something-else"'})

    assert response.status_code == 200
    assert response.json()["scale"] == 5


def test_etag_changes_when_the_locations_scale_changes(engine, location, get_config):
    old = get_config().headers["ETag"]
    with engine.begin() as conn:
        conn.execute(update(locations).where(locations.c.id == location).values(scale=3))

    response = get_config(**{"If-None-Match": old})

    assert response.status_code == 200
    assert response.json()["scale"] == 3
    assert response.headers["ETag"] != old
    assert get_config(**{"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_etag_is_stable_while_nothing_changes(get_config):
    assert get_config().headers["ETag"] == get_config().headers["ETag"]


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ('"stale", {etag}', 304),
        ("W/{etag}", 304),
        ("*", 304),
        ('"stale", W/"other"', 200),
    ],
    ids=["list", "weak", "star", "no-match"],
)
def test_if_none_match_lists_weak_tags_and_star_follow_rfc_9110(get_config, header, status):
    etag = get_config().headers["ETag"]

    assert get_config(**{"If-None-Match": header.format(etag=etag)}).status_code == status
