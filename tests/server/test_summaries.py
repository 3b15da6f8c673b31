"""GET /api/v1/locations and /api/v1/locations/{id}/summary (read API key)."""

from __future__ import annotations

from collections import Counter

import pytest

from server.schemas import EstimateOut, ShareOut
from shared import scores

NOV = {"start": "2026-11-01", "end": "2026-12-01"}


@pytest.fixture
def get(client, api_key):
    def call(path: str, **params: str):
        return client.get(path, params=params, headers={"Authorization": f"Bearer {api_key}"})

    return call


@pytest.mark.parametrize(
    ("scale", "taps_scores", "counts"),
    [
        (3, [1, 2, 3, 3], {"1": 1, "2": 1, "3": 2}),
        (4, [4, 4, 4, 1], {"1": 1, "2": 0, "3": 0, "4": 3}),
        (5, [1, 2, 2, 3, 4, 5, 5, 5], {"1": 1, "2": 2, "3": 1, "4": 1, "5": 3}),
        (11, [0, 6, 7, 9, 10, 10], {"0": 1, "1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "6": 1, "7": 1,
                                    "8": 0, "9": 1, "10": 2}),
    ],
)  # fmt: skip
def test_summary_counts_and_scores_match_shared_scores(
    make_location, enroll, send, tap, get, scale, taps_scores, counts
):
    location = make_location(name="Gate 12", scale=scale)
    sent = [tap(scale=scale, score=s) for s in taps_scores]
    repeats = [tap(scale=scale, score=taps_scores[0], flags=["repeat"]) for _ in range(3)]
    send(sent + repeats, token=enroll(location).token)

    response = get(f"/api/v1/locations/{location}/summary", **NOV)

    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == counts
    assert body["responses"] == len(taps_scores)
    assert (body["location_id"], body["location_name"], body["timezone"], body["scale"]) == (
        location, "Gate 12", "Europe/Oslo", scale,
    )  # fmt: skip
    assert (body["start"], body["end"], body["question_id"]) == ("2026-11-01", "2026-12-01", "main")
    rows = [(scale, score, n) for score, n in Counter(taps_scores).items()]
    assert body["happy_index"] == EstimateOut.of(scores.happy_index(rows)).model_dump()
    assert body["csat"] == ShareOut.of(scores.csat(rows)).model_dump()
    assert body["negative"] == ShareOut.of(scores.negative(rows)).model_dump()
    assert body["nps"] == EstimateOut.of(scores.nps(rows)).model_dump()


def test_summary_values_by_hand_for_five_faces(location, send, tap, get):
    send([tap(score=s) for s in (1, 2, 2, 3, 4, 5, 5, 5)] + [tap(score=1, flags=["repeat"])])

    body = get(f"/api/v1/locations/{location}/summary", **NOV).json()

    # (0 + 25 + 25 + 50 + 75 + 100 + 100 + 100) / 8
    assert body["happy_index"]["value"] == pytest.approx(59.375)
    assert (body["csat"]["k"], body["csat"]["n"], body["csat"]["value"]) == (4, 8, pytest.approx(50.0))
    assert (body["negative"]["k"], body["negative"]["n"]) == (3, 8)
    assert body["negative"]["value"] == pytest.approx(37.5)
    assert body["happy_index"]["small_sample"] is True
    assert body["nps"] == {"value": None, "low": None, "high": None, "n": 0, "small_sample": True}


def test_summary_of_location_without_taps_has_zero_counts_and_no_values(location, get):
    body = get(f"/api/v1/locations/{location}/summary", **NOV).json()

    assert body["responses"] == 0
    assert body["counts"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert body["happy_index"]["value"] is None
    assert body["csat"] == {"value": None, "low": None, "high": None, "k": 0, "n": 0, "small_sample": True}


def test_summary_counts_only_the_asked_question(location, send, tap, get):
    send([tap(score=5), tap(score=1, question_id="toilets"), tap(score=1, question_id="toilets")])

    main = get(f"/api/v1/locations/{location}/summary", **NOV).json()
    toilets = get(f"/api/v1/locations/{location}/summary", question="toilets", **NOV).json()

    assert (main["responses"], main["counts"]["5"], main["counts"]["1"]) == (1, 1, 0)
    assert (toilets["question_id"], toilets["responses"], toilets["counts"]["1"]) == ("toilets", 2, 2)


def test_summary_of_unknown_location_is_404(location, get):
    response = get(f"/api/v1/locations/{location + 1}/summary", **NOV)

    assert response.status_code == 404
    assert response.json() == {"message": f"location {location + 1} does not exist"}


@pytest.mark.parametrize("end", ["2026-11-10", "2026-11-09"], ids=["end-equals-start", "end-before-start"])
def test_summary_with_end_not_after_start_is_422(location, get, end):
    response = get(f"/api/v1/locations/{location}/summary", start="2026-11-10", end=end)

    assert response.status_code == 422
    assert response.json()["message"] == f"end ({end}) must be after start (2026-11-10); end is exclusive"


def test_summary_range_longer_than_the_maximum_is_422(location, get):
    response = get(f"/api/v1/locations/{location}/summary", start="2000-01-01", end="2030-01-01")

    assert response.status_code == 422
    assert "longer than" in response.json()["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13-01", "end": "2026-12-01"}, "start"),
        ({"start": "yesterday", "end": "2026-12-01"}, "start"),
        ({"start": "2026-11-01", "end": "2026-11-31"}, "end"),
        ({"end": "2026-12-01"}, "start"),
    ],
    ids=["month-13", "word", "november-31", "missing-start"],
)
def test_summary_with_bad_date_is_422_naming_the_parameter(location, get, params, field):
    response = get(f"/api/v1/locations/{location}/summary", **params)

    assert response.status_code == 422
    assert response.json()["message"].startswith(f"{field}: ")


def test_locations_are_listed_by_id(make_location, get):
    first = make_location(name="Oslo S")
    second = make_location(name="Tribhuvan", timezone="Asia/Kathmandu", scale=3)

    response = get("/api/v1/locations")

    assert response.status_code == 200
    assert response.json() == [
        {"id": first, "name": "Oslo S", "timezone": "Europe/Oslo", "scale": 5},
        {"id": second, "name": "Tribhuvan", "timezone": "Asia/Kathmandu", "scale": 3},
    ]


def test_no_locations_is_an_empty_list(get):
    assert get("/api/v1/locations").json() == []
