"""The results poster (server.reports.poster, GET /locations/{id}/poster.pdf), on SQLite and PostgreSQL: one A4 page
with the location's name, the last 7 complete days' result and a thank-you; the PDF for a signed-in user who may see
the location, 403 for another, 404 for no such location. A PNG of the page lands in test-output/reports/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from server.auth.accounts import add_user
from server.reports.poster import poster_data
from server.reports.render import html_to_pdf, poster_html
from tests.support import pdfs
from tests.support.sessions import PASSWORD, sign_in

NOW = datetime(2026, 3, 16, 10, tzinfo=UTC)  # Monday: the poster's week is 9–15 March


@pytest.fixture
def a_week(location, send, tap) -> list[int]:
    """Taps on each of the last 7 days (and some today, which the poster leaves out)."""
    given = [5, 5, 4, 5, 3, 4, 5, 1, 5, 4, 5, 5, 2, 5]
    first = datetime(2026, 3, 9, 9, tzinfo=UTC)
    taps_ = [tap(score=score, tapped_at=(first + timedelta(hours=12 * i)).isoformat().replace("+00:00", "Z"))
             for i, score in enumerate(given)]  # fmt: skip
    today = [tap(score=1, tapped_at="2026-03-16T08:00:00Z")]
    assert send([*taps_, *today]).status_code == 200
    return given


def test_poster_is_one_a4_page_with_the_name_and_the_weeks_result(engine, location, a_week):
    with engine.connect() as conn:
        poster = poster_data(conn, location, now=NOW)
    pdf = html_to_pdf(poster_html(poster))

    happy = sum(score >= 4 for score in a_week) / len(a_week) * 100
    assert pdfs.pages(pdf) == [pytest.approx(pdfs.A4_POINTS, abs=0.1)]
    text = pdfs.text(pdf)
    assert "Gardermoen Gate 12" in text and "Thank you for your feedback!" in text
    assert f"{happy:.0f} %" in text and "of you left happy in the last 7 days" in text
    assert f"9–15 March 2026 · {len(a_week)} answers" in text
    assert "8 out of 10 of you left with a smile" in text
    pdfs.png(pdf, "poster")


def test_poster_without_answers_still_thanks_and_asks(engine, location):
    with engine.connect() as conn:
        pdf = html_to_pdf(poster_html(poster_data(conn, location, now=NOW)))

    assert len(pdfs.pages(pdf)) == 1
    assert "Tell us how we are doing" in pdfs.text(pdf) and "0 answers" in pdfs.text(pdf)


@pytest.fixture
def managers(engine, location, make_location) -> dict[str, str]:
    elsewhere = make_location(name="Elsewhere")
    with engine.begin() as conn:
        add_user(conn, email="gate@example.com", password=PASSWORD, role="manager", location_ids=[location])
        add_user(conn, email="other@example.com", password=PASSWORD, role="manager", location_ids=[elsewhere])
    return {"own": "gate@example.com", "other": "other@example.com"}


def test_poster_pdf_for_a_manager_of_the_location_403_for_another(app, client, location, managers, a_week):
    assert sign_in(client, managers["own"]).status_code == 303
    answer = client.get(f"/locations/{location}/poster.pdf")

    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert len(pdfs.pages(answer.content)) == 1 and "Gardermoen Gate 12" in pdfs.text(answer.content)
    page = client.get(f"/locations/{location}/poster")
    assert page.status_code == 200 and "Thank you for your feedback!" in page.text and "@page" in page.text
    with TestClient(app) as other:
        assert sign_in(other, managers["other"]).status_code == 303
        assert other.get(f"/locations/{location}/poster.pdf").status_code == 403
        assert other.get(f"/locations/{location}/poster").status_code == 403


def test_poster_of_no_such_location_is_404_and_signing_in_comes_first(app, client, engine):
    assert client.get("/locations/1/poster.pdf", follow_redirects=False).status_code == 303  # to /login
    with engine.begin() as conn:
        add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    assert sign_in(client, "admin@example.com").status_code == 303

    assert client.get("/locations/4242/poster.pdf").status_code == 404
