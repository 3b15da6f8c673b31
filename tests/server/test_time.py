"""Local dates and hours in the location's zone, and correction of wrong kiosk clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

OSLO, KATHMANDU = "Europe/Oslo", "Asia/Kathmandu"
BATCH_MONO_NS = 10_000_000_000_000  # as in conftest's batch factory


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("timezone", "tapped_at", "local_date", "local_hour"),
    [
        (OSLO, "2026-03-29T00:30:00Z", date(2026, 3, 29), 1),  # CET, just before spring forward
        (OSLO, "2026-03-29T01:30:00Z", date(2026, 3, 29), 3),  # CEST: 02:xx never happens
        (OSLO, "2026-10-25T00:30:00Z", date(2026, 10, 25), 2),  # CEST, first 02:30
        (OSLO, "2026-10-25T01:30:00Z", date(2026, 10, 25), 2),  # CET, the repeated 02:30
        (OSLO, "2026-11-22T23:30:00Z", date(2026, 11, 23), 0),
        (OSLO, "2026-11-23T00:30:00+01:00", date(2026, 11, 23), 0),  # an offset other than Z
        (KATHMANDU, "2026-11-22T23:30:00Z", date(2026, 11, 23), 5),  # +05:45 -> 05:15
        (KATHMANDU, "2026-11-22T18:14:59Z", date(2026, 11, 22), 23),
        (KATHMANDU, "2026-11-22T18:15:00Z", date(2026, 11, 23), 0),
        ("America/St_Johns", "2026-11-23T03:29:00Z", date(2026, 11, 22), 23),  # -03:30
        ("Pacific/Chatham", "2026-11-22T10:15:00Z", date(2026, 11, 23), 0),  # +13:45 in summer
    ],
)
def test_local_date_and_hour_are_those_of_the_locations_zone(
    make_location, enroll, send, tap, stored_taps, stored_rollups, timezone, tapped_at, local_date, local_hour
):
    location = make_location(timezone=timezone)
    sent = tap(tapped_at=tapped_at, score=3)

    assert send([sent], token=enroll(location).token).status_code == 200

    row = stored_taps()[sent["id"]]
    assert (row.local_date, row.local_hour, row.flags) == (local_date, local_hour, "")
    assert row.effective_at == row.tapped_at == datetime.fromisoformat(tapped_at)
    assert stored_rollups() == {(location, "main", local_date, local_hour, 5, 3): 1}


def test_summary_date_range_is_in_local_dates_with_end_exclusive(make_location, enroll, send, tap, client, api_key):
    location = make_location(timezone=KATHMANDU)
    token = enroll(location).token
    send(
        [
            tap(tapped_at="2026-11-22T18:14:00Z", score=1),  # local 22nd 23:59
            tap(tapped_at="2026-11-22T18:15:00Z", score=5),  # local 23rd 00:00
            tap(tapped_at="2026-11-23T18:14:00Z", score=4),  # local 23rd 23:59
            tap(tapped_at="2026-11-23T18:15:00Z", score=3),  # local 24th 00:00
        ],
        token=token,
    )

    def counts(start: str, end: str) -> dict[str, int]:
        response = client.get(
            f"/api/v1/locations/{location}/summary",
            params={"start": start, "end": end},
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert response.status_code == 200
        return response.json()["counts"]

    assert counts("2026-11-22", "2026-11-23") == {"1": 1, "2": 0, "3": 0, "4": 0, "5": 0}
    assert counts("2026-11-23", "2026-11-24") == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert counts("2026-11-24", "2026-11-25") == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 0}
    assert counts("2026-11-22", "2026-11-25") == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1}


# --- clock correction ---------------------------------------------------------------------------


def _today_in(zone: str, before: datetime, after: datetime) -> set[date]:
    return {before.astimezone(ZoneInfo(zone)).date(), after.astimezone(ZoneInfo(zone)).date()}


def test_kiosk_clock_in_1970_same_boot_is_corrected_from_monotonic_time(
    send, tap, stored_taps, stored_rollups, location
):
    age_ns = 90_123_456_789  # the tap was made 90.123456789 s before the batch was sent
    sent = tap(tapped_at="1970-01-01T00:08:30Z", mono_ns=BATCH_MONO_NS - age_ns, score=2)
    before = datetime.now(UTC)

    response = send([sent], sent_at="1970-01-01T00:10:00Z", mono_ns=BATCH_MONO_NS)

    after = datetime.now(UTC)
    assert response.status_code == 200
    row = stored_taps()[sent["id"]]
    assert row.flags == "clock_corrected"
    assert row.tapped_at == datetime(1970, 1, 1, 0, 8, 30, tzinfo=UTC)  # as the kiosk said, kept
    assert before <= row.received_at <= after
    assert row.effective_at == row.received_at - timedelta(microseconds=90_123_456)
    local = row.effective_at.astimezone(ZoneInfo(OSLO))
    assert (row.local_date, row.local_hour) == (local.date(), local.hour)
    assert row.local_date in _today_in(OSLO, before - timedelta(seconds=91), after)
    assert stored_rollups() == {(location, "main", row.local_date, row.local_hour, 5, 2): 1}


def test_kiosk_clock_off_with_other_boot_is_corrected_by_the_send_time_offset(send, tap, stored_taps):
    # The tap was made in an earlier boot 5 minutes (by the kiosk's clock) before the batch was sent.
    sent = tap(tapped_at="1970-01-01T00:05:00Z", boot_id="boot-old", mono_ns=5)
    before = datetime.now(UTC)

    send([sent], sent_at="1970-01-01T00:10:00Z", boot_id="boot-new", mono_ns=1_000)

    after = datetime.now(UTC)
    row = stored_taps()[sent["id"]]
    assert row.flags == "clock_corrected"
    assert row.effective_at == row.received_at - timedelta(minutes=5)
    assert row.local_date in _today_in(OSLO, before - timedelta(minutes=5), after)


def test_kiosk_clock_ahead_is_corrected_too(send, tap, stored_taps):
    sent_at = datetime.now(UTC) + timedelta(days=3)
    sent = tap(tapped_at=iso(sent_at - timedelta(minutes=10)), boot_id="boot-old")

    send([sent], sent_at=iso(sent_at))

    row = stored_taps()[sent["id"]]
    assert row.flags == "clock_corrected"
    assert row.effective_at == row.received_at - timedelta(minutes=10)


@pytest.mark.parametrize("skew_seconds", [-100, 100])
def test_clock_within_skew_threshold_is_not_corrected(send, tap, stored_taps, skew_seconds):
    sent = tap(tapped_at="2026-11-22T09:58:00Z", boot_id="boot-old")

    send([sent], sent_at=iso(datetime.now(UTC) + timedelta(seconds=skew_seconds)))

    row = stored_taps()[sent["id"]]
    assert row.flags == ""
    assert row.effective_at == datetime(2026, 11, 22, 9, 58, tzinfo=UTC)
    assert (row.local_date, row.local_hour) == (date(2026, 11, 22), 10)


def test_clock_just_beyond_skew_threshold_is_corrected(send, tap, stored_taps):
    tapped_at = datetime(2026, 11, 22, 9, 58, tzinfo=UTC)
    sent = tap(tapped_at=iso(tapped_at), boot_id="boot-old")

    send([sent], sent_at=iso(datetime.now(UTC) - timedelta(seconds=200)))

    row = stored_taps()[sent["id"]]
    assert row.flags == "clock_corrected"
    assert timedelta(seconds=200) <= row.effective_at - tapped_at <= timedelta(seconds=210)


@pytest.mark.parametrize(
    "second_delivery",
    [
        {"sent_at": "1970-01-01T00:20:00Z", "mono_ns": BATCH_MONO_NS + 600_000_000_000},  # same wrong clock
        {"boot_id": "boot-b", "mono_ns": 42},  # after a reboot with the clock fixed
    ],
    ids=["still-wrong-clock", "clock-fixed-after-reboot"],
)
def test_redelivered_corrected_tap_is_a_duplicate_not_a_conflict(
    send, tap, stored_taps, stored_rollups, second_delivery
):
    sent = tap(tapped_at="1970-01-01T00:08:30Z", mono_ns=BATCH_MONO_NS - 90_000_000_000, flags=["repeat"])
    plain = tap(tapped_at="1970-01-01T00:09:00Z", mono_ns=BATCH_MONO_NS - 60_000_000_000)
    send([sent, plain], sent_at="1970-01-01T00:10:00Z", mono_ns=BATCH_MONO_NS)
    stored_before, rollups_before = stored_taps(), stored_rollups()
    assert stored_before[sent["id"]].flags == "repeat,clock_corrected"

    body = send([sent, plain], **second_delivery).json()

    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (0, 2, [])
    assert stored_taps() == stored_before
    assert stored_rollups() == rollups_before


def test_tap_first_stored_uncorrected_is_a_duplicate_when_resent_by_a_wrong_clock(send, tap, stored_taps):
    sent = tap(tapped_at="2026-11-22T09:58:00Z")
    send([sent])

    body = send([sent], sent_at="1970-01-01T00:00:00Z").json()

    assert (body["accepted"], body["duplicates"], body["conflicts"]) == (0, 1, [])
    assert stored_taps()[sent["id"]].flags == ""


@pytest.mark.parametrize(
    ("timezone", "tap_overrides", "batch_overrides"),
    [
        (OSLO, {"tapped_at": "9999-12-31T23:59:59Z"}, {}),
        ("America/St_Johns", {"tapped_at": "0001-01-01T00:00:00Z"}, {}),
        (KATHMANDU, {"tapped_at": "0001-01-01T00:00:00Z", "boot_id": "boot-old"},
         {"sent_at": "9999-12-31T00:00:00Z"}),
    ],
    ids=["year-9999-east-of-utc", "year-1-west-of-utc", "offset-overflows"],
)  # fmt: skip
def test_absurd_tap_time_is_stored_never_a_500(
    app, make_location, enroll, tap, make_batch, stored_taps, timezone, tap_overrides, batch_overrides
):
    from fastapi.testclient import TestClient

    token = enroll(make_location(timezone=timezone)).token
    sent = tap(**tap_overrides)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/taps", json=make_batch([sent], **batch_overrides), headers={"Authorization": f"Bearer {token}"}
        )

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert sent["id"] in stored_taps()


@pytest.mark.parametrize("timezone", [OSLO, KATHMANDU])
@pytest.mark.parametrize("kiosk_clock", ["1970", "a-year-ahead"])
@pytest.mark.parametrize("boot", ["same-boot", "other-boot"])
def test_wrong_kiosk_clock_puts_taps_on_the_right_local_day_and_never_rejects_them(
    make_location, enroll, send, tap, stored_taps, stored_rollups, timezone, kiosk_clock, boot
):
    location = make_location(timezone=timezone)
    wrong_now = datetime(1970, 1, 1, 0, 10, tzinfo=UTC)
    if kiosk_clock == "a-year-ahead":
        wrong_now = datetime.now(UTC) + timedelta(days=365)
    age = timedelta(minutes=7, seconds=3)  # the tap was made 7:03 before the batch was sent
    tap_boot, tap_mono = ("boot-a", BATCH_MONO_NS - 423_000_000_000) if boot == "same-boot" else ("boot-old", 5)
    sent = tap(tapped_at=iso(wrong_now - age), boot_id=tap_boot, mono_ns=tap_mono, score=1)

    response = send([sent], token=enroll(location).token, sent_at=iso(wrong_now), mono_ns=BATCH_MONO_NS)

    assert (response.status_code, response.json()["accepted"]) == (200, 1)
    row = stored_taps()[sent["id"]]
    assert row.flags == "clock_corrected"
    assert row.tapped_at == wrong_now - age  # what the kiosk said is kept
    assert abs(row.effective_at - (row.received_at - age)) <= timedelta(microseconds=1)
    local = (row.received_at - age).astimezone(ZoneInfo(timezone))
    assert (row.local_date, row.local_hour) == (local.date(), local.hour)
    assert stored_rollups() == {(location, "main", local.date(), local.hour, 5, 1): 1}
