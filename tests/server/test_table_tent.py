"""The table tent of a web touchpoint (server.reports.table_tent, GET /admin/touchpoints/{id}/table-tent.pdf), on
SQLite and PostgreSQL: one A4 page with the location's question in its default language and its name, and two QR
codes (one per half, the upper upside down) that read back as the page's address; 404 once revoked. A PNG of the
page lands in test-output/reports/table-tent-nb.png (README's table-tent.png is made in
tests/e2e/test_touchpoint_admin.py)."""

from __future__ import annotations

import pytest

from server import NotFound
from server.locations import configure_location
from server.reports.table_tent import TableTent, table_tent_data, table_tent_html, table_tent_pdf
from server.touchpoints import add_touchpoint, revoke_touchpoint
from shared.protocol import LocationConfig
from tests.support import pdfs
from tests.support.qrcodes import codes_on_page

NORWEGIAN = LocationConfig(
    default_language="nb",
    texts={"en": {"question": "How was the security check?"}, "nb": {"question": "Hvordan var sikkerhetskontrollen?"}},
)


@pytest.fixture
def touchpoint(engine, location):
    with engine.begin() as conn:
        return add_touchpoint(conn, location_id=location, name="Table 4")


def test_the_tent_is_one_a4_page_with_the_question_the_name_and_codes_that_read_back(engine, touchpoint):
    with engine.begin() as conn:
        configure_location(conn, touchpoint.location_id, config=NORWEGIAN)
        tent = table_tent_data(conn, touchpoint.id, base_url="https://feedback.example.com/")

    pdf = table_tent_pdf(tent)

    url = f"https://feedback.example.com/s/{touchpoint.slug}"
    assert tent == TableTent(touchpoint.id, "Gardermoen Gate 12", "Hvordan var sikkerhetskontrollen?", "nb", url)
    assert pdfs.pages(pdf) == [pytest.approx(pdfs.A4_POINTS, abs=0.1)]
    text = pdfs.text(pdf)
    assert "Hvordan var sikkerhetskontrollen?" in text and "Gardermoen Gate 12" in text and "Scan to tell us" in text
    assert codes_on_page(pdf, "table-tent-nb") == [url, url]


def test_a_location_without_texts_asks_the_default_question(engine, touchpoint):
    with engine.connect() as conn:
        tent = table_tent_data(conn, touchpoint.id, base_url="http://127.0.0.1:8000")

    assert tent.question == "How was your experience today?" and tent.language == "en"
    assert tent.url == f"http://127.0.0.1:8000/s/{touchpoint.slug}"


def test_names_and_questions_are_printed_as_text_not_markup():
    tent = TableTent(1, "<b>Gate</b> & Co", "Was it <i>good</i>?", "en", "https://x.example/s/abc")

    html = table_tent_html(tent)

    assert "&lt;b&gt;Gate&lt;/b&gt; &amp; Co" in html and "Was it &lt;i&gt;good&lt;/i&gt;?" in html
    assert "<b>Gate" not in html and "<i>good" not in html


def test_the_longest_question_gets_a_smaller_type_and_fits_on_the_page():
    sentence = "How easy was it to find your way from the car park to the departure gate today? "
    question = (sentence * 4)[:292] + " Thanks!"
    tent = TableTent(1, "Oslo Airport Security A", question, "en", "https://x.example/s/abc")

    pdf = table_tent_pdf(tent)

    assert len(question) == 300 and tent.question_size == 12
    assert len(pdfs.pages(pdf)) == 1 and pdfs.text(pdf).count("Thanks! ← Scan to tell us") == 2


def test_a_revoked_or_unknown_touchpoint_has_no_tent(engine, touchpoint):
    with engine.begin() as conn:
        revoke_touchpoint(conn, touchpoint.id)
        with pytest.raises(NotFound, match="is revoked"):
            table_tent_data(conn, touchpoint.id, base_url="http://x")
        with pytest.raises(NotFound, match="does not exist"):
            table_tent_data(conn, 99, base_url="http://x")
