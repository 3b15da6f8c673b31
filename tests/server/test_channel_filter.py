"""Figures by channel (issue #13): kiosk taps and web taps (a touchpoint's phones) of one location, read together by
default and apart with ``channel=kiosk|web`` in the summary API, the exports, the location page and the overview;
web taps are one "Web (phones)" line of the per-kiosk split and never a kiosk of the fleet. Every expected figure is
computed here from the scores sent (tests.support.channels.Figures)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.analytics.export import TAP_COLUMNS
from server.auth import accounts
from server.locations import configure_location
from shared.protocol import LocationConfig
from tests.support.channels import Figures, at, iso, make_touchpoint, send_web, web_tap
from tests.support.sessions import sign_in

ZONE = ZoneInfo("Europe/Oslo")
KIOSK_SCORES = [5, 5, 4, 3, 1, 2]  # counted kiosk presses
WEB_SCORES = {"phone-a": [1, 2], "phone-b": [5], "phone-c": [4]}  # counted web answers, per phone
OLD_TAP_COLUMNS = (
    "id", "location_id", "kiosk_id", "seq", "question_id", "scale", "score", "tapped_at", "effective_at",
    "local_date", "local_hour", "followup", "comment", "flags", "received_at",
)  # fmt: skip


@pytest.fixture
def noon() -> datetime:
    return datetime.now(ZONE).replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def today(noon):
    day = noon.date()
    return {"start": str(day), "end": str(day + timedelta(days=1))}


@pytest.fixture
def headers(api_key):
    return {"Authorization": f"Bearer {api_key}"}


def send_kiosk_taps(send, tap, noon):
    """The kiosk's presses: KIOSK_SCORES a minute apart, and one repeat press right after the last one."""
    sent = [tap(score=s, tapped_at=iso(at(noon, i))) for i, s in enumerate(KIOSK_SCORES)]
    sent.append(tap(score=1, tapped_at=iso(at(noon, len(KIOSK_SCORES) - 1) + timedelta(seconds=2)), flags=["repeat"]))
    sent[0]["comment"] = "kiosk comment"
    assert send(sent).json()["accepted"] == len(sent)


def send_web_taps(engine, location, touchpoint, noon):
    """Each phone's answers, ten minutes apart (counted); phone-a answers once more a minute later: the server
    stores that one as a repeat (the web repeat window is 10 minutes)."""
    for device, scores in WEB_SCORES.items():
        taps = [web_tap(at(noon, 30 + 11 * i), s, device=device) for i, s in enumerate(scores)]
        if device == "phone-a":
            taps.append(web_tap(at(noon, 30 + 11 * (len(scores) - 1) + 1), 5, device=device))
            taps[0]["comment"] = "web comment"
        assert send_web(engine, location, touchpoint, taps).accepted == len(taps)


def web_scores() -> list[int]:
    return [s for scores in WEB_SCORES.values() for s in scores]


def summary(client, headers, location, today, **params):
    response = client.get(f"/api/v1/locations/{location}/summary", params={**today, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_all_channels_add_up_and_each_channel_has_only_its_own_taps(
    client, engine, send, tap, location, headers, today, noon
):
    send_kiosk_taps(send, tap, noon)
    kiosk_only = summary(client, headers, location, today, granularity="day")  # a database with kiosk taps alone
    send_web_taps(engine, location, make_touchpoint(engine, location), noon)

    every = summary(client, headers, location, today, granularity="day")
    kiosks = summary(client, headers, location, today, granularity="day", channel="kiosk")
    web = summary(client, headers, location, today, granularity="day", channel="web")

    assert Figures.of(KIOSK_SCORES + web_scores(), 5).matches(every)
    assert Figures.of(KIOSK_SCORES, 5).matches(kiosks)
    assert Figures.of(web_scores(), 5).matches(web)
    assert every["channel"] is None and kiosks["channel"] == "kiosk" and web["channel"] == "web"
    assert {**kiosks, "channel": None} == kiosk_only  # the kiosk channel is what kiosk taps alone gave
    assert Figures.of(web_scores(), 5).matches(web["trend"][0])
    # the presses left out, per channel: the kiosk's repeat press and the phone's second answer in 10 minutes
    assert (every["filtered"], kiosks["filtered"], web["filtered"]) == ({"repeat": 2}, {"repeat": 1}, {"repeat": 1})


def test_figures_without_a_filter_are_unchanged_for_kiosk_only_data(client, send, tap, location, headers, today, noon):
    send_kiosk_taps(send, tap, noon)

    every = summary(client, headers, location, today)

    assert Figures.of(KIOSK_SCORES, 5).matches(every) and every["filtered"] == {"repeat": 1}
    assert summary(client, headers, location, today, channel="kiosk") == {**every, "channel": "kiosk"}
    assert Figures.of([], 5).matches(summary(client, headers, location, today, channel="web"))


@pytest.mark.parametrize("channel", ["phone", "KIOSK", "", "all"])
def test_an_unknown_channel_is_a_422_naming_channel(client, location, headers, today, channel):
    for path, params in ((f"/api/v1/locations/{location}/summary", today),
                         ("/api/v1/export/taps", {**today, "location_id": location}),
                         ("/api/v1/export/summaries", {**today, "location_id": location})):  # fmt: skip
        response = client.get(path, params={**params, "channel": channel}, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert "channel" in response.json()["message"]


def test_a_what_if_replays_the_kiosks_interval_and_keeps_the_servers_web_repeats(
    client, engine, send, tap, location, headers, today, noon
):
    send_kiosk_taps(send, tap, noon)
    send_web_taps(engine, location, make_touchpoint(engine, location), noon)

    kiosks = summary(client, headers, location, today, channel="kiosk", what_if_repeat_seconds=0)
    web = summary(client, headers, location, today, channel="web", what_if_repeat_seconds=0)
    every = summary(client, headers, location, today, what_if_repeat_seconds=0)

    assert Figures.of([*KIOSK_SCORES, 1], 5).matches(kiosks) and kiosks["filtered"] == {"repeat": 0}
    assert Figures.of(web_scores(), 5).matches(web) and web["filtered"] == {"repeat": 1}
    assert Figures.of([*KIOSK_SCORES, 1, *web_scores()], 5).matches(every) and every["filtered"] == {"repeat": 1}


def test_tap_export_filters_by_channel_and_adds_its_columns_last(
    client, engine, send, tap, location, headers, today, noon
):
    send_kiosk_taps(send, tap, noon)
    touchpoint = make_touchpoint(engine, location)
    send_web_taps(engine, location, touchpoint, noon)
    first = web_tap(at(noon, 120), 4, device="phone-d")
    aspect = web_tap(at(noon, 120.2), 2, device="phone-d", question_id="speed", scale=11, first_tap_id=first["id"])
    send_web(engine, location, touchpoint, [first, aspect])
    params = {**today, "location_id": location}

    def export(**extra):
        response = client.get("/api/v1/export/taps", params={**params, **extra}, headers=headers)
        assert response.status_code == 200, response.text
        return response

    every = export().json()["items"]
    web = export(channel="web").json()["items"]
    kiosks = export(channel="kiosk", format="csv")

    kiosk_rows = list(csv.DictReader(io.StringIO(kiosks.text, newline="")))
    header = kiosks.text.split("\r\n")[0].split(",")
    assert header == [*OLD_TAP_COLUMNS, "channel", "touchpoint_id", "first_tap_id"] == list(TAP_COLUMNS)
    assert len(every) == len(KIOSK_SCORES) + 1 + len(web_scores()) + 1 + 2
    assert sorted(row["score"] for row in web) == sorted([*web_scores(), 5, 4, 2])
    assert {(row["channel"], row["kiosk_id"], row["touchpoint_id"]) for row in web} == {("web", None, touchpoint)}
    assert len(kiosk_rows) == len(KIOSK_SCORES) + 1
    assert {(row["channel"], row["touchpoint_id"], row["first_tap_id"]) for row in kiosk_rows} == {("kiosk", "", "")}
    by_id = {row["id"]: row for row in web}
    assert by_id[aspect["id"]]["first_tap_id"] == first["id"] and by_id[first["id"]]["first_tap_id"] is None
    assert [row["score"] for row in web if "repeat" in row["flags"]] == [5]  # the server's repeat


def test_summary_export_filters_by_channel_and_says_which_last(
    client, engine, send, tap, location, headers, today, noon
):
    send_kiosk_taps(send, tap, noon)
    send_web_taps(engine, location, make_touchpoint(engine, location), noon)
    params = {**today, "location_id": location}

    rows = {}
    for channel in (None, "kiosk", "web"):
        extra = {"channel": channel} if channel else {}
        response = client.get("/api/v1/export/summaries", params={**params, **extra, "format": "csv"}, headers=headers)
        [rows[channel]] = list(csv.DictReader(io.StringIO(response.text, newline="")))
        header = response.text.split("\r\n")[0].split(",")
        assert header[-2:] == ["question_id", "channel"] and header[:3] == ["location_id", "local_date", "responses"]

    assert [rows[c]["responses"] for c in (None, "kiosk", "web")] == ["10", "6", "4"]
    assert [rows[c]["channel"] for c in (None, "kiosk", "web")] == ["all", "kiosk", "web"]
    assert float(rows["web"]["happy_index"]) == pytest.approx(Figures.of(web_scores(), 5).happy_index)
    assert rows["kiosk"]["score_5"] == "2" and rows["web"]["score_1"] == "1"


@pytest.fixture
def signed_in(client, engine, location):
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password="correct horse battery", role="admin")
    assert sign_in(client, "admin@example.com").status_code == 303
    return client


def test_the_location_page_shows_web_taps_as_one_web_line_and_filters_by_channel(
    signed_in, engine, send, tap, location, noon, kiosk
):
    send_kiosk_taps(send, tap, noon)
    send_web_taps(engine, location, make_touchpoint(engine, location, "Receipt QR"), noon)

    every = signed_in.get(f"/locations/{location}?range=today").text
    web = signed_in.get(f"/locations/{location}?range=today&channel=web").text
    kiosks = signed_in.get(f"/locations/{location}?range=today&channel=kiosk").text

    assert f'<p class="big">{len(KIOSK_SCORES) + len(web_scores())}</p>' in every
    assert f'<p class="big">{len(web_scores())}</p>' in web and f'<p class="big">{len(KIOSK_SCORES)}</p>' in kiosks
    # the split: the kiosk by its name, the phones as one line after it; never a nameless kiosk
    assert '<tr data-kiosk="" data-channel="web"><td>Web (phones)</td><td class="num">4</td>' in every
    assert f'<tr data-kiosk="{kiosk.kiosk_id}" data-channel="kiosk">' in every
    assert every.index(f'data-kiosk="{kiosk.kiosk_id}"') < every.index('<tr data-kiosk="" data-channel="web">')
    assert '"kiosk"><td>' not in web and '"web"><td>' not in kiosks
    assert "1 press filtered (the same phone again within 10 min)" in web
    assert "1 press filtered (repeat within 5 s)" in kiosks
    # comments of the channel, a web one under its touchpoint's name
    assert "web comment" in every and "kiosk comment" in every and "Receipt QR" in every
    assert "kiosk comment" not in web and "web comment" not in kiosks
    # the picker keeps the range; the exports carry the channel
    assert re.search(r'href="\?range=today&amp;channel=web" data-channel="web"\s+aria-current="true"', web)
    assert "/api/v1/export/taps?location_id=" in web and "&amp;channel=web&amp;format=csv" in web
    assert 'class="preset" href="?range=7d&amp;channel=web"' in web  # a new range keeps the channel


def test_the_overview_filters_by_channel_and_the_fleet_lists_kiosks_only(
    signed_in, engine, send, tap, location, noon, kiosk, headers
):
    send_kiosk_taps(send, tap, noon)
    send_web_taps(engine, location, make_touchpoint(engine, location), noon)

    def responses(query: str) -> str:
        html = signed_in.get(f"/?range=today{query}").text
        return html.split('<td class="num responses">')[1].split("<")[0]

    assert [responses(""), responses("&channel=kiosk"), responses("&channel=web")] == ["10", "6", "4"]
    assert (
        f'href="/locations/{location}?range=today&amp;channel=web"' in signed_in.get("/?range=today&channel=web").text
    )
    fleet = signed_in.get("/fleet").text
    assert fleet.count("data-kiosk=") == 1 and f'data-kiosk="{kiosk.kiosk_id}"' in fleet
    assert [k["kiosk_id"] for k in signed_in.get("/api/v1/kiosks", headers=headers).json()] == [kiosk.kiosk_id]


def test_a_location_page_without_other_questions_has_a_channel_picker_but_no_question_picker(
    signed_in, engine, location
):
    with engine.begin() as conn:
        configure_location(conn, location, config=LocationConfig())

    html = signed_in.get(f"/locations/{location}").text

    assert 'id="channel-picker"' in html and 'id="question-picker"' not in html
