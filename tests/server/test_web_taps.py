"""Taps from a web touchpoint's page: the same ingest as kiosks (idempotent, atomic, the same rollups) with channel
``web``; the server decides what is a repeat; only the page of this server may post."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.app import create_app
from server.db import daily_rollups, filtered_rollups, rollups, taps, touchpoints
from server.touchpoints import add_touchpoint, revoke_touchpoint
from tests.support.channels import PAGE, page_batch, page_tap

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def touchpoint(engine, location) -> Any:
    with engine.begin() as conn:
        return add_touchpoint(conn, location_id=location, name="Receipt QR")


def post(client: TestClient, slug: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return client.post(f"/api/v1/touchpoints/{slug}/taps", json=body, headers=PAGE if headers is None else headers)


def stored(engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {str(r.id): r for r in conn.execute(select(taps))}


def test_web_taps_are_stored_with_their_channel_and_touchpoint_and_counted_in_web_rollups(
    client, engine, touchpoint, location
):
    sent = [page_tap("phone-a", 1, NOW - timedelta(minutes=1), score=1, followup="queue", comment="Too slow")]

    answer = post(client, touchpoint.slug, page_batch("phone-a", sent))

    assert (answer.status_code, answer.json()["accepted"]) == (200, 1)
    row = stored(engine)[sent[0]["id"]]
    assert (row.channel, row.touchpoint_id, row.kiosk_id, row.location_id, row.boot_id, row.flags) == (
        "web", touchpoint.id, None, location, "phone-a", ""
    )  # fmt: skip
    with engine.connect() as conn:
        hourly = conn.execute(select(rollups.c.channel, rollups.c.score, rollups.c["count"])).all()
        daily = conn.execute(select(daily_rollups.c.kiosk_id, daily_rollups.c.channel, daily_rollups.c.followup)).all()
        received, last_tap = conn.execute(select(touchpoints.c.received, touchpoints.c.last_tap_at)).one()
    assert [tuple(r) for r in hourly] == [("web", 1, 1)]
    assert [tuple(r) for r in daily] == [("", "web", "queue")]
    assert (received, last_tap) == (1, NOW - timedelta(minutes=1))


def test_a_resent_batch_is_all_duplicates_even_with_a_repeat_the_server_flagged(client, engine, touchpoint):
    sent = [page_tap("phone-a", 1, NOW - timedelta(minutes=3)), page_tap("phone-a", 2, NOW - timedelta(minutes=2))]
    first = post(client, touchpoint.slug, page_batch("phone-a", sent)).json()

    again = post(client, touchpoint.slug, page_batch("phone-a", sent)).json()

    assert (first["accepted"], first["duplicates"]) == (2, 0)
    assert (again["accepted"], again["duplicates"], again["conflicts"]) == (0, 2, [])
    assert stored(engine)[sent[1]["id"]].flags == "repeat"  # one minute after the phone's first answer
    with engine.connect() as conn:
        assert conn.execute(select(touchpoints.c.received)).scalar_one() == 2


def test_a_phone_answers_once_per_window_and_its_linked_answers_follow_its_first_tap(
    client, engine, touchpoint, location
):
    t0 = NOW - timedelta(hours=2)
    first = page_tap("phone-a", 1, t0)
    aspect = page_tap("phone-a", 2, t0 + timedelta(seconds=20), question_id="wait", first_tap_id=first["id"])
    again = page_tap("phone-a", 3, t0 + timedelta(minutes=9))
    again_aspect = page_tap("phone-a", 4, t0 + timedelta(minutes=9, seconds=5), question_id="wait",
                           first_tap_id=again["id"])  # fmt: skip
    later = page_tap("phone-a", 5, t0 + timedelta(minutes=11))
    other_phone = page_tap("phone-b", 1, t0 + timedelta(minutes=1))

    post(client, touchpoint.slug, page_batch("phone-a", [first, aspect]))
    post(client, touchpoint.slug, page_batch("phone-a", [again, again_aspect, later]))  # a later batch
    post(client, touchpoint.slug, page_batch("phone-b", [other_phone]))

    flags = {tap_id: row.flags for tap_id, row in stored(engine).items()}
    assert [flags[t["id"]] for t in (first, aspect, again, again_aspect, later, other_phone)] == [
        "", "", "repeat", "repeat", "", ""
    ]  # fmt: skip
    assert stored(engine)[aspect["id"]].first_tap_id == uuid.UUID(first["id"])
    f = filtered_rollups.c
    with engine.connect() as conn:
        left_out = conn.execute(select(f.question_id, f.kiosk_id, f.why, f.channel, f["count"]).order_by(f.question_id))
        assert [tuple(r) for r in left_out] == [("main", "", "repeat", "web", 1), ("wait", "", "repeat", "web", 1)]
    days = {"start": str((NOW - timedelta(days=2)).date()), "end": str((NOW + timedelta(days=2)).date())}
    summary = client.get(f"/api/v1/locations/{location}/summary", params=days, headers=_read_key(engine))
    assert summary.json()["filtered"] == {"repeat": 1}, summary.json()  # the main question's; the aspect's is its own


def test_the_repeat_window_is_the_locations_setting_and_zero_turns_it_off(client, engine, touchpoint, location):
    from server.locations import configure_location, location_config

    with engine.begin() as conn:
        configure_location(conn, location, config=location_config(conn, location).model_copy(
            update={"web_repeat_minutes": 0}))  # fmt: skip
    sent = [page_tap("phone-a", i, NOW - timedelta(minutes=10 - i)) for i in range(1, 4)]

    assert post(client, touchpoint.slug, page_batch("phone-a", sent)).json()["accepted"] == 3
    assert {row.flags for row in stored(engine).values()} == {""}


def test_the_page_may_not_flag_a_repeat_itself(client, engine, touchpoint):
    answer = post(client, touchpoint.slug, page_batch("phone-a", [page_tap("phone-a", 1, NOW, flags=["repeat"])]))

    assert answer.status_code == 422
    assert answer.json()["message"].startswith("taps.0.flags: the server decides what is a repeat")
    assert stored(engine) == {}


def test_a_tap_linked_to_itself_is_a_422_naming_the_field(client, touchpoint):
    tap = page_tap("phone-a", 1, NOW)
    tap["first_tap_id"] = tap["id"]

    answer = post(client, touchpoint.slug, page_batch("phone-a", [tap]))

    assert answer.status_code == 422
    assert "taps.0.first_tap_id" in answer.json()["message"]


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "http://testserver"}, "X-Smilepost-Client missing"),
        ({"X-Smilepost-Client": "web"}, "Origin is not this server"),
        ({"X-Smilepost-Client": "web", "Origin": "https://evil.example"}, "Origin is not this server"),
        ({"X-Smilepost-Client": "web", "Origin": "null"}, "Origin is not this server"),
        ({"X-Smilepost-Client": "kiosk", "Origin": "http://testserver"}, "X-Smilepost-Client missing"),
    ],
    ids=["no-client-header", "no-origin", "other-site", "opaque-origin", "other-client"],
)
def test_only_the_page_of_this_server_may_post(client, engine, touchpoint, headers, why):
    answer = post(client, touchpoint.slug, page_batch("phone-a", [page_tap("phone-a", 1, NOW)]), headers)

    assert answer.status_code == 403
    assert why in answer.json()["message"]
    assert stored(engine) == {}


def test_with_a_public_url_the_origin_must_be_it(settings, touchpoint):
    app = create_app(settings.model_copy(update={"public_url": "https://feedback.example.com/"}))
    body = page_batch("phone-a", [page_tap("phone-a", 1, NOW)])
    with TestClient(app) as client:
        refused = post(client, touchpoint.slug, body)  # Origin http://testserver
        taken = post(client, touchpoint.slug, body, {**PAGE, "Origin": "https://feedback.example.com"})
    app.state.engine.dispose()

    assert (refused.status_code, taken.status_code) == (403, 200)


def test_an_unknown_or_revoked_touchpoint_is_the_same_404(client, engine, touchpoint):
    with engine.begin() as conn:
        revoke_touchpoint(conn, touchpoint.id)
    body = page_batch("phone-a", [page_tap("phone-a", 1, NOW)])

    answers = [post(client, touchpoint.slug, body), post(client, "x" * 22, body)]

    assert [(a.status_code, a.json()["message"]) for a in answers] == [
        (404, "no such touchpoint (it may have been revoked)")
    ] * 2
    assert stored(engine) == {}


def test_an_address_over_the_limit_gets_429_with_retry_after_and_loses_nothing_already_sent(settings, touchpoint):
    app = create_app(settings.model_copy(update={"web_rate_limit": 2}))
    with TestClient(app) as client:
        answers = [post(client, touchpoint.slug, page_batch("p", [page_tap("p", i, NOW)])) for i in (1, 2, 3)]
    app.state.engine.dispose()

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1


def test_a_kiosk_sequence_answer_keeps_its_link_to_the_first_tap(send, tap, stored_taps):
    first = tap(score=2)
    aspect = tap(question_id="wait", score=5, first_tap_id=first["id"])

    assert send([first, aspect]).json()["accepted"] == 2

    rows = stored_taps()
    assert (rows[aspect["id"]]["first_tap_id"], rows[first["id"]]["first_tap_id"]) == (uuid.UUID(first["id"]), None)
    assert (rows[aspect["id"]]["channel"], rows[aspect["id"]]["touchpoint_id"]) == ("kiosk", None)


def _read_key(engine) -> dict[str, str]:
    from server.auth import keys

    with engine.begin() as conn:
        return {"Authorization": f"Bearer {keys.create_api_key(conn, name='reader')}"}
