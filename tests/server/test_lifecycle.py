"""The life of a location and its kiosks (#14): rename, archive (its kiosks refused with a 403 that says why, its
data kept, off the overview), delete behind a confirmation (other locations untouched, the audit trail kept), and a
kiosk moved by re-enrollment (old id retired, its taps landing at the old location, the device's new id at the new
one with its completeness carried over)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from server import InvalidInput, NotFound, lifecycle
from server.auth import accounts
from server.db import audit_log, daily_rollups, kiosks, locations, rollups, taps
from server.touchpoints import add_touchpoint
from tests.support.channels import PAGE, page_batch, page_tap
from tests.support.sessions import PASSWORD, form_token, sign_in


def _count(engine: Engine, table: Any, location_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(table.c.location_id == location_id))
                   .scalar_one())  # fmt: skip


@pytest.fixture
def admin(engine: Engine) -> str:
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    return "admin@example.com"


def test_a_renamed_location_and_kiosk_keep_their_ids_and_taps(engine, location, kiosk, send, tap):
    assert send([tap(), tap()]).status_code == 200
    with engine.begin() as conn:
        place = lifecycle.rename_location(conn, location, "  Gardermoen Security North ")
        renamed = lifecycle.rename_kiosk(conn, kiosk.kiosk_id, "Lane 4")
        with pytest.raises(InvalidInput, match="name"):
            lifecycle.rename_location(conn, location, "   ")
        with pytest.raises(NotFound):
            lifecycle.rename_kiosk(conn, "nope", "x")

    assert (place.id, place.name) == (location, "Gardermoen Security North")
    assert (renamed.id, renamed.name) == (kiosk.kiosk_id, "Lane 4")
    assert _count(engine, taps, location) == 2


def test_an_archived_location_refuses_its_kiosks_with_a_reason_and_keeps_its_data(engine, location, kiosk, send, tap):
    assert send([tap()]).status_code == 200
    with engine.begin() as conn:
        lifecycle.archive_location(conn, location)

    refused = send([tap()])

    assert refused.status_code == 403
    assert "archived" in refused.json()["message"] and "keeps its taps" in refused.json()["message"]
    assert _count(engine, taps, location) == 1 and _count(engine, daily_rollups, location) == 1

    with engine.begin() as conn:
        lifecycle.archive_location(conn, location, archived=False)
    assert send([tap()]).status_code == 200
    assert _count(engine, taps, location) == 2


def test_a_kiosk_of_an_archived_location_is_refused_its_config_too(client, engine, location, kiosk):
    with engine.begin() as conn:
        lifecycle.archive_location(conn, location)

    answer = client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {kiosk.token}"})

    assert answer.status_code == 403 and "archived" in answer.json()["message"]


def test_archived_locations_are_left_off_the_overview_unless_asked_for(client, engine, make_location, admin):
    kept, closed = make_location(name="Open Gate"), make_location(name="Closed Gate")
    with engine.begin() as conn:
        lifecycle.archive_location(conn, closed)
    sign_in(client, admin)

    default, asked = client.get("/").text, client.get("/?archived=true").text

    assert f'data-location="{kept}"' in default and f'data-location="{closed}"' not in default
    assert f'data-location="{closed}"' in asked


def test_deleting_a_location_needs_its_name_and_removes_all_its_data_only(
    engine, location, kiosk, send, tap, make_location, enroll, client
):
    other = make_location(name="Other")
    other_kiosk = enroll(other)
    assert send([tap(comment="fine")]).status_code == 200
    assert send([tap()], token=other_kiosk.token).status_code == 200

    with engine.begin() as conn, pytest.raises(InvalidInput, match="type its name 'Gardermoen Gate 12'"):
        lifecycle.delete_location(conn, location, confirm="Gardermoen")
    assert _count(engine, taps, location) == 1

    with engine.begin() as conn:
        done = lifecycle.delete_location(conn, location, confirm="Gardermoen Gate 12")

    assert (done.taps, done.kiosks, done.touchpoints) == (1, 1, 0)
    for table in (taps, rollups, daily_rollups, kiosks):
        assert _count(engine, table, location) == 0
        assert _count(engine, table, other) == 1
    with engine.connect() as conn:
        assert conn.execute(select(locations.c.id)).scalars().all() == [other]
        trail = conn.execute(select(audit_log.c.summary).where(audit_log.c.action == "location.delete")).scalars().all()
    assert trail == [
        f"location {location} 'Gardermoen Gate 12' deleted with its 1 taps, 1 kiosks and 0 web touchpoints"
    ]
    assert "fine" not in str(trail)  # ids and a summary, no data
    gone = client.post("/api/v1/taps", json={}, headers={"Authorization": f"Bearer {kiosk.token}"})
    assert gone.status_code == 401


def test_a_moved_kiosk_delivers_old_taps_to_the_old_location_and_pairs_anew_at_the_new_one(
    client, engine, location, kiosk, send, tap, make_location, kiosk_row
):
    new_place = make_location(name="Terminal 2")
    assert (
        send([tap(seq=1), tap(seq=2)], heartbeat={"queue_depth": 1, "app_version": "2.0", "last_seq": 3}).status_code
        == 200
    )
    with engine.begin() as conn:
        move = lifecycle.move_kiosk(conn, kiosk.kiosk_id, new_place)
        with pytest.raises(InvalidInput, match="already moved"):
            lifecycle.move_kiosk(conn, kiosk.kiosk_id, new_place)

    late = send([tap(seq=3)])  # queued before the move: still delivered with the old token
    paired = client.post("/api/v1/pair", json={"code": move.code.code})
    new_kiosk = paired.json()
    fresh = send([tap(seq=4)], token=new_kiosk["token"])

    assert late.status_code == 200 and paired.status_code in (200, 201) and fresh.status_code == 200
    assert new_kiosk["kiosk_id"] != kiosk.kiosk_id
    with engine.connect() as conn:
        where = {row.seq: row.location_id for row in conn.execute(select(taps.c.seq, taps.c.location_id))}
    assert where == {1: location, 2: location, 3: location, 4: new_place}
    old, new = kiosk_row(kiosk.kiosk_id), kiosk_row(new_kiosk["kiosk_id"])
    assert old.retired_at is not None and old.successor_id == new.id
    assert (new.location_id, new.name) == (new_place, old.name)
    assert new.max_seq == 4 and new.received == 3 + 1  # the device's counts go on: 1-3 before, 4 after


def test_a_kiosk_cannot_be_moved_where_it_is_or_after_it_was_revoked(engine, location, kiosk, make_location):
    with engine.begin() as conn:
        with pytest.raises(InvalidInput, match="already at location"):
            lifecycle.move_kiosk(conn, kiosk.kiosk_id, location)
        with pytest.raises(NotFound):
            lifecycle.move_kiosk(conn, kiosk.kiosk_id, 4242)


def _admin_post(client: Any, path: str, page: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": form_token(client, page), **data}, follow_redirects=False)


def test_the_admin_page_renames_rezones_archives_and_deletes_a_location(client, engine, make_location, admin):
    place = make_location(name="Gate 7")
    page = f"/admin/locations/{place}"
    sign_in(client, admin)

    renamed = _admin_post(client, f"{page}/rename", page, name="Gate 7 North")
    bad_zone = _admin_post(client, f"{page}/timezone", page, timezone="Europe/Olso")
    zoned = _admin_post(client, f"{page}/timezone", page, timezone="Asia/Tokyo")
    archived = _admin_post(client, f"{page}/archive", page, archived="1")
    shown = client.get(page).text
    wrong = _admin_post(client, f"{page}/delete", page, confirm="Gate 7")
    deleted = _admin_post(client, f"{page}/delete", page, confirm="Gate 7 North")

    assert renamed.status_code == zoned.status_code == archived.status_code == 303
    assert bad_zone.status_code == 422 and "did you mean Europe/Oslo" in bad_zone.text
    assert 'id="archived"' in shown and "Asia/Tokyo" in shown and "rebuild-rollups" in shown
    assert wrong.status_code == 422 and "type its name" in wrong.text.replace("&#39;", "'")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/admin"
    with engine.connect() as conn:
        assert conn.execute(select(locations.c.id).where(locations.c.id == place)).first() is None


def test_the_admin_page_moves_a_kiosk_and_shows_the_code_for_the_device(client, engine, location, kiosk, make_location,
                                                                       admin):  # fmt: skip
    target = make_location(name="Terminal 2")
    page = f"/admin/locations/{location}"
    sign_in(client, admin)

    moved = _admin_post(client, f"/admin/kiosks/{kiosk.kiosk_id}/move", page, location_id=str(target))

    assert moved.status_code == 200 and "Terminal 2" in moved.text
    code = re.search(r'id="pair-code">(\d{8})<', moved.text)
    assert code is not None
    assert client.post("/api/v1/pair", json={"code": code.group(1)}).status_code in (200, 201)


def test_the_web_page_of_an_archived_location_is_gone_and_its_taps_are_refused_with_the_reason(
    client, engine, location
):
    with engine.begin() as conn:
        point = add_touchpoint(conn, location_id=location, name="Table tent")
        lifecycle.archive_location(conn, location)
    now = datetime.now(UTC)

    page = client.get(point.path)
    posted = client.post(f"/api/v1/touchpoints/{point.slug}/taps", headers=PAGE,
                         json=page_batch("phone-1", [page_tap("phone-1", 1, now)]))  # fmt: skip

    assert page.status_code == 404
    assert posted.status_code == 403 and "archived" in posted.json()["message"]
    assert _count(engine, taps, location) == 0
