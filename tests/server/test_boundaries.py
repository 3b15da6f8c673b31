"""Dates and times at the edge of what Python can hold (years 1 and 9999): a 422 naming the field or an empty
answer, never a 500, on the wire protocol, the summary and export API and the dashboard pages (issue #10)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from kiosk.store import Store, StoreCounts
from kiosk.sync import Syncer, _named_taps, make_client
from server.auth import accounts
from shared.protocol import INT32_MAX

pytestmark = pytest.mark.slow  # in make test, not in the fast tier (make check)

PASSWORD = "correct horse battery"
# Both are valid RFC 3339 times whose UTC instant is in year 10000 or year 0: no datetime can hold them.
PAST_9999 = "9999-12-31T23:59:59-00:01"
BEFORE_1 = "0001-01-01T00:30:00+01:00"


@pytest.fixture
def loose_client(app: Any) -> Iterator[TestClient]:
    """A client that shows a server error as a 500 answer instead of raising it in the test."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def problem_locs(response: httpx.Response) -> list[list[Any]]:
    return [entry["loc"] for entry in response.json()["detail"]]


# --- the wire protocol: a time that cannot be represented is the one timestamp refused -------------------


@pytest.mark.parametrize("tapped_at", [PAST_9999, BEFORE_1], ids=["past-9999", "before-1"])
def test_a_tap_time_outside_years_1_to_9999_in_utc_is_a_422_naming_that_tap(
    loose_client, kiosk, tap, make_batch, stored_taps, tapped_at
):
    batch = make_batch([tap(), tap(tapped_at=tapped_at), tap()])

    response = loose_client.post("/api/v1/taps", json=batch, headers={"Authorization": f"Bearer {kiosk.token}"})

    assert response.status_code == 422, response.text
    assert problem_locs(response) == [["body", "taps", 1, "tapped_at"]]
    assert response.json()["message"].startswith("taps.1.tapped_at: ")
    assert "outside years 1-9999" in response.json()["message"]
    named = _named_taps(response, 3)
    assert named is not None and list(named) == [1]  # exactly what a kiosk quarantines
    assert stored_taps() == {}  # the batch is atomic


@pytest.mark.parametrize("tapped_at", ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00Z",
                                       "0001-01-01T00:30:00-01:00"])  # fmt: skip
def test_a_tap_time_representable_in_utc_is_still_stored(loose_client, kiosk, tap, make_batch, stored_taps, tapped_at):
    sent = tap(tapped_at=tapped_at)

    response = loose_client.post(
        "/api/v1/taps", json=make_batch([sent]), headers={"Authorization": f"Bearer {kiosk.token}"}
    )

    assert response.status_code == 200, response.text
    assert sent["id"] in stored_taps()


@pytest.mark.parametrize(
    ("path", "field", "loc"),
    [
        ("/api/v1/taps", "sent_at", ["body", "sent_at"]),
        ("/api/v1/taps", "last_tap_at", ["body", "heartbeat", "last_tap_at"]),
        ("/api/v1/kiosk/heartbeat", "sent_at", ["body", "sent_at"]),
        ("/api/v1/kiosk/heartbeat", "last_tap_at", ["body", "heartbeat", "last_tap_at"]),
    ],
)
@pytest.mark.parametrize("moment", [PAST_9999, BEFORE_1], ids=["past-9999", "before-1"])
def test_every_wire_time_outside_years_1_to_9999_in_utc_is_a_422_naming_it(
    loose_client, kiosk, tap, path, field, loc, moment
):
    heartbeat = {"queue_depth": 0, "app_version": "1.0", "last_tap_at": None}
    body = {"sent_at": datetime.now(UTC).isoformat(), "boot_id": "b", "mono_ns": 1, "heartbeat": heartbeat}
    if path == "/api/v1/taps":
        body["taps"] = [tap()]
    if field == "sent_at":
        body["sent_at"] = moment
    else:
        heartbeat["last_tap_at"] = moment

    response = loose_client.post(path, json=body, headers={"Authorization": f"Bearer {kiosk.token}"})

    assert response.status_code == 422, response.text
    assert problem_locs(response) == [loc]
    assert response.json()["message"].startswith(".".join(loc[1:]) + ": ")


def test_the_openapi_schema_still_describes_wire_times_as_date_times(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    assert schemas["Tap"]["properties"]["tapped_at"] == {"type": "string", "format": "date-time", "title": "Tapped At"}


def test_a_kiosk_quarantines_the_tap_a_real_server_names_and_delivers_the_rest(
    client, kiosk, stored_taps, tmp_path: Path
):
    """The kiosk's Syncer against the real app; the second tap's time is changed on the way to what a broken or
    hostile kiosk could send (a kiosk records its own taps at datetime.now(UTC), always representable)."""

    def forward(request: httpx.Request) -> httpx.Response:
        body = request.content
        if request.url.path == "/api/v1/taps":
            batch = json.loads(body)
            for sent in batch["taps"]:
                if sent["seq"] == 2:
                    sent["tapped_at"] = PAST_9999
            body = json.dumps(batch).encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() in {"authorization", "content-type"}}
        answer = client.request(request.method, request.url.path, content=body, headers=headers)
        return httpx.Response(answer.status_code, headers={"content-type": "application/json"}, content=answer.content)

    with Store.open(tmp_path / "kiosk") as store:
        ids = [store.record_tap(score, 5).id for score in (5, 1, 4)]
        with make_client("http://server.test", kiosk.token, transport=httpx.MockTransport(forward)) as http:
            report = Syncer(store, http).send_pending()

        assert report.quarantined == [ids[1]]
        assert (report.sent, report.accepted) == (2, 2)
        assert store.counts() == StoreCounts(total=3, pending=0, synced=2, held=0, quarantined=1)
        [quarantined] = store.quarantined()
        assert quarantined.reason.startswith("HTTP 422 taps.1.tapped_at: ")
    assert set(stored_taps()) == {str(ids[0]), str(ids[2])}


# --- ranges: the summary and export API --------------------------------------------------------------------

RANGE_CASES = [
    # (id, path, query, status, the local dates of the rows (None: a summary, not a page))
    ("summary-year-1", "/api/v1/locations/{id}/summary", {"start": "0001-01-01", "end": "0001-01-31"}, 200, None),
    ("summary-year-9999", "/api/v1/locations/{id}/summary", {"start": "9999-12-30", "end": "9999-12-31"}, 200, None),
    ("summary-year-10000", "/api/v1/locations/{id}/summary", {"start": "9999-12-30", "end": "10000-01-01"}, 422, None),
    ("summary-year-0", "/api/v1/locations/{id}/summary", {"start": "0000-12-31", "end": "0001-01-02"}, 422, None),
    ("taps-year-1", "/api/v1/export/taps", {"start": "0001-01-01", "end": "0001-01-02"}, 200, []),
    ("taps-year-9999", "/api/v1/export/taps", {"start": "9999-12-30", "end": "9999-12-31"}, 200, []),
    ("taps-offset-1e9", "/api/v1/export/taps",
     {"start": "9999-12-30", "end": "9999-12-31", "offset": 10**9}, 200, []),
    ("taps-offset-int32", "/api/v1/export/taps",
     {"start": "0001-01-01", "end": "0001-01-02", "offset": INT32_MAX, "limit": 10_000}, 200, []),
    ("summaries-year-1", "/api/v1/export/summaries", {"start": "0001-01-01", "end": "0001-01-03"}, 200,
     ["0001-01-01", "0001-01-02"]),
    ("summaries-year-9999", "/api/v1/export/summaries", {"start": "9999-12-29", "end": "9999-12-31"}, 200,
     ["9999-12-29", "9999-12-30"]),
    ("summaries-year-9999-big-limit", "/api/v1/export/summaries",
     {"start": "9999-12-21", "end": "9999-12-31", "limit": 3, "offset": 8}, 200, ["9999-12-29", "9999-12-30"]),
    ("summaries-offset-1e9", "/api/v1/export/summaries",
     {"start": "0001-01-01", "end": "0001-01-03", "offset": 10**9}, 200, []),
    ("summaries-offset-int32-at-9999", "/api/v1/export/summaries",
     {"start": "9999-12-30", "end": "9999-12-31", "offset": INT32_MAX, "limit": 10_000}, 200, []),
    ("summaries-offset-past-end", "/api/v1/export/summaries",
     {"start": "9999-12-29", "end": "9999-12-31", "offset": 2}, 200, []),
]  # fmt: skip


RANGE_PARAMS = [
    pytest.param(path, query, status, rows, fmt, id=f"{name}-{fmt}")
    for name, path, query, status, rows in RANGE_CASES
    for fmt in (["json", "csv"] if "export" in path else ["json"])  # the summary API answers JSON only
]


@pytest.mark.parametrize(("path", "query", "status", "rows", "fmt"), RANGE_PARAMS)
def test_ranges_at_years_1_and_9999_are_answered_never_a_500(
    loose_client, location, api_key, path, query, status, rows, fmt
):
    params = {**query, "location_id": location, **({"format": fmt} if "export" in path else {})}

    response = loose_client.get(path.format(id=location), params=params, headers={"Authorization": f"Bearer {api_key}"})

    assert response.status_code == status, response.text
    if status != 200:
        assert response.json()["message"]
    elif rows is None:
        assert response.json()["responses"] == 0
    elif fmt == "json":
        body = response.json()
        assert [row["local_date"] for row in body["items"]] == rows
        assert body["next_offset"] is None
    else:
        lines = response.text.splitlines()
        assert len(lines) == 1 + len(rows) and "x-next-offset" not in response.headers


# --- ranges: the dashboard pages ----------------------------------------------------------------------------


@pytest.fixture
def signed_in(loose_client, engine) -> TestClient:
    """``loose_client`` with an admin's session."""
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    login = loose_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token, login.text
    form = {"email": "admin@example.com", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
    assert loose_client.post("/login", data=form, follow_redirects=False).status_code == 303
    return loose_client


def alert(page: str) -> str | None:
    match = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else None


BEFORE_YEAR_1 = "has no period of the same length before it: that would start before 0001-01-01"
PAST_YEAR_9999 = "the last date must be before 9999-12-31"
PAGE_CASES = [
    # (id, page, start, last, the error shown (None: the range is shown))
    ("overview-year-1", "/", "0001-01-01", "0001-01-02", BEFORE_YEAR_1),
    ("overview-year-9999", "/", "9999-12-30", "9999-12-31", PAST_YEAR_9999),
    ("location-year-1", "/locations/{id}", "0001-01-01", "0001-01-02", BEFORE_YEAR_1),
    ("location-year-9999", "/locations/{id}", "9999-12-30", "9999-12-31", PAST_YEAR_9999),
    ("location-first-comparable", "/locations/{id}", "0001-01-03", "0001-01-04", None),
    ("location-last-representable", "/locations/{id}", "9999-12-29", "9999-12-30", None),
    ("location-weekly-year-1", "/locations/{id}", "0001-07-01", "0001-09-30", None),
    ("location-weekly-year-9999", "/locations/{id}", "9999-09-01", "9999-12-30", None),
    ("overview-first-comparable", "/", "0001-01-03", "0001-01-04", None),
    ("overview-last-representable", "/", "9999-12-29", "9999-12-30", None),
]


@pytest.mark.parametrize(
    ("page", "start", "last", "error"), [c[1:] for c in PAGE_CASES], ids=[c[0] for c in PAGE_CASES]
)
def test_custom_ranges_at_years_1_and_9999_show_a_message_never_a_500(signed_in, location, page, start, last, error):
    response = signed_in.get(page.format(id=location), params={"range": "custom", "start": start, "last": last})

    assert response.status_code == 200, response.text[:2000]
    shown = alert(response.text)
    if error is None:
        assert shown is None
        assert f"{start} – {last}" in response.text or page == "/"
    else:
        assert shown is not None and error in shown
