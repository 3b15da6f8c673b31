"""What a report says (server.reports), on SQLite and PostgreSQL, from taps posted to the real ingest: the PDF
carries the same headline figures as the summary API for the same period; a group's report pools the taps of its
locations and ranks them as the overview does; comments are escaped; a day report's trend is per hour; rendering
fetches nothing. PNGs of the pages land in test-output/reports/ (with pdftoppm installed) to be looked at."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime, timedelta
from statistics import mean

import pytest
from sqlalchemy import select

from server import groups as server_groups
from server.alerts.targets import set_target
from server.db import notifications
from server.reports.delivery import send_report_now
from server.reports.render import html_to_pdf
from shared import scores
from tests.support import pdfs

NOW = datetime(2026, 3, 16, 7, 30, tzinfo=UTC)  # Monday 08:30 in Oslo: week 11 (9–15 March) is the last complete
WEEK = {"start": "2026-03-09", "end": "2026-03-16"}
HEADLINE = re.compile(
    r"(?P<name>HAPPY INDEX|NPS) (?P<value>−?[\d.]+) 95 % CI (?P<low>−?[\d.]+)–(?P<high>−?[\d.]+) .*?"
    r"CSAT (?P<csat>[\d.]+) % 95 % CI (?P<csat_low>[\d.]+)–(?P<csat_high>[\d.]+) .*?"
    r"NEGATIVE (?P<negative>[\d.]+) % 95 % CI (?P<negative_low>[\d.]+)–(?P<negative_high>[\d.]+) .*?"
    r"RESPONSES (?P<responses>\d+)"
)


def taps_on(tap, first: datetime, scores_: list[int], **extra) -> list[dict]:
    """Taps of these scores three minutes apart from ``first`` (never repeat presses)."""
    return [
        tap(score=score, tapped_at=(first + timedelta(minutes=3 * i)).isoformat().replace("+00:00", "Z"), **extra)
        for i, score in enumerate(scores_)
    ]


def a_week_of_taps(tap) -> list[dict]:
    """Week 11 and, to compare with, week 10 at an Oslo location, with reasons and one comment."""
    week_11 = [5] * 31 + [4] * 24 + [3] * 11 + [2] * 6 + [1] * 9
    return [
        *taps_on(tap, datetime(2026, 3, 10, 8, tzinfo=UTC), week_11),
        *taps_on(tap, datetime(2026, 3, 12, 14, tzinfo=UTC), [1] * 5, followup="queue_time"),
        *taps_on(tap, datetime(2026, 3, 13, 9, tzinfo=UTC), [5] * 4, followup="friendly_staff"),
        tap(score=2, tapped_at="2026-03-14T10:00:00Z", comment="The queue at lane 3 took forever"),
        *taps_on(tap, datetime(2026, 3, 3, 8, tzinfo=UTC), [5] * 20 + [4] * 20 + [3] * 10 + [2] * 5 + [1] * 5),
    ]


def shown_figures(text: str) -> dict[str, str]:
    match = HEADLINE.search(text)
    assert match, text[:600]
    return match.groupdict()


def api_figures(summary: dict) -> dict[str, str]:
    """The summary API's figures written as the report writes them (one decimal, − for minus)."""

    def one(value: float) -> str:
        return f"{value:.1f}".replace("-", "−")

    nps = summary["happy_index"]["n"] == 0
    headline = summary["nps" if nps else "happy_index"]
    out = {"name": "NPS" if nps else "HAPPY INDEX", "value": one(headline["value"]), "low": one(headline["low"]),
           "high": one(headline["high"]), "responses": str(summary["responses"])}  # fmt: skip
    for share in ("csat", "negative"):
        out |= {share: one(summary[share]["value"]), f"{share}_low": one(summary[share]["low"]),
                f"{share}_high": one(summary[share]["high"])}  # fmt: skip
    return out


def test_report_pdf_carries_the_summary_apis_figures(client, engine, location, send, tap, api_key):
    assert send(a_week_of_taps(tap)).status_code == 200
    with engine.begin() as conn:
        set_target(conn, location_id=location, index=70)
        sent = send_report_now(conn, location_id=location, period="week", to="lead@example.com", now=NOW)
    summary = client.get(f"/api/v1/locations/{location}/summary", params=WEEK,
                         headers={"Authorization": f"Bearer {api_key}"}).json()  # fmt: skip

    text = pdfs.text(sent.pdf)
    assert shown_figures(text) == api_figures(summary)
    assert summary["responses"] == 81 + 5 + 4 + 1
    assert "Gardermoen Gate 12" in text and "Week 11, 9–15 March 2026" in text
    assert "compared with 2–8 March 2026" in text and "to the target of 70.0" in text
    assert "Queue time" in text and "Friendly staff" in text and "The queue at lane 3 took forever" in text
    with engine.connect() as conn:
        event = json.loads(conn.execute(select(notifications.c.payload)).scalar_one())
    assert event["figures"]["happy_index"] == {k: summary["happy_index"][k] for k in ("value", "low", "high", "n")}
    assert event["figures"]["csat"]["value"] == summary["csat"]["value"]
    assert (event["period_start"], event["period_end"], event["target"]) == ("2026-03-09", "2026-03-16", 70.0)
    pdfs.png(sent.pdf, "report-week")


def test_group_report_pools_taps_and_ranks_its_locations(engine, make_location, enroll, send, tap):
    sent_scores = {"Security A": [5] * 20, "Security B": [1, 1], "Security C": [5]}
    ids = {}
    for name, given in sent_scores.items():
        ids[name] = make_location(name=name)
        assert send(taps_on(tap, datetime(2026, 3, 11, 8, tzinfo=UTC), given),
                    token=enroll(ids[name]).token).status_code == 200  # fmt: skip
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Oslo Airport")
        for location_id in ids.values():
            server_groups.add_location(conn, group, location_id)
        set_target(conn, group_id=group, index=90)
        set_target(conn, location_id=ids["Security B"], index=10)  # a location's own target is not the group's
        sent = send_report_now(conn, group_id=group, period="week", to="lead@example.com", now=NOW)

    rows = {name: [(5, score, 1) for score in given] for name, given in sent_scores.items()}
    pooled = scores.happy_index([row for name in rows for row in rows[name]])
    averaged = mean(scores.happy_index(r).value or 0 for r in rows.values())
    report = sent.report
    assert report.now.responses == 23
    assert report.now.happy_index == pooled and pooled.value == pytest.approx(2100 / 23)
    assert pooled.value is not None
    assert abs(pooled.value - averaged) > 20  # the average of indexes would be another figure
    assert [(r.rank, r.name) for r in report.ranking] == [(1, "Security A"), (2, "Security C"), (3, "Security B")]
    assert report.target == 90
    text = pdfs.text(sent.pdf)
    assert f"HAPPY INDEX {pooled.value:.1f}" in text and "RESPONSES 23" in text and "Target reached" in text
    ranked = text[text.index("Locations ranked") :]
    assert ranked.index("Security A") < ranked.index("Security C") < ranked.index("Security B")
    pdfs.png(sent.pdf, "report-group")


def test_comments_are_escaped_in_the_email_and_printed_as_written(engine, location, send, tap):
    comment = "<script>alert('hi')</script> Queue & <b>wait</b>"
    assert send([tap(score=1, tapped_at="2026-03-12T10:00:00Z", comment=comment)]).status_code == 200
    with engine.begin() as conn:
        sent = send_report_now(conn, location_id=location, period="week", to="lead@example.com", now=NOW)
        payload = json.loads(conn.execute(select(notifications.c.payload)).scalar_one())

    html = payload["email"]["html"]
    assert "<script>" not in html and "<b>wait" not in html
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt; Queue &amp; &lt;b&gt;wait&lt;/b&gt;" in html
    assert comment in pdfs.text(sent.pdf)


def test_day_report_trend_is_per_local_hour(engine, location, send, tap):
    # 09:00–09:12 in Oslo (CET) on Sunday 15 March, and one tap at 17:30
    taps_ = [*taps_on(tap, datetime(2026, 3, 15, 8, tzinfo=UTC), [5, 4, 4, 3, 1]),
             tap(score=5, tapped_at="2026-03-15T16:30:00Z")]  # fmt: skip
    assert send(taps_).status_code == 200
    with engine.begin() as conn:
        report = send_report_now(conn, location_id=location, period="day", to="lead@example.com", now=NOW).report

    by_hour = {bar.label: bar.estimate.n for bar in report.trend}
    assert len(by_hour) == 24 and by_hour["09"] == 5 and by_hour["17"] == 1
    assert sum(by_hour.values()) == report.now.responses == 6
    assert (report.period.start.isoformat(), report.kind) == ("2026-03-15", "day")


def test_nps_location_reports_nps(engine, make_location, enroll, send, tap):
    location = make_location(name="Help desk", scale=11)
    given = [10, 10, 9, 8, 6, 3]
    taps_ = taps_on(tap, datetime(2026, 3, 10, 8, tzinfo=UTC), given, scale=11)
    assert send(taps_, token=enroll(location).token).status_code == 200
    with engine.begin() as conn:
        sent = send_report_now(conn, location_id=location, period="week", to="lead@example.com", now=NOW)
        payload = json.loads(conn.execute(select(notifications.c.payload)).scalar_one())

    expected = scores.nps([(11, score, 1) for score in given])
    assert payload["figures"]["nps"]["value"] == pytest.approx(expected.value)
    assert "happy_index" not in payload["figures"]
    assert f"NPS {expected.value:.1f}".replace("-", "−") in pdfs.text(sent.pdf)


def test_rendering_fetches_no_url():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.3)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        html = (f'<html><head><link rel="stylesheet" href="{url}/s.css"></head><body><p>Report</p>'
                f'<img src="{url}/logo.png"><img src="file:///etc/hostname"></body></html>')  # fmt: skip

        pdf = html_to_pdf(html)

        with pytest.raises(TimeoutError):
            listener.accept()
    assert pdfs.text(pdf) == "Report"
