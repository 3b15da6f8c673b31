"""Completeness (seq gaps), the idle heartbeat and the fleet API ``GET /api/v1/kiosks``."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, MetaData, Table, select

from server.app import create_app
from server.auth import keys, kiosk_tokens
from server.auth.tokens import hash_secret
from server.db import kiosks, locations, make_engine, taps, upgrade
from server.fleet import missing_taps
from server.settings import Settings

BOOT, BATCH_MONO_NS = "boot-a", 10_000_000_000_000  # as in conftest's batch factory
NEW_IN_0003 = {"max_seq", "received", "reported_seq", "quarantined", "clock_offset_seconds", "last_sync_at"}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _kiosks_at_0002() -> Table:
    later = NEW_IN_0003 | {"last_tap_at"}  # 0005
    return Table("kiosks", MetaData(), *(Column(c.name, c.type) for c in kiosks.c if c.name not in later))


# --- the arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_seq", "received", "reported_seq", "queue_depth", "quarantined", "missing"),
    [
        (0, 0, None, None, 0, 0),  # a new kiosk
        (10, 10, None, None, 0, 0),  # all received, no heartbeat yet
        (10, 8, None, None, 0, 2),  # seqs 4 and 7 never arrived
        (10, 8, None, None, 2, 0),  # ...because the kiosk quarantined them
        (10, 10, 15, 3, 0, 2),  # recorded 15, holds 3 (13..15): 11 and 12 are lost
        (10, 10, 15, 5, 0, 0),  # holds 11..15: late, not lost
        (10, 10, 15, 0, 5, 0),  # 11..15 quarantined
        (10, 10, 15, 3, 1, 1),
        (12, 12, 12, 12, 0, 0),  # heartbeat taken before the batch that carried it was stored
        (12, 9, 12, 12, 0, 3),  # ...and the server still lacks 3 of the 12 it has seen
        (10, 11, None, None, 0, 0),  # more received than the highest seq (a kiosk reusing seqs): never negative
        (10, 10, 5, 0, 0, 0),  # a reported seq below what arrived (outbox reset) does not lower the bound
        (0, 0, 1000, 0, 0, 1000),  # a kiosk whose every tap was lost
    ],
)
def test_missing_taps_is_expected_minus_received_minus_quarantined(
    max_seq, received, reported_seq, queue_depth, quarantined, missing
):
    assert (
        missing_taps(
            max_seq=max_seq,
            received=received,
            reported_seq=reported_seq,
            queue_depth=queue_depth,
            quarantined=quarantined,
        )
        == missing
    )


# --- through the API -------------------------------------------------------------------------------


@pytest.fixture
def fleet(client, api_key):
    """``fleet()`` -> {kiosk_id: entry} from GET /api/v1/kiosks."""

    def read(**params):
        response = client.get("/api/v1/kiosks", params=params, headers={"Authorization": f"Bearer {api_key}"})
        assert response.status_code == 200, response.text
        return {entry["kiosk_id"]: entry for entry in response.json()}

    return read


def _counts(entry):
    return {name: entry[name] for name in ("received", "max_seq", "reported_seq", "quarantined", "missing")}


def test_seq_gaps_are_reported_and_close_when_the_late_taps_arrive(send, tap, kiosk, fleet):
    sent = {seq: tap(seq=seq) for seq in range(1, 11)}
    send([t for seq, t in sent.items() if seq not in (4, 7)])
    assert _counts(fleet()[kiosk.kiosk_id]) == {
        "received": 8, "max_seq": 10, "reported_seq": None, "quarantined": 0, "missing": 2,
    }  # fmt: skip

    send([sent[4]])
    assert _counts(fleet()[kiosk.kiosk_id])["missing"] == 1

    send([sent[7]])
    assert _counts(fleet()[kiosk.kiosk_id]) == {
        "received": 10, "max_seq": 10, "reported_seq": None, "quarantined": 0, "missing": 0,
    }  # fmt: skip


def test_duplicates_and_conflicts_never_move_the_counts(send, tap, kiosk, fleet):
    sent = [tap(seq=seq) for seq in (1, 2, 3)]
    send(sent)

    send(sent)  # a retry
    send([{**sent[0], "seq": 99, "score": 1}])  # same id, other content: the stored row wins

    assert _counts(fleet()[kiosk.kiosk_id]) == {
        "received": 3, "max_seq": 3, "reported_seq": None, "quarantined": 0, "missing": 0,
    }  # fmt: skip


def test_queued_taps_are_not_missing_but_unsent_ones_the_kiosk_no_longer_holds_are(send, tap, kiosk, fleet):
    # The kiosk holds 15 taps and sends the oldest 10: its heartbeat counts all 15 as queued.
    send([tap(seq=seq) for seq in range(1, 11)], heartbeat={"queue_depth": 15, "app_version": "2.0", "last_seq": 15})
    assert _counts(fleet()[kiosk.kiosk_id]) == {
        "received": 10, "max_seq": 10, "reported_seq": 15, "quarantined": 0, "missing": 0,
    }  # fmt: skip
    assert fleet()[kiosk.kiosk_id]["queue_depth"] == 5

    send([], heartbeat={"queue_depth": 3, "app_version": "2.0", "last_seq": 15, "quarantined": 1})

    assert _counts(fleet()[kiosk.kiosk_id]) == {
        "received": 10, "max_seq": 10, "reported_seq": 15, "quarantined": 1, "missing": 1,
    }  # fmt: skip


def test_concurrent_deliveries_count_each_tap_once(send, tap, kiosk, fleet):
    sent = [tap(seq=seq) for seq in range(1, 41)]
    halves = [sent[:30], sent[10:]]  # overlapping batches, each delivered four times at once

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [r.json() for r in pool.map(lambda i: send(halves[i % 2]), range(8))]

    assert sum(a["accepted"] for a in answers) == 40
    assert _counts(fleet()[kiosk.kiosk_id]) == {
        "received": 40, "max_seq": 40, "reported_seq": None, "quarantined": 0, "missing": 0,
    }  # fmt: skip


def test_batch_records_last_sync_time_and_clock_offset(send, kiosk, fleet):
    before = datetime.now(UTC)

    send([], sent_at="1970-01-01T00:00:00Z", heartbeat={"queue_depth": 0, "app_version": "2.0"})

    after = datetime.now(UTC)
    entry = fleet()[kiosk.kiosk_id]
    last_sync = datetime.fromisoformat(entry["last_sync_at"])
    assert before <= last_sync <= after
    assert entry["last_seen_at"] == entry["last_sync_at"]
    assert entry["clock_offset_seconds"] == (last_sync - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()


# --- idle heartbeat ---------------------------------------------------------------------------------


def _ping(*, sent_at: datetime | None = None, **heartbeat):
    return {
        "sent_at": iso(sent_at or datetime.now(UTC)),
        "boot_id": BOOT,
        "mono_ns": BATCH_MONO_NS,
        "heartbeat": {"queue_depth": 0, "app_version": "2.0.1", **heartbeat},
    }


def test_idle_heartbeat_answers_204_and_updates_health_seq_and_clock(client, kiosk, kiosk_row, send, tap, fleet):
    send([tap(seq=seq) for seq in range(1, 4)])
    sync_time = kiosk_row(kiosk.kiosk_id).last_sync_at
    kiosk_clock = datetime.now(UTC) + timedelta(days=365)
    before = datetime.now(UTC)

    response = client.post(
        "/api/v1/kiosk/heartbeat",
        json=_ping(sent_at=kiosk_clock, queue_depth=2, last_seq=7, quarantined=1),
        headers={"Authorization": f"Bearer {kiosk.token}"},
    )

    after = datetime.now(UTC)
    assert (response.status_code, response.content) == (204, b"")
    row = kiosk_row(kiosk.kiosk_id)
    assert (row.queue_depth, row.app_version, row.reported_seq, row.quarantined) == (2, "2.0.1", 7, 1)
    assert before <= row.last_seen_at <= after
    assert row.last_sync_at == sync_time  # a heartbeat is not a sync
    assert row.clock_offset_seconds == (row.last_seen_at - kiosk_clock).total_seconds()
    assert -365 * 86400 - 60 < row.clock_offset_seconds < -365 * 86400 + 60
    assert _counts(fleet()[kiosk.kiosk_id]) == {
        "received": 3, "max_seq": 3, "reported_seq": 7, "quarantined": 1, "missing": 1,  # 7 - 2 queued - 3 - 1
    }  # fmt: skip


@pytest.mark.parametrize("token", [None, "spk_unknown", "revoked"])
def test_idle_heartbeat_with_a_bad_token_is_401_and_changes_nothing(client, engine, kiosk, kiosk_row, token):
    if token == "revoked":
        with engine.begin() as conn:
            kiosk_tokens.revoke_kiosk(conn, kiosk.kiosk_id)
        token = kiosk.token
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = client.post("/api/v1/kiosk/heartbeat", json=_ping(queue_depth=9), headers=headers)

    assert response.status_code == 401
    assert response.json() == {"message": "invalid or revoked credentials"}
    assert (kiosk_row(kiosk.kiosk_id).queue_depth, kiosk_row(kiosk.kiosk_id).last_seen_at) == (None, None)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (_ping(last_seq=-1), "heartbeat.last_seq"),
        (_ping(quarantined=2**31), "heartbeat.quarantined"),
        ({**_ping(), "sent_at": "2026-11-22T10:00:00"}, "sent_at"),
        ({**_ping(), "extra": 1}, "extra"),
    ],
    ids=["negative-seq", "quarantined-too-large", "naive-time", "unknown-field"],
)
def test_invalid_heartbeat_is_422_naming_the_field(client, kiosk, kiosk_row, body, path):
    response = client.post("/api/v1/kiosk/heartbeat", json=body, headers={"Authorization": f"Bearer {kiosk.token}"})

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{path}: ")
    assert kiosk_row(kiosk.kiosk_id).last_seen_at is None


@pytest.mark.parametrize("path", ["/api/v1/kiosk/heartbeat", "/api/v1/taps"])
def test_app_version_with_a_nul_is_422_naming_the_field_never_a_500(client, kiosk, kiosk_row, make_batch, path):
    heartbeat: dict[str, Any] = {"queue_depth": 0, "app_version": "1.0\x00"}  # a JSON object, also _ping's kwargs
    body = _ping(**heartbeat) if path.endswith("heartbeat") else make_batch([], heartbeat=heartbeat)

    response = client.post(path, json=body, headers={"Authorization": f"Bearer {kiosk.token}"})

    assert response.status_code == 422
    assert response.json()["message"].startswith("heartbeat.app_version: ")
    assert kiosk_row(kiosk.kiosk_id).app_version is None


# --- the fleet API -----------------------------------------------------------------------------------


def test_fleet_lists_every_kiosk_with_its_health_revoked_ones_too(
    client, engine, location, kiosk, make_location, enroll, send, tap, fleet
):
    kathmandu = make_location(name="Tribhuvan", timezone="Asia/Kathmandu")
    second, gone = enroll(kathmandu), enroll(location)
    heartbeat = {"queue_depth": 0, "app_version": "2.0", "last_seq": 3}
    send([tap(seq=1), tap(seq=3)], heartbeat=heartbeat)
    with engine.begin() as conn:
        kiosk_tokens.revoke_kiosk(conn, gone.kiosk_id)

    listed = fleet()

    assert list(listed) == [*sorted([kiosk.kiosk_id, gone.kiosk_id]), second.kiosk_id]
    assert {k: (e["location_id"], e["revoked"], e["missing"]) for k, e in listed.items()} == {
        kiosk.kiosk_id: (location, False, 1),
        second.kiosk_id: (kathmandu, False, 0),
        gone.kiosk_id: (location, True, 0),
    }
    never = listed[second.kiosk_id]
    assert {k: never[k] for k in ("last_seen_at", "last_sync_at", "queue_depth", "app_version")} == dict.fromkeys(
        ("last_seen_at", "last_sync_at", "queue_depth", "app_version")
    )
    assert set(never) == {
        "kiosk_id", "name", "location_id", "last_seen_at", "last_sync_at", "queue_depth", "app_version",
        "clock_offset_seconds", "received", "max_seq", "reported_seq", "quarantined", "last_tap_at", "missing",
        "revoked", "retired", "successor_id",
    }  # fmt: skip
    assert list(fleet(location_id=kathmandu)) == [second.kiosk_id]


@pytest.mark.parametrize("credential", [None, "spa_unknown", "kiosk-token"])
def test_fleet_needs_an_api_key(client, kiosk, credential):
    token = kiosk.token if credential == "kiosk-token" else credential
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    response = client.get("/api/v1/kiosks", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"message": "invalid or revoked credentials"}


# --- migration ---------------------------------------------------------------------------------------


def test_upgrading_to_0003_counts_the_taps_already_stored(empty_database_url, tmp_path, tap, make_batch):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0002")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    seqs = [s for s in range(1, 51) if s not in (20, 21, 22)]
    with engine.begin() as conn:
        inserted = conn.execute(
            locations.insert().values(name="Old", timezone="Europe/Oslo", scale=5, created_at=now, config=None)
        ).inserted_primary_key
        assert inserted is not None
        location = inserted[0]
        conn.execute(
            _kiosks_at_0002().insert(),
            {"id": "k-old", "location_id": location, "name": "lane 1", "token_hash": hash_secret("spk_old"),
             "created_at": now},
        )  # fmt: skip
        conn.execute(
            taps.insert(),
            [{"id": uuid.uuid4(), "kiosk_id": "k-old", "location_id": location, "seq": s, "question_id": "main",
              "scale": 5, "score": 3, "tapped_at": now, "effective_at": now, "local_date": now.date(),
              "local_hour": 1, "mono_ns": s, "boot_id": "b", "followup": None, "comment": None, "flags": "",
              "received_at": now} for s in seqs],
        )  # fmt: skip

    upgrade(engine)

    with engine.connect() as conn:
        row = conn.execute(select(kiosks).where(kiosks.c.id == "k-old")).one()
    assert (row.received, row.max_seq, row.reported_seq, row.quarantined) == (47, 50, None, 0)
    app = create_app(Settings(data_dir=tmp_path, database_url=empty_database_url, kiosk_rate_limit=0))
    with TestClient(app) as client:
        client.post("/api/v1/taps", json=make_batch([tap(seq=21)]), headers={"Authorization": "Bearer spk_old"})
        with engine.begin() as conn:
            key = keys.create_api_key(conn, name="read")
        listed = client.get("/api/v1/kiosks", headers={"Authorization": f"Bearer {key}"}).json()
    assert [(e["received"], e["max_seq"], e["missing"]) for e in listed] == [(48, 50, 2)]
    app.state.engine.dispose()
    engine.dispose()


def test_a_kiosk_that_delivered_everything_shows_an_empty_queue_at_once(send, tap, kiosk, fleet):
    # The kiosk's heartbeat rides on the batch and counts the batch's own taps as queued (they are, until the
    # answer comes); after the acknowledged sync it holds nothing, and the fleet says so without another request.
    taps = [tap(seq=seq) for seq in range(1, 8)]
    send(taps, heartbeat={"queue_depth": 7, "app_version": "2.0", "last_seq": 7})

    entry = fleet()[kiosk.kiosk_id]
    assert (entry["queue_depth"], entry["missing"]) == (0, 0)

    send(taps[:3], heartbeat={"queue_depth": 5, "app_version": "2.0", "last_seq": 9})  # a retry, 2 newer held back
    entry = fleet()[kiosk.kiosk_id]
    assert (entry["queue_depth"], entry["received"], entry["missing"]) == (2, 7, 0)


def test_the_last_tap_a_heartbeat_reports_is_stored_and_listed(send, client, kiosk, fleet):
    send([], heartbeat={"queue_depth": 0, "app_version": "2.0", "last_tap_at": "2026-11-22T09:58:00Z"})
    assert fleet()[kiosk.kiosk_id]["last_tap_at"] == "2026-11-22T09:58:00Z"

    response = client.post(
        "/api/v1/kiosk/heartbeat",
        json=_ping(last_tap_at="2026-11-22T10:30:00+01:00"),
        headers={"Authorization": f"Bearer {kiosk.token}"},
    )
    assert response.status_code == 204
    assert fleet()[kiosk.kiosk_id]["last_tap_at"] == "2026-11-22T09:30:00Z"


def test_the_last_tap_of_a_kiosk_whose_clock_is_off_is_shown_on_the_servers_clock(send, kiosk, fleet):
    kiosk_clock = datetime.now(UTC) - timedelta(days=400)  # a kiosk that lost its clock
    send([], sent_at=iso(kiosk_clock), heartbeat={
        "queue_depth": 0, "app_version": "2.0", "last_tap_at": iso(kiosk_clock - timedelta(minutes=5))})  # fmt: skip

    last_tap = datetime.fromisoformat(fleet()[kiosk.kiosk_id]["last_tap_at"])
    assert abs(last_tap - (datetime.now(UTC) - timedelta(minutes=5))) < timedelta(seconds=30)
