"""Figures by question (issue #13): a location asking a main question on 5 faces and an aspect question on 0–10 shows
each on its own scale in the summary API (``question=``), the daily summary export, the location page's question
picker and the overview's (the same question id at every location; one without it has no figures). Every expected
figure is computed here from the scores sent (tests.support.channels.Figures)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.auth import accounts
from server.locations import configure_location
from shared.protocol import FollowUp, LocationConfig, Question
from tests.support.channels import Figures, at, iso, make_touchpoint, send_web, web_tap
from tests.support.sessions import sign_in

ZONE = ZoneInfo("Europe/Oslo")
MAIN = [5, 4, 4, 2, 1]  # kiosk customers' faces (5 faces)
SPEED = [10, 9, 3, 7, 6]  # the same customers' 0–10 answers to "speed", linked to their face
WEB_MAIN, WEB_SPEED = [3], [0]  # one phone customer
CONFIG = LocationConfig(
    texts={"en": {"question": "How was your visit?"}, "nb": {"question": "Hvordan var besøket?"}},
    question_mode="sequence",
    questions=[
        Question(id="speed", scale=11, followup=FollowUp(negative_reasons=["slow"]),
                 texts={"en": {"question": "How quick was it?", "reason.slow": "Too slow"},
                        "nb": {"question": "Hvor raskt gikk det?", "reason.slow": "For tregt"}}),
        Question(id="staff", scale=3),  # no wording: shown by its id
    ],
)  # fmt: skip


@pytest.fixture
def noon() -> datetime:
    return datetime.now(ZONE).replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def today(noon):
    return {"start": str(noon.date()), "end": str(noon.date() + timedelta(days=1))}


@pytest.fixture
def headers(api_key):
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def asked(engine, send, tap, location, noon):
    """The location with CONFIG, its kiosk's customers (a face, then the linked "speed" answer; the one who
    answered 3 said why: "slow") and one phone customer at a touchpoint."""
    with engine.begin() as conn:
        configure_location(conn, location, config=CONFIG)
    sent = []
    for i, (face, speed) in enumerate(zip(MAIN, SPEED, strict=True)):
        first = tap(score=face, tapped_at=iso(at(noon, i)))
        sent += [first, tap(question_id="speed", scale=11, score=speed, tapped_at=iso(at(noon, i, )),
                            first_tap_id=first["id"], followup="slow" if speed == 3 else None)]  # fmt: skip
    assert send(sent).json()["accepted"] == len(sent)
    first = web_tap(at(noon, 30), WEB_MAIN[0], device="phone")
    aspect = web_tap(at(noon, 30), WEB_SPEED[0], device="phone", question_id="speed", scale=11,
                     first_tap_id=first["id"])  # fmt: skip
    send_web(engine, location, make_touchpoint(engine, location), [first, aspect])
    return location


def summary(client, headers, location, today, **params):
    response = client.get(f"/api/v1/locations/{location}/summary", params={**today, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_aspect_question_has_its_figures_on_its_own_scale(client, asked, headers, today):
    main = summary(client, headers, asked, today)
    speed = summary(client, headers, asked, today, question="speed", granularity="day")

    assert main["question_id"] == "main" and main["scale"] == 5
    assert Figures.of(MAIN + WEB_MAIN, 5).matches(main)
    assert speed["question_id"] == "speed" and speed["scale"] == 11
    assert list(speed["counts"]) == [str(s) for s in range(11)]
    assert Figures.of(SPEED + WEB_SPEED, 11).matches(speed)
    assert Figures.of(SPEED + WEB_SPEED, 11).matches(speed["trend"][0])
    assert speed["nps"]["value"] == pytest.approx(100 * (2 - 3) / 6)  # promoters 10, 9; detractors 3, 6, 0
    assert [(r["id"], r["label"], r["side"], r["count"]) for r in speed["reasons"]] == [
        ("slow", "Too slow", "negative", 1)
    ]
    nb = client.get(f"/api/v1/locations/{asked}/summary", params={**today, "question": "speed"},
                    headers={**headers, "Accept-Language": "nb"}).json()  # fmt: skip
    assert nb["reasons"][0]["label"] == "For tregt"


def test_a_question_and_a_channel_together(client, asked, headers, today):
    for channel, scores in (("kiosk", SPEED), ("web", WEB_SPEED)):
        figures = summary(client, headers, asked, today, question="speed", channel=channel)
        assert Figures.of(scores, 11).matches(figures), channel
    assert Figures.of([], 3).matches(summary(client, headers, asked, today, question="staff"))
    unknown = summary(client, headers, asked, today, question="gone")  # an id the location does not have
    assert unknown["scale"] == 5 and unknown["responses"] == 0


def test_the_daily_summary_export_is_of_the_question_asked_for(client, asked, headers, today):
    params = {**today, "location_id": asked, "format": "csv"}

    main_csv = client.get("/api/v1/export/summaries", params=params, headers=headers).text
    speed_csv = client.get("/api/v1/export/summaries", params={**params, "question": "speed"}, headers=headers).text

    [main] = list(csv.DictReader(io.StringIO(main_csv, newline="")))
    [speed] = list(csv.DictReader(io.StringIO(speed_csv, newline="")))
    assert main_csv.split("\r\n")[0].endswith("score_1,score_2,score_3,score_4,score_5,question_id,channel")
    assert speed_csv.split("\r\n")[0].endswith(",".join(f"score_{s}" for s in range(11)) + ",question_id,channel")
    assert (main["question_id"], main["responses"], speed["question_id"], speed["responses"]) == (
        "main",
        "6",
        "speed",
        "6",
    )
    assert float(speed["nps"]) == pytest.approx(Figures.of(SPEED + WEB_SPEED, 11).nps)
    assert speed["happy_index"] == "" and speed["score_10"] == "1" and speed["score_0"] == "1"


@pytest.fixture
def signed_in(client, engine):
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password="correct horse battery", role="admin")
    assert sign_in(client, "admin@example.com").status_code == 303
    return client


def options(html: str) -> list[tuple[str, str, bool]]:
    """The question picker's options: (value, label, selected)."""
    picker = html.split('id="question-picker"')[1].split("</select>")[0]
    return [(value, label, bool(selected)) for value, selected, label in
            re.findall(r'<option value="([^"]*)" (selected)?>([^<]*)</option>', picker)]  # fmt: skip


def test_the_location_page_picks_a_question_by_its_wording_and_shows_it_on_its_scale(signed_in, asked):
    main = signed_in.get(f"/locations/{asked}?range=today").text
    speed = signed_in.get(f"/locations/{asked}?range=today&question=speed").text
    norwegian = signed_in.get(f"/locations/{asked}?range=today&question=speed", headers={"Accept-Language": "nb"})

    assert options(main) == [("main", "How was your visit?", True), ("speed", "How quick was it?", False),
                             ("staff", "staff", False)]  # fmt: skip
    assert options(speed)[1] == ("speed", "How quick was it?", True)
    assert options(norwegian.text)[:2] == [("main", "Hvordan var besøket?", False),
                                           ("speed", "Hvor raskt gikk det?", True)]  # fmt: skip
    want = Figures.of(SPEED + WEB_SPEED, 11)
    assert "<h2>NPS</h2>" in speed and f'<p class="big">{want.nps:.1f}</p>' in speed
    assert f'<p class="big">{want.responses}</p>' in speed
    assert (
        "<h2>Happy Index</h2>" in main
        and f'<p class="big">{Figures.of(MAIN + WEB_MAIN, 5).happy_index:.1f}</p>' in main
    )
    assert re.search(r'<th>Face</th>(<th class="num">\d+</th>){11}</tr>', speed.replace("\n", ""))  # 0..10
    assert "Too slow" in speed
    # the other controls keep the question; the summary export link carries it
    assert 'href="?range=7d&amp;question=speed"' in speed
    assert 'href="?range=today&amp;question=speed&amp;channel=web"' in speed
    assert "export/summaries?location_id=" in speed and "&amp;question=speed&amp;format=csv" in speed


@pytest.fixture
def other(make_location, enroll, send, tap, noon):
    """A second location on 3 faces that asks only its main question."""
    location = make_location(name="Bergen Kiosk", scale=3)
    token = enroll(location).token
    assert send([tap(scale=3, score=s, tapped_at=iso(at(noon, i))) for i, s in enumerate([3, 1])], token=token)
    return location


def overview_row(html: str, location: int) -> str:
    return html.split(f'<tr data-location="{location}">')[1].split("</tr>")[0]


def test_the_overview_applies_the_question_picked_to_every_location(signed_in, asked, other):
    main = signed_in.get("/?range=today").text
    speed = signed_in.get("/?range=today&question=speed").text
    web_speed = signed_in.get("/?range=today&question=speed&channel=web").text

    assert options(main) == [("", "Main question (each location&#39;s)", True), ("speed", "How quick was it?", False),
                             ("staff", "staff", False)]  # fmt: skip
    assert '<td class="num responses">6</td>' in overview_row(main, asked)
    assert '<td class="num responses">2</td>' in overview_row(main, other)
    mine, theirs = overview_row(speed, asked), overview_row(speed, other)
    assert '<td class="num responses">6</td>' in mine and "<small>NPS</small>" in mine
    assert f"<strong>{Figures.of(SPEED + WEB_SPEED, 11).nps:.1f}</strong>" in mine
    assert "not asked" in theirs and '<td class="num responses">0</td>' in theirs and "not asked" not in mine
    assert '<td class="num responses">1</td>' in overview_row(web_speed, asked)
    # a location's link keeps the question where it is asked, not where it is not
    assert f'href="/locations/{asked}?range=today&amp;question=speed"' in mine
    assert f'href="/locations/{other}?range=today"' in theirs
